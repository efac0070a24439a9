#!/bin/sh
# The systemd units: `systemd-analyze verify` clean and `systemd-analyze
# security` exposure ≤ 2.0 for every unit. The units name /usr/local/bin/reportd;
# here they are pointed at the binary just built, in a scratch directory.
set -u
B=${REPORTD_BUILD:-build}
if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "systemd: SKIPPED — systemd-analyze is not installed (scripts/setup.sh installs it)"
    exit 0
fi
bin=$(cd "$B" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
for u in systemd/*.service systemd/*.target; do
    name=$(basename "$u")
    case $name in *@.service) name=$(echo "$name" | sed 's/@\.service/@1.service/') ;; esac
    sed "s|/usr/local/bin/reportd|$bin/reportd|g; s|/etc/reportd/|$tmp/|g" "$u" > "$tmp/$name"
done
cp config/reportd.yaml "$tmp/reportd.yaml"
cp config/reportd.yaml "$tmp/broker.yaml"
cp config/reportd.yaml "$tmp/worker-1.yaml"
for f in "$tmp"/*.service "$tmp"/*.target; do
    out=$(cd "$tmp" && systemd-analyze verify "$(basename "$f")" 2>&1)
    if [ $? -eq 0 ] && [ -z "$out" ]; then pass=$((pass + 1)); else
        fail=$((fail + 1)); echo "FAIL: systemd-analyze verify $(basename "$f"):"; echo "$out"; fi
    case $f in *.target) continue ;; esac
    level=$(systemd-analyze security --offline=true --no-pager "$f" 2>&1 | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    if [ -n "$level" ] && awk "BEGIN { exit !($level <= 2.0) }"; then pass=$((pass + 1)); else
        fail=$((fail + 1)); echo "FAIL: $(basename "$f") exposure '${level:-?}' is not ≤ 2.0"; fi
done
echo "systemd: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
