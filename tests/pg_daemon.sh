#!/bin/sh
# reportd with `spool.backend: postgresql` end to end, against the real
# server scripts/pg-test-server.sh starts (make check runs this under it): the
# DSN from spool.dsn_file in $CREDENTIALS_DIRECTORY; a durable submission is
# answered and its job is in the database (closed: reportctl fetched its
# Result and closed it, the tombstone stays); after kill -9 and a restart
# the same submission id is no second job and the sequence goes on; no SQLite
# file is made.
NAME=pg_daemon
. tests/pglib.sh
tmp=$(mktemp -d)
RPID=
trap '[ -n "$RPID" ] && kill -9 $RPID 2>/dev/null; rm -rf "$tmp"' EXIT
BASE=$((20008 + ($$ % 1200) * 10))   # e2e.sh takes +0…+5, soak.sh +6, +7 of the decade
EP=tcp://127.0.0.1:$BASE
DB=pg_daemon_$$
createdb "$DB" || { echo "pg_daemon: createdb failed" >&2; exit 1; }
mkdir -p "$tmp/creds" "$tmp/run"
echo "dbname=$DB" > "$tmp/creds/dsn"
cat > "$tmp/r.yaml" <<YAML
broker:
  bind: $EP
  publish: tcp://127.0.0.1:$((BASE + 1))
spool:
  backend: postgresql
  dsn_file: dsn
YAML
BIN=$(cd "$B" && pwd)/reportd
CTL=$B/reportctl
EX=examples/xiangxiang-minzheng-2024.txt
ID=0123456789abcdef0123456789abcdef
start() {
    (cd "$tmp/run" && CREDENTIALS_DIRECTORY=$tmp/creds exec "$BIN" -c "$tmp/r.yaml") 2>> "$tmp/reportd.log" &
    RPID=$!
}
q() { psql -XAtq -d "$DB" -c "$1"; }

start
$CTL submit --broker $EP --year 2024 --id $ID $EX > "$tmp/s.out" 2>> "$tmp/submit.log"
rc=$?
[ $rc -eq 1 ] && [ "$(cut -f3 "$tmp/s.out")" = FAIL ] && ok ||
    bad "submit through the PostgreSQL spool: exit $rc, $(cat "$tmp/s.out" "$tmp/submit.log" "$tmp/reportd.log")"
[ "$(q "select value from reportd_meta where key = 'layout'")" = 2 ] && ok || bad "reportd_meta layout"
[ "$(q "select count(*) || ':' || min(state) from job")" = "1:3" ] && ok ||
    bad "jobs in the database: $(q "select uuid, state from job")"
seq1=$(q "select value from reportd_meta where key = 'seq'")
[ "$seq1" -ge 1 ] && [ "$(q "select max(seq) from published")" = "$seq1" ] && ok ||
    bad "sequence: meta $seq1, published $(q "select max(seq) from published")"
kill -9 $RPID; wait $RPID 2>/dev/null
start
$CTL submit --broker $EP --year 2024 --id $ID $EX > "$tmp/s2.out" 2>> "$tmp/submit.log"
rc=$?
[ $rc -eq 1 ] && [ "$(cut -f3 "$tmp/s2.out")" = FAIL ] && ok || bad "resubmission after kill -9: exit $rc, $(cat "$tmp/s2.out")"
[ "$(q "select count(*) from job")" = 1 ] && ok || bad "the same id made a second job: $(q "select uuid, state from job")"
$CTL submit --broker $EP --year 2024 $EX > /dev/null 2>> "$tmp/submit.log"
[ "$(q "select count(*) || ':' || min(state) from job")" = "2:3" ] && ok ||
    bad "a new submission after the restart: $(q "select uuid, state from job")"
[ "$(q "select value from reportd_meta where key = 'seq'")" -gt "$seq1" ] && ok || bad "the sequence did not go on"
[ -z "$(ls -A "$tmp/run")" ] && ok || bad "reportd made $(ls -A "$tmp/run") in its directory"
kill $RPID; wait $RPID 2>/dev/null; RPID=
dropdb "$DB"
echo "pg_daemon: $pass passed, $fail failed"
[ $fail -eq 0 ]
