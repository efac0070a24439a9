#!/bin/sh
# bench-pglead.sh — leader or active-active for several brokers on one
# PostgreSQL (issue 11 item 2), measured with pgbench on the broker's own
# transactions (run under the test server: sh scripts/pg-test-server.sh run sh
# scripts/bench-pglead.sh). The tables come from reportd itself (a broker
# started once). Transactions, each the broker's per-batch shape:
#   finish: fence (leader_epoch FOR SHARE), raise the sequence row, insert
#           the publication — what every Result costs; N per transaction is
#           the group commit of N Results.
#   accept: a standby's submission: insert job (pos 0) and body, NOTIFY.
# Printed: transactions and rows per second for 1 and 2 connections. Two
# connections doing "finish" is what two active brokers publishing would do
# (one global sequence: both raise the same row). Speed is printed, never
# asserted. SECONDS=5 by default (BENCH_SECONDS).
set -u
B=${REPORTD_BUILD:-build}
T=${BENCH_SECONDS:-5}
[ -n "${PGHOST:-}" ] || { echo "run under sh scripts/pg-test-server.sh run" >&2; exit 69; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
DB=bench_pglead_$$
createdb "$DB"
printf 'broker:\n  bind: ipc://%s/b\n  publish: ipc://%s/p\nspool:\n  backend: postgresql\n  dsn: dbname=%s\n' \
    "$tmp" "$tmp" "$DB" > "$tmp/r.yaml"
"$B/reportd" -c "$tmp/r.yaml" broker 2> "$tmp/b.log" &
pid=$!
i=0; while ! grep -qs "started: broker" "$tmp/b.log" && [ $i -lt 300 ]; do i=$((i + 1)); sleep 0.1; done
kill $pid; wait $pid
finish() {      # N: Results per transaction
    echo "BEGIN;"
    echo "SELECT value FROM reportd_meta WHERE key = 'leader_epoch' FOR SHARE;"
    n=0
    while [ $n -lt "$1" ]; do
        echo "WITH n AS (UPDATE reportd_meta SET value = (value::bigint + 1)::text WHERE key = 'seq' RETURNING value::bigint AS seq) INSERT INTO published(seq, topic, body, at) SELECT seq, 'result.43', '\\x0a0b', 0 FROM n;"
        n=$((n + 1))
    done
    echo "COMMIT;"
}
finish 1 > "$tmp/finish1.sql"
finish 16 > "$tmp/finish16.sql"
cat > "$tmp/accept.sql" <<'SQL'
BEGIN;
INSERT INTO job(pos, uuid, submission_id, service, state, attempts, created_at, updated_at) VALUES (0, md5(random()::text), 's', 'report.check', 0, 0, 0, 0);
INSERT INTO body(uuid, data) VALUES (md5(random()::text), '\x0a0b');
NOTIFY reportd_jobs;
COMMIT;
SQL
run() {         # label script clients rows-per-transaction
    tps=$(pgbench -n -f "$tmp/$2" -c "$3" -j "$3" -T "$T" "$DB" 2>/dev/null |
          sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
    printf '%-44s %3d conn  %9.0f tx/s  %9.0f rows/s\n' "$1" "$3" "$tps" "$(echo "$tps * $4" | bc)"
}
run "finish, 1 Result a transaction" finish1.sql 1 1
run "finish, 1 Result a transaction" finish1.sql 2 1
run "finish, 16 Results a transaction" finish16.sql 1 16
run "finish, 16 Results a transaction" finish16.sql 2 16
run "accept (a standby's submission)" accept.sql 1 1
run "accept (a standby's submission)" accept.sql 2 1
echo "sequence: $(psql -XAtq -d "$DB" -c "select value from reportd_meta where key = 'seq'") = $(psql -XAtq -d "$DB" -c "select count(*) || ' rows, ' || count(distinct seq) || ' distinct' from published")"
dropdb "$DB"
