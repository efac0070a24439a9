#!/bin/bash
# bench-backlog: the broker's memory with a large pending backlog (issue 9,
# item 10) — `make bench-backlog`, not a test. A `reportd broker` with no
# workers takes BACKLOG_N (100,000) durable submissions of the bundled example
# (`reportctl submit --no-wait`); then its RSS (VmRSS, and the peak VmHWM) is
# read from /proc, the broker is restarted on the same spool, and its RSS and
# start time are read again. spool.window (BACKLOG_WINDOW, default the
# config's 1000) bounds the jobs held in memory; the rest stay in the spool.
set -u
BUILD=${REPORTD_BUILD:-build}
N=${BACKLOG_N:-100000}
WINDOW=${BACKLOG_WINDOW-1000}     # empty: no spool.window key (a build without it)
EX=examples/xiangxiang-minzheng-2024.txt
T=$(mktemp -d /tmp/reportd-backlog.XXXXXX)
PORT=$((20008 + ($$ % 1200) * 10))
BROKER=tcp://127.0.0.1:$PORT
PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT

cat > "$T/c.yaml" <<YAML
broker:
  bind: $BROKER
  publish: tcp://127.0.0.1:$((PORT + 1))
spool:
  path: $T/spool.db
${WINDOW:+  window: $WINDOW}
YAML
kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$PID/status"; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
up() {   # start the broker; UP_S: seconds until it answers mmi.service
    local t0; t0=$(date +%s.%N)
    "$BUILD/reportd" -c "$T/c.yaml" broker >/dev/null 2>>"$T/broker.log" &
    PID=$!
    for _ in $(seq 1200); do
        /usr/bin/python3 -c "import zmq,sys; s=zmq.Context().socket(zmq.REQ); s.setsockopt(zmq.LINGER,0)
s.connect('$BROKER'); s.send_multipart([b'MDPC01', b'mmi.service', b'x'])
sys.exit(0 if s.poll(200) else 1)" && break
        sleep 0.05
    done
    UP_S=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
}

up
base=$(kb VmRSS)
t0=$(date +%s)
"$BUILD/reportctl" submit --broker "$BROKER" --no-wait --repeat "$N" --region 430381 "$EX" \
    > "$T/submit.out" 2>"$T/submit.err" || { echo "submit failed: $(tail -3 "$T/submit.err")"; exit 1; }
secs=$(( $(date +%s) - t0 ))
acked=$(grep -c ACCEPTED "$T/submit.out")
rss=$(kb VmRSS); hwm=$(kb VmHWM)
kill -TERM $PID; wait $PID; PID=
up
rss2=$(kb VmRSS)
echo "backlog: $acked of $N submissions acknowledged in $secs s, no workers, spool.window $WINDOW," \
     "spool $(du -m "$T/spool.db" | cut -f1) MB"
echo "backlog: broker RSS $(mb "$base") MB idle, $(mb "$rss") MB with $acked pending (peak $(mb "$hwm") MB);" \
     "restarted on that spool in $UP_S s: RSS $(mb "$rss2") MB"
