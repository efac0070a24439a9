#!/usr/bin/python3
"""ref_worker: a Python reference worker for `make bench` (issue 10, item 6).

Submission bytes -> Result bytes with pyzmq + python3-protobuf (C++ backend),
for the structured form (a Submission carrying a Report, not a Document): it
does not read text dumps or PDFs. It checks what reportd checks on the bench
inputs: the cells (R-CELL-MISSING / R-CELL-NUMBER, cell by cell), every
summation identity of the layout YAML (each row, each column, once; blanks as
"at least"), R-S5-NONEMPTY (empty only), R-S6-FEE, R-DEADLINE; and enriches:
T3 totals and rates, T4 counts and correction rates with ratings, the region
from config/regions.tsv (by code), the deadline, and the SHA-256 fingerprint
of the canonical content. Not done here: R-STRUCT-* (labels, shape, version),
R-S2-BOUNDS, R-TEXT-S3-S4, wholly blank rows/columns as one finding, region
guessing from a name, and the messages are not reportd's wording (compare()
leaves message_zh/en, cell labels and processing_us out).

  ref_worker.py mdp ENDPOINT SERVICE   an MDP/0.2 worker (7/MDP) until killed
Imported by ref_bench.py for the bytes -> bytes figures and the comparison.
"""
import datetime
import hashlib
import os
import struct
import sys
import time

import yaml

sys.path.insert(0, os.environ.get("REPORTD_PB_PY", "build/py"))
import report_pb2 as pb  # noqa: E402  generated at bench time: protoc --python_out=build/py

RULESET = "reportd-rules-1 (report-format.md, layouts 2021+2019)"
NUMBER, BLANK, PLACEHOLDER, TEXT = 0, 1, 2, 3
NOTICE, WARNING, ERROR = 0, 1, 2
MIN_CONCLUDED = 30
SEVERITY = {"R-CELL-MISSING": WARNING, "R-CELL-NUMBER": ERROR, "R-S5-NONEMPTY": WARNING,
            "R-S6-FEE": NOTICE, "R-DEADLINE": WARNING}


class Table:
    """One table of a layout: ids to indexes, cells in row order, sums."""

    def __init__(self, t, version):
        self.id = t["id"]
        self.version = version
        self.cols = [c["id"] for c in t["columns"]]
        self.amount = {c["id"] for c in t["columns"] if c.get("amount")}
        self.signed = {c["id"] for c in t["columns"] if c.get("signed")}
        self.rows = [r["id"] for r in t["rows"]]
        self.cells = []            # (row, col) in layout order
        for r in t["rows"]:
            for c in r.get("columns", self.cols):
                self.cells.append((r["id"], c))
        self.index = {rc: k for k, rc in enumerate(self.cells)}
        self.sums = []
        for s in t.get("sums", []):
            each = s.get("each", "row")
            self.sums.append((s["rule"], each, s["lhs"], s["rhs"], s.get("anchor")))


class Layout:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            y = yaml.safe_load(f)
        self.version = y["layout"]
        self.tables = {t["id"]: Table(t, self.version) for t in y["tables"]}


def load_regions(path):
    names = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            code, name = line.rstrip("\n").split("\t")
            names[code] = name
    return names


class Checker:
    def __init__(self, datadir="config"):
        self.layouts = {}
        for fn in os.listdir(os.path.join(datadir, "layouts")):
            if fn.endswith(".yaml"):
                lay = Layout(os.path.join(datadir, "layouts", fn))
                self.layouts[lay.version] = lay
        self.regions = load_regions(os.path.join(datadir, "regions.tsv"))

    # -- reading the Report ------------------------------------------------
    def read(self, rep):
        lay = self.layouts[rep.layout]
        sections = [None] * 6
        for s in rep.sections:
            sections[int(s.id[1]) - 1] = s.text
        tables = {}
        for t in rep.tables:
            lt = self.layouts[t.layout].tables[t.id]
            cells = [(BLANK, 0, 0, None)] * len(lt.cells)
            for c in t.cells:
                k = lt.index[(c.row, c.column)]
                raw = c.raw if c.HasField("raw") else None
                if c.state == NUMBER:
                    if c.HasField("amount"):
                        cells[k] = (NUMBER, c.amount.scale, c.amount.units, raw)
                    else:
                        cells[k] = (NUMBER, 0, c.count, raw)
                else:
                    cells[k] = (c.state, 0, 0, raw)
            tables[t.id] = (lt, cells)
        return lay, sections, tables

    # -- rules -------------------------------------------------------------
    def check(self, lay, sections, tables, year, gov, submitted_at, out):
        for tid in ("T2", "T3", "T4"):
            if tid in tables:
                self.cells_rule(tid, *tables[tid], out)
        for tid in ("T2", "T3", "T4"):
            if tid in tables:
                self.sums(tid, *tables[tid], out)
        s5 = sections[4]
        if s5 is not None and not s5.strip():
            f = finding(out, "R-S5-NONEMPTY", "", "", "", "存在的主要问题及改进情况", "（空）")
            f.message_zh = "第五部分没有实际内容"
        if lay.version >= 2021 or year >= 2021:
            self.fee(sections, tables, out)
        if year and submitted_at:
            due = deadline(year, gov)
            day = china_day(submitted_at)
            if day > due:
                finding(out, "R-DEADLINE", "", "", "", due.isoformat(), day.isoformat())

    def cells_rule(self, tid, lt, cells, out):
        for k, (state, scale, value, raw) in enumerate(cells):
            row, col = lt.cells[k]
            negative = state == NUMBER and value < 0 and col not in lt.signed
            if state == NUMBER and not negative:
                continue
            missing = state in (BLANK, PLACEHOLDER)
            f = finding(out, "R-CELL-MISSING" if missing else "R-CELL-NUMBER", tid, row, col,
                        "一个数（万元）" if col in lt.amount else "一个不小于0的整数",
                        fmt_cell(state, scale, value, raw))
            f.message_en = "%s %s.%s is missing" % (tid, row, col)
            add_ref(f.cells, tid, row, col)

    def sums(self, tid, lt, cells, out):
        for rule, each, lhs, rhs, anchor in lt.sums:
            if each == "row":
                inst = [(r, None) for r in lt.rows]
            elif each == "column":
                inst = [(None, c) for c in lt.cols]
            else:
                inst = [(lt.rows[0], None)]
            for r, c in inst:
                sides = []
                for terms in (lhs, rhs):
                    known, nmiss, refs, miss = 0, 0, [], []
                    for term in terms:
                        key = (r, term) if each != "column" else (term, c)
                        k = lt.index.get(key)
                        if k is None:
                            continue
                        state, _, value, _ = cells[k]
                        refs.append(key)
                        if state == NUMBER and value >= 0:
                            known += value
                        else:
                            nmiss += 1
                            miss.append(key)
                    sides.append((known, nmiss, refs, miss))
                (lk, lm, lr, lmiss), (rk, rm, rr, rmiss) = sides
                if decide(lk, lm, rk, rm):
                    continue
                row = r if each == "row" else ""
                col = c if each == "column" else (anchor or "") if each == "once" else ""
                f = finding(out, rule, tid, row, col, ("≥" if rm else "") + str(rk),
                            ("≥" if lm else "") + str(lk), ERROR)
                f.message_en = "%s: the items add up to %s but the total is %s" % (
                    tid, f.expected, f.actual)
                for key in lr + rr:
                    add_ref(f.cells, tid, *key)
                for key in lmiss + rmiss:
                    add_ref(f.missing, tid, *key)

    def fee(self, sections, tables, out):
        text = sections[5] if sections[5] is not None else ""
        if "处理费" in text or "收费" in text:
            return
        no_fee = None
        if "T3" in tables:
            lt, cells = tables["T3"]
            k = lt.index.get(("other.no_fee", "total"))
            if k is not None and cells[k][0] == NUMBER:
                no_fee = cells[k][2]
        if no_fee and no_fee > 0:
            f = finding(out, "R-S6-FEE", "T3", "other.no_fee", "total", "说明信息处理费收取情况",
                        text or "（空）", WARNING)
        else:
            f = finding(out, "R-S6-FEE", "", "", "", "说明信息处理费收取情况", text or "（空）")
        f.message_zh = "第六部分未说明信息处理费的收取情况"

    # -- enrichment --------------------------------------------------------
    def enrich(self, e, lay, sections, tables, region_code, year, gov, submitted_at):
        if "T3" in tables:
            t3(e, *tables["T3"])
        if "T4" in tables:
            t4(e, *tables["T4"])
        if region_code and len(region_code) == 6 and region_code.isdigit():
            self.region(e.region, region_code)
        if year:
            due = deadline(year, gov)
            e.deadline = due.isoformat()
            if submitted_at:
                e.days_after_deadline = (china_day(submitted_at) - due).days
        e.fingerprint = fingerprint(sections, tables)

    def region(self, g, code):
        g.code = code
        g.province_code = code[:2]
        g.province = self.regions.get(code[:2] + "0000", "")
        if code[2:] != "0000" and code[2:4] != "00":
            g.prefecture_code = code[:4]
            g.prefecture = self.regions.get(code[:4] + "00", "")
        else:
            g.prefecture_code = ""
        if code[4:] != "00" and code in self.regions:
            g.county = self.regions[code]

    # -- the whole path ----------------------------------------------------
    def run_bytes(self, data):
        t0 = time.perf_counter()
        sub = pb.Submission()
        sub.ParseFromString(data)
        res = pb.Result(schema_version=1, submission_id=sub.submission_id,
                        ruleset_version=RULESET)
        lay, sections, tables = self.read(sub.report)
        body = sub.body
        name = body.name
        gov = 1 if body.kind == pb.BODY_GOVERNMENT else 0 if body.kind == pb.BODY_DEPARTMENT else \
            (1 if any(name.endswith(s) and len(name) > len(s) for s in ("人民政府", "省", "市", "县", "区", "旗", "州", "盟")) else 0)
        year = sub.year
        out = []
        self.check(lay, sections, tables, year, gov, sub.submitted_at, out)
        res.findings.extend(out)
        worst = max((f.severity for f in out), default=-1)
        res.status = pb.STATUS_FAIL if worst == ERROR else pb.STATUS_WARN if worst == WARNING \
            else pb.STATUS_PASS
        self.enrich(res.enrichment, lay, sections, tables, body.region_code, year, gov,
                    sub.submitted_at)
        res.layout = lay.version
        res.body.name = name
        res.body.region_code = res.enrichment.region.code or body.region_code
        res.body.kind = pb.BODY_GOVERNMENT if gov else pb.BODY_DEPARTMENT
        if year:
            res.year = year
        res.processing_us = int((time.perf_counter() - t0) * 1e6)
        return res.SerializeToString()


def finding(out, rule, table, row, col, expected, actual, severity=None):
    f = pb.Finding(rule=rule, severity=SEVERITY[rule] if severity is None else severity,
                   table=table, row=row, column=col, expected=expected, actual=actual)
    out.append(f)
    return out[-1]


def add_ref(refs, table, row, col):
    r = refs.add()
    r.table, r.row, r.column = table, row, col


def fmt_cell(state, scale, value, raw):
    if state != NUMBER:
        return raw or ""
    if not scale:
        return str(value)
    a = abs(value)
    return "%s%d.%0*d" % ("-" if value < 0 else "", a // 10 ** scale, scale, a % 10 ** scale)


def decide(lk, lm, rk, rm):
    if not lm and not rm:
        return lk == rk
    if lm and rm:
        return True
    return not (lk > rk) if lm else not (rk > lk)


def deadline(year, gov):
    return datetime.date(year + 1, 3 if gov > 0 else 1, 31)


def china_day(unix_seconds):
    return datetime.date(1970, 1, 1) + datetime.timedelta(days=(unix_seconds + 8 * 3600) // 86400)


def rate(r, num, den, concluded, higher_is_bad, red, yellow):
    if den <= 0:
        return
    v = num / den
    r.value = v
    if concluded < MIN_CONCLUDED or red < 0:
        r.rating = pb.RATING_NONE
    elif (v > red) if higher_is_bad else (v < red):
        r.rating = pb.RATING_RED
    elif (v > yellow) if higher_is_bad else (v < yellow):
        r.rating = pb.RATING_YELLOW
    else:
        r.rating = pb.RATING_GREEN


def t3(e, lt, cells):
    slots = {}
    bad = set()
    for row in lt.rows:
        slot = row if row in ("new", "carried_over", "total", "carry_forward", "granted", "partial") \
            else "refused" if row.startswith("refused.") else "unable" if row.startswith("unable.") \
            else None
        if slot is None:
            continue
        state, _, value, _ = cells[lt.index[(row, "total")]]
        if state != NUMBER or value < 0:
            bad.add(slot)
        else:
            slots[slot] = slots.get(slot, 0) + value
    known = {k: v for k, v in slots.items() if k not in bad}
    if not any(k in known for k in slots) and not slots:
        return
    for field, slot in (("received", "new"), ("carried_over", "carried_over"),
                        ("concluded", "total"), ("carried_forward", "carry_forward")):
        if slot in known:
            setattr(e, field, known[slot])
    if "total" not in known:
        return
    total = known["total"]
    if "granted" in known and "partial" in known and total > 0:
        rate(e.disclosure_rate, known["granted"] + known["partial"], total, total, 0, 0.40, 0.45)
    if "refused" in known and total > 0:
        rate(e.refusal_rate, known["refused"], total, total, 1, -1, -1)
    if "unable" in known and total > 0:
        rate(e.unable_rate, known["unable"], total, total, 1, -1, -1)


def t4(e, lt, cells):
    def count(col):
        k = lt.index.get((lt.rows[0], col))
        if k is None or cells[k][0] != NUMBER or cells[k][2] < 0:
            return None
        return cells[k][2]
    v = count("review.total")
    if v is not None:
        e.reviews = v
    v, w = count("suit_direct.total"), count("suit_after_review.total")
    if v is not None and w is not None:
        e.suits = v + w
    for field, block in (("review_correction_rate", "review"),
                         ("suit_direct_correction_rate", "suit_direct"),
                         ("suit_after_review_correction_rate", "suit_after_review")):
        u, c, o = (count(block + x) for x in (".upheld", ".corrected", ".other"))
        if u is None or c is None or o is None or u + c + o <= 0:
            continue
        rate(getattr(e, field), c, u + c + o, u + c + o, 1, 0.15, 0.10)


def fingerprint(sections, tables):
    """enrich.c's canonical form, version 1, hashed."""
    h = hashlib.sha256(b"reportd-fp-1")
    for text in sections:
        if text is None:
            h.update(b"\xff\xff\xff\xff")
        else:
            b = text.encode("utf-8")
            h.update(struct.pack("<I", len(b)))
            h.update(b)
    for tid in ("T2", "T3", "T4"):
        if tid not in tables:
            h.update(struct.pack("<I", 0))
            continue
        lt, cells = tables[tid]
        h.update(struct.pack("<I", lt.version))
        for state, scale, value, raw in cells:
            rb = raw.encode("utf-8") if raw else b""
            h.update(struct.pack("<BBqI", state, scale, value, len(rb)))
            h.update(rb)
    return h.hexdigest()


def compare(py, c):
    """Field for field: the differences between two Results (bytes), as lines.
    Left out: processing_us, messages, cell labels (see the module's text)."""
    a, b = pb.Result(), pb.Result()
    a.ParseFromString(py)
    b.ParseFromString(c)
    diffs = []
    for m in (a, b):
        m.ClearField("processing_us")
        for f in m.findings:
            f.ClearField("message_zh")
            f.ClearField("message_en")
            for refs in (f.cells, f.missing):
                for r in refs:
                    r.ClearField("row_label")
                    r.ClearField("column_label")
    for field in ("schema_version", "submission_id", "status", "ruleset_version", "layout", "year",
                  "body", "enrichment"):
        if getattr(a, field) != getattr(b, field):
            diffs.append("%s: python %r, reportd %r" % (field, getattr(a, field), getattr(b, field)))
    if len(a.findings) != len(b.findings):
        diffs.append("findings: python %d, reportd %d" % (len(a.findings), len(b.findings)))
    for fa, fb in zip(a.findings, b.findings):
        if fa != fb:
            diffs.append("finding: python %s / reportd %s" % (
                str(fa).replace("\n", " "), str(fb).replace("\n", " ")))
    return diffs


def mdp_worker(endpoint, service):
    """7/MDP worker: READY, then REQUEST -> REPLY, heartbeats both ways."""
    import zmq
    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER)
    s.linger = 0
    s.connect(endpoint)
    s.send_multipart([b"", b"MDPW01", b"\x01", service.encode()])
    chk = Checker()
    poller = zmq.Poller()
    poller.register(s, zmq.POLLIN)
    last = time.monotonic()
    while True:
        if poller.poll(1000):
            fr = s.recv_multipart()
            cmd = fr[2]
            if cmd == b"\x02":             # REQUEST: client address, empty, body
                client, body = fr[3], fr[5]
                s.send_multipart([b"", b"MDPW01", b"\x03", client, b"", chk.run_bytes(body)])
            elif cmd == b"\x05":           # DISCONNECT
                return
        if time.monotonic() - last > 1.0:
            s.send_multipart([b"", b"MDPW01", b"\x04"])
            last = time.monotonic()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "mdp":
        mdp_worker(sys.argv[2], sys.argv[3])
    else:
        sys.stderr.write("usage: ref_worker.py mdp ENDPOINT SERVICE\n")
        sys.exit(64)
