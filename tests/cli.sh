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

# 3. Several files: the worst decides — 1 a FAIL, 65 a file that is not a
#    report, 66 a file that cannot be opened.
$CTL check $R/huaian-2024.layout.txt $R/hongze-2023.layout.txt > /dev/null; expect_rc "check two" 1 $?
printf 'not a report\n' > "$tmp/junk.txt"
$CTL check --json $R/huaian-2024.layout.txt "$tmp/junk.txt" > "$tmp/j.json"; expect_rc "check junk" 65 $?
$PY -c 'import json,sys; l=open(sys.argv[1]).read().splitlines(); o=json.loads(l[1]); assert o["status"]=="REJECTED" and "junk.txt" in o["reason"], o' "$tmp/j.json" && ok || bad "junk JSON"
$CTL check "$tmp/no-such-file" > /dev/null; expect_rc "check missing file" 66 $?
$CTL check "$tmp/no-such-file" "$tmp/junk.txt" > /dev/null; expect_rc "check missing and junk" 66 $?
$CTL check --fail-on WARN $R/huaian-2024.layout.txt > /dev/null; expect_rc "check --fail-on WARN, a PASS" 0 $?
$CTL check --fail-on REJECTED $R/hongze-2023.layout.txt > /dev/null; expect_rc "check --fail-on REJECTED, a FAIL" 0 $?
$CTL check --fail-on none $R/hongze-2023.layout.txt > /dev/null; expect_rc "check --fail-on none" 0 $?
$CTL check --fail-on pass $R/huaian-2024.layout.txt > /dev/null; expect_rc "check --fail-on pass" 1 $?
$CTL convert --to yaml "$tmp/junk.txt" > /dev/null 2>&1; expect_rc "convert junk" 65 $?
$CTL convert --to yaml "$tmp/no-such-file" > /dev/null 2>&1; expect_rc "convert missing file" 66 $?
$CTL convert --to yaml -o /nonexistent/dir/x.yaml $R/hongze-2023.layout.txt 2>/dev/null; expect_rc "convert unwritable" 73 $?
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
# standard input; convert from either; a bad PDF is exit 65 (not a report) and
# the next file is still checked.
$CTL check --form pdf $R/huaian-2024.pdf > "$tmp/p.txt"; expect_rc "check --form pdf" 0 $?
grep -q '^\.\./shared/reports/huaian-2024.pdf: PASS (layout 2021, 淮安市人民政府, 2024, 0 finding(s))$' "$tmp/p.txt" && ok || bad "PDF read: $(head -1 "$tmp/p.txt")"
$CTL check - < $R/hongze-2023.pdf > "$tmp/s.txt"; expect_rc "check - (PDF on stdin)" 1 $?
grep -q '^-: FAIL (layout 2019, 洪泽区人民政府, 2023, 4 finding(s))$' "$tmp/s.txt" && ok || bad "stdin: $(head -1 "$tmp/s.txt")"
$CTL check --form html - < $R/shuyang-fgj-2023.html > /dev/null; expect_rc "check --form html -" 0 $?
$CTL check --form pdf $R/huaian-2024.layout.txt > "$tmp/np.txt"; expect_rc "--form pdf on text" 65 $?
grep -q 'not a readable PDF (truncated or damaged?)' "$tmp/np.txt" && ok || bad "--form pdf on text: $(cat "$tmp/np.txt")"
head -c 200000 $R/huaian-2024.pdf > "$tmp/cut.pdf"
$CTL check --json "$tmp/cut.pdf" $R/huaian-2024.pdf > "$tmp/cut.json"; expect_rc "truncated PDF then a good one" 65 $?
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

# 7. Versions, help from the one table, each subcommand only its own options.
BIN=${REPORTD_BUILD:-build}/reportd
V=$($BIN --version); expect_rc "reportd --version" 0 $?
echo "$V" | grep -Eq '^reportd [0-9]+\.[0-9]+\.[0-9]+' && ok || bad "reportd --version printed '$V'"
V2=$($CTL --version); expect_rc "reportctl --version" 0 $?
[ "$V2" = "reportctl ${V#reportd }" ] && ok || bad "reportctl --version '$V2' is not the build's '$V'"
for c in check convert submit watch deadletter keygen help; do
    $CTL $c --help > "$tmp/help.out" 2>&1; expect_rc "$c --help" 0 $?
    head -1 "$tmp/help.out" | grep -q "^usage: reportctl $c" && grep -q '^exit status:' "$tmp/help.out" &&
        ok || bad "$c --help: $(head -1 "$tmp/help.out")"
    $CTL help $c > "$tmp/help2.out"; expect_rc "help $c" 0 $?
    cmp -s "$tmp/help.out" "$tmp/help2.out" && ok || bad "help $c differs from $c --help"
done
$CTL help > "$tmp/help.out"; expect_rc "help" 0 $?
[ "$(grep -c '^  [a-z]' "$tmp/help.out")" -eq 7 ] && ok || bad "help does not list 7 commands"
$CTL help nosuch > /dev/null 2>&1; expect_rc "help nosuch" 64 $?
$CTL nosuch > /dev/null 2>&1; expect_rc "unknown command" 64 $?
$CTL check --to yaml -o "$tmp/ignored.yaml" $R/hongze-2023.layout.txt > /dev/null 2> "$tmp/err"
expect_rc "check --to yaml -o F" 64 $?
[ ! -e "$tmp/ignored.yaml" ] && grep -q "unknown option '--to'" "$tmp/err" && ok || bad "check --to: $(cat "$tmp/err")"
$CTL convert --json --to yaml $R/hongze-2023.layout.txt > /dev/null 2> "$tmp/err"; expect_rc "convert --json" 64 $?
grep -q "unknown option '--json'" "$tmp/err" && ok || bad "convert --json: $(cat "$tmp/err")"
$CTL check --year 2024abc $R/hongze-2023.layout.txt > /dev/null 2> "$tmp/err"; expect_rc "--year 2024abc" 64 $?
grep -q "year must be a whole number from 2000 to 2100, not '2024abc'" "$tmp/err" && ok || bad "--year message: $(cat "$tmp/err")"
$CTL check --fail-on SOMETIMES x > /dev/null 2>&1; expect_rc "check --fail-on SOMETIMES" 64 $?
$CTL submit --repeat 0 x > /dev/null 2>&1; expect_rc "submit --repeat 0" 64 $?
$CTL submit --timeout 5s x > /dev/null 2>&1; expect_rc "submit --timeout 5s" 64 $?
$CTL submit --publish tcp://127.0.0.1:1 x > /dev/null 2>&1; expect_rc "submit --publish" 64 $?
$CTL watch --count x > /dev/null 2>&1; expect_rc "watch --count x" 64 $?
$CTL deadletter --json list > /dev/null 2>&1; expect_rc "deadletter --json" 64 $?
$CTL deadletter show > /dev/null 2>&1; expect_rc "deadletter show without UUID" 64 $?
$CTL deadletter --broker tcp://127.0.0.1:1 show abc > /dev/null 2> "$tmp/err"; expect_rc "deadletter show abc" 65 $?
grep -q "'abc' is not a dead letter's UUID" "$tmp/err" && ok || bad "deadletter show abc: $(cat "$tmp/err")"
$CTL keygen > /dev/null 2>&1; expect_rc "keygen without NAME" 64 $?

# 8. submit's exit codes against the embedded default on 127.0.0.1.
BASE=$((5000 + ($$ % 490) * 10))   # below the ephemeral range; e2e/ops/curve use 10000+
EP=tcp://127.0.0.1:$BASE
cat > "$tmp/r.yaml" <<YAML
broker:
  bind: $EP
  publish: tcp://127.0.0.1:$((BASE + 1))
spool:
  path: $tmp/spool.db
YAML
# started from an empty directory: the data is found beside the binary
mkdir -p "$tmp/empty"
ABS_BIN=$(cd "$(dirname "$BIN")" && pwd)/reportd
(cd "$tmp/empty" && exec "$ABS_BIN" -c "$tmp/r.yaml") 2> "$tmp/reportd.log" &
RPID=$!
trap 'kill $RPID 2>/dev/null; rm -rf "$tmp"' EXIT
EX=examples/xiangxiang-minzheng-2024.txt
# (no wait for readiness needed: ZeroMQ connects when the broker binds, submit resends)
$CTL submit --broker $EP --year 2024 $EX > "$tmp/s.out" 2>> "$tmp/submit.log"; expect_rc "submit a FAIL" 1 $?
[ "$(cut -f3 "$tmp/s.out")" = FAIL ] && ok || bad "submit a FAIL printed: $(cat "$tmp/s.out")"
$CTL submit --broker $EP --year 2024 --fail-on REJECTED $EX > /dev/null 2>> "$tmp/submit.log"; expect_rc "submit --fail-on REJECTED" 0 $?
$CTL submit --broker $EP --fail-on none $EX "$tmp/junk.txt" > "$tmp/s.out" 2>> "$tmp/submit.log"; expect_rc "submit --fail-on none" 0 $?
$CTL submit --broker $EP $R/huaian-2024.layout.txt > "$tmp/s.out" 2>> "$tmp/submit.log"; expect_rc "submit a PASS" 0 $?
$CTL submit --broker $EP --fail-on PASS $R/huaian-2024.layout.txt > /dev/null 2>> "$tmp/submit.log"; expect_rc "submit --fail-on PASS" 1 $?
$CTL submit --broker $EP --fail-on FAIL "$tmp/junk.txt" > "$tmp/s.out" 2>> "$tmp/submit.log"; expect_rc "submit junk (REJECTED)" 1 $?
grep -q "REJECTED" "$tmp/s.out" && ok || bad "submit junk: $(cat "$tmp/s.out")"
$CTL submit --broker $EP "$tmp/no-such-file" > /dev/null 2>&1; expect_rc "submit a missing file" 66 $?
$CTL deadletter --broker $EP show 0123456789abcdef0123456789abcdef > /dev/null 2> "$tmp/err"
expect_rc "deadletter show unknown" 65 $?
grep -q "no dead letter 0123456789abcdef0123456789abcdef" "$tmp/err" && ok || bad "deadletter show unknown: $(cat "$tmp/err")"
# several brokers, the first one down: the submission goes to the next
DEAD=tcp://127.0.0.1:$((BASE + 2))
$CTL submit --broker $DEAD --broker $EP --timeout 300 --year 2024 $EX > "$tmp/s.out" 2> "$tmp/err"
expect_rc "submit, --broker DEAD --broker EP" 1 $?
[ "$(cut -f3 "$tmp/s.out")" = FAIL ] && grep -q "no answer; resending 1 unacknowledged" "$tmp/err" && ok ||
    bad "submit, first broker down: $(cat "$tmp/s.out" "$tmp/err")"
REPORTD_BROKER=$DEAD,$EP $CTL submit --timeout 300 --year 2024 $EX > "$tmp/s.out" 2> "$tmp/err"
expect_rc "submit, REPORTD_BROKER=DEAD,EP" 1 $?
[ "$(cut -f3 "$tmp/s.out")" = FAIL ] && ok || bad "submit, REPORTD_BROKER list: $(cat "$tmp/s.out" "$tmp/err")"
# a second reportd on the same ports: one line saying what to do, exit 69, no totals
sed "s|$tmp/spool.db|$tmp/spool2.db|" "$tmp/r.yaml" > "$tmp/r2.yaml"
$CTL submit --broker $EP --fail-on none $EX > /dev/null 2>&1   # the first one is up
$BIN -c "$tmp/r2.yaml" 2> "$tmp/second.log"; expect_rc "reportd on a port in use" 69 $?
[ "$(wc -l < "$tmp/second.log")" -eq 1 ] && grep -q 'cannot start: .*check broker.bind' "$tmp/second.log" &&
    ! grep -q totals "$tmp/second.log" && ok || bad "reportd on a port in use said: $(cat "$tmp/second.log")"
kill $RPID; wait $RPID
[ ! -e "$tmp/empty/var" ] && ok || bad "reportd created ./var although spool.path was set"
$CTL submit --broker tcp://127.0.0.1:$((BASE + 2)) --timeout 100 --retries 0 $EX > "$tmp/s.out" 2>/dev/null
expect_rc "submit, no broker" 69 $?
grep -q "NOT-ACCEPTED" "$tmp/s.out" && ok || bad "submit, no broker: $(cat "$tmp/s.out")"

# 9. From any directory: the data beside the binary (build/../config);
# missing data is exit 78, one line, and nothing created.
ABS_CTL=$(cd "$(dirname "$CTL")" && pwd)/reportctl
ABS_EX=$(pwd)/examples/xiangxiang-minzheng-2024.txt
(cd / && "$ABS_CTL" check "$ABS_EX" > /dev/null); expect_rc "reportctl check from /" 1 $?
mkdir -p "$tmp/fresh"
(cd "$tmp/fresh" && REPORTD_DATADIR=$tmp/nodata "$ABS_BIN") > "$tmp/fresh.out" 2> "$tmp/fresh.log"
expect_rc "reportd without its data" 78 $?
[ "$(wc -l < "$tmp/fresh.log")" -eq 1 ] && grep -q "$tmp/nodata/layouts.*set REPORTD_DATADIR" "$tmp/fresh.log" &&
    ! grep -q totals "$tmp/fresh.log" && ok || bad "reportd without its data said: $(cat "$tmp/fresh.log")"
[ -z "$(ls -A "$tmp/fresh")" ] && ok || bad "reportd without its data created $(ls -A "$tmp/fresh")"
(cd "$tmp/fresh" && REPORTD_DATADIR=$tmp/nodata "$ABS_CTL" check "$ABS_EX") > /dev/null 2>&1
expect_rc "reportctl check without its data" 78 $?

# 9b. spool.backend postgresql: a password in spool.dsn is refused by
# --check-config (78, line:column); a server that is not there stops the start
# with one line (69), nothing half-started.
mkdir -p "$tmp/pg"
printf 'spool:\n  backend: postgresql\n  dsn: "host=db dbname=r password=hunter2"\n' > "$tmp/pg/pw.yaml"
$BIN --check-config "$tmp/pg/pw.yaml" > /dev/null 2> "$tmp/pg/pw.log"
expect_rc "--check-config, password in spool.dsn" 78 $?
[ "$(wc -l < "$tmp/pg/pw.log")" -eq 1 ] && grep -q ':3:8: spool.dsn: holds a password; passwords come from spool.dsn_file' "$tmp/pg/pw.log" &&
    ! grep -q hunter2 "$tmp/pg/pw.log" && ok || bad "password in spool.dsn: $(cat "$tmp/pg/pw.log")"
printf 'spool:\n  backend: postgresql\n  dsn: "postgresql://r:hunter2@db/r"\n' > "$tmp/pg/uri.yaml"
$BIN --check-config "$tmp/pg/uri.yaml" > /dev/null 2>&1; expect_rc "--check-config, password in a DSN URI" 78 $?
printf 'broker:\n  bind: tcp://127.0.0.1:%d\n  publish: tcp://127.0.0.1:%d\nspool:\n  backend: postgresql\n  dsn: "host=%s/none port=1 dbname=r"\n' \
    $((BASE + 7)) $((BASE + 8)) "$tmp/pg" > "$tmp/pg/down.yaml"
(cd "$tmp/pg" && "$ABS_BIN" broker -c "$tmp/pg/down.yaml") > /dev/null 2> "$tmp/pg/down.log"
expect_rc "reportd broker, PostgreSQL not there" 69 $?
[ "$(wc -l < "$tmp/pg/down.log")" -eq 1 ] && grep -q 'cannot start: spool: postgresql: cannot connect: .*/none/.s.PGSQL.1' "$tmp/pg/down.log" &&
    [ ! -e "$tmp/pg/var" ] && ok || bad "reportd broker, PostgreSQL not there said: $(cat "$tmp/pg/down.log")"

# 8. Run-together page text (平潭): read by the flat reader, cells reconstructed;
# one digit altered in a temp copy (the shared file is not changed): REJECTED
# naming the row, exit 2.
$CTL check --json $R/pingtan-2024.page.txt > "$tmp/p.json"; expect_rc "check 平潭" 0 $?
$PY - "$tmp/p.json" <<'PYEOF' && ok || bad "平潭 JSON"
import json, sys
o = json.loads(open(sys.argv[1], encoding="utf-8").read())
assert o["status"] == "WARN" and o["layout"] == 2021 and o["year"] == 2024, o
assert [(x["rule"], x["table"], x["row"], len(x["missing"])) for x in o["findings"]] == [("R-CELL-MISSING", "T2", "normative_docs", 3)], o["findings"]
e = o["enrichment"]
assert e["reader"] == "flat" and e["reconstructed"] == ["T2", "T3", "T4"], e
assert e["unread"] == [{"table": "T2", "row": "normative_docs", "why": "6233440 splits 15 ways: 6,2,33440 | 6,23,3440 | 6,233,440 | …"}], e["unread"]
assert e["received"] == 218 and e["reviews"] == 7 and e["suits"] == 19, e
PYEOF
$CTL check $R/pingtan-2023.page.txt | grep -q "read: flat; cells reconstructed from digits that ran together: T2 T3 T4" && ok || bad "平潭 text output"
sed 's/申请数量21710000218/申请数量21710000219/' $R/pingtan-2024.page.txt > "$tmp/pingtan.txt"
$CTL check --json "$tmp/pingtan.txt" > "$tmp/pr.json"; expect_rc "check altered 平潭" 65 $?
$PY -c 'import json,sys; o=json.loads(open(sys.argv[1]).read()); assert o["status"]=="REJECTED" and "pingtan.txt:10:" in o["reason"] and "T3 row new: 21710000219 has no split" in o["reason"], o' "$tmp/pr.json" && ok || bad "altered 平潭 REJECTED"
$CTL check --form flat --json examples/xiangxiang-minzheng-2024.txt > "$tmp/xf.json"; expect_rc "text dump forced flat" 65 $?

# 10. Across years. 洪泽 has no 2024 report here: "$tmp/hz2024.txt" is a copy
# of the real 2023 one made by this test — title year 2024, T2 行政规范性文件
# 本年废止 5 -> 0 (so T2 follows on from 2023), and T3 二、上年结转 商业企业
# 0 -> 3 (what R-S3-PREV-CARRY must find). Its text is 2023's: R-DUP-PREV too.
sed -e '2s/2023 年/2024 年/' -e '50s/0          5       5/0          0       5/' \
    -e '97s/0    0      0     0/0    3      0     0/' $R/hongze-2023.layout.txt > "$tmp/hz2024.txt"
[ "$(diff $R/hongze-2023.layout.txt "$tmp/hz2024.txt" | grep -c '^>')" -eq 3 ] && ok || bad "the 洪泽 copy: 3 lines altered"
# the chain in year order whatever the argument order; 2023 is a first year
$CTL check --json "$tmp/hz2024.txt" $R/hongze-2023.layout.txt > "$tmp/chain.json"; expect_rc "check a chain" 1 $?
$PY - "$tmp/chain.json" <<'PYEOF' && ok || bad "chain JSON"
import json, sys
o = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert [x["year"] for x in o] == [2023, 2024], [x["year"] for x in o]
cross = ("R-S3-PREV-CARRY", "R-S2-CONTINUITY", "R-DUP-PREV", "R-YOY-JUMP", "R-PREV-PARTIAL")
c0 = [x for x in o[0]["findings"] if x["rule"] in cross]
c1 = sorted((x["rule"], x["table"], x["row"], x["column"], x["expected"], x["actual"], x["severity"])
            for x in o[1]["findings"] if x["rule"] in cross)
assert c0 == [] and "year_on_year" not in o[0]["enrichment"], c0
assert c1 == [("R-DUP-PREV", "", "", "", "≤50%", "100.0%", "warning"),
              ("R-S3-PREV-CARRY", "T3", "carried_over", "commercial", "0", "3", "warning")], c1
y = o[1]["enrichment"]["year_on_year"]
assert y == {"previous_year": 2023, "received": 0, "concluded": 0, "disclosure_rate": 0.0, "reviews": 0, "suits": 0}, y
PYEOF
# 平潭 2023 -> 2024, real consecutive years: carry-over holds, no cross-year finding
$CTL check --json $R/pingtan-2024.page.txt $R/pingtan-2023.page.txt > "$tmp/pt.json"; expect_rc "check 平潭's chain" 0 $?
$PY - "$tmp/pt.json" <<'PYEOF' && ok || bad "平潭 chain JSON"
import json, sys
o = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert [x["year"] for x in o] == [2023, 2024]
assert [[x["rule"] for x in r["findings"]] for r in o] == [["R-CELL-MISSING"], ["R-CELL-MISSING"]], o
y = o[1]["enrichment"]["year_on_year"]
assert (y["previous_year"], y["received"], y["concluded"], y["reviews"], y["suits"]) == (2023, 137, 137, 5, 12), y
assert -0.0599 < y["disclosure_rate"] < -0.0598, y
PYEOF
# --previous: one pair, the previous file not printed; its form detected
$CTL convert --to pb -o "$tmp/hz2023.pb" $R/hongze-2023.layout.txt
$CTL check --json --previous "$tmp/hz2023.pb" "$tmp/hz2024.txt" > "$tmp/pair.json"; expect_rc "check --previous" 1 $?
cmp -s "$tmp/pair.json" /dev/null && bad "check --previous printed nothing" || ok
$PY -c 'import json,sys; l=open(sys.argv[1]).read().splitlines(); assert len(l)==1; o=json.loads(l[0]); r=sorted(x["rule"] for x in o["findings"] if x["rule"] in ("R-S3-PREV-CARRY","R-DUP-PREV")); assert r==["R-DUP-PREV","R-S3-PREV-CARRY"] and o["year"]==2024, r' "$tmp/pair.json" && ok || bad "--previous JSON"
$CTL check --previous $R/hongze-2023.layout.txt "$tmp/hz2024.txt" > "$tmp/pair.txt"; expect_rc "check --previous (text)" 1 $?
grep -q '^    warning R-S3-PREV-CARRY   row carried_over column commercial: expected 0, actual 3$' "$tmp/pair.txt" &&
    grep -q '^  year on year (against 2023): received +0, concluded +0, disclosure +0.0 points, reviews +0, suits +0$' "$tmp/pair.txt" &&
    ok || bad "--previous text: $(cat "$tmp/pair.txt")"
# only the cross-year warnings are at WARN: --fail-on
$CTL check --fail-on none --previous $R/hongze-2023.layout.txt "$tmp/hz2024.txt" > /dev/null; expect_rc "check --previous --fail-on none" 0 $?
$CTL check --previous $R/hongze-2023.layout.txt "$tmp/hz2024.txt" $R/huaian-2024.layout.txt > /dev/null 2> "$tmp/err"
expect_rc "--previous with two FILEs" 64 $?
grep -q -- "--previous goes with one FILE" "$tmp/err" && ok || bad "--previous two FILEs: $(cat "$tmp/err")"
$CTL check --previous "$tmp/no-such-file" "$tmp/hz2024.txt" > /dev/null 2> "$tmp/err"; expect_rc "--previous missing" 66 $?
grep -q -- "--previous $tmp/no-such-file: " "$tmp/err" && ok || bad "--previous missing: $(cat "$tmp/err")"
$CTL check --previous "$tmp/junk.txt" "$tmp/hz2024.txt" > /dev/null 2>&1; expect_rc "--previous junk" 65 $?
# a first year alone, and a previous two years back: said so, nothing compared
$CTL check --json $R/hongze-2023.layout.txt > "$tmp/first.json"; expect_rc "check 洪泽 2023 alone" 1 $?
grep -q 'R-PREV\|PREV-CARRY\|DUP-PREV\|YOY-JUMP\|CONTINUITY\|year_on_year' "$tmp/first.json" && bad "a first year has cross-year output" || ok
$CTL check --json --year 2025 --previous $R/hongze-2023.layout.txt "$tmp/hz2024.txt" > "$tmp/gap.json"
$PY -c 'import json,sys; o=json.loads(open(sys.argv[1]).read()); r=[(x["rule"],x["expected"],x["actual"]) for x in o["findings"] if "PREV" in x["rule"] or x["rule"] in ("R-YOY-JUMP","R-S2-CONTINUITY")]; assert r==[("R-PREV-PARTIAL","2024","2023")] and "year_on_year" not in o["enrichment"], r' "$tmp/gap.json" && ok || bad "previous two years back"

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
