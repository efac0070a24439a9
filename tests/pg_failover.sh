#!/bin/bash
# pg_failover: reportd through a failover the database's own tools make
# (issue 11, item 4). Two real PostgreSQL servers in a temporary directory,
# as an unprivileged user, on unix sockets only: a primary and a streaming
# replica made with `pg_basebackup -R`, synchronous (synchronous_standby_names
# '*': a COMMIT returns once the replica has it). reportd's DSN lists both
# (host=DIR,DIR port=P1,P2 target_session_attrs=read-write). A submission is
# answered; the primary is killed (pg_ctl stop -m immediate) and the replica
# promoted (pg_ctl promote): reportd resumes by itself on the new primary —
# /readyz 200, reportd_store_reconnects_total 1 —, the submission
# acknowledged before the failover is there, a new one is answered, the
# sequence goes on without a gap. Every wait is bounded polling.
set -u
B=${REPORTD_BUILD:-build}
NAME=pg_failover
T=$(mktemp -d /tmp/reportd-pgf.XXXXXX)
. tests/lib.sh
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] || fail "PostgreSQL is not installed (scripts/setup.sh)"
as_owner() { "$@"; }
if [ "$(id -u)" = 0 ]; then
    chown nobody: "$T"
    as_owner() { runuser -u nobody -- "$@"; }
fi
PIDS=
cleanup() {
    for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    for d in primary replica; do
        [ -f "$T/$d/postmaster.pid" ] &&
            as_owner "$PGBIN/pg_ctl" stop -D "$T/$d" -m immediate -w -t 30 >/dev/null 2>&1
    done
    [ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
BASE=$((23000 + ($$ % 900) * 10))  # below the ephemeral range; +0…+3
P1=$BASE P2=$((BASE + 1))
EP=tcp://127.0.0.1:$((BASE + 2))
MPORT=$((BASE + 3))
pg_start() {   # pg_start NAME PORT
    as_owner "$PGBIN/pg_ctl" start -D "$T/$1" -w -t 30 -l "$T/$1.log" \
        -o "-k $T -p $2 -c listen_addresses=" >/dev/null || fail "pg_ctl start $1"
}
as_owner "$PGBIN/initdb" -D "$T/primary" -U reportd --auth=trust --no-sync -E UTF8 \
    --locale=C.UTF-8 > "$T/initdb.log" 2>&1 || fail "initdb"
cat >> "$T/primary/postgresql.conf" <<CONF
synchronous_standby_names = '*'
synchronous_commit = on
CONF
pg_start primary $P1
as_owner "$PGBIN/pg_basebackup" -h "$T" -p $P1 -U reportd -D "$T/replica" -R \
    > "$T/basebackup.log" 2>&1 || fail "pg_basebackup -R"
# promoted, it has no standby of its own: waiting for one would hold every
# COMMIT (and the broker's loop) — what a failover manager changes at promotion
echo "synchronous_standby_names = ''" >> "$T/replica/postgresql.conf"
pg_start replica $P2
export PGHOST=$T PGUSER=reportd
q() { psql -XAtq -p "$1" -d "$DB" -c "$2"; }
sync_standby() {
    [ "$(psql -XAtq -p $P1 -d postgres -c "select sync_state from pg_stat_replication")" = sync ]
}
wait_for 30 sync_standby || fail "the replica is not a synchronous standby"
DB=failover
createdb -p $P1 $DB || fail "createdb"
say "primary on $T:$P1, synchronous streaming replica on $T:$P2"

mkdir -p "$T/creds"
echo "host=$T,$T port=$P1,$P2 dbname=$DB user=reportd target_session_attrs=read-write" \
    > "$T/creds/dsn"
cat > "$T/w.yaml" <<YAML
broker:
  bind: $EP
  publish: ipc://$T/pub
worker:
  connect: $EP
  threads: 1
heartbeat:
  interval_ms: 500
  liveness: 10
spool:
  backend: postgresql
  dsn_file: dsn
YAML
cp "$T/w.yaml" "$T/r.yaml"
printf 'metrics:\n  bind: 127.0.0.1:%s\n' $MPORT >> "$T/r.yaml"
CREDENTIALS_DIRECTORY=$T/creds "$B/reportd" -c "$T/r.yaml" broker 2>>"$T/broker.log" &
PIDS="$PIDS $!"
"$B/reportd" -c "$T/w.yaml" worker 2>>"$T/worker.log" &
PIDS="$PIDS $!"
http() { curl -s -o "$T/http.out" -w '%{http_code}' "http://127.0.0.1:$MPORT$1"; }
ready_is() { [ "$(http /readyz)" = "$1" ]; }
metric_is() { curl -s "http://127.0.0.1:$MPORT/metrics" | grep -qx "$1 $2"; }
wait_for 10 ready_is 200 || fail "reportd not ready: $(cat "$T/http.out")"
CTL=$B/reportctl
EX=examples/xiangxiang-minzheng-2024.txt
A=aaaaaaaa-0000-4000-8000-00000000000a
$CTL submit --broker $EP --year 2024 --id $A $EX > "$T/a.out" 2>>"$T/submit.log"
[ $? -eq 1 ] && [ "$(cut -f3 "$T/a.out")" = FAIL ] || fail "submission A: $(cat "$T/a.out")"
seq1=$(q $P1 "select value from reportd_meta where key = 'seq'")
say "before: A answered FAIL on the primary (sequence $seq1)"

as_owner "$PGBIN/pg_ctl" stop -D "$T/primary" -m immediate -w -t 30 >/dev/null ||
    fail "pg_ctl stop -m immediate (primary)"
wait_for 20 ready_is 503 || fail "/readyz with the primary gone: $(cat "$T/http.out")"
say "primary killed: /readyz 503 ($(cat "$T/http.out"))"
as_owner "$PGBIN/pg_ctl" promote -D "$T/replica" -w -t 30 >/dev/null || fail "pg_ctl promote"
wait_for 30 ready_is 200 || fail "/readyz after the promotion: $(cat "$T/http.out")"
metric_is reportd_store_up 1 || fail "reportd_store_up after the promotion"
metric_is reportd_store_reconnects_total 1 || fail "reportd_store_reconnects_total after the promotion"
grep -q "store: the database is back after [0-9]* ms (reconnection 1)" "$T/broker.log" ||
    fail "no log line for the return"
[ "$(q $P2 "select count(*) || ':' || min(state) from job where submission_id = '$A'")" = "1:3" ] ||
    fail "A is not on the promoted replica: $(q $P2 "select submission_id, state from job")"
D=dddddddd-0000-4000-8000-00000000000d
$CTL submit --broker $EP --year 2024 --id $D $EX > "$T/d.out" 2>>"$T/submit.log"
[ $? -eq 1 ] && [ "$(cut -f3 "$T/d.out")" = FAIL ] || fail "submission D after the promotion: $(cat "$T/d.out")"
seq2=$(q $P2 "select value from reportd_meta where key = 'seq'")
[ "$seq2" -gt "$seq1" ] && [ "$(q $P2 "select count(*) || ':' || max(seq) from published")" = "$seq2:$seq2" ] ||
    fail "sequence: $seq1 before, $seq2 after, published $(q $P2 "select count(*) || ':' || max(seq) from published")"
say "after pg_ctl promote: reportd resumed (reconnection 1), A still there, D answered, sequence $seq1 → $seq2 without a gap"
say "passed"
