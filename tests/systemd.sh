#!/bin/sh
# The systemd units: `systemd-analyze verify` clean and `systemd-analyze
# security` exposure ≤ 2.0 for every unit; units sharing a StateDirectory
# conflict; and after a plain `make install` into a DESTDIR tree every
# installed unit verifies, its ExecStartPre (--check-config of the installed
# example config) passes, the installed programs find their data from any
# directory, and a second install keeps an edited config.
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
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# verify UNIT-FILE: systemd-analyze verify, from the unit's directory
verify() {
    out=$(cd "$(dirname "$1")" && systemd-analyze verify "$(basename "$1")" 2>&1)
    [ $? -eq 0 ] && [ -z "$out" ] && ok || bad "systemd-analyze verify $(basename "$1"): $out"
}
# 1. the units as shipped, pointed at the binary just built
mkdir -p "$tmp/src"
for u in systemd/*.service systemd/*.target; do
    name=$(basename "$u")
    case $name in *@.service) name=$(echo "$name" | sed 's/@\.service/@1.service/') ;; esac
    sed "s|/usr/local/bin/reportd|$bin/reportd|g; s|/etc/reportd/|$tmp/src/|g" "$u" > "$tmp/src/$name"
done
cp config/reportd.yaml "$tmp/src/reportd.yaml"
cp config/broker.yaml "$tmp/src/broker.yaml"
cp config/worker.yaml "$tmp/src/worker-1.yaml"
for f in "$tmp"/src/*.service "$tmp"/src/*.target; do
    verify "$f"
    case $f in *.target) continue ;; esac
    level=$(systemd-analyze security --offline=true --no-pager "$f" 2>&1 | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    if [ -n "$level" ] && awk "BEGIN { exit !($level <= 2.0) }"; then ok; else
        bad "$(basename "$f") exposure '${level:-?}' is not ≤ 2.0"; fi
done
# 2. two services sharing a StateDirectory (the spool) or ports must conflict
for a in systemd/*.service; do
    for b in systemd/*.service; do
        [ "$a" = "$b" ] && continue
        sa=$(sed -n 's/^StateDirectory=//p' "$a"); sb=$(sed -n 's/^StateDirectory=//p' "$b")
        [ -n "$sa" ] && [ "$sa" = "$sb" ] || continue
        grep -q "^Conflicts=.*$(basename "$b")" "$a" && ok ||
            bad "$(basename "$a") and $(basename "$b") share StateDirectory=$sa but $(basename "$a") has no Conflicts=$(basename "$b")"
    done
done
# 3. a plain make install into a DESTDIR tree
root=$tmp/root
make -s install DESTDIR="$root" BUILD="$B" > "$tmp/install.log" 2>&1 || { bad "make install: $(tail -5 "$tmp/install.log")"; }
units=$root/usr/local/lib/systemd/system
for f in reportd.yaml broker.yaml worker-1.yaml; do
    [ -s "$root/etc/reportd/$f" ] && ok || bad "make install did not install /etc/reportd/$f"
done
for m in man1/reportctl.1 man5/reportd.yaml.5 man8/reportd.8; do
    [ -s "$root/usr/local/share/man/$m" ] && ok || bad "make install did not install $m"
done
mkdir -p "$tmp/inst"
for u in "$units"/*; do
    name=$(basename "$u")
    case $name in *@.service) name=$(echo "$name" | sed 's/@\.service/@1.service/') ;; esac
    sed "s|/usr/local/bin/reportd|$root/usr/local/bin/reportd|g; s|/etc/reportd/|$root/etc/reportd/|g" "$u" > "$tmp/inst/$name"
done
for f in "$tmp"/inst/*.service "$tmp"/inst/*.target; do
    verify "$f"
    case $f in *.target) continue ;; esac
    # what systemd runs first: each ExecStartPre must pass on the installed files
    sed -n 's/^ExecStartPre=//p' "$f" | sed 's/%i/1/g' | while read -r cmd; do
        out=$(cd / && $cmd 2>&1) && echo "ok" || echo "$(basename "$f"): $cmd: $out"
    done > "$tmp/pre.out"
    [ -s "$tmp/pre.out" ] || { bad "$(basename "$f") has no ExecStartPre"; continue; }
    grep -v '^ok$' "$tmp/pre.out" | grep -q . && bad "ExecStartPre failed: $(grep -v '^ok$' "$tmp/pre.out")" || ok
done
# the installed programs find the installed data, from any directory
abs=$(pwd)/examples/xiangxiang-minzheng-2024.txt
(cd / && "$root/usr/local/bin/reportctl" check --json "$abs" > "$tmp/inst-check.json" 2> "$tmp/inst-check.err")
rc=$?
[ $rc -eq 1 ] && grep -q '"status":"FAIL"' "$tmp/inst-check.json" && ok ||
    bad "installed reportctl check from /: exit $rc, $(cat "$tmp/inst-check.err")"
# 4. a second install keeps an operator's config
echo "# edited by the operator" >> "$root/etc/reportd/broker.yaml"
cp "$root/etc/reportd/broker.yaml" "$tmp/broker.kept"
make -s install DESTDIR="$root" BUILD="$B" > "$tmp/install2.log" 2>&1 || bad "second make install failed"
cmp -s "$root/etc/reportd/broker.yaml" "$tmp/broker.kept" && grep -q "kept .*broker.yaml" "$tmp/install2.log" && ok ||
    bad "a second make install overwrote /etc/reportd/broker.yaml"
echo "systemd: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
