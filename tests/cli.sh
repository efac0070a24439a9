#!/bin/sh
# End-to-end tests of reportctl check/convert as a user runs them: exact exit
# codes and the JSON contract, on the real reports in ../shared/reports.
set -u
B=${REPORTD_BUILD:-build}
CTL=$B/reportctl
R=../shared/reports
PY=${PYTHON:-python3}
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
expect_rc() { # name expected actual
    if [ "$2" = "$3" ]; then ok; else bad "$1: exit $3, expected $2"; fi
}

# 1. 湘乡: FAIL, exit 1, the findings of report-format.md exactly.
$CTL check --json $R/xiangxiang-minzheng-2024.txt > "$tmp/x.json"; expect_rc "check 湘乡" 1 $?
$PY - "$tmp/x.json" <<'PYEOF' && ok || bad "湘乡 JSON findings"
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
assert len(lines) == 1, lines
o = json.loads(lines[0])
assert o["status"] == "FAIL" and o["layout"] == 2021, o
f = o["findings"]
for x in f:
    for k in ("rule", "severity", "table", "row", "column", "expected", "actual", "message_zh", "message_en"):
        assert k in x, (k, x)
def at(rule):
    return sorted((x["row"], x["column"]) for x in f if x["rule"] == rule)
assert at("R-S3-ROWSUM") == sorted([("new", ""), ("granted", ""), ("refused.third_party", ""), ("total", "")]), at("R-S3-ROWSUM")
assert at("R-S3-RESULTSUM") == [("", "nonprofit")], at("R-S3-RESULTSUM")
assert at("R-CELL-MISSING") == [("refused.enforcement_file", "legal"), ("refused.enforcement_file", "nonprofit")]
assert [x["severity"] for x in f if x["rule"] == "R-S6-FEE"] == ["notice"]
assert at("R-S3-BALANCE") == [] and at("R-S4-SUM") == []
e = o["enrichment"]
assert e["region"]["code"] == "430381" and e["region"]["county"] == "湘乡市", e
assert e["deadline"] == "2025-01-31" and len(e["fingerprint"]) == 64
PYEOF

# 2. 淮安: a correct report, exit 0, no finding.
$CTL check --json $R/huaian-2024.layout.txt > "$tmp/h.json"; expect_rc "check 淮安" 0 $?
$PY -c 'import json,sys; o=json.loads(open(sys.argv[1]).read()); assert o["status"]=="PASS" and o["findings"]==[], o' "$tmp/h.json" && ok || bad "淮安 JSON"

# 3. Several files: the worst decides; an unreadable one makes it 2.
$CTL check $R/huaian-2024.layout.txt $R/hongze-2023.layout.txt > /dev/null; expect_rc "check two" 1 $?
printf 'not a report\n' > "$tmp/junk.txt"
$CTL check --json $R/huaian-2024.layout.txt "$tmp/junk.txt" > "$tmp/j.json"; expect_rc "check junk" 2 $?
$PY -c 'import json,sys; l=open(sys.argv[1]).read().splitlines(); o=json.loads(l[1]); assert o["status"]=="REJECTED" and "junk.txt" in o["reason"], o' "$tmp/j.json" && ok || bad "junk JSON"
$CTL check "$tmp/no-such-file" > /dev/null; expect_rc "check missing file" 2 $?
$CTL check --form nonsense x > /dev/null 2>&1; expect_rc "bad --form" 64 $?
$CTL check > /dev/null 2>&1; expect_rc "no file" 64 $?

# 4. convert: YAML and protobuf forms read back to the same findings and fingerprint.
$CTL convert --to yaml -o "$tmp/h.yaml" $R/hongze-2023.layout.txt; expect_rc "convert yaml" 0 $?
$CTL convert --to pb -o "$tmp/h.pb" "$tmp/h.yaml"; expect_rc "convert pb" 0 $?
$CTL check --json $R/hongze-2023.layout.txt "$tmp/h.yaml" "$tmp/h.pb" > "$tmp/hz.json"; expect_rc "check forms" 1 $?
$PY - "$tmp/hz.json" <<'PYEOF' && ok || bad "forms agree"
import json, sys
o = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert len(o) == 3
strip = lambda r: ([(x["rule"], x["row"], x["column"], x["expected"], x["actual"]) for x in r["findings"]], r["enrichment"]["fingerprint"])
assert strip(o[0]) == strip(o[1]) == strip(o[2]), o
assert sorted(x["rule"] for x in o[0]["findings"]) == ["R-S4-SUM", "R-S4-SUM", "R-STRUCT-LABEL", "R-STRUCT-VERSION"]
PYEOF

# 5. R-DEADLINE through the command line.
$CTL check --json --submitted 2025-02-05 --kind department examples/xiangxiang-minzheng-2024.txt > "$tmp/d.json"
$PY -c 'import json,sys; o=json.loads(open(sys.argv[1]).read()); d=[x for x in o["findings"] if x["rule"]=="R-DEADLINE"]; assert d and d[0]["actual"]=="2025-02-05" and o["enrichment"]["days_after_deadline"]==5, o' "$tmp/d.json" && ok || bad "deadline"

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
