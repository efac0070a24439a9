#!/bin/bash
# e2e: reportd end to end with real processes on 127.0.0.1 — a broker, three
# supervised worker processes, subscribers and reportctl — killed with -9 to
# prove what survives. Run from the project root by `make check`; every wait
# is bounded. Scenarios:
#   1. 1,000 durable submissions, one worker process kill -9'd mid-stream
#   2. 1,000 more with the broker kill -9'd mid-stream and restarted
#   3. a poison submission ends in the dead letters, the rest flow on
#   4. an alert.43. subscriber gets the 湘乡 alert and nothing else
#   5. interop (Python client and broker from the specs) and bad input
#   6. the embedded default with $STATE_DIRECTORY; --check-config exit codes
#   7. the history of previous years (issue 13) survives the daemon's kill -9
set -u
BUILD=${REPORTD_BUILD:-build}
REPORTD=$BUILD/reportd
REPORTD_SEAMS=$BUILD/reportd-test     # reportd + the fault seam (tests/seams/worker_fault.c)
CTL=$BUILD/reportctl
PY=/usr/bin/python3
EX=examples/xiangxiang-minzheng-2024.txt
T=$(mktemp -d /tmp/reportd-e2e.XXXXXX)
BASE=$((20000 + ($$ % 1200) * 10))   # below the ephemeral range (32768-60999)
BROKER=tcp://127.0.0.1:$BASE
PUBLISH=tcp://127.0.0.1:$((BASE + 1))
N=${E2E_N:-1000}
BROKER_PID=
BG_PIDS=

NAME=e2e
. tests/lib.sh
. tests/procs.sh

check_stream() {   # check_stream WATCH_OUT SUBMIT_OUT SPOOL LABEL
    local w=$1 s=$2 db=$3 label=$4
    [ "$(wc -l < "$s")" -eq "$N" ] || fail "$label: submit printed $(wc -l < "$s") lines, not $N"
    [ "$(cut -f3 "$s" | grep -c '^FAIL$')" -eq "$N" ] ||
        fail "$label: not every submission got its Result: $(cut -f3 "$s" | sort | uniq -c)"
    wait_for 30 at_least "$w" '"topic":"result\.' "$N" ||
        fail "$label: the subscriber saw $(count "$w" '"topic":"result\.') results, not $N"
    # in sequence order, no sequence number twice
    grep -o '"seq":[0-9]*' "$w" | cut -d: -f2 | awk 'NR > 1 && $1 <= prev { exit 1 } { prev = $1 }' ||
        fail "$label: the subscriber's sequence numbers are not strictly increasing"
    cut -f2 "$s" | sort > "$T/ids.sent"
    grep '"topic":"result\.' "$w" | grep -o '"submission_id":"[^"]*"' | cut -d'"' -f4 | sort > "$T/ids.seen"
    cmp -s "$T/ids.sent" "$T/ids.seen" || fail "$label: the results seen differ from the submissions"
    local jobs pubs
    jobs=$(sql "$db" "select count(*) from job where state in (1, 3) and status = 2")
    pubs=$(sql "$db" "select count(*) from published where topic like 'result.%'")
    [ "$jobs" -eq "$N" ] || fail "$label: $jobs final Results in the spool, not $N"
    [ "$pubs" -eq "$N" ] || fail "$label: $pubs result publications in the spool, not $N"
    say "$label: $N submissions, $N Results in the spool, $N publications, subscriber in order" \
        "(gaps filled by replay: $(count "$w" '"replayed":true'))"
}

[ -x "$REPORTD" ] && [ -x "$CTL" ] || fail "build $REPORTD and $CTL first"
command -v sqlite3 >/dev/null || fail "sqlite3 is needed"
START=$(date +%s)

# 1. worker kill -9 mid-stream -------------------------------------------------
config "$T/c1.yaml" "$T/s1.db"
start_broker "$T/c1.yaml"
# w1 is slow (200 ms a request), so when it is killed it is holding a job
DELAY_MS=200 supervise_worker w1 "$T/c1.yaml"
for i in 2 3; do supervise_worker "w$i" "$T/c1.yaml"; done
watch_bg "$T/watch1.out"
"$CTL" submit --fail-on none --broker "$BROKER" --timeout 3000 --repeat "$N" --region 430381 \
    --name 湘乡市民政局 --year 2024 "$EX" >"$T/submit1.out" 2>>"$T/submit.log" &
SUBMIT=$!
wait_for 30 at_least "$T/watch1.out" '"topic":"result\.' $((N / 4)) || fail "1: no progress"
kill -9 "$(cat "$T/w1.pid")"
say "1: kill -9 worker w1 after $(count "$T/watch1.out" '"topic":"result\.') results"
wait "$SUBMIT" || fail "1: reportctl submit exited $?"
check_stream "$T/watch1.out" "$T/submit1.out" "$T/s1.db" "1 (worker kill -9)"
[ "$(count "$T/broker.log" 'handed out again')" -ge 1 ] || fail "1: the killed worker's job was not handed out again"
say "1: the job w1 held was handed out again ($(count "$T/broker.log" 'handed out again') redelivery)"

# 2. broker kill -9 mid-stream --------------------------------------------------
kill "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null
config "$T/c2.yaml" "$T/s2.db"
start_broker "$T/c2.yaml"
watch_bg "$T/watch2.out"
"$CTL" submit --fail-on none --broker "$BROKER" --timeout 1000 --retries 20 --repeat "$N" --region 430381 \
    --name 湘乡市民政局 --year 2024 "$EX" >"$T/submit2.out" 2>>"$T/submit.log" &
SUBMIT=$!
wait_for 30 at_least "$T/watch2.out" '"topic":"result\.' $((N / 4)) || fail "2: no progress"
kill -9 "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null
[ "$(sql "$T/s2.db" 'select count(*) from job where state = 0')" -gt 0 ] ||
    fail "2: the broker was killed with nothing pending: the test proves nothing"
say "2: kill -9 broker with $(sql "$T/s2.db" 'select count(*) from job where state = 0') jobs pending, after $(count "$T/watch2.out" '"topic":"result\.') results;" \
    "$(sql "$T/s2.db" 'select count(*) from job') jobs durable"
start_broker "$T/c2.yaml"
wait "$SUBMIT" || fail "2: reportctl submit exited $?"
check_stream "$T/watch2.out" "$T/submit2.out" "$T/s2.db" "2 (broker kill -9)"

# 3. poison → dead letter ---------------------------------------------------------
{ cat "$EX"; echo "POISON-PILL-E2E"; } > "$T/poison.txt"
watch_bg "$T/watch3.out" deadletter
"$CTL" submit --fail-on none --broker "$BROKER" --no-wait --region 430381 "$T/poison.txt" >"$T/poison.out" 2>>"$T/submit.log" ||
    fail "3: the poison submission was not accepted"
"$CTL" submit --fail-on none --broker "$BROKER" --repeat 50 --region 430381 "$EX" >"$T/submit3.out" 2>>"$T/submit.log" ||
    fail "3: the other submissions did not flow on"
[ "$(cut -f3 "$T/submit3.out" | grep -c '^FAIL$')" -eq 50 ] || fail "3: other submissions got no Result"
wait_for 30 at_least "$T/watch3.out" '"topic":"deadletter"' 1 || fail "3: no deadletter event"
PSID=$(cut -f2 "$T/poison.out")
grep -q "\"submission_id\":\"$PSID\"" "$T/watch3.out" || fail "3: the deadletter event names another submission"
"$CTL" deadletter --broker "$BROKER" list > "$T/dl.out" || fail "3: deadletter list failed"
PUUID=$(echo "$PSID" | tr -d -)
grep -q "$PUUID.*holding only this job, 3 times" "$T/dl.out" || fail "3: the dead letter is not listed: $(cat "$T/dl.out")"
"$CTL" deadletter --broker "$BROKER" show "$PUUID" | grep -q '"bytes":' || fail "3: deadletter show"
"$CTL" deadletter --broker "$BROKER" retry "$PUUID" >/dev/null || fail "3: deadletter retry"
wait_for 30 at_least "$T/watch3.out" '"topic":"deadletter"' 2 || fail "3: a retried poison did not die again"
# the same submission id again: the same UUID, no new job, the dead letter's answer
"$CTL" submit --fail-on none --broker "$BROKER" --id "$PSID" --region 430381 "$T/poison.txt" >"$T/again.out" 2>>"$T/submit.log"
[ $? -eq 65 ] && grep -q "500 dead letter" "$T/again.out" || fail "3: resubmitting the poison: $(cat "$T/again.out")"
say "3: poison dead-lettered after 3 attempts (and again after retry); 50 others FAIL as expected"

# 4. alert.43. gets the 湘乡 alert only --------------------------------------------
watch_bg "$T/watch4.out" alert.43.
for region in 110101 430381 440106; do
    "$CTL" submit --fail-on none --broker "$BROKER" --region "$region" --name 湘乡市民政局 --year 2024 "$EX" \
        >>"$T/submit4.out" 2>>"$T/submit.log" || fail "4: submit $region"
done
wait_for 10 at_least "$T/watch4.out" '"topic"' 1 || fail "4: no alert arrived"
# not a pause to see whether more come: the publication log holds every alert
# published since the subscriber's baseline, and exactly one is under alert.43.
from=$(grep 'watch: following from seq' "$T/watch.log" | tail -1 | sed 's/.* seq //')
[ "$(sql "$T/s2.db" "select count(*) from published where seq > $from and topic like 'alert.43.%'")" -eq 1 ] &&
    [ "$(wc -l < "$T/watch4.out")" -eq 1 ] && grep -q '"topic":"alert.43.4303.430381"' "$T/watch4.out" ||
    fail "4: alert.43. subscriber got: $(cat "$T/watch4.out")"
say "4: alert.43. subscriber received exactly the 湘乡 alert"
"$CTL" watch --json --from 3 --count 4 --broker "$BROKER" --publish "$PUBLISH" >"$T/from.out" 2>>"$T/watch.log" ||
    fail "4: watch --from"
[ "$(grep -o '"seq":[0-9]*,' "$T/from.out" | tr -d '\n')" = '"seq":3,"seq":4,"seq":5,"seq":6,' ] &&
    [ "$(count "$T/from.out" '"replayed":true')" -eq 4 ] || fail "4: watch --from 3 gave: $(cat "$T/from.out")"
say "4: watch --from 3 replayed 3, 4, 5, 6 from the broker's log"

# 5. interop and bad input ---------------------------------------------------------
$PY tests/mdp_interop.py client "$BROKER" "$EX" || fail "5: Python MDP/Titanic client"
$PY tests/mdp_interop.py garbage "$BROKER" 1048576 || fail "5: bad input"
[ "$(count "$T/broker.log" 'dropped an invalid message')" -ge 5 ] || fail "5: invalid input not logged"
IP=tcp://127.0.0.1:$((BASE + 5))
sed "s|connect: $BROKER|connect: $IP|" "$T/c2.yaml" > "$T/c5.yaml"
$PY tests/mdp_interop.py broker "$IP" "$REPORTD" "$EX" "$T/c5.yaml" || fail "5: worker under a Python broker"

# 6. embedded default, check-config --------------------------------------------------
kill "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null; BROKER_PID=
mkdir -p "$T/state"
printf 'broker:\n  bind: %s\n  publish: %s\nworker:\n  threads: 2\n' "$BROKER" "$PUBLISH" > "$T/c6.yaml"
STATE_DIRECTORY="$T/state" "$REPORTD" -c "$T/c6.yaml" 2>>"$T/embedded.log" &
BROKER_PID=$!
# no wait for readiness needed: submit connects, resends and waits for its Result
"$CTL" submit --fail-on none --broker "$BROKER" --region 430381 "$EX" | grep -q FAIL || fail "6: embedded default"
[ -s "$T/state/spool.db" ] || fail "6: no spool in \$STATE_DIRECTORY"
# the published forms through the daemon: a PDF, a truncated PDF (REJECTED,
# the worker serves on), the same PDF again, the HTML page (WARN: submitted
# now, long after the deadline, R-DEADLINE joins 淮安's clean report)
SR=../shared/reports
head -c 100000 $SR/huaian-2024.pdf > "$T/cut.pdf"
"$CTL" submit --fail-on none --broker "$BROKER" $SR/huaian-2024.pdf "$T/cut.pdf" $SR/huaian-2024.pdf \
    $SR/shuyang-fgj-2023.html > "$T/forms.out" 2>>"$T/submit.log" || fail "6: submit the published forms"
[ "$(cut -f3 "$T/forms.out" | tr '\n' ' ')" = "WARN REJECTED WARN WARN " ] ||
    fail "6: the published forms: $(cut -f1,3 "$T/forms.out" | tr '\n' ' ')"
"$REPORTD" --check-config config/reportd.yaml | grep -qx "configuration OK" || fail "6: check-config"
printf 'spool:\n  batch_max: -1\n' > "$T/bad.yaml"
"$REPORTD" --check-config "$T/bad.yaml" 2>/dev/null
[ $? -eq 78 ] || fail "6: a bad config does not exit 78"
say "6: embedded default with \$STATE_DIRECTORY (a PDF, a truncated PDF, the PDF again, the HTML page: WARN REJECTED WARN WARN), check-config OK / 78"
# 7. the history of previous years across a kill -9 ----------------------------------
# 平潭 2024 first (no year_on_year), 2023, 2024 again (deltas against 2023, no
# cross-year finding: carry-over holds); the daemon kill -9'd and restarted on
# the same spool; 2024 once more still gets them
sub7() {   # sub7 ID YEAR
    "$CTL" submit --fail-on none --broker "$BROKER" --name 平潭综合实验区管委会 --year "$2" \
        --id "$1" "$SR/pingtan-$2.page.txt" >> "$T/hist.out" 2>>"$T/submit.log" || fail "7: submit $1"
}
yoy7() {   # yoy7 WATCH_OUT ID: 1 when its Result has year_on_year, 0 when not
    wait_for 30 at_least "$1" "\"submission_id\":\"$2\"" 1 || fail "7: no Result for $2 seen"
    grep "\"submission_id\":\"$2\"" "$1" | grep -c '"year_on_year"'
}
watch_bg "$T/watch7.out"
sub7 00000000-0000-4000-8000-000000072024 2024
sub7 00000000-0000-4000-8000-000000072023 2023
sub7 00000000-0000-4000-8000-000000172024 2024
[ "$(yoy7 "$T/watch7.out" 00000000-0000-4000-8000-000000072024)" = 0 ] || fail "7: 2024 first has year_on_year"
[ "$(yoy7 "$T/watch7.out" 00000000-0000-4000-8000-000000072023)" = 0 ] || fail "7: 2023 has year_on_year"
[ "$(yoy7 "$T/watch7.out" 00000000-0000-4000-8000-000000172024)" = 1 ] ||
    fail "7: 2024 after 2023 has no year_on_year"
grep '"submission_id":"00000000-0000-4000-8000-000000172024"' "$T/watch7.out" |
    grep -q 'R-S3-PREV-CARRY\|R-S2-CONTINUITY\|R-DUP-PREV\|R-YOY-JUMP\|R-PREV-PARTIAL' &&
    fail "7: a cross-year finding for 平潭 2024"
grep '"submission_id":"00000000-0000-4000-8000-000000172024"' "$T/watch7.out" |
    grep -q '"previous_year":2023,"received":137' || fail "7: the deltas are not against 2023"
kill -9 "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null
STATE_DIRECTORY="$T/state" "$REPORTD" -c "$T/c6.yaml" 2>>"$T/embedded.log" &
BROKER_PID=$!
watch_bg "$T/watch7b.out"
sub7 00000000-0000-4000-8000-000000272024 2024
[ "$(yoy7 "$T/watch7b.out" 00000000-0000-4000-8000-000000272024)" = 1 ] ||
    fail "7: the history did not survive kill -9"
H7="select group_concat(year) from (select year from history where body_key like '% 平潭%' order by year)"
[ "$(sql "$T/state/spool.db" "$H7")" = "2023,2024" ] ||
    fail "7: 平潭's history holds years $(sql "$T/state/spool.db" "$H7"), not 2023,2024"
say "7: 平潭 2024 first: no year_on_year; 2023; 2024 again: against 2023 (+137 received), no cross-year finding; after kill -9 and restart: still; 平潭's history: 2023, 2024"
# stop everything gracefully, so leak checkers in sanitizer builds get to report
touch "$T/stop"
kill "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null; BROKER_PID=
for f in "$T"/w*.pid; do kill "$(cat "$f")" 2>/dev/null; done
wait_for 10 gone $(cat "$T"/w*.pid) || fail "the workers did not stop on TERM"
if grep -l "Sanitizer\|runtime error" "$T"/*.log >/dev/null 2>&1; then
    fail "a sanitizer reported an error"
fi
say "all scenarios passed in $(( $(date +%s) - START )) s"
