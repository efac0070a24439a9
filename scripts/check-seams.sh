#!/bin/sh
# The seam check (make check): the reportd that `make install` installs holds
# no test fault — no $REPORTD_TEST_* variable can arm one — while
# reportd-test, the daemon tests/e2e.sh and tests/ops.sh run, does; and
# reportctl links neither SQLite nor libpq (the spool is the broker's alone).
# Exit 0, or 1 with one line per violation.
set -u
B=${REPORTD_BUILD:-build}
bad=0
if strings "$B/reportd" | grep REPORTD_TEST; then
    echo "$B/reportd: a test seam is in the installed binary (above)"; bad=1
fi
if ! strings "$B/reportd-test" | grep -q REPORTD_TEST_POISON; then
    echo "$B/reportd-test: the fault seam is missing"; bad=1
fi
n=$(ldd "$B/reportctl" | grep -c -e sqlite -e libpq)
if [ "$n" -ne 0 ]; then
    echo "$B/reportctl links a store library: $(ldd "$B/reportctl" | grep -e sqlite -e libpq)"; bad=1
fi
[ $bad = 0 ] && echo "seams: reportd has no test fault, reportd-test has it; reportctl links no SQLite, no libpq" || exit 1
