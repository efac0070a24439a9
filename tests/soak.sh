#!/bin/bash
# soak: kill -9 under load with worker.threads: 2 and poisons mixed in (issue
# 9). Two supervised worker processes of two threads each serve SOAK_N (600)
# durable submissions while three poison submissions (each kills the process
# that checks it, with the job in its sibling thread) arrive among them; both
# worker processes and the broker are kill -9'd mid-stream. What must hold:
# nothing lost (every healthy submission has its Result), each Result
# published exactly once (spool and subscriber), every poison dead-lettered
# for dying alone max_attempts times, no healthy submission dead-lettered.
# Run from the project root by `make check`; every wait is bounded.
set -u
BUILD=${REPORTD_BUILD:-build}
REPORTD=$BUILD/reportd
REPORTD_SEAMS=$BUILD/reportd-test
CTL=$BUILD/reportctl
PY=/usr/bin/python3
EX=examples/xiangxiang-minzheng-2024.txt
T=$(mktemp -d /tmp/reportd-soak.XXXXXX)
BASE=$((20006 + ($$ % 1200) * 10))   # e2e.sh takes +0…+5 of the same decade
BROKER=tcp://127.0.0.1:$BASE
PUBLISH=tcp://127.0.0.1:$((BASE + 1))
N=${SOAK_N:-600}
BROKER_PID=
BG_PIDS=

NAME=soak
. tests/lib.sh
. tests/procs.sh

results() { count "$T/watch.out" '"topic":"result\.'; }
progress() { at_least "$T/watch.out" '"topic":"result\.' "$1"; }

[ -x "$REPORTD_SEAMS" ] && [ -x "$CTL" ] || fail "build $REPORTD_SEAMS and $CTL first"
START=$(date +%s)
THREADS=2 config "$T/c.yaml" "$T/s.db"
start_broker "$T/c.yaml"
DELAY_MS=5 supervise_worker w1 "$T/c.yaml"
DELAY_MS=5 supervise_worker w2 "$T/c.yaml"
watch_bg "$T/watch.out"
for k in 1 2 3; do { cat "$EX"; echo "POISON-PILL-E2E $k"; } > "$T/poison$k.txt"; done
poison() {   # poison K: submitted without waiting for its Result
    "$CTL" submit --broker "$BROKER" --no-wait --timeout 1000 --retries 30 --region 430381 \
        "$T/poison$1.txt" >>"$T/poison.out" 2>>"$T/submit.log" || fail "poison $1 not accepted"
}
"$CTL" submit --broker "$BROKER" --fail-on none --timeout 1000 --retries 60 --repeat "$N" --region 430381 \
    --name 湘乡市民政局 --year 2024 "$EX" >"$T/submit.out" 2>>"$T/submit.log" &
SUBMIT=$!
poison 1
wait_for 30 progress $((N / 4)) || fail "no progress"
kill -9 "$(cat "$T/w1.pid")"
say "kill -9 worker process w1 after $(results) results"
poison 2
wait_for 30 progress $((N / 2)) || fail "no progress after the worker kill"
kill -9 "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null
say "kill -9 broker after $(results) results, $(sql "$T/s.db" 'select count(*) from job where state = 0') jobs pending"
sleep 0.3
start_broker "$T/c.yaml"
poison 3
wait_for 30 progress $((3 * N / 4)) || fail "no progress after the broker kill"
kill -9 "$(cat "$T/w2.pid")"
say "kill -9 worker process w2 after $(results) results"
wait "$SUBMIT" || fail "reportctl submit exited $?"

# nothing lost: every healthy submission has its Result
[ "$(wc -l < "$T/submit.out")" -eq "$N" ] && [ "$(cut -f3 "$T/submit.out" | grep -c '^FAIL$')" -eq "$N" ] ||
    fail "not every submission got its Result: $(cut -f3 "$T/submit.out" | sort | uniq -c)"
# each Result published exactly once: in the spool, and as the subscriber saw them
wait_for 30 progress "$N" || fail "the subscriber saw $(results) results, not $N"
pubs=$(sql "$T/s.db" "select count(*) from published where topic like 'result.%'")
[ "$pubs" -eq "$N" ] || fail "$pubs result publications in the spool, not $N"
cut -f2 "$T/submit.out" | sort > "$T/ids.sent"
grep '"topic":"result\.' "$T/watch.out" | grep -o '"submission_id":"[^"]*"' | cut -d'"' -f4 | sort > "$T/ids.seen"
cmp -s "$T/ids.sent" "$T/ids.seen" || fail "the results seen differ from the submissions (or one came twice)"
# every poison dead-lettered for dying alone; no healthy submission among the dead
wait_for 40 sh -c "[ \$(sqlite3 -cmd '.timeout 5000' '$T/s.db' 'select count(*) from job where state = 2') -ge 3 ]" ||
    fail "$(sql "$T/s.db" 'select count(*) from job where state = 2') dead letters, not 3"
"$CTL" deadletter --broker "$BROKER" list > "$T/dl.out" || fail "deadletter list failed"
for sid in $(cut -f2 "$T/poison.out"); do
    grep -q "  $sid .*worker died while holding only this job, 3 times" "$T/dl.out" ||
        fail "poison $sid is not a dead letter for dying alone: $(cat "$T/dl.out")"
done
[ "$(sql "$T/s.db" 'select count(*) from job where state = 2')" -eq 3 ] ||
    fail "a healthy submission was dead-lettered: $(cat "$T/dl.out")"
[ "$(sql "$T/s.db" "select count(*) from published where topic like 'result.%' and seq in
      (select reply_seq from job where state = 2)")" -eq 0 ] || fail "a poison was published"
say "$N submissions and 3 poisons with worker.threads 2, 2 worker and 1 broker kill -9:" \
    "$N Results, each published once (subscriber in sync, $(count "$T/watch.out" '"replayed":true') by replay)," \
    "3 dead letters (the poisons, dying alone 3 times), $(count "$T/broker.log" 'not charged') deaths in company not charged"
touch "$T/stop"
kill "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null; BROKER_PID=
if grep -l "Sanitizer\|runtime error" "$T"/*.log >/dev/null 2>&1; then
    fail "a sanitizer reported an error"
fi
say "passed in $(( $(date +%s) - START )) s"
