#!/bin/sh
# The manual pages: mandoc -Tlint clean (warnings too), and complete — every
# key of config/reportd.yaml is in reportd.yaml(5), every option of every
# reportctl command (read from `reportctl help COMMAND`, i.e. commands.c's
# table) in reportctl(1), every exit code and environment variable reportd's
# sources use in reportd(8) or reportctl(1).
set -u
B=${REPORTD_BUILD:-build}
PY=${PYTHON:-python3}
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! command -v mandoc >/dev/null 2>&1; then
    echo "man: FAIL — mandoc is not installed (scripts/setup.sh installs it)"
    exit 1
fi
for f in man/reportd.8 man/reportctl.1 man/reportd.yaml.5; do
    out=$(mandoc -Tlint -W warning "$f" 2>&1)
    [ $? -eq 0 ] && [ -z "$out" ] && ok || bad "mandoc -Tlint $f: $out"
    # rendered as a reader sees it (hyphens as -, no overstrike)
    mandoc -Tascii "$f" | col -bx > "$tmp/$(basename "$f").txt"
done
# every config key, dotted, in reportd.yaml(5)
$PY - config/reportd.yaml "$tmp/reportd.yaml.5.txt" <<'PYEOF' && ok || bad "reportd.yaml(5) misses config keys"
import sys, yaml
def keys(d, pre=""):
    for k, v in d.items():
        p = pre + k
        if isinstance(v, dict) and v:
            yield from keys(v, p + ".")
        else:
            yield p
page = open(sys.argv[2]).read()
missing = [k for k in keys(yaml.safe_load(open(sys.argv[1]))) if k not in page]
if missing:
    print("not in reportd.yaml(5):", " ".join(missing))
    sys.exit(1)
PYEOF
# every reportctl option of every command in reportctl(1)
for c in $($B/reportctl help | sed -n 's/^  \([a-z]*\) .*/\1/p'); do
    grep -q "reportctl $c\|^ *$c " "$tmp/reportctl.1.txt" || bad "reportctl(1) does not describe '$c'"
    for o in $($B/reportctl help "$c" | grep -o -- '--[a-z-]*' | sort -u); do
        grep -q -- "$o\b" "$tmp/reportctl.1.txt" && ok || bad "reportctl(1) does not name $c $o"
    done
done
# every exit code of the README's table, every environment variable the sources read
for code in $(sed -n 's/^| \([0-9][0-9]*\) |.*/\1/p' README.md); do
    cat "$tmp/reportctl.1.txt" "$tmp/reportd.8.txt" | grep -q "^ *$code " && ok || bad "exit code $code is in no man page"
done
for v in $(grep -oh 'getenv("[A-Z_]*")' daemon/*/*.c | sed 's/getenv("\(.*\)")/\1/' | sort -u); do
    grep -q "$v" "$tmp/reportd.8.txt" "$tmp/reportctl.1.txt" && ok || bad "environment variable $v is in no man page"
done
echo "man: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
