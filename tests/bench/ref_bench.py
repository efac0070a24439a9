#!/usr/bin/python3
"""ref_bench: reportd's worker path against the Python reference worker
(ref_worker.py), bytes -> bytes on one core, in one run (make bench).

1. build/bench dump writes the bench Submissions (Report form: 淮安 PASS,
   湘乡 FAIL) and reportd's Results for them; the Python Results must equal
   them field for field (ref_worker.compare), or this exits 1.
2. Interleaved rounds: reportd's figure (build/bench bytes, Report form
   lines), then Python's over the same bytes for as long; the median of each
   and their ratio. Speed is printed, never asserted.
"""
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ref_worker  # noqa: E402

BUILD = os.environ.get("REPORTD_BUILD", "build")
SECONDS = float(os.environ.get("REPORTD_BENCH_SECONDS", "0.6"))
ROUNDS = int(os.environ.get("REPORTD_BENCH_ROUNDS", "3"))
CASES = [("huaian", "Report form (淮安, PASS)"), ("xiangxiang", "Report form (湘乡, FAIL)")]


def py_rate(chk, data):
    n, t0 = 0, time.perf_counter()
    while True:
        for _ in range(16):
            chk.run_bytes(data)
        n += 16
        t = time.perf_counter() - t0
        if t >= SECONDS:
            return n / t


def c_rates():
    out = subprocess.run([BUILD + "/bench", "bytes"], capture_output=True, text=True, check=True,
                         env=dict(os.environ, REPORTD_BENCH_SECONDS=str(SECONDS))).stdout
    rates = {}
    for name, label in CASES:
        m = re.search(re.escape(label) + r"\s+(\d+) reports/s", out)
        rates[name] = float(m.group(1))
    return rates


def main():
    data_dir = os.path.join(BUILD, "bench-data")
    os.makedirs(data_dir, exist_ok=True)
    subprocess.run([BUILD + "/bench", "dump"], check=True,
                   env=dict(os.environ, REPORTD_BENCH_DATA=data_dir))
    chk = ref_worker.Checker("config")
    subs = {}
    bad = 0
    for name, label in CASES:
        with open(os.path.join(data_dir, "sub-%s.pb" % name), "rb") as f:
            subs[name] = f.read()
        with open(os.path.join(data_dir, "res-%s.pb" % name), "rb") as f:
            c_res = f.read()
        diffs = ref_worker.compare(chk.run_bytes(subs[name]), c_res)
        for d in diffs:
            print("ref_bench: %s: %s" % (label, d), file=sys.stderr)
        bad += len(diffs)
    if bad:
        print("ref_bench: the Python reference and reportd disagree", file=sys.stderr)
        return 1
    from google.protobuf.internal import api_implementation
    print("python reference worker (python3-protobuf, %s backend): its Results equal reportd's "
          "field for field" % api_implementation.Type())
    c_runs = {n: [] for n, _ in CASES}
    p_runs = {n: [] for n, _ in CASES}
    for _ in range(ROUNDS):
        for name, rate in c_rates().items():
            c_runs[name].append(rate)
        for name, _ in CASES:
            p_runs[name].append(py_rate(chk, subs[name]))
    print("bytes -> bytes on one core, median of %d interleaved rounds (aim: C >= 10x):" % ROUNDS)
    for name, label in CASES:
        c, p = statistics.median(c_runs[name]), statistics.median(p_runs[name])
        print("  %-28s reportd %8.0f/s  python %7.0f/s  ratio %.1f" % (label, c, p, c / p))
    return 0


if __name__ == "__main__":
    sys.exit(main())
