#!/bin/sh
# Two reportd brokers on one PostgreSQL database (issue 11 item 2), against
# the real server scripts/pg-test-server.sh starts (make check runs this under
# it). Brokers A and B (role broker, no workers of their own) and one worker
# process serving both (worker.connect a list), all over ipc:// in a temporary
# directory. A starts first and leads (epoch 1), B is standby: a durable
# submission sent to B is answered 200 by B, run by A's dispatch, its Result
# fetched through B, replayed by both, published once. Then the worker stops,
# five submissions go to B (pending, claimed by A), A is killed with -9: B
# leads (epoch 2), takes the five over, and each ends with one Result, one
# publication; the sequence goes on without a gap or a duplicate.
# Waits poll for a state with an upper bound; nothing asserts a duration.
NAME=pg_lead
. tests/pglib.sh
tmp=$(mktemp -d)
APID= BPID= WPID=
cleanup() {
    for p in $APID $BPID $WPID; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
DB=pg_lead_$$
createdb "$DB" || { echo "pg_lead: createdb failed" >&2; exit 1; }
BIN=$(cd "$B" && pwd)/reportd
CTL=$B/reportctl
EX=examples/xiangxiang-minzheng-2024.txt
EA=ipc://$tmp/a.sock PA=ipc://$tmp/a.pub
EB=ipc://$tmp/b.sock PB=ipc://$tmp/b.pub
broker_yaml() {     # name endpoint publish
    cat > "$tmp/$1.yaml" <<YAML
broker:
  bind: $2
  publish: $3
spool:
  backend: postgresql
  dsn: dbname=$DB
  lead_poll_ms: 100
heartbeat:
  interval_ms: 200
YAML
}
broker_yaml a $EA $PA
broker_yaml b $EB $PB
cat > "$tmp/w.yaml" <<YAML
worker:
  connect: [$EA, $EB]
  threads: 1
  reconnect_min_ms: 50
  reconnect_max_ms: 200
heartbeat:
  interval_ms: 200
YAML
q() { psql -XAtq -d "$DB" -c "$1"; }
# until COMMAND succeeds, at most 30 s (a bound, not a measurement)
until_ok() { i=0; while ! eval "$1"; do i=$((i + 1)); [ $i -ge 300 ] && return 1; sleep 0.1; done; }
has() { grep -qs "$2" "$tmp/$1.log"; }

"$BIN" -c "$tmp/a.yaml" broker 2> "$tmp/a.log" & APID=$!
until_ok 'has a "started: broker"' || bad "A did not start: $(cat "$tmp/a.log")"
"$BIN" -c "$tmp/b.yaml" broker 2> "$tmp/b.log" & BPID=$!
until_ok 'has b "started: broker"' || bad "B did not start: $(cat "$tmp/b.log")"
"$BIN" -c "$tmp/w.yaml" worker 2> "$tmp/w.log" & WPID=$!
has a "leader: epoch 1; 0 pending jobs taken over from the database" && ok ||
    bad "A is not the leader: $(cat "$tmp/a.log")"
has b "standby: leader_epoch 1 leads; this broker accepts submissions and reads" && ok ||
    bad "B is not standby: $(cat "$tmp/b.log")"
! has b "leader: epoch" && ok || bad "B leads too: $(cat "$tmp/b.log")"

# 1. a submission through the standby: 200 from B, run under A, the Result through B
ID=0123456789abcdef0123456789abcde1
$CTL submit --wait 30 --broker $EB --year 2024 --id $ID $EX > "$tmp/s.out" 2> "$tmp/s.err"
rc=$?
[ $rc -eq 1 ] && [ "$(cut -f3 "$tmp/s.out")" = FAIL ] && ok ||
    bad "submit through the standby: exit $rc, $(cat "$tmp/s.out" "$tmp/s.err")"
[ "$(q "select count(*) || ':' || min(state) || ':' || min(pos) from job")" = "1:3:1" ] && ok ||
    bad "the job in the database: $(q "select uuid, state, pos from job")"
[ "$(q "select count(*) from published where topic like 'result.%'")" = 1 ] && ok ||
    bad "Result publications: $(q "select seq, topic from published")"
npub=$(q "select count(*) from published")
for who in a b; do
    if [ $who = a ]; then ep=$EA pub=$PA; else ep=$EB pub=$PB; fi
    $CTL watch --broker $ep --publish $pub --from 1 --count "$npub" > "$tmp/watch.$who" 2>&1
    [ "$(grep -c '^[0-9]* result\.' "$tmp/watch.$who")" = 1 ] && ok ||
        bad "replay from $who: $(cat "$tmp/watch.$who")"
done

# 2. five pending jobs, accepted by B, in A's line; A dies with -9
kill $WPID; wait $WPID 2>/dev/null; WPID=
$CTL submit --no-wait --broker $EB --year 2024 --repeat 5 $EX > "$tmp/s5.out" 2> "$tmp/s5.err"
rc=$?
[ $rc -eq 0 ] && [ "$(wc -l < "$tmp/s5.out")" = 5 ] && ok ||
    bad "five submissions through B: exit $rc, $(cat "$tmp/s5.out" "$tmp/s5.err")"
until_ok '[ "$(q "select count(*) from job where state = 0 and pos > 0")" = 5 ]' && ok ||
    bad "A did not claim the five: $(q "select uuid, state, pos from job")"
kill -9 $APID; wait $APID 2>/dev/null; APID=
"$BIN" -c "$tmp/w.yaml" worker 2> "$tmp/w2.log" & WPID=$!
until_ok 'has b "leader: epoch 2; 5 pending jobs taken over from the database"' && ok ||
    bad "B did not take over: $(cat "$tmp/b.log")"
until_ok '[ "$(q "select count(*) from job where state = 1")" = 5 ]' && ok ||
    bad "the five did not end: $(q "select uuid, state, pos from job")"
[ "$(q "select value from reportd_meta where key = 'leader_epoch'")" = 2 ] && ok || bad "leader_epoch"
# one Result each, stored once, published once; one sequence without a gap
[ "$(q "select count(*) from published where topic like 'result.%'")" = 6 ] && ok ||
    bad "Result publications after the failover: $(q "select seq, topic from published")"
[ "$(q "select count(*) || ':' || count(distinct seq) || ':' || max(seq) from published")" = \
  "$(q "select count(*) || ':' || count(*) || ':' || count(*) from published")" ] && ok ||
    bad "the sequence has a gap or a duplicate: $(q "select seq, topic from published")"
[ "$(q "select value from reportd_meta where key = 'seq'")" = "$(q "select max(seq) from published")" ] &&
    ok || bad "reportd_meta seq is not the last publication"
[ "$(q "select count(*) from job where state = 1 and reply_seq is not null and reply_seq in (select seq from published)")" = 5 ] &&
    ok || bad "a Result is not its publication: $(q "select uuid, reply_seq from job")"
kill $BPID $WPID; wait $BPID $WPID 2>/dev/null; BPID= WPID=
dropdb "$DB"
echo "pg_lead: $pass passed, $fail failed"
[ $fail -eq 0 ]
