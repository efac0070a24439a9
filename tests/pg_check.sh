#!/bin/sh
# reportd --check-config with `spool.backend: postgresql` connects, against the
# real server scripts/pg-test-server.sh starts (make check runs this under it):
# each way a database can be unusable is one line naming the server (host,
# port, dbname, user; never a password) and the reason, with its own exit
# code — 69 unreachable, 77 refused (authentication, a role that may not
# create, read or write reportd's tables), 78 unusable (a DSN libpq does not
# take, no such database, tables not reportd's, no layout row, a newer
# reportd's layout) — and a good one is "configuration OK" with nothing
# created. A broker started on an unusable database stops with the same line
# (after "cannot start: ") and code, before binding anything.
NAME=pg_check
. tests/pglib.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
DB=pg_check_$$
R1=check_lowly_$$ R2=check_reader_$$ R3=check_pw_$$
createdb "$DB" || { echo "pg_check: createdb failed" >&2; exit 1; }
q() { psql -XAtq -d "$DB" -c "$1"; }
# conf DSN [DSN_FILE_TEXT]: a broker config on that DSN
conf() {
    printf 'spool:\n  backend: postgresql\n  dsn: "%s"\n' "$1" > "$tmp/r.yaml"
    if [ $# -gt 1 ]; then
        echo "$2" > "$tmp/dsn"
        echo "  dsn_file: $tmp/dsn" >> "$tmp/r.yaml"
    fi
}
# expect CODE LINE: --check-config exits CODE printing exactly LINE
expect() {
    out=$($B/reportd --check-config "$tmp/r.yaml" 2>&1)
    rc=$?
    [ $rc -eq "$1" ] && [ "$out" = "$2" ] && ok ||
        bad "--check-config: exit $rc (want $1): $out (want: $2)"
}
at() { echo "host=$PGHOST port=$PGPORT dbname=$1 user=$2"; }

# an empty database: OK, and nothing made
conf "dbname=$DB"
expect 0 "configuration OK"
[ "$(q "select count(*) from pg_tables where schemaname = 'public'")" = 0 ] && ok ||
    bad "--check-config made tables"
# unreachable; not a DSN libpq takes; no such database; no such role
conf "host=$tmp/none port=1 dbname=x"
expect 69 "spool: postgresql host=$tmp/none port=1 dbname=x user=$PGUSER: cannot connect: connection to server on socket \"$tmp/none/.s.PGSQL.1\" failed: No such file or directory"
conf "dbname=$DB nosuchkey=1"
expect 78 "spool.dsn: invalid connection option \"nosuchkey\""
conf "dbname=$DB sslmode=sometimes"
expect 78 "spool: postgresql $(at $DB $PGUSER): spool.dsn: invalid sslmode value: \"sometimes\""
conf "dbname=${DB}_none"
expect 78 "spool: postgresql $(at ${DB}_none $PGUSER): no such database: database \"${DB}_none\" does not exist"
conf "dbname=$DB user=${R1}_none"
expect 77 "spool: postgresql $(at $DB ${R1}_none): refused: authentication: role \"${R1}_none\" does not exist"
# a wrong password (the role's logins need one: scram-sha-256 for it alone)
q "CREATE ROLE $R3 LOGIN PASSWORD 'right'" &&
    sed -i "1i local all $R3 scram-sha-256" "$PGTEST_DIR/data/pg_hba.conf" &&
    q "SELECT pg_reload_conf()" > /dev/null
conf "dbname=$DB user=$R3" "password=wrong"
expect 77 "spool: postgresql $(at $DB $R3): refused: authentication: password authentication failed for user \"$R3\""
conf "dbname=$DB user=$R3" "password=right"
expect 77 "spool: postgresql $(at $DB $R3): may not create reportd's tables: permission denied for schema public"
# a role that may log in but not create tables
q "CREATE ROLE $R1 LOGIN; CREATE ROLE $R2 LOGIN"
conf "dbname=$DB user=$R1"
expect 77 "spool: postgresql $(at $DB $R1): may not create reportd's tables: permission denied for schema public"
# the tables made by a broker; a role that may not read them, one that may only read
conf "dbname=$DB"
$B/reportd -c "$tmp/r.yaml" broker 2> "$tmp/b.log" &
pid=$!
i=0; while ! grep -qs "started: broker" "$tmp/b.log" && [ $i -lt 300 ]; do i=$((i + 1)); sleep 0.1; done
kill $pid; wait $pid
expect 0 "configuration OK"
conf "dbname=$DB user=$R1"
expect 77 "spool: postgresql $(at $DB $R1): may not read reportd's tables: permission denied for table reportd_meta"
q "GRANT SELECT ON ALL TABLES IN SCHEMA public TO $R2"
conf "dbname=$DB user=$R2"
expect 77 "spool: postgresql $(at $DB $R2): may not write reportd's tables: permission denied for table reportd_meta"
[ "$(q "select count(*) from reportd_meta where key like 'reportd --check-config'")" = 0 ] && ok ||
    bad "--check-config left its probe row"
# a newer reportd's layout; no layout row; a table job that is not reportd's
conf "dbname=$DB"
layout=$(q "select value from reportd_meta where key = 'layout'")
q "UPDATE reportd_meta SET value = '$((layout + 1))' WHERE key = 'layout'"
expect 78 "spool: postgresql $(at $DB $PGUSER): layout $((layout + 1)), written by a newer reportd (this one reads layouts 1 to $layout): use that reportd, or another database"
q "DELETE FROM reportd_meta WHERE key = 'layout'"
expect 78 "spool: postgresql $(at $DB $PGUSER): reportd_meta has no layout row: not written by reportd, or damaged; use another database"
# the start says the same, and stops before it binds or serves
out=$($B/reportd -c "$tmp/r.yaml" broker 2>&1)
rc=$?
[ $rc -eq 78 ] && [ "$out" = "cannot start: spool: postgresql $(at $DB $PGUSER): reportd_meta has no layout row: not written by reportd, or damaged; use another database" ] &&
    ok || bad "start on a database without a layout row: exit $rc: $out"
q "DROP TABLE reportd_meta"
expect 78 "spool: postgresql $(at $DB $PGUSER): holds a table job but no reportd_meta: not made by reportd; use another database"
dropdb "$DB"
psql -XAtq -c "DROP ROLE $R1; DROP ROLE $R2; DROP ROLE $R3"
echo "pg_check: $pass passed, $fail failed"
[ $fail -eq 0 ]
