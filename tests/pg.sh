#!/bin/sh
# The PostgreSQL test server (scripts/pg-test-server.sh): it starts a real
# server (Debian's postgresql), `select 1` answers through libpq's psql on its
# unix socket, the server runs as an unprivileged user with no TCP listener,
# and it is stopped and its directory removed afterwards — also when the
# command run under it fails (its exit status passed on).
set -u
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
PG=scripts/pg-test-server.sh
# gone PID: no such process, or only a zombie waiting for its reaper
gone() { st=$(ps -o stat= -p "$1" 2>/dev/null); [ -z "$st" ] || [ "${st#Z}" != "$st" ]; }
probe='echo "$PGTEST_DIR" > "$0/dir"; head -1 "$PGTEST_DIR/data/postmaster.pid" > "$0/pid"
psql -XAtc "select 1"; psql -XAtc "show listen_addresses" | sed "s/^$/(none)/"
ps -o user= -p "$(cat "$0/pid")"'
sh $PG run sh -c "$probe" "$tmp" > "$tmp/out" 2> "$tmp/err"
rc=$?
[ $rc -eq 0 ] && ok || bad "pg-test-server run exited $rc: $(cat "$tmp/err")"
[ "$(sed -n 1p "$tmp/out")" = 1 ] && ok || bad "select 1 printed: $(cat "$tmp/out" "$tmp/err")"
[ "$(sed -n 2p "$tmp/out")" = "(none)" ] && ok || bad "listen_addresses is $(sed -n 2p "$tmp/out"), want none"
user=$(sed -n 3p "$tmp/out" | tr -d ' ')
[ -n "$user" ] && [ "$user" != root ] && ok || bad "the server ran as '$user'"
pid=$(cat "$tmp/pid" 2>/dev/null)
[ -n "$pid" ] && gone "$pid" && ok || bad "the server (pid $pid) still runs"
[ -s "$tmp/dir" ] && [ ! -e "$(cat "$tmp/dir")" ] && ok || bad "$(cat "$tmp/dir") was not removed"
# a failing command: its status, and the server gone all the same
sh $PG run sh -c 'echo "$PGTEST_DIR" > "$0/dir2"; head -1 "$PGTEST_DIR/data/postmaster.pid" > "$0/pid2"; exit 3' "$tmp" 2> "$tmp/err"
rc=$?
[ $rc -eq 3 ] && ok || bad "a failing command: exit $rc, want 3: $(cat "$tmp/err")"
pid=$(cat "$tmp/pid2" 2>/dev/null)
[ -n "$pid" ] && gone "$pid" && [ ! -e "$(cat "$tmp/dir2")" ] && ok ||
    bad "after a failing command the server (pid $pid) or $(cat "$tmp/dir2") remains"
# restart from inside the command (tests/cluster.sh): the server answers again
sh $PG run sh -c "sh $PG restart && psql -XAtc 'select 2'" > "$tmp/out" 2> "$tmp/err"
[ $? -eq 0 ] && [ "$(cat "$tmp/out")" = 2 ] && ok || bad "restart: $(cat "$tmp/out" "$tmp/err")"
sh $PG 2>/dev/null; [ $? -eq 64 ] && ok || bad "no command: not exit 64"
echo "pg: $pass passed, $fail failed"
[ $fail -eq 0 ]
