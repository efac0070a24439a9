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

# 6. The published forms: PDF and HTML, detected or forced, from a file or
# standard input; convert from either; a bad PDF is exit 2 and the next file
# is still checked.
$CTL check --form pdf $R/huaian-2024.pdf > "$tmp/p.txt"; expect_rc "check --form pdf" 0 $?
grep -q '^\.\./shared/reports/huaian-2024.pdf: PASS (layout 2021, 淮安市人民政府, 2024, 0 finding(s))$' "$tmp/p.txt" && ok || bad "PDF read: $(head -1 "$tmp/p.txt")"
$CTL check - < $R/hongze-2023.pdf > "$tmp/s.txt"; expect_rc "check - (PDF on stdin)" 1 $?
grep -q '^-: FAIL (layout 2019, 洪泽区人民政府, 2023, 4 finding(s))$' "$tmp/s.txt" && ok || bad "stdin: $(head -1 "$tmp/s.txt")"
$CTL check --form html - < $R/shuyang-fgj-2023.html > /dev/null; expect_rc "check --form html -" 0 $?
$CTL check --form pdf $R/huaian-2024.layout.txt > "$tmp/np.txt"; expect_rc "--form pdf on text" 2 $?
grep -q 'not a readable PDF (truncated or damaged?)' "$tmp/np.txt" && ok || bad "--form pdf on text: $(cat "$tmp/np.txt")"
head -c 200000 $R/huaian-2024.pdf > "$tmp/cut.pdf"
$CTL check --json "$tmp/cut.pdf" $R/huaian-2024.pdf > "$tmp/cut.json"; expect_rc "truncated PDF then a good one" 2 $?
$PY -c 'import json,sys; l=[json.loads(x) for x in open(sys.argv[1])]; assert l[0]["status"]=="REJECTED" and "xref" in l[0]["reason"] and l[1]["status"]=="PASS", l' "$tmp/cut.json" && ok || bad "truncated PDF JSON"
$CTL convert --to yaml -o "$tmp/sy.yaml" $R/shuyang-fgj-2023.html; expect_rc "convert html to yaml" 0 $?
$CTL convert --to pb -o "$tmp/hz.pb" $R/hongze-2023.pdf; expect_rc "convert pdf to pb" 0 $?
$CTL check --json $R/shuyang-fgj-2023.html "$tmp/sy.yaml" $R/hongze-2023.pdf "$tmp/hz.pb" > "$tmp/conv.json"; expect_rc "check converted" 1 $?
$PY - "$tmp/conv.json" <<'PYEOF' && ok || bad "converted forms agree"
import json, sys
o = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
strip = lambda r: ([(x["rule"], x["row"], x["column"], x["expected"], x["actual"]) for x in r["findings"]], r["enrichment"]["fingerprint"])
assert strip(o[0]) == strip(o[1]) and strip(o[2]) == strip(o[3]), o
assert o[0]["status"] == o[1]["status"] == "WARN"
assert not [x for x in o[0]["findings"] if x["severity"] == "error"]
PYEOF

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
