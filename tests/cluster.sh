#!/bin/bash
# cluster: reportd on several hosts (issue 11, "the multi-host test"). Hosts
# are network namespaces this test makes (names rdc<pid>-<host>), each with
# one veth into a bridge inside a namespace of its own (the "switch"), with
# addresses from 198.18.0.0/15 only and no route anywhere else; the root
# namespace's interfaces and routes are never touched:
#   db 198.18.0.1   PostgreSQL (scripts/pg-test-server.sh, as `nobody`), TCP
#                   with scram-sha-256 passwords for 198.18.0.0/15
#   a  198.18.0.11  broker A   } reportd broker, spool.backend postgresql, the
#   b  198.18.0.12  broker B   } same database; password in spool.dsn_file
#   w1 198.18.0.21, w2 198.18.0.22  reportd worker, worker.connect [A, B]
#   c  198.18.0.31  clients: reportctl submit --broker A,B (or B,A), 4 in parallel
#   s  198.18.0.41  reportctl watch --publish A,B for the whole run
# Scenarios, each under a load of CLUSTER_N (5,000) durable submissions with
# distinct ids: (b) a worker host cut off for 10 s; (a) kill -9 of broker A;
# (c) pg_ctl restart -m fast of the database; (d) TERM of every broker, then a
# restart. After each: every acknowledged submission id has exactly one
# finished job, each finished job one result publication and no publication
# without its job, nothing pending or dead-lettered, the subscriber printed
# every sequence number of the database once, in order. The checker is run
# once more against doctored copies (a publication twice, a Result deleted,
# the subscriber's lines duplicated/dropped) and must fail on each.
# A scenario whose feature is not on this tree is printed "SKIP: why".
# `tests/cluster.sh --bench` (make bench-cluster): throughput with one and two
# brokers and the time from kill -9 to the next Result, no assertions.
# Needs root and iproute2; everything it made is removed at the end, also on
# failure and Ctrl-C, and it checks that no namespace of its own remains.
set -u
BUILD=${REPORTD_BUILD:-build}
REPORTD=$(cd "$BUILD" 2>/dev/null && pwd)/reportd
CTL=$(cd "$BUILD" 2>/dev/null && pwd)/reportctl
EX=$(pwd)/examples/xiangxiang-minzheng-2024.txt
NAME=cluster
ID=${CLUSTER_ID:-rdc$$}
HOSTS="db a b w1 w2 c s"
declare -A IP=([db]=198.18.0.1 [a]=198.18.0.11 [b]=198.18.0.12 [w1]=198.18.0.21
               [w2]=198.18.0.22 [c]=198.18.0.31 [s]=198.18.0.41)
NET=198.18.0.0/15
SW=$ID-switch

say() { echo "$NAME: $*"; }
skip() { echo "$NAME: SKIP: $*"; }

# ---------------------------------------------------------------------------
# The outer part, in the root namespace: the network, then the inner part run
# inside the database host under the PostgreSQL test server; teardown on exit.
if [ "${1:-}" != --inner ]; then
    MODE=${1:-test}
    T=$(mktemp -d /tmp/reportd-cluster.XXXXXX)
    chmod 755 "$T"
    [ "$(id -u)" = 0 ] || { echo "$NAME: needs root (network namespaces)" >&2; exit 77; }
    command -v ip >/dev/null || { echo "$NAME: needs iproute2 (scripts/setup.sh)" >&2; exit 69; }
    [ -x "$REPORTD" ] && [ -x "$CTL" ] || { echo "$NAME: build $BUILD/reportd first" >&2; exit 69; }
    START=$(date +%s)
    mine() { ip netns list | awk '{print $1}' | grep "^$ID-"; }
    teardown() {
        local rc=$? pids= ns
        trap - EXIT INT TERM
        # every process still in one of our namespaces: TERM, 10 s, KILL
        for ns in $(mine); do pids="$pids $(ip netns pids "$ns")"; done
        [ -n "${pids// /}" ] && kill $pids 2>/dev/null
        for _ in $(seq 100); do
            pids=; for ns in $(mine); do pids="$pids$(ip netns pids "$ns")"; done
            [ -z "$pids" ] && break; sleep 0.1
        done
        for ns in $(mine); do pids=$(ip netns pids "$ns"); [ -n "$pids" ] && kill -9 $pids 2>/dev/null; done
        for h in $HOSTS; do ip -n "$SW" link del "v-$h" 2>/dev/null; done
        for ns in $(mine); do ip netns del "$ns"; done
        if [ -n "$(mine)" ]; then
            echo "$NAME: FAIL: namespaces left behind: $(mine | tr '\n' ' ')" >&2; rc=1
        elif [ -n "$(ip link show type veth 2>/dev/null | grep -- "v-\(db\|a\|b\|w1\|w2\|c\|s\)@")" ]; then
            echo "$NAME: FAIL: a veth of the test is in the root namespace" >&2; rc=1
        else
            say "teardown: no namespace of $ID left"
        fi
        if [ $rc -ne 0 ] && [ -d "$T" ]; then
            for f in "$T"/*.log; do [ -e "$f" ] && { echo "--- $f" >&2; tail -n 12 "$f" >&2; }; done
        fi
        [ -n "${CLUSTER_KEEP:-}" ] && say "kept $T" || rm -rf "$T"
        say "$([ $rc -eq 0 ] && echo passed || echo "FAILED (exit $rc)") in $(( $(date +%s) - START )) s"
        exit $rc
    }
    trap teardown EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    ip netns add "$SW" || exit 1
    ip -n "$SW" link add br0 type bridge && ip -n "$SW" link set br0 up || exit 1
    for h in $HOSTS; do
        ns=$ID-$h
        ip netns add "$ns" || exit 1
        # made inside the switch, its peer moved straight into the host: never in the root namespace
        ip -n "$SW" link add "v-$h" type veth peer name eth0 netns "$ns" || exit 1
        ip -n "$SW" link set "v-$h" master br0 up || exit 1
        ip netns exec "$ns" sh -c "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6"
        ip -n "$ns" addr add "${IP[$h]}/15" dev eth0 || exit 1
        ip -n "$ns" link set lo up && ip -n "$ns" link set eth0 up || exit 1
    done
    # no route but the bridge's subnet, in every host
    for h in $HOSTS; do
        [ "$(ip -n "$ID-$h" route | grep -vc "^198\.18\.0\.0/15 dev eth0")" -eq 0 ] ||
            { echo "$NAME: FAIL: host $h has a route out: $(ip -n "$ID-$h" route)" >&2; exit 1; }
    done
    say "network: $(echo $HOSTS | wc -w) hosts in $NET behind $SW, loopback up in each"
    ip netns exec "$ID-db" env PGTEST_LISTEN="${IP[db]}" PGTEST_HOSTS="$NET" CLUSTER_ID="$ID" \
        CLUSTER_T="$T" REPORTD_BUILD="$BUILD" sh scripts/pg-test-server.sh run bash "$0" --inner "$MODE" &
    wait $!     # in the background: a TERM to this script runs teardown at once
    exit $?
fi

# ---------------------------------------------------------------------------
# The inner part: in the database host's namespace, with PGHOST… set for the
# test's own psql (the socket, trusted) and the server listening on db:PGPORT.
MODE=$2
T=$CLUSTER_T
N=${CLUSTER_N:-5000}
P=4                              # clients in parallel
BROKERS="tcp://${IP[a]}:5555,tcp://${IP[b]}:5555"
PUBLISHERS="tcp://${IP[a]}:5556,tcp://${IP[b]}:5556"
declare -A PID=()
trap 'cp "$PGTEST_DIR/server.log" "$T/postgres.log" 2>/dev/null' EXIT
# on HOST CMD…: CMD in that host. (In the background use ip netns exec itself:
# a function with & is a subshell, and $! would not be the process.)
on() { local h=$1; shift; ip netns exec "$ID-$h" "$@"; }
fail() {
    echo "$NAME: FAIL: $*" >&2
    exit 1
}
q() { psql -XAtq -d "${DB:-cluster}" -c "$1"; }
wait_for() {   # wait_for SECONDS COMMAND…: every 50 ms until it succeeds; 1 if never
    local limit=$(($1 * 20)); shift
    for _ in $(seq "$limit"); do "$@" && return 0; sleep 0.05; done
    return 1
}
gone() { for p in "$@"; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }
listening() { on "$1" ss -Hltn "src ${IP[$1]}:5555" | grep -q .; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }

# the database: role `broker` with a password, the database owned by it
PW=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
createdb cluster || fail "createdb"
q "create role broker login password '$PW'" >/dev/null || fail "create role"
q "alter database cluster owner to broker" && q "alter schema public owner to broker" || fail "owner"
mkdir -p "$T/creds" && echo "password=$PW" > "$T/creds/dsn" && chmod 600 "$T/creds/dsn"

config_broker() {   # config_broker HOST
    cat > "$T/$1.yaml" <<YAML
broker:
  bind: tcp://${IP[$1]}:5555
  publish: tcp://${IP[$1]}:5556
heartbeat:
  interval_ms: 200
  liveness: 3
spool:
  backend: postgresql
  dsn: host=${IP[db]} port=$PGPORT dbname=cluster user=broker connect_timeout=3
  dsn_file: dsn
  max_attempts: 5
$([ $HAVE_LEAD = 1 ] && echo "  lead_poll_ms: 200")
limits:
  shutdown_timeout: 20
YAML
    grep -q "$PW" "$T/$1.yaml" && fail "the password is in the YAML"
}
cat > "$T/worker.yaml" <<YAML
worker:
  connect: [tcp://${IP[a]}:5555, tcp://${IP[b]}:5555]
  threads: 2
  reconnect_min_ms: 50
  reconnect_max_ms: 400
heartbeat:
  interval_ms: 200
  liveness: 3
YAML

start_broker() {   # start_broker HOST
    config_broker "$1"
    ip netns exec "$ID-$1" env CREDENTIALS_DIRECTORY="$T/creds" "$REPORTD" -c "$T/$1.yaml" broker 2>>"$T/broker-$1.log" &
    PID[$1]=$!
    wait_for 15 listening "$1" || fail "broker $1 did not come up"
}
start_worker() {   # start_worker HOST
    ip netns exec "$ID-$1" "$REPORTD" -c "$T/worker.yaml" worker 2>>"$T/worker-$1.log" &
    PID[$1]=$!
}

# load LABEL N: N durable submissions from host c, P clients in parallel, each
# reportctl submit in batches of 500 over both brokers, in the background;
# each client's lines (file, submission id, outcome) in $T/LABEL.N.out
load() {
    local label=$1 n=$2 per=$(($2 / P)) k
    LOAD_PIDS=
    for k in $(seq $P); do
        (
            left=$per rc=0
            while [ $left -gt 0 ]; do
                b=$((left < ${BATCH:-500} ? left : ${BATCH:-500}))
                on c "$CTL" submit --fail-on none --broker "$(client_brokers $k)" --timeout "${CLUSTER_TIMEOUT:-1000}" \
                    --retries 120 --repeat $b --year 2024 "$EX" >> "$T/$label.$k.out" 2>>"$T/client.log"
                r=$?; [ $r -ne 0 ] && rc=$r && echo "$label: client $k: reportctl submit exited $r" >> "$T/client.log"
                left=$((left - b))
            done
            exit $rc
        ) &
        LOAD_PIDS="$LOAD_PIDS $!"
    done
}
load_wait() {   # load_wait LABEL: every client's exit status 0
    local p bad=0
    for p in $LOAD_PIDS; do wait "$p" || bad=1; done
    cat "$T/$1".*.out > "$T/$1.all"
    awk -F'\t' '$3 != "NOT-ACCEPTED" { print $2 }' "$T/$1.all" >> "$T/acked"
    [ $bad -eq 0 ] || fail "$1: a client failed: $(grep "^$1:" "$T/client.log" | head -3);" \
        "$(awk -F'\t' '$3 == "FAILED" || $3 == "NOT-ACCEPTED" || $3 == "ACCEPTED"' "$T/$1.all" | cut -f2- | sort -k2 | uniq -c -f1 | head -5)"
    [ "$(wc -l < "$T/$1.all")" -eq $((N / P * P)) ] || fail "$1: $(wc -l < "$T/$1.all") outcomes"
}
# client K's --broker: A first for odd K, B first for even K (when both run)
client_brokers() {
    if [ $HAVE_LEAD = 1 ] && [ -z "${ONE_BROKER:-}" ]; then
        [ $(($1 % 2)) = 1 ] && echo "$BROKERS" || echo "tcp://${IP[b]}:5555,tcp://${IP[a]}:5555"
    else
        echo "tcp://${IP[a]}:5555"
    fi
}
results() { q "select count(*) from published where topic like 'result.%'"; }
progress() { [ "$(results)" -ge "$1" ]; }

# check DB WATCH_OUT ACKED: the invariants over the whole run so far; prints
# what is wrong, 1 when anything is. A result publication's submission id is
# read from its Result's bytes (field 2, the first UUID in them; the body is in
# the result table under the publication's seq, or the publication's own body).
check() {
    local db=$1 w=$2 acked=$3 bad=0 v DB=$1
    v=$(psql -XAtq -d "$db" -v ON_ERROR_STOP=1 <<SQL
create temp table acked(sid text);
\copy acked from '$acked'
create temp table pub as select p.seq, substring(encode(coalesce(nullif(p.body, ''), r.data), 'escape')
    from '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}') sid
    from published p left join result r on r.seq = p.seq where p.topic like 'result.%';
select count(*) from acked a where not exists (select 1 from job j where j.submission_id = a.sid
    and j.state in (1, 3) and j.status is not null);
select count(*) from (select submission_id from job group by 1 having count(*) > 1) x;
select count(*) from job where state in (1, 3) and status is not null;
select count(*) from pub;
select count(*) from pub where sid is null;
select count(*) from (select sid from pub group by 1 having count(*) > 1) x;
select count(*) from acked a where not exists (select 1 from pub where pub.sid = a.sid);
select count(*) - count(distinct j.reply_seq) + count(*) - count(pub.seq) from job j
    left join pub on pub.seq = j.reply_seq where j.state = 1;
select count(*) from job where state = 0;
select count(*) from job where state = 2;
SQL
) || { echo "checker: psql failed"; return 1; }
    set -- $v
    [ $# -eq 10 ] || { echo "checker: $v"; return 1; }
    [ "$1" -eq 0 ] || { echo "$1 acknowledged submissions without a final Result"; bad=1; }
    [ "$2" -eq 0 ] || { echo "$2 submission ids with more than one job"; bad=1; }
    [ "$3" -eq "$4" ] || { echo "$3 finished jobs but $4 result publications"; bad=1; }
    [ "$5" -eq 0 ] || { echo "$5 result publications without a Result"; bad=1; }
    [ "$6" -eq 0 ] || { echo "$6 submissions with their Result published more than once"; bad=1; }
    [ "$7" -eq 0 ] || { echo "$7 acknowledged submissions with no Result published"; bad=1; }
    [ "$8" -eq 0 ] || { echo "$8 done jobs not pointing at a result publication of their own"; bad=1; }
    [ "$9" -eq 0 ] || { echo "$9 jobs still pending"; bad=1; }
    [ "${10}" -eq 0 ] || { echo "${10} dead letters"; bad=1; }
    # the subscriber: every sequence number of the database, once, in order
    q "select seq from published order by seq" > "$T/seq.db"
    awk '{ print $1 }' "$w" > "$T/seq.seen"
    cmp -s "$T/seq.db" "$T/seq.seen" ||
        { echo "the subscriber printed $(wc -l < "$T/seq.seen") sequence numbers, the database has $(wc -l < "$T/seq.db"): $(diff "$T/seq.db" "$T/seq.seen" | head -3 | tr '\n' ' ')"; bad=1; }
    awk '$2 ~ /^result\./ { print ($3 == "(replayed)") ? $4 : $3 }' "$w" | sort > "$T/sid.seen"
    [ -z "$(uniq -d "$T/sid.seen")" ] || { echo "the subscriber saw a Result twice: $(uniq -d "$T/sid.seen" | head -1)"; bad=1; }
    [ -z "$(sort "$acked" | comm -23 - "$T/sid.seen")" ] ||
        { echo "$(sort "$acked" | comm -23 - "$T/sid.seen" | wc -l) acknowledged submissions the subscriber never saw"; bad=1; }
    CHECKED="$(wc -l < "$acked") acknowledged, $3 finished jobs, $4 result publications (one per submission), subscriber $(wc -l < "$T/seq.seen") sequence numbers in order"
    return $bad
}
check_run() {   # check_run LABEL: wait for the subscriber to catch up, then check
    local top
    top=$(q "select coalesce(max(seq), 0) from published")
    wait_for 30 sh -c "[ \"\$(tail -1 '$T/watch.out' | cut -d' ' -f1)\" = '$top' ]" ||
        fail "$1: the subscriber did not reach seq $top (at $(tail -1 "$T/watch.out" | cut -d' ' -f1))"
    check cluster "$T/watch.out" "$T/acked" > "$T/check.txt" || fail "$1: $(cat "$T/check.txt")"
    say "$1: $CHECKED"
}

# what the brokers on this tree can do: several on one database when a config
# key of that feature is known
knows() { printf '%s\n' "$@" > "$T/probe.yaml"; "$REPORTD" --check-config "$T/probe.yaml" >/dev/null 2>&1; }
HAVE_LEAD=0 HAVE_OUTAGE=0
knows spool: "  lead_poll_ms: 200" && HAVE_LEAD=1
# reconnecting after an outage has no key of its own: its metric is in the binary
grep -qa reportd_store_up "$REPORTD" && HAVE_OUTAGE=1

# ---------------------------------------------------------------------------
# hosts up: the password is needed from a broker host, and it is enough
on c psql -XAtqw -h "${IP[db]}" -p "$PGPORT" -U broker -d cluster -c "select 1" >/dev/null 2>&1 &&
    fail "the database let host c in without a password"
on a env PGPASSWORD="$PW" psql -XAtqw -h "${IP[db]}" -p "$PGPORT" -U broker -d cluster -c "select 1" >/dev/null ||
    fail "host a cannot reach the database with the password"
start_broker a
if [ $HAVE_LEAD = 1 ]; then
    start_broker b
    CLIENT_BROKERS=$BROKERS
else
    CLIENT_BROKERS="tcp://${IP[a]}:5555"
fi
start_worker w1
start_worker w2
ip netns exec "$ID-s" "$CTL" watch --broker "$CLIENT_BROKERS" --publish "$PUBLISHERS" > "$T/watch.out" 2>>"$T/watch.log" &
PID[s]=$!
wait_for 15 grep -q 'watch: following from seq' "$T/watch.log" || fail "the subscriber did not start"
say "up: database ${IP[db]}:$PGPORT (scram password from spool.dsn_file, not in the YAML; refused without it)," \
    "broker$([ $HAVE_LEAD = 1 ] && echo "s A, B" || echo " A (B needs several brokers on one database: not on this tree)")," \
    "workers w1, w2 (connect A, B), subscriber on A, B"
: > "$T/acked"

# kill9_next LABEL [HOST]: kill -9 of broker HOST (a) under load; FAILOVER_MS:
# from the kill to the next Result committed in the database
kill9_next() {
    local at t0 h=${2:-a}
    kill -9 "${PID[$h]}"; t0=$(ms)
    at=$(results)
    wait_for 60 progress $((at + 1)) || fail "$1: no Result after kill -9 of broker $h"
    FAILOVER_MS=$(( $(ms) - t0 ))
    wait "${PID[$h]}" 2>/dev/null
}
role() {   # role HOST: "leader:" or "standby:", the broker's last word on it
    grep -E "leader: epoch|standby: " "$T/broker-$1.log" | tail -1 | cut -d' ' -f2
}
leader() { local h; for h in a b; do [ "$(role $h)" = "leader:" ] && echo $h; done; }
# bench_load LABEL: a load of N as in the scenarios, timed from its start to
# the Nth Result committed in the database
bench_load() {
    local t0=$(ms) ms_ base=$(results)
    load "$1" "$N"
    wait_for 600 progress $((base + N)) || fail "$1: not every Result arrived"
    ms_=$(( $(ms) - t0 ))
    load_wait "$1"
    echo "$1: $N durable submissions, the last Result $ms_ ms after the first was sent: $(( N * 1000 / ms_ )) submissions/s"
}

if [ "$MODE" = --bench ]; then
    # figures, not assertions: 1 broker, then 2; then kill -9 of the leader, 3 times
    if [ $HAVE_LEAD = 1 ]; then kill "${PID[b]}"; wait "${PID[b]}"; fi
    ONE_BROKER=1 bench_load "1 broker, 2 worker hosts"
    if [ $HAVE_LEAD = 1 ]; then
        start_broker b
        bench_load "2 brokers, 2 worker hosts"
        for i in 1 2 3; do
            load "f$i" "$N"
            base=$(results)
            wait_for 60 progress $((base + N / 4)) || fail "f$i: no progress"
            h=$(leader)
            [ -n "$h" ] && [ "$(echo $h)" = "$h" ] || fail "f$i: the leader is not one broker: '$h'"
            kill9_next "f$i" "$h"
            echo "failover $i: kill -9 of the leader ($h) under load: next Result after $FAILOVER_MS ms"
            load_wait "f$i"
            start_broker "$h"
        done
    else
        skip "2 brokers and the failover time: several brokers on one database (pglead) are not on this tree"
    fi
    check_run "bench"
    exit 0
fi

want() { case " ${CLUSTER_SCENARIOS:-b a c d} " in *" $1 "*) return 0;; esac; return 1; }

# (b) a worker host cut off for 10 s ------------------------------------------
if want b; then
load b "$N"
base=$(results)
wait_for 60 progress $((base + N / 4)) || fail "b: no progress"
re0=$(cat "$T"/broker-*.log | grep -c 'handed out again')
ip -n "$ID-switch" link set v-w1 down
t0=$(ms)
say "b: link of w1 down after $(( $(results) - base )) results"
sleep 10
ip -n "$ID-switch" link set v-w1 up
re=$(( $(cat "$T"/broker-*.log | grep -c 'handed out again') - re0 ))
say "b: link of w1 up after $(( $(ms) - t0 )) ms; $re jobs handed out again meanwhile, $(( $(results) - base )) results"
load_wait b
[ "$re" -ge 1 ] || fail "b: w1 held no job that was handed out again: the cut proved nothing"
check_run "b (worker host cut off 10 s)"
# w1 serves again: its own connection came back
w1_on_a() { [ -n "$(on w1 ss -Htn state established "dst ${IP[a]}:5555")" ]; }
wait_for 10 w1_on_a || fail "b: w1 did not reconnect to A after the cut"
say "b: w1 connected to A again"
fi

# (a) kill -9 of broker A -------------------------------------------------------
if ! want a; then
    :
elif [ $HAVE_LEAD = 1 ]; then
    load a "$N"
    base=$(results)
    wait_for 60 progress $((base + N / 4)) || fail "a: no progress"
    role_a=$(role a)
    [ "$role_a" = "leader:" ] || fail "a: broker A is not the leader (its last word: $role_a)"
    leads_b=$(grep -c "leader: epoch" "$T/broker-b.log")
    pending=$(q "select count(*) from job where state = 0")
    kill9_next a
    say "a: kill -9 of broker A (the leader) after $(( $(results) - base )) results, $pending jobs pending;" \
        "the next Result $FAILOVER_MS ms after the kill"
    [ "$pending" -gt 0 ] || fail "a: nothing was pending when A was killed: the test proves nothing"
    took=$(grep "leader: epoch" "$T/broker-b.log" | sed -n "$((leads_b + 1))p")
    [ -n "$took" ] || fail "a: broker B did not take the lead"
    say "a: broker B: ${took#* leader: }"
    load_wait a
    check_run "a (kill -9 broker A)"
    start_broker a
else
    skip "a (kill -9 broker A): several brokers on one database (pglead) are not on this tree"
fi

# (c) the database restarted --------------------------------------------------
if ! want c; then
    :
elif [ $HAVE_OUTAGE = 1 ]; then
    load c "$N"
    base=$(results)
    wait_for 60 progress $((base + N / 4)) || fail "c: no progress"
    pending=$(q "select count(*) from job where state = 0")
    back0=$(cat "$T"/broker-a.log "$T"/broker-b.log 2>/dev/null | grep -c "store: the database is back")
    at=$(results)
    t0=$(ms)
    sh scripts/pg-test-server.sh restart || fail "c: pg_ctl restart"
    t1=$(ms)
    wait_for 60 progress $((at + 1)) || fail "c: no Result within 60 s of the database's restart"
    say "c: database restarted (pg_ctl restart -m fast, $((t1 - t0)) ms) after $((at - base)) results," \
        "$pending jobs pending; the next Result $(( $(ms) - t1 )) ms after it was back"
    [ "$pending" -gt 0 ] || fail "c: nothing was pending when the database went: the test proves nothing"
    load_wait c
    check_run "c (database restart)"
    nb=0
    for h in a b; do
        [ -n "${PID[$h]:-}" ] || continue
        kill -0 "${PID[$h]}" 2>/dev/null || fail "c: broker $h exited"
        nb=$((nb + 1))
    done
    back=$(( $(cat "$T"/broker-a.log "$T"/broker-b.log 2>/dev/null | grep -c "store: the database is back") - back0 ))
    [ "$back" -ge "$nb" ] || fail "c: $back of $nb brokers logged that the database is back"
    say "c: each of the $nb brokers reconnected by itself (\"store: the database is back\")"
else
    skip "c (database restart): reconnecting to the database (pgoutage) is not on this tree"
fi

# (d) TERM every broker, then start them again -------------------------------------
load d "$N"
base=$(results)
wait_for 60 progress $((base + N / 4)) || fail "d: no progress"
live=
for h in a b; do [ -n "${PID[$h]:-}" ] && kill -0 "${PID[$h]}" 2>/dev/null && live="$live $h"; done
for h in $live; do kill "${PID[$h]}"; done
for h in $live; do
    wait "${PID[$h]}"; r=$?
    [ $r -eq 0 ] || fail "d: broker $h exited $r on TERM"
done
pending=$(q "select count(*) from job where state = 0")
[ "$pending" -gt 0 ] || fail "d: nothing was pending when the brokers stopped: the test proves nothing"
say "d: TERM brokers$live after $(( $(results) - base )) results: all exited 0 (drained), $pending jobs pending in the database"
for h in $live; do start_broker "$h"; done
load_wait d
check_run "d (TERM every broker, restart)"

# the checker fails on a doctored copy -------------------------------------------------
for h in $live w1 w2 s; do kill "${PID[$h]}" 2>/dev/null; done
wait_for 20 gone "${PID[@]}" || fail "a process did not stop on TERM"
wait 2>/dev/null
doctor() {   # doctor NAME SQL: a copy of the database with SQL applied; check must fail on it
    createdb -T cluster "$1" && DB=$1 q "$2" >/dev/null || fail "doctor $1"
    check "$1" "$T/watch.out" "$T/acked" > "$T/doctored.txt" && fail "the checker passed a database with $1"
    say "checker on a copy with $1: fails ($(paste -sd\; "$T/doctored.txt"))"
    dropdb "$1"
}
LASTR="(select max(seq) from published where topic like 'result.%')"
doctor result_twice "insert into result select (select max(seq) + 1 from published), data from result
    where seq = $LASTR; insert into published select (select max(seq) + 1 from published), topic, body, at
    from published where seq = $LASTR"
doctor publication_lost "delete from published where seq = $LASTR"
doctor result_lost "delete from job where submission_id = '$(head -1 "$T/acked")'"
doctor job_twice "update job set submission_id = '$(sed -n 2p "$T/acked")' where submission_id = '$(sed -n 3p "$T/acked")'"
sed '10p' "$T/watch.out" > "$T/watch.dup"
check cluster "$T/watch.dup" "$T/acked" > "$T/doctored.txt" && fail "the checker passed a subscriber that printed a line twice"
sed '10d' "$T/watch.out" > "$T/watch.lost"
check cluster "$T/watch.lost" "$T/acked" > "$T/doctored.txt" && fail "the checker passed a subscriber that missed a line"
say "checker on the subscriber's lines with one twice / one missing: fails"
grep -l "Sanitizer\|runtime error" "$T"/*.log >/dev/null 2>&1 && fail "a sanitizer reported an error"
# two brokers' accepts of the same ids (a client failing over) once deadlocked in PostgreSQL
dl=$(cat "$T"/broker-*.log | grep -c "deadlock detected")
[ "$dl" -eq 0 ] || fail "the brokers logged $dl deadlocks: $(grep -h "deadlock detected" "$T"/broker-*.log | head -2)"
exit 0
