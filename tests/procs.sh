# procs: the broker, supervised worker processes and subscribers as real
# processes on 127.0.0.1, for e2e.sh and soak.sh (bash). Source after
# tests/lib.sh with T, BROKER, PUBLISH, REPORTD, REPORTD_SEAMS (reportd with
# the fault seam: $REPORTD_TEST_POISON kills a worker, $REPORTD_TEST_DELAY_MS
# slows it), CTL and PY set; BROKER_PID and BG_PIDS start empty. Sets the EXIT
# trap that stops them all and removes T.

cleanup() {
    touch "$T/stop"
    for p in $BG_PIDS $BROKER_PID; do kill "$p" 2>/dev/null; done
    for f in "$T"/w*.pid; do [ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
    wait_for 5 gone $BG_PIDS $BROKER_PID $(cat "$T"/w*.pid 2>/dev/null)
    for p in $BG_PIDS $BROKER_PID; do kill -9 "$p" 2>/dev/null; done
    for f in "$T"/w*.pid; do [ -e "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

count() { grep -c -- "$2" "$1" 2>/dev/null || true; }
at_least() { [ "$(count "$1" "$2")" -ge "$3" ]; }
sql() { sqlite3 -cmd ".timeout 5000" "$1" "$2"; }

config() {   # config FILE SPOOL (worker.threads: $THREADS, default 1)
    cat > "$1" <<YAML
broker:
  bind: $BROKER
  publish: $PUBLISH
worker:
  connect: $BROKER
  threads: ${THREADS:-1}
  reconnect_min_ms: 50
  reconnect_max_ms: 400
heartbeat:
  interval_ms: 200
  liveness: 3
spool:
  path: $2
  max_attempts: 3
limits:
  max_message: 1048576
YAML
}

start_broker() {   # start_broker CONFIG
    "$REPORTD" -c "$1" broker 2>>"$T/broker.log" &
    BROKER_PID=$!
    wait_for 5 sh -c "echo | $PY -c 'import zmq,sys; c=zmq.Context(); s=c.socket(zmq.REQ); s.setsockopt(zmq.LINGER,0); s.connect(\"$BROKER\"); s.send_multipart([b\"MDPC01\", b\"mmi.service\", b\"x\"]); sys.exit(0 if s.poll(300) else 1)'" ||
        fail "broker did not come up"
}

# A worker process restarted by a supervisor loop whenever it dies.
supervise_worker() {   # supervise_worker NAME CONFIG
    (
        while [ ! -e "$T/stop" ]; do
            REPORTD_TEST_POISON=POISON-PILL-E2E REPORTD_TEST_DELAY_MS=${DELAY_MS:-3} \
                "$REPORTD_SEAMS" -c "$2" worker 2>>"$T/$1.log" &
            echo $! > "$T/$1.pid"
            wait $!
            sleep 0.1   # the supervisor's restart pause (RestartSec=), not a wait for readiness
        done
    ) 2>/dev/null &
    BG_PIDS="$BG_PIDS $!"
}

watch_bg() {   # watch_bg OUT PREFIX…
    local out=$1; shift
    local n=$(($(grep -c 'watch: following from seq' "$T/watch.log" 2>/dev/null) + 1))
    "$CTL" watch --json --broker "$BROKER" --publish "$PUBLISH" "$@" >"$out" 2>>"$T/watch.log" &
    BG_PIDS="$BG_PIDS $!"
    wait_for 10 watching "$T/watch.log" "$n" || fail "the subscriber did not start following"
}
