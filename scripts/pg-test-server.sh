#!/bin/sh
# pg-test-server.sh run COMMAND [ARG…] — a real PostgreSQL server (Debian's
# `postgresql` package) for one test command: initdb and pg_ctl in a fresh
# temporary directory, as an unprivileged user (this one, or `nobody` when run
# as root), listening only on a unix socket in that directory (no TCP); the
# port — the socket's name — derived from the pid like the other tests'.
# COMMAND runs with PGHOST, PGPORT, PGUSER, PGDATABASE set (so `psql` and
# libpq connect with no arguments) and PGTEST_DIR naming the directory. The
# server is stopped and the directory removed when COMMAND ends, also when it
# fails or this script is interrupted; the exit status is COMMAND's (or 69
# when the server cannot start, with its log on stderr).
# With PGTEST_LISTEN=ADDRESS and PGTEST_HOSTS=CIDR (tests/cluster.sh, inside
# a network namespace it made) the server also listens on ADDRESS:PGPORT over
# TCP and lets hosts in CIDR in with a password only (scram-sha-256); the
# socket stays trusted for the test's own psql.
# pg-test-server.sh restart — from inside COMMAND: pg_ctl restart -m fast of
# that server ($PGTEST_DIR), waiting until it accepts connections again.
set -u
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
    echo "pg-test-server: PostgreSQL is not installed (scripts/setup.sh installs postgresql)" >&2
    exit 69
fi
as_owner() { "$@"; }
[ "$(id -u)" = 0 ] && as_owner() { runuser -u nobody -- "$@"; }
if [ "${1:-}" = restart ] && [ -n "${PGTEST_DIR:-}" ]; then
    as_owner "$BIN/pg_ctl" restart -D "$PGTEST_DIR/data" -m fast -w -t 60 -l "$PGTEST_DIR/server.log" >/dev/null
    exit
fi
[ "${1:-}" = run ] && [ $# -ge 2 ] || { echo "usage: $0 run COMMAND [ARG...] | restart" >&2; exit 64; }
shift
PORT=$((22000 + $$ % 5000))     # below the ephemeral range; only names the socket
DIR=$(mktemp -d /tmp/reportd-pg.XXXXXX) || exit 73
[ "$(id -u)" = 0 ] && chown nobody: "$DIR"
stop() {
    if [ -f "$DIR/data/postmaster.pid" ]; then
        as_owner "$BIN/pg_ctl" stop -D "$DIR/data" -m immediate -w -t 30 >/dev/null 2>&1
    fi
    rm -rf "$DIR"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if ! as_owner "$BIN/initdb" -D "$DIR/data" -U reportd --auth=trust --no-sync -E UTF8 \
        --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1; then
    echo "pg-test-server: initdb failed:" >&2
    cat "$DIR/initdb.log" >&2
    exit 69
fi
if [ -n "${PGTEST_LISTEN:-}" ]; then
    echo "host all all ${PGTEST_HOSTS:?PGTEST_HOSTS with PGTEST_LISTEN} scram-sha-256" >> "$DIR/data/pg_hba.conf"
fi
if ! as_owner "$BIN/pg_ctl" start -D "$DIR/data" -w -t 30 -l "$DIR/server.log" \
        -o "-k $DIR -p $PORT -c listen_addresses=${PGTEST_LISTEN:-}" >/dev/null 2>&1; then
    echo "pg-test-server: the server did not start:" >&2
    cat "$DIR/server.log" >&2
    exit 69
fi
PGHOST=$DIR PGPORT=$PORT PGUSER=reportd PGDATABASE=postgres PGTEST_DIR=$DIR
export PGHOST PGPORT PGUSER PGDATABASE PGTEST_DIR
"$@"
rc=$?
exit $rc
