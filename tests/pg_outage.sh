#!/bin/bash
# pg_outage: the PostgreSQL server goes away under a running reportd and
# comes back (issue 11, item 4), against the real server
# scripts/pg-test-server.sh starts (make check runs this under it). A job is
# with a worker (its check delayed 6 s, the worker then frozen with SIGSTOP) when
# the server stops (pg_ctl stop -m fast): /readyz answers 503 naming the
# database, reportd_store_up is 0, a titanic.request is answered "500 store
# unavailable", a plain request is still served, the frozen worker's Result
# is not stored. The server starts again: reportd resumes by itself — /readyz
# 200, reportd_store_up 1, reportd_store_reconnects_total 1 —, the job
# finishes with exactly one Result and one publication, the refused
# submission goes through when sent again, and after a second outage (-m
# immediate) the sequence still has no gap. Every wait is bounded polling.
set -u
B=${REPORTD_BUILD:-build}
NAME=pg_outage
if [ -z "${PGHOST:-}" ] || [ -z "${PGTEST_DIR:-}" ]; then
    echo "pg_outage: no server (PGHOST unset): run under sh scripts/pg-test-server.sh run" >&2
    exit 69
fi
T=$(mktemp -d /tmp/reportd-pgo.XXXXXX)
. tests/lib.sh
PIDS=
cleanup() {
    for p in $PIDS; do kill -CONT "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    [ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi; }
pg_stop() { as_owner "$PGBIN/pg_ctl" stop -D "$PGTEST_DIR/data" -m "$1" -w -t 30 >/dev/null; }
pg_start() {
    as_owner "$PGBIN/pg_ctl" start -D "$PGTEST_DIR/data" -w -t 30 -l "$PGTEST_DIR/server.log" \
        -o "-k $PGTEST_DIR -p $PGPORT -c listen_addresses=" >/dev/null
}

BASE=$((20008 + ($$ % 1200) * 10))   # the decade's +8, +9, as pg_daemon.sh (below 32768)
EP=tcp://127.0.0.1:$BASE
MPORT=$((BASE + 1))
DB=pg_outage_$$
createdb "$DB" || fail "createdb failed"
mkdir -p "$T/creds"
echo "dbname=$DB" > "$T/creds/dsn"
cat > "$T/r.yaml" <<YAML
broker:
  bind: $EP
  publish: ipc://$T/pub
worker:
  connect: $EP
  threads: 1
heartbeat:
  interval_ms: 500
  liveness: 100
spool:
  backend: postgresql
  dsn_file: dsn
YAML
cp "$T/r.yaml" "$T/w.yaml"        # the workers': no metrics port
printf 'metrics:\n  bind: 127.0.0.1:%s\n' $MPORT >> "$T/r.yaml"
CTL=$B/reportctl
EX=examples/xiangxiang-minzheng-2024.txt
q() { psql -XAtq -d "$DB" -c "$1"; }
http() { curl -s -o "$T/http.out" -w '%{http_code}' "http://127.0.0.1:$MPORT$1"; }
ready_is() { [ "$(http /readyz)" = "$1" ]; }
metric_is() { curl -s "http://127.0.0.1:$MPORT/metrics" | grep -qx "$1 $2"; }
logged() { grep -q "$1" "$T/broker.log"; }
worker() {   # worker DELAY_MS: a worker process, its check delayed (the test seam)
    REPORTD_TEST_DELAY_MS=$1 "$B/reportd-test" -c "$T/w.yaml" worker 2>>"$T/worker.log" &
    PIDS="$PIDS $!"
    WPID=$!
}
# result_pubs SID: publications of a Result naming that submission id
# (layout 2: a published Result's bytes are in result, under its seq)
result_pubs() { q "select count(*) from published p join result r on r.seq = p.seq
                   where p.topic like 'result.%' and position(convert_to('$1', 'UTF8') in r.data) > 0"; }

CREDENTIALS_DIRECTORY=$T/creds "$B/reportd" -c "$T/r.yaml" broker 2>>"$T/broker.log" &
PIDS="$PIDS $!"
wait_for 10 sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$MPORT/healthz)\" = 200 ]" ||
    fail "reportd did not come up"
worker 0
W0=$WPID
A=aaaaaaaa-0000-4000-8000-000000000001
JOB=bbbbbbbb-0000-4000-8000-000000000002
C=cccccccc-0000-4000-8000-000000000003
$CTL submit --broker $EP --year 2024 --id $A $EX > "$T/a.out" 2>>"$T/submit.log"
[ $? -eq 1 ] && [ "$(cut -f3 "$T/a.out")" = FAIL ] || fail "submission A: $(cat "$T/a.out")"
wait_for 10 ready_is 200 || fail "/readyz before the outage: $(cat "$T/http.out")"
metric_is reportd_store_up 1 || fail "reportd_store_up before the outage"
size=$(curl -s "http://127.0.0.1:$MPORT/metrics" | sed -n 's/^reportd_spool_bytes //p')
real=$(q "select sum(pg_total_relation_size(t::regclass)) from
          unnest(array['reportd_meta','job','body','published','history','result']) t")
[ "${size:-0}" -gt 0 ] && [ "$size" -le "$((real * 2))" ] && [ "$real" -le "$((size * 2))" ] ||
    fail "reportd_spool_bytes $size, the tables take $real bytes"
kill $W0
wait_for 10 gone $W0 || fail "the first worker did not stop"
wait_for 10 metric_is reportd_workers_alive 0 || fail "the first worker is still registered"
worker 6000                       # its check takes 6 s: time to see it held, and freeze it
W1=$WPID
wait_for 10 metric_is reportd_workers_alive 1 || fail "the delayed worker did not register"
say "before: A answered FAIL, /readyz 200, reportd_store_up 1, reportd_spool_bytes $size (tables $real)"

# the job goes to the worker, which is frozen while it holds it
$CTL submit --broker $EP --year 2024 --id $JOB --no-wait $EX > /dev/null 2>>"$T/submit.log" ||
    fail "submission JOB not accepted"
wait_for 10 metric_is reportd_in_flight 1 || fail "the job was not handed to the worker"
kill -STOP $W1
pg_stop fast || fail "pg_ctl stop -m fast"
wait_for 20 ready_is 503 || fail "/readyz during the outage: $(http /readyz) $(cat "$T/http.out")"
grep -q "the spool's database is unreachable" "$T/http.out" || fail "/readyz reason: $(cat "$T/http.out")"
metric_is reportd_store_up 0 || fail "reportd_store_up during the outage"
logged "store: the connection to the database broke: .*; nothing is acknowledged" ||
    fail "no log line for the break"
say "down: /readyz 503 ($(cat "$T/http.out")), reportd_store_up 0"
$CTL submit --broker $EP --year 2024 --id $C --no-wait --retries 1 $EX > "$T/c.out" 2>"$T/c.err"
rc=$?
[ $rc -ne 0 ] && grep -q "broker answered 500 store unavailable" "$T/c.err" ||
    fail "titanic.request during the outage: exit $rc, $(cat "$T/c.out" "$T/c.err")"
worker 0
$CTL submit --broker $EP --plain --year 2024 $EX > "$T/plain.out" 2>>"$T/submit.log"
[ $? -eq 1 ] && [ "$(cut -f3 "$T/plain.out")" = FAIL ] || fail "a plain request during the outage: $(cat "$T/plain.out")"
kill -CONT $W1
# not stored: by the broker that knows the database is gone, or — when the
# leadership check saw the broken connection first — by the standby it became
wait_for 20 logged "job .*: \(its reply is not stored (the database is unreachable)\|a Result came to a standby: not stored\)" ||
    fail "the frozen worker's reply was not refused"
say "down: titanic.request answered 500 store unavailable, a plain request served, the held job's Result not stored"

pg_start || fail "pg_ctl start"
wait_for 30 ready_is 200 || fail "/readyz after the outage: $(cat "$T/http.out")"
metric_is reportd_store_up 1 || fail "reportd_store_up after the outage"
metric_is reportd_store_reconnects_total 1 || fail "reportd_store_reconnects_total after the outage"
logged "store: the database is back after [0-9]* ms (reconnection 1)" || fail "no log line for the return"
wait_for 30 sh -c "[ \"\$(psql -XAtq -d $DB -c \"select state from job where submission_id = '$JOB'\")\" = 1 ]" ||
    fail "the job did not finish: $(q "select state, attempts from job where submission_id = '$JOB'")"
[ "$(result_pubs $JOB)" = 1 ] || fail "the job's Result was published $(result_pubs $JOB) times"
[ "$(q "select count(*) from job where submission_id = '$JOB' and reply_seq is not null")" = 1 ] ||
    fail "the job's Result is not the publication"
[ "$(result_pubs $A)" = 1 ] || fail "A's Result: $(result_pubs $A) publications"
$CTL submit --broker $EP --year 2024 --id $C $EX > "$T/c2.out" 2>>"$T/submit.log"
[ $? -eq 1 ] && [ "$(cut -f3 "$T/c2.out")" = FAIL ] || fail "C sent again: $(cat "$T/c2.out")"
say "back: /readyz 200, reportd_store_up 1, reconnects 1; the job: one Result, one publication; C answered"

pg_stop immediate || fail "pg_ctl stop -m immediate"
wait_for 20 ready_is 503 || fail "/readyz during the second outage"
pg_start || fail "pg_ctl start (2)"
wait_for 20 ready_is 200 || fail "/readyz after the second outage: $(cat "$T/http.out")"
metric_is reportd_store_reconnects_total 2 || fail "reportd_store_reconnects_total after the second outage"
D=dddddddd-0000-4000-8000-000000000004
$CTL submit --broker $EP --year 2024 --id $D $EX > "$T/d.out" 2>>"$T/submit.log"
[ $? -eq 1 ] && [ "$(cut -f3 "$T/d.out")" = FAIL ] || fail "D after the second outage: $(cat "$T/d.out")"
for id in $A $JOB $C $D; do
    [ "$(result_pubs $id)" = 1 ] || fail "$id: $(result_pubs $id) Result publications"
done
seq=$(q "select value from reportd_meta where key = 'seq'")
[ "$(q "select count(*) || ':' || max(seq) from published")" = "$seq:$seq" ] ||
    fail "the sequence has a gap: meta $seq, published $(q "select count(*) || ':' || max(seq) from published")"
[ "$(q "select count(*) from job where state = 0")" = 0 ] || fail "jobs left pending"
say "second outage (-m immediate): reconnects 2, D answered; 4 Results, each published once; sequence 1..$seq without a gap"
for p in $PIDS; do kill "$p" 2>/dev/null; done
wait 2>/dev/null
PIDS=
dropdb "$DB"
say "passed"
