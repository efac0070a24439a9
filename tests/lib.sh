# lib.sh: shell helpers sourced by the end-to-end scripts (e2e.sh, ops.sh,
# curve.sh; bash). The caller sets NAME (the prefix of every line it prints)
# and T (its scratch directory) before using them.

say() { echo "$NAME: $*"; }

# The message, then the tail of every log and output file of the run; exit 1.
fail() {
    echo "$NAME: FAIL: $*" >&2
    for f in "$T"/*.log "$T"/*.out; do
        [ -e "$f" ] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }
    done
    exit 1
}

# wait_for SECONDS COMMAND…: run COMMAND every 50 ms until it succeeds; 1 when
# it never did.
wait_for() {
    local limit=$(($1 * 20)); shift
    for _ in $(seq "$limit"); do "$@" && return 0; sleep 0.05; done
    return 1
}

# gone PID…: true when none of them runs any more.
gone() {
    for p in "$@"; do kill -0 "$p" 2>/dev/null && return 1; done
    return 0
}

# stop_pids PID…: TERM each, KILL what is still running 5 s later (no fixed
# grace: it returns as soon as they are gone), reap them all.
stop_pids() {
    for p in "$@"; do kill "$p" 2>/dev/null; done
    wait_for 5 gone "$@"
    for p in "$@"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
}

# watching LOG N: the Nth "following from seq" line of reportctl watch is in
# LOG — that subscriber is ready (what it misses is replayed).
watching() {
    [ "$(grep -c 'watch: following from seq' "$1" 2>/dev/null)" -ge "$2" ]
}
