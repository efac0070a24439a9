#!/bin/bash
# ops: reportd as a production service (issue 4), with real processes on
# 127.0.0.1 and a test NOTIFY_SOCKET standing in for systemd. Run from the
# project root by `make check`; every wait is bounded. Scenarios:
#   1. the embedded default under a notify socket: READY=1 only once the
#      sockets accept connections, WATCHDOG=1 at half of WATCHDOG_USEC,
#      STATUS=, STOPPING=1 with EXTEND_TIMEOUT_USEC on TERM, exit 0;
#      /metrics parsed by prometheus_client equals what was sent; /healthz,
#      /readyz; SIGHUP with a broken file keeps serving on the old config;
#      SIGHUP with a changed alert policy takes effect and names the keys
#      that need a restart; every log line starts with a priority prefix
#   2. SIGTERM to a broker during a 1,000-submission run: it drains within
#      limits.shutdown_timeout and exits 0; after a restart every submission
#      has exactly one Result (nothing accepted is lost); JSON logs parse
#   3. /readyz of a broker without workers says why it is not ready
#   4. the spool deleted under a running broker (rm spool.db*): an error line,
#      /readyz 503 naming it, titanic.request 500, exit status 70 after TERM
set -u
BUILD=${REPORTD_BUILD:-build}
REPORTD=$BUILD/reportd
REPORTD_SEAMS=$BUILD/reportd-test     # reportd + the fault seam (tests/seams/worker_fault.c)
CTL=$BUILD/reportctl
PY=/usr/bin/python3
H=tests/ops_helper.py
EX=examples/xiangxiang-minzheng-2024.txt
T=$(mktemp -d /tmp/reportd-ops.XXXXXX)
BASE=$((15000 + ($$ % 500) * 10))   # below the ephemeral range (32768-60999)
N=${OPS_N:-1000}
PIDS=

NAME=ops
. tests/lib.sh
cleanup() { stop_pids $PIDS; rm -rf "$T"; }
trap cleanup EXIT
sql() { sqlite3 -cmd ".timeout 5000" "$1" "$2"; }
line_of() { grep -n -m1 -- "$2" "$1" | cut -d: -f1; }
metrics_are() { $PY "$H" metrics "$MURL" "$@" > "$T/metrics.out" 2>&1; }
submit() { "$CTL" submit --fail-on none --broker "$BROKER" --region 430381 --name 湘乡市民政局 --year 2024 "$@"; }

[ -x "$REPORTD" ] && [ -x "$CTL" ] || fail "build $REPORTD and $CTL first"
$PY -c 'import prometheus_client, zmq' 2>/dev/null ||
    fail "python3-prometheus-client and python3-zmq are needed (scripts/setup.sh installs them)"
START=$(date +%s)

# 1. the embedded default under a notify socket ---------------------------------
BROKER=tcp://127.0.0.1:$BASE
MPORT=$((BASE + 2))
MURL=http://127.0.0.1:$MPORT/metrics
write_c1() {   # write_c1 ALERT_STATUSES PUBLISH_PORT
    cat > "$T/c1.yaml" <<YAML
broker:
  bind: $BROKER
  publish: tcp://127.0.0.1:$2
worker:
  threads: 2
heartbeat:
  interval_ms: 200
spool:
  path: $T/s1.db
alerts:
  statuses: $1
limits:
  shutdown_timeout: 5
metrics:
  bind: 127.0.0.1:$MPORT
YAML
}
write_c1 "[FAIL]" $((BASE + 1))
SOCK=@reportd-ops-$$
$PY "$H" listen "$SOCK" "$T/notify.out" "$BASE" "$MPORT" &
PIDS="$PIDS $!"
wait_for 5 test -e "$T/notify.out.ready" || fail "1: the notify listener did not bind its socket"
NOTIFY_SOCKET=$SOCK WATCHDOG_USEC=1000000 "$REPORTD" -c "$T/c1.yaml" 2>>"$T/embedded.log" &
EMB=$!
PIDS="$PIDS $EMB"
wait_for 10 grep -q 'READY=1' "$T/notify.out" || fail "1: no READY=1"
grep -m1 'READY=1' "$T/notify.out" | grep -q 'bound=yes' ||
    fail "1: READY=1 came before the broker and metrics ports accepted connections"
wait_for 5 metrics_are reportd_workers_alive=2 || fail "1: workers did not register: $(cat "$T/metrics.out")"
[ "$($PY "$H" http "http://127.0.0.1:$MPORT/readyz")" = "200 ok" ] || fail "1: /readyz not ready"
[ "$($PY "$H" http "http://127.0.0.1:$MPORT/healthz")" = "200 ok" ] || fail "1: /healthz"

submit --repeat 100 "$EX" > "$T/submit1.out" 2>>"$T/submit.log" || fail "1: submit"
# the same submission id twice (no wait: a finished submit closes its job)
ID=6f1d0a52-3b7c-4e0e-9a51-0c2b8f1e7d01
submit --no-wait --id $ID "$EX" > "$T/dup.out" 2>>"$T/submit.log" || fail "1: submit --id"
submit --no-wait --id $ID "$EX" >> "$T/dup.out" 2>>"$T/submit.log" || fail "1: duplicate"
$PY "$H" bad_request "$BROKER" || fail "1: a malformed titanic.request was not answered 400"
[ "$(cut -f3 "$T/submit1.out" | grep -c '^FAIL$')" -eq 100 ] || fail "1: not every submission got its Result"
# sent: 100 + 1 + the same again + 1 malformed; each Result publishes result.* and alert.*
wait_for 5 metrics_are reportd_submissions_received_total=103 reportd_submissions_accepted_total=101 \
    reportd_submissions_duplicate_total=1 reportd_submissions_rejected_total=1 \
    'reportd_results_total{status="FAIL"}=101' 'reportd_results_total{status="PASS"}=0' \
    reportd_alerts_total=101 reportd_dead_letters_total=0 reportd_redeliveries_total=0 \
    reportd_queue_depth=0 reportd_in_flight=0 reportd_workers_alive=2 \
    reportd_last_published_sequence=202 reportd_submission_seconds_count=101 \
    reportd_work_seconds_count=101 reportd_queue_wait_seconds_count=101 ||
    fail "1: /metrics does not match what was sent: $(cat "$T/metrics.out")"
[ "$($PY "$H" sample "$MURL" reportd_spool_bytes)" -gt 0 ] || fail "1: reportd_spool_bytes is 0"
# issue 14's metrics: build info, process, spool failures, dead letters, queue age, alerts by province
VERSION=$("$REPORTD" --version | cut -d' ' -f2)
RULESET=$($CTL check --json "$EX" | $PY -c 'import json,sys; print(json.loads(sys.stdin.readline())["ruleset_version"])')
metrics_are "reportd_build_info{ruleset=\"$RULESET\",schema=\"1\",version=\"$VERSION\"}=1" \
    'reportd_alerts_by_province_total{province="43"}=101' 'reportd_alerts_by_province_total{province="00"}=0' \
    reportd_dead_letters_waiting=0 reportd_spool_write_failures_total=0 reportd_queue_oldest_seconds=0 \
    'reportd_zap_refusals_total{reason="key"}=0' ||
    fail "1: build info, alerts by province, dead letters, spool failures: $(cat "$T/metrics.out")"
started=$($PY "$H" sample "$MURL" process_start_time_seconds)
[ "$started" -ge $((START - 2)) ] && [ "$started" -le "$(date +%s)" ] ||
    fail "1: process_start_time_seconds $started is not when reportd started ($START)"
[ "$($PY "$H" sample "$MURL" process_open_fds)" -gt 3 ] && [ "$($PY "$H" sample "$MURL" process_resident_memory_bytes)" -gt 1000000 ] ||
    fail "1: process_open_fds or process_resident_memory_bytes missing"
# one info line per finished job, in text: who, what, how it went, how long
ERRORS=$($CTL check --json "$EX" | $PY -c 'import json,sys; print(sum(f["severity"] == "error" for f in json.loads(sys.stdin.readline())["findings"]))')
[ "$(grep -c '^<6>.* job done: FAIL, ' "$T/embedded.log")" -eq 101 ] ||
    fail "1: $(grep -c 'job done: ' "$T/embedded.log") 'job done' lines for 101 Results"
grep -m1 ' job done: FAIL, ' "$T/embedded.log" | grep -Eq "^<6>[0-9T:.-]+Z job done: FAIL, 湘乡市民政局 430381, $ERRORS errors, [0-9]+ warnings, [0-9]+ notices, [0-9]+ ms submission=[0-9a-f-]{36} attempt=1 worker=[0-9a-f]+ status=FAIL body=湘乡市民政局 region=430381 errors=$ERRORS warnings=[0-9]+ notices=[0-9]+ ms=[0-9]+\$" ||
    fail "1: a 'job done' line reads: $(grep -m1 ' job done: ' "$T/embedded.log")"
say "1: 101 'job done' lines (<6>, status, body, region, finding counts, attempt, worker, ms)"
say "1: /metrics (prometheus_client parser) matches: 103 received, 101 accepted, 1 duplicate," \
    "1 rejected, 101 FAIL, 101 alerts, last seq 202; /healthz and /readyz ok"

# SIGHUP with a broken file: keeps serving on the old config
cp "$T/c1.yaml" "$T/c1.good"
printf 'broker:\n  bind: %s\nalerts:\n  statuses: [FAIL, SOMETIMES]\n' "$BROKER" > "$T/c1.yaml"
kill -HUP "$EMB"
wait_for 5 grep -q 'keeping the running configuration' "$T/embedded.log" || fail "1: broken reload not reported"
grep 'keeping the running configuration' "$T/embedded.log" | grep -q "^<3>.*c1.yaml:4:[0-9]*: alerts.statuses: SOMETIMES" ||
    fail "1: the reload error does not say file:line:column and why"
submit "$EX" > "$T/submit2.out" 2>>"$T/submit.log" && grep -q FAIL "$T/submit2.out" ||
    fail "1: not serving after a broken reload"
wait_for 5 metrics_are reportd_alerts_total=102 || fail "1: the old alert policy is gone: $(cat "$T/metrics.out")"
say "1: SIGHUP with a broken file: error with file:line:column, still serving on the old config"

# SIGHUP with a changed alert policy (and a key that needs a restart)
write_c1 "[PASS]" $((BASE + 3))
kill -HUP "$EMB"
wait_for 5 grep -q 'SIGHUP: reloaded' "$T/embedded.log" || fail "1: reload not reported"
grep 'SIGHUP: reloaded' "$T/embedded.log" | grep -q 'applied: alerts.statuses; need a restart (not applied): broker.publish' ||
    fail "1: the reload does not name applied and restart keys: $(grep 'SIGHUP: reloaded' "$T/embedded.log")"
submit "$EX" > "$T/submit3.out" 2>>"$T/submit.log" && grep -q FAIL "$T/submit3.out" || fail "1: submit after reload"
wait_for 5 metrics_are 'reportd_results_total{status="FAIL"}=103' reportd_alerts_total=102 ||
    fail "1: a FAIL still raised an alert after alerts.statuses became [PASS]: $(cat "$T/metrics.out")"
say "1: SIGHUP with alerts.statuses [PASS]: applied (no alert for a FAIL); broker.publish named as needing a restart"

# TERM: STOPPING, exit 0; the order of notifications (after 3 watchdog pings)
wait_for 5 sh -c "[ \$(grep -c '^WATCHDOG=1' '$T/notify.out') -ge 3 ]" || fail "1: fewer than 3 WATCHDOG=1 pings"
kill -TERM "$EMB"
wait "$EMB"; rc=$?
[ "$rc" -eq 0 ] || fail "1: exit status $rc after TERM"
wait_for 5 grep -q 'STOPPING=1' "$T/notify.out" || fail "1: no STOPPING=1"
r=$(line_of "$T/notify.out" 'READY=1'); w=$(line_of "$T/notify.out" 'WATCHDOG=1')
s=$(line_of "$T/notify.out" 'STOPPING=1'); st=$(line_of "$T/notify.out" 'STATUS=.*backlog')
[ -n "$w" ] && [ -n "$st" ] && [ "$r" -eq 1 ] && [ "$r" -lt "$w" ] && [ "$w" -lt "$s" ] ||
    fail "1: notifications out of order (READY line $r, WATCHDOG $w, STOPPING $s, STATUS $st)"
grep 'STOPPING=1' "$T/notify.out" | grep -q 'EXTEND_TIMEOUT_USEC=' || fail "1: no EXTEND_TIMEOUT_USEC on STOPPING"
nwd=$(grep -c '^WATCHDOG=1' "$T/notify.out")
# WATCHDOG_USEC=1000000: a ping at least every second while serving, or systemd would kill it
gap=$(sed -n "1,${s}p" "$T/notify.out" | grep '^WATCHDOG=1' | sed 's/.*t=//' |
      awk 'NR > 1 && $1 - p > m { m = $1 - p } { p = $1 } END { printf "%d", m * 1000 }')
[ "$nwd" -ge 3 ] && [ "$gap" -le 1000 ] ||
    fail "1: $nwd WATCHDOG=1 pings, longest gap $gap ms; WATCHDOG_USEC was 1000 ms"
grep -q '^RELOADING=1' "$T/notify.out" || fail "1: no RELOADING=1 on SIGHUP"
bad=$(grep -vc '^<[0-7]>' "$T/embedded.log")
[ "$bad" -eq 0 ] || fail "1: $bad log lines without a priority prefix"
say "1: notify order READY (bound) < WATCHDOG ($nwd pings, gaps ≤ $gap ms) < STOPPING+EXTEND_TIMEOUT_USEC; exit 0; every log line prefixed"

# 2. SIGTERM during a 1,000-submission run --------------------------------------
BROKER=tcp://127.0.0.1:$((BASE + 5))
MURL=http://127.0.0.1:$((BASE + 7))/metrics
cat > "$T/c2.yaml" <<YAML
broker:
  bind: $BROKER
  publish: tcp://127.0.0.1:$((BASE + 6))
worker:
  connect: $BROKER
  threads: 1
  reconnect_min_ms: 50
  reconnect_max_ms: 400
heartbeat:
  interval_ms: 200
spool:
  path: $T/s2.db
limits:
  shutdown_timeout: 5
metrics:
  bind: 127.0.0.1:$((BASE + 7))
log:
  format: json
  level: debug
YAML
start_broker() {
    "$REPORTD" -c "$T/c2.yaml" broker 2>>"$T/broker2.log" &
    B2=$!
    PIDS="$PIDS $B2"
    wait_for 5 metrics_are reportd_draining=0 || fail "2: broker did not come up"
}
start_broker
# w1 is slow (100 ms a request), so a job is in flight when TERM arrives
# a worker serves metrics.bind too: w1 has none (the broker holds that port)
sed "s|bind: 127.0.0.1:$((BASE + 7))|bind: \"\"|" "$T/c2.yaml" > "$T/c2w1.yaml"
REPORTD_TEST_DELAY_MS=100 "$REPORTD_SEAMS" -c "$T/c2w1.yaml" worker 2>>"$T/w1.log" & W1=$!
# w2 serves its own /metrics, on IPv6 loopback
WPORT=$((BASE + 8))
WURL="http://[::1]:$WPORT/metrics"
sed "s|bind: 127.0.0.1:$((BASE + 7))|bind: \"[::1]:$WPORT\"|" "$T/c2.yaml" > "$T/c2w.yaml"
REPORTD_TEST_DELAY_MS=2 "$REPORTD_SEAMS" -c "$T/c2w.yaml" worker 2>>"$T/w2.log" & W2=$!
PIDS="$PIDS $W1 $W2"
submit --timeout 1000 --retries 60 --repeat "$N" "$EX" >"$T/submit4.out" 2>>"$T/submit.log" &
SUBMIT=$!
PIDS="$PIDS $SUBMIT"
# scrapes while Results flow: counters and histograms agree within each one
$PY "$H" consistent "$MURL" $((N / 4)) > "$T/consistent.out" ||
    fail "2: $(cat "$T/consistent.out")"
say "2: $(cat "$T/consistent.out")"
inflight=$($PY "$H" sample "$MURL" reportd_in_flight)
t0=$(date +%s%N)
kill -TERM "$B2"
wait "$B2"; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$rc" -eq 0 ] || fail "2: broker exit status $rc after TERM"
[ "$ms" -le 6000 ] || fail "2: the drain took $ms ms, limits.shutdown_timeout is 5 s"
grep -q '"msg":"drain: every job in flight came back"' "$T/broker2.log" ||
    fail "2: the jobs in flight did not come back during the drain"
[ "$(sql "$T/s2.db" 'select count(*) from job where attempts > 0')" -eq 0 ] ||
    fail "2: a job in flight at TERM was counted as a failed attempt"
pending=$(sql "$T/s2.db" 'select count(*) from job where state = 0')
done1=$(sql "$T/s2.db" 'select count(*) from job where state = 1')
say "2: TERM with $inflight in flight after $done1 Results: exit 0 in $ms ms, $pending accepted jobs pending in the spool"
# the worker role's endpoint: its jobs, check seconds by reader, rejects (w2 on [::1])
wjobs=$($PY "$H" sample "$WURL" 'reportd_worker_jobs_total{status="FAIL"}')
wtext=$($PY "$H" sample "$WURL" 'reportd_worker_check_seconds_count{reader="text"}')
[ "$wjobs" -gt 0 ] && [ "$wjobs" -eq "$wtext" ] && [ "$($PY "$H" sample "$WURL" reportd_worker_rejects_total)" -eq 0 ] ||
    fail "2: worker metrics on $WURL: $wjobs FAIL jobs, $wtext text checks"
grep -q "metrics: http://\[::1\]:$WPORT/metrics" "$T/w2.log" || fail "2: the worker did not log its IPv6 endpoint"
say "2: worker /metrics on [::1]:$WPORT: $wjobs jobs FAIL, as many text checks in the histogram, 0 rejects"
start_broker
$PY "$H" alerts config/alerts.yml "$MURL" "$WURL" > "$T/alerts.out" || fail "2: config/alerts.yml: $(cat "$T/alerts.out")"
say "2: $(cat "$T/alerts.out")"
wait "$SUBMIT" || fail "2: reportctl submit exited $?"
[ "$(wc -l < "$T/submit4.out")" -eq "$N" ] && [ "$(cut -f3 "$T/submit4.out" | grep -c '^FAIL$')" -eq "$N" ] ||
    fail "2: not every submission got its Result: $(cut -f3 "$T/submit4.out" | sort | uniq -c)"
[ "$(sql "$T/s2.db" "select count(*) from job where state in (1, 3) and status = 2")" -eq "$N" ] ||
    fail "2: the spool does not hold $N final Results"
[ "$(sql "$T/s2.db" "select count(*) from published where topic like 'result.%'")" -eq "$N" ] ||
    fail "2: not exactly one result publication per submission"
$PY -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$T/broker2.log" ||
    fail "2: a log.format json line does not parse"
$PY -c '
import json, sys
ok = [o for o in map(json.loads, open(sys.argv[1])) if o["msg"].endswith("handed to a worker")
      and o["priority"] == 7 and len(o.get("submission_id", "")) == 36 and o.get("attempt") == 1
      and len(o.get("worker", "")) >= 2]
sys.exit(0 if len(ok) >= int(sys.argv[2]) else 1)' "$T/broker2.log" "$N" ||
    fail "2: job events do not carry submission_id, attempt and worker"
# the job outcome in JSON: exactly one line per submission across the TERM and restart
$PY - "$T/broker2.log" "$N" "$ERRORS" <<'PYEOF2' || fail "2: the JSON 'job done' lines"
import json, sys
done = [o for o in map(json.loads, open(sys.argv[1])) if o["msg"].startswith("job done: ")]
ids = [o["submission_id"] for o in done]
assert len(ids) == len(set(ids)) == int(sys.argv[2]), (len(ids), len(set(ids)))
for o in done:
    assert o["priority"] == 6 and o["level"] == "info", o
    assert o["status"] == "FAIL" and o["body"] == "湘乡市民政局" and o["region"] == "430381", o
    assert o["errors"] == int(sys.argv[3]) and o["warnings"] >= 1 and o["notices"] >= 0, o
    assert o["attempt"] >= 1 and len(o["worker"]) >= 2 and isinstance(o["ms"], int) and o["ms"] >= 0, o
PYEOF2
say "2: after the restart all $N submissions have exactly one Result and one publication;" \
    "JSON log lines parse, job events carry submission_id, attempt, worker; one JSON 'job done' line each"
# a worker process reloads too: it validates and names what it cannot apply
sed 's/threads: 1/threads: 3/' "$T/c2w1.yaml" > "$T/c2.new" && mv "$T/c2.new" "$T/c2w1.yaml"
kill -HUP "$W1"
wait_for 5 grep -q 'SIGHUP: reloaded' "$T/w1.log" || fail "2: the worker did not reload"
grep 'SIGHUP: reloaded' "$T/w1.log" | grep -q 'need a restart (not applied): worker.threads' ||
    fail "2: the worker's reload does not name worker.threads: $(grep SIGHUP "$T/w1.log")"
submit "$EX" > "$T/submit5.out" 2>>"$T/submit.log" && grep -q FAIL "$T/submit5.out" ||
    fail "2: not served after the worker's reload"
kill -TERM "$W1" "$W2"
wait "$W1"; r1=$?; wait "$W2"; r2=$?
[ "$r1" -eq 0 ] && [ "$r2" -eq 0 ] || fail "2: worker exit status $r1/$r2 after TERM"
grep -q 'stopping: finishing the requests in hand' "$T/w1.log" || fail "2: the worker did not log its stop"
say "2: a worker process reloads on SIGHUP (names worker.threads as needing a restart), exits 0 on TERM"
kill -TERM "$B2"; wait "$B2"

# 3. /readyz without workers ---------------------------------------------------------
"$REPORTD" -c "$T/c2.yaml" broker 2>>"$T/broker3.log" & B3=$!
PIDS="$PIDS $B3"
wait_for 5 sh -c "$PY $H http http://127.0.0.1:$((BASE + 7))/readyz | grep -q '^503 not ok: no workers registered'" ||
    fail "3: /readyz of a broker without workers: $($PY "$H" http "http://127.0.0.1:$((BASE + 7))/readyz")"
# a job nobody takes: the age of the oldest queued job grows
submit --no-wait "$EX" > /dev/null 2>>"$T/submit.log" || fail "3: submit without workers"
wait_for 10 sh -c "[ \$($PY $H sample $MURL reportd_queue_oldest_seconds) -ge 2 ]" ||
    fail "3: reportd_queue_oldest_seconds stays $($PY "$H" sample "$MURL" reportd_queue_oldest_seconds) with a job waiting"
kill -TERM "$B3"; wait "$B3" || fail "3: exit status $? after TERM"
say "3: /readyz 503 'no workers registered' without workers; reportd_queue_oldest_seconds grows with a job waiting"

# 4. the spool deleted under the running broker ---------------------------------------
"$REPORTD" -c "$T/c2.yaml" broker 2>>"$T/broker4.log" & B4=$!
PIDS="$PIDS $B4"
READYZ="$PY $H http http://127.0.0.1:$((BASE + 7))/readyz"
wait_for 5 sh -c "$READYZ | grep -q '^503 not ok: no workers registered'" || fail "4: broker not up"
rm -f "$T"/s2.db "$T"/s2.db-wal "$T"/s2.db-shm
wait_for 5 sh -c "$READYZ | grep -q '^503 not ok: spool .*s2.db was deleted under the running broker'" ||
    fail "4: /readyz after rm spool.db*: $($READYZ)"
grep -q '"priority":3,.*spool .*s2.db was deleted or replaced under the running broker' "$T/broker4.log" ||
    fail "4: no error line about the deleted spool"
submit --no-wait --timeout 500 --retries 1 "$EX" > "$T/lost.out" 2>&1 && fail "4: a submission was acknowledged"
grep -q '500 spool lost' "$T/lost.out" || fail "4: submit after rm: $(cat "$T/lost.out")"
kill -TERM "$B4"; wait "$B4"; rc=$?
[ "$rc" -eq 70 ] || fail "4: exit status $rc after TERM, not 70"
say "4: rm spool.db*: <3> line, /readyz 503 naming it, titanic.request '500 spool lost', exit 70"
if grep -l "Sanitizer\|runtime error" "$T"/*.log >/dev/null 2>&1; then
    fail "a sanitizer reported an error"
fi
say "all scenarios passed in $(( $(date +%s) - START )) s"
