#!/usr/bin/python3
"""Helpers for tests/ops.sh (issue 4), each bounded in time:

  ops_helper.py listen SOCKET OUT TCPPORT...
      a service manager's side of sd_notify: bind a datagram socket (abstract
      when SOCKET starts with '@'), write one line per message to OUT as
      "STATE-LINES | bound=yes/no", where bound tells whether every TCPPORT on
      127.0.0.1 accepted a connection at the moment the message arrived (so
      READY=1 can be checked to come after the binds). Ends at STOPPING=1 plus
      a short grace, or after 60 s. OUT.ready appears once the socket is bound.
  ops_helper.py metrics URL NAME=VALUE...
      fetch /metrics, parse it with prometheus_client's text parser (the
      reference one) and compare each sample (NAME may carry {label="v"}) to
      VALUE; prints every mismatch and exits 1 on any.
  ops_helper.py sample URL NAME
      print one sample's value (0 if absent).
  ops_helper.py http URL
      print "STATUS BODY" of one GET (5xx answers included).
  ops_helper.py bad_request BROKER_EP
      one malformed titanic.request (no body frame); expects a "400" answer.
  ops_helper.py consistent URL RESULTS
      scrape /metrics again and again until the Results counted reach RESULTS
      (at most 60 s), and on until two scrapes with different Results were
      compared; in every scrape the histogram of submission seconds must
      have counted exactly the Results the counters show — one scrape is one
      consistent snapshot. Fails too when fewer than 2 scrapes saw Results.
  ops_helper.py alerts RULES URL...
      the alerting-rules file: every group and rule well formed (alert, expr,
      labels.severity, annotations.summary), and every metric an expression
      names is served by one of the /metrics URLs; and promtool check rules.
"""
import socket
import sys
import time
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def port_open(port):
    s = socket.socket()
    s.settimeout(0.5)
    try:
        s.connect(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def listen(path, out, ports):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind("\0" + path[1:] if path.startswith("@") else path)
    open(out + ".ready", "w").close()      # bound: the test may start reportd now
    end = time.time() + 60
    with open(out, "w") as f:
        while time.time() < end:
            s.settimeout(max(0.1, end - time.time()))
            try:
                msg = s.recv(4096).decode()
            except socket.timeout:
                break
            bound = all(port_open(p) for p in ports)
            f.write("%s | bound=%s | t=%.3f\n" % (msg.replace("\n", " "), "yes" if bound else "no",
                                                   time.monotonic()))
            f.flush()
            if "STOPPING=1" in msg.split("\n"):
                end = min(end, time.time() + 3)


def samples(url):
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    out = {}
    for fam in text_string_to_metric_families(text):
        for smp in fam.samples:
            labels = ",".join('%s="%s"' % kv for kv in sorted(smp.labels.items()))
            out[smp.name + ("{%s}" % labels if labels else "")] = smp.value
    return out


def metrics(url, expects):
    got = samples(url)
    bad = 0
    for e in expects:
        name, want = e.rsplit("=", 1)
        have = got.get(name)
        if have is None or have != float(want):
            print("metrics: %s is %s, expected %s" % (name, have, want))
            bad += 1
    return 1 if bad else 0


def consistent(url, until):
    seen, end = set(), time.time() + 60
    while time.time() < end:
        got = samples(url)
        results = sum(v for k, v in got.items() if k.startswith("reportd_results_total{"))
        hist = got.get("reportd_submission_seconds_count", 0)
        if results != hist:
            print("consistent: one scrape shows %d Results but a histogram of %d" % (results, hist))
            return 1
        seen.add(results)
        # the counters move once a tick: go past `until` until two scrapes
        # with Results have been compared (a fast run can jump 0 -> until)
        if results >= until and len([r for r in seen if r > 0]) >= 2:
            break
    if len([r for r in seen if r > 0]) < 2:
        print("consistent: only %d scrapes during the run; the test proves nothing" % len(seen))
        return 1
    print("consistent: %d scrapes while Results went from %d to %d, each consistent"
          % (len(seen), min(seen), max(seen)))
    return 0


def alerts(path, urls):
    import re
    import shutil
    import subprocess
    import yaml
    doc = yaml.safe_load(open(path))
    served = set()
    for u in urls:
        for name in samples(u):
            base = name.split("{")[0]
            served.add(base)
            served.add(re.sub(r"_(bucket|count|sum)$", "", base))
    bad = 0
    names = []
    for g in doc["groups"]:
        assert g["name"] and g["rules"], g
        for r in g["rules"]:
            for k in ("alert", "expr"):
                if not isinstance(r.get(k), str) or not r[k]:
                    print("alerts: a rule without %s: %r" % (k, r))
                    bad += 1
            if "severity" not in r.get("labels", {}) or "summary" not in r.get("annotations", {}):
                print("alerts: %s has no labels.severity or annotations.summary" % r.get("alert"))
                bad += 1
            names.append(r.get("alert"))
            for m in re.findall(r"\b((?:reportd|process)_[a-z_]+)", r.get("expr", "")):
                if m not in served:
                    print("alerts: %s uses %s, which no endpoint serves" % (r["alert"], m))
                    bad += 1
    if not shutil.which("promtool"):
        print("alerts: promtool is not installed (Debian's prometheus package; scripts/setup.sh installs it)")
        return 1
    p = subprocess.run(["promtool", "check", "rules", path], capture_output=True, text=True)
    if p.returncode != 0:
        print("alerts: promtool check rules:", p.stdout, p.stderr)
        bad += 1
    how = "promtool check rules and the metric names"
    print("alerts: %d rules (%s): %s" % (len(names), ", ".join(names), how))
    return 1 if bad else 0


def bad_request(ep):
    import zmq
    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(ep)
    s.send_multipart([b"", b"MDPC01", b"titanic.request", b"report.check"])
    if not s.poll(5000):
        print("bad_request: no answer")
        return 1
    frames = s.recv_multipart()
    ok = len(frames) >= 4 and frames[3].startswith(b"400")
    if not ok:
        print("bad_request: answer %r" % frames)
    return 0 if ok else 1


def main():
    cmd = sys.argv[1]
    if cmd == "listen":
        listen(sys.argv[2], sys.argv[3], [int(p) for p in sys.argv[4:]])
        return 0
    if cmd == "metrics":
        return metrics(sys.argv[2], sys.argv[3:])
    if cmd == "sample":
        print("%d" % samples(sys.argv[2]).get(sys.argv[3], 0))
        return 0
    if cmd == "http":
        try:
            r = urllib.request.urlopen(sys.argv[2], timeout=5)
            print(r.status, r.read().decode().strip())
        except urllib.error.HTTPError as e:
            print(e.code, e.read().decode().strip())
        return 0
    if cmd == "consistent":
        return consistent(sys.argv[2], int(sys.argv[3]))
    if cmd == "alerts":
        return alerts(sys.argv[2], sys.argv[3:])
    if cmd == "bad_request":
        return bad_request(sys.argv[2])
    print("usage: see the docstring", file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main())
