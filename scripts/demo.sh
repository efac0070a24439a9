#!/bin/sh
# demo: the whole flow on the embedded default, as a newcomer runs it —
# start reportd (broker + worker threads, spool in a temporary ./var), start a
# subscriber, submit the bundled example reports durably, show what the
# subscriber saw (results and alerts), and stop everything cleanly.
set -u
B=${REPORTD_BUILD:-build}
DIR=$(mktemp -d /tmp/reportd-demo.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
BROKER=tcp://127.0.0.1:5555
PUBLISH=tcp://127.0.0.1:5556

# until COMMAND… succeeds, at most 10 s (no fixed pauses)
await() { for _ in $(seq 200); do "$@" && return 0; sleep 0.05; done; return 1; }

STATE_DIRECTORY="$DIR" "$B/reportd" 2>"$DIR/reportd.log" &
REPORTD=$!
await grep -q 'started:' "$DIR/reportd.log" || { cat "$DIR/reportd.log"; exit 1; }
"$B/reportctl" watch --broker "$BROKER" --publish "$PUBLISH" >"$DIR/watch.out" 2>"$DIR/watch.log" &
WATCH=$!
await grep -q 'following from seq' "$DIR/watch.log"
echo "== reportctl submit (durable: titanic.request, then the Result)"
"$B/reportctl" submit --broker "$BROKER" --region 430381 --name 湘乡市民政局 --year 2024 \
    --kind department examples/*.txt
# each FAIL publishes a result and an alert
await sh -c "[ \$(wc -l < '$DIR/watch.out') -ge \$((2 * \$(ls examples/*.txt | wc -l))) ]"
echo "== what a subscriber saw (seq topic submission status …)"
kill "$WATCH"; wait "$WATCH" 2>/dev/null
cat "$DIR/watch.out"
kill "$REPORTD"; wait "$REPORTD"
echo "== reportd log"
cat "$DIR/reportd.log"
