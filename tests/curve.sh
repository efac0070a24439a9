#!/bin/bash
# curve: security.curve with the real binaries on 127.0.0.1 — reportctl keygen,
# a CURVE broker with its ZAP allow-list, worker processes and reportctl.
# An allowed client submits and watches; an unknown key, a client without
# CURVE and raw bytes at the port are refused (and logged) while the allowed
# client keeps being served; an unknown worker is refused, an allowed one
# (its keys from $CREDENTIALS_DIRECTORY, as systemd LoadCredential= gives
# them) serves. Run from the project root by `make check`; every wait is bounded.
set -u
BUILD=${REPORTD_BUILD:-build}
REPORTD=$BUILD/reportd
CTL=$BUILD/reportctl
EX=examples/xiangxiang-minzheng-2024.txt
T=$(mktemp -d /tmp/reportd-curve.XXXXXX)
BASE=$((10000 + ($$ % 500) * 10))   # below the ephemeral range (32768-60999)
PORT=$BASE
BROKER=tcp://127.0.0.1:$PORT
PUBLISH=tcp://127.0.0.1:$((BASE + 1))
PIDS=

NAME=curve
. tests/lib.sh
cleanup() { stop_pids $PIDS; rm -rf "$T"; }
trap cleanup EXIT
logged() { grep -qF -- "$2" "$T/$1.log"; }

# keygen: a pair, the secret 0600, never overwritten
mkdir -p "$T/keys" "$T/allow" "$T/creds"
for k in server w1 w2 c1 stranger; do
    "$CTL" keygen "$T/keys/$k" >/dev/null || fail "keygen $k"
done
[ "$(stat -c %a "$T/keys/c1.key")" = 600 ] || fail "keygen: the secret key is not 0600"
[ "$(wc -c < "$T/keys/c1.pub")" -eq 41 ] || fail "keygen: the public key is not 40 Z85 characters"
"$CTL" keygen "$T/keys/c1" 2>/dev/null
[ $? -eq 73 ] || fail "keygen overwrote an existing key (or not exit 73)"
cp "$T/keys/w1.pub" "$T/keys/w2.pub" "$T/keys/c1.pub" "$T/allow/"
say "keygen: NAME.key 0600 + NAME.pub, refuses to overwrite (exit 73) OK"

cat > "$T/broker.yaml" <<YAML
broker:
  bind: $BROKER
  publish: $PUBLISH
heartbeat:
  interval_ms: 200
spool:
  path: $T/spool.db
security:
  curve: true
  server_secret_key: $T/keys/server.key
  allow_dir: $T/allow
YAML
worker_config() {   # worker_config FILE SECRET-KEY SERVER-PUB
    cat > "$1" <<YAML
worker:
  connect: $BROKER
  threads: 1
  reconnect_min_ms: 50
  reconnect_max_ms: 400
heartbeat:
  interval_ms: 200
security:
  curve: true
  server_public_key: $3
  client_secret_key: $2
YAML
}

# key material in the YAML is refused
printf 'security:\n  curve: true\n  client_secret_key: "%s"\n' "$(cat "$T/keys/c1.pub")" > "$T/bad.yaml"
"$REPORTD" --check-config "$T/bad.yaml" >/dev/null 2>&1
[ $? -eq 78 ] || fail "a key in the YAML is not refused with 78"

"$REPORTD" -c "$T/broker.yaml" broker 2>>"$T/broker.log" &
PIDS="$PIDS $!"
wait_for 5 logged broker "started" || fail "the broker did not start"
logged broker "zap: 3 allowed CURVE key(s)" || fail "the allow-list was not loaded"

# an unknown worker is refused; it never registers
worker_config "$T/wbad.yaml" "$T/keys/stranger.key" "$T/keys/server.pub"
"$REPORTD" -c "$T/wbad.yaml" worker 2>>"$T/wbad.log" &
PIDS="$PIDS $!"
STRANGER=$(cat "$T/keys/stranger.pub")
wait_for 5 logged broker "CURVE key $STRANGER is not in" || fail "the unknown worker was not refused"
# and a worker without CURVE
sed '/^security:/,$d' "$T/wbad.yaml" > "$T/wnull.yaml"
"$REPORTD" -c "$T/wnull.yaml" worker 2>>"$T/wnull.log" &
PIDS="$PIDS $!"
wait_for 5 logged broker "mechanism mismatch" || fail "the worker without CURVE was not refused"
"$CTL" submit --broker "$BROKER" --key "$T/keys/c1.key" --server-key "$T/keys/server.pub" \
    --plain --timeout 1000 --retries 0 "$EX" > "$T/none.out" 2>/dev/null
[ $? -ne 0 ] || fail "a request was served with only refused workers"
say "unknown worker key refused (ZAP 400), worker without CURVE refused (mechanism mismatch) OK"

# an allowed worker, its keys as systemd credentials (relative names)
cp "$T/keys/w1.key" "$T/creds/worker.key"
cp "$T/keys/server.pub" "$T/creds/server.pub"
chmod 400 "$T/creds/worker.key"
worker_config "$T/w1.yaml" worker.key server.pub
CREDENTIALS_DIRECTORY=$T/creds "$REPORTD" -c "$T/w1.yaml" worker 2>>"$T/w1.log" &
PIDS="$PIDS $!"

# an allowed client submits and an allowed subscriber sees the Result
"$CTL" watch --publish "$PUBLISH" --broker "$BROKER" --key "$T/keys/c1.key" \
    --server-key "$T/keys/server.pub" --count 1 --idle 20000 result.43. > "$T/watch.out" 2>"$T/watch.log" &
WATCH=$!
PIDS="$PIDS $WATCH"
wait_for 10 watching "$T/watch.log" 1 || fail "the allowed subscriber did not start following"
submit_ok() {
    "$CTL" submit --broker "$BROKER" --key "$T/keys/c1.key" --server-key "$T/keys/server.pub" \
        --timeout 2000 --wait 20 "$EX" > "$T/ok.out" 2>>"$T/ctl.log"
    [ $? -eq 1 ] && grep -q "FAIL" "$T/ok.out"     # exit 1: a Result at --fail-on FAIL
}
submit_ok || fail "the allowed client's submission was not served"
wait_for 10 grep -q "result.43.4303.430381" "$T/watch.out" || fail "the allowed subscriber got nothing"
say "allowed client submits (Result FAIL), allowed subscriber receives it OK"

# refused clients: an unknown key, no CURVE, raw bytes
"$CTL" submit --broker "$BROKER" --key "$T/keys/stranger.key" --server-key "$T/keys/server.pub" \
    --timeout 300 --retries 1 --wait 2 "$EX" > /dev/null 2>&1
[ $? -eq 69 ] || fail "a client with an unknown key was not refused (exit 69)"
"$CTL" submit --broker "$BROKER" --timeout 300 --retries 1 --wait 2 "$EX" > /dev/null 2>&1
[ $? -eq 69 ] || fail "a client without CURVE was not refused (exit 69)"
n=$(grep -c "mechanism mismatch" "$T/broker.log")
[ "$n" -ge 2 ] || fail "the client without CURVE was not logged"
# raw TCP: whatever is written, the broker closes the connection — a stalled
# greeting too, after the 5 s handshake limit
for junk in 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' '\377\0\0\0\0\0\0\0\001\177\003\000NULL' \
            "$(head -c 3000 /dev/zero | tr '\0' 'A')"; do
    # cat ends at EOF or a reset; only a connection left open reaches the timeout (124)
    # (a write after the broker closed is EPIPE, not a failure: SIGPIPE ignored)
    timeout 12 bash -c "trap '' PIPE; exec 3<>/dev/tcp/127.0.0.1/$PORT || exit 3
                        printf '$junk' >&3 2>/dev/null; cat <&3 >/dev/null 2>&1; exit 0"
    rc=$?
    [ $rc -eq 0 ] || fail "raw bytes: the broker did not close the connection (exit $rc)"
done
submit_ok || fail "the allowed client is not served after the refusals"
say "unknown client key, client without CURVE, raw TCP bytes refused; allowed client still served OK"

# reportctl deadletter over CURVE too (an empty list)
"$CTL" deadletter --broker "$BROKER" --key "$T/keys/c1.key" --server-key "$T/keys/server.pub" \
    list > "$T/dl.out" 2>>"$T/ctl.log" || fail "deadletter list over CURVE"
say "all CURVE checks passed"
[ -n "${CURVE_SHOW_LOG:-}" ] && cat "$T/broker.log"
exit 0
