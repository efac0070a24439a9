# pglib.sh: what the reportd-on-PostgreSQL scripts (pg_daemon.sh, pg_lead.sh;
# POSIX sh) share. Sourced with NAME set: counts with ok and bad, and exits 69
# when no server is there (they run under sh scripts/pg-test-server.sh run).
set -u
B=${REPORTD_BUILD:-build}
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
if [ -z "${PGHOST:-}" ]; then
    echo "$NAME: no server (PGHOST unset): run under sh scripts/pg-test-server.sh run" >&2
    exit 69
fi
