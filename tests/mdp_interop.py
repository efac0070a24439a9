#!/usr/bin/python3
"""Interoperability and robustness checks for reportd, written from the specs
(7/MDP, 8/MMI, 9/TSP) alone, with nothing from reportd's own client code.

  mdp_interop.py client  BROKER_EP REPORT_FILE
      a minimal MDP/Titanic client against a reportd broker (with workers)
  mdp_interop.py broker  ENDPOINT REPORTD REPORT_FILE CONFIG
      a minimal MDP broker; runs `reportd worker` under it and uses it
  mdp_interop.py garbage BROKER_EP MAX_MESSAGE
      garbage, truncated, wrong-header and oversized input; the broker must
      stay up and answer a valid request afterwards
  mdp_interop.py titanic REPORTCTL REPORT_FILE
      a minimal Titanic peer (like the Guide's titanic.py) that chooses its
      own UUIDs and answers titanic.reply out of order; `reportctl submit`
      must take every 200 + UUID as an acknowledgement, match each Result to
      its submission, and leave no orphan request
  mdp_interop.py watch REPORTCTL
      two XPUB publishers of one sequence (as brokers sharing a store) and a
      reportd.replay peer; `reportctl watch --publish A,B` must print each
      sequence number once, in order: a message from both once, one only on
      the second, an out-of-order one held until the gap is filled live, and
      a gap neither publisher fills replayed

Every wait is bounded; any failure exits non-zero with a message."""
import os
import subprocess
import sys
import time
import uuid

import zmq

TIMEOUT_MS = 5000


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, wire, payload):
    key = varint((num << 3) | wire)
    if wire == 0:
        return key + varint(payload)
    return key + varint(len(payload)) + payload


def submission(sid, data, region=b"430381"):
    """A reportd.Submission in protobuf wire format, encoded by hand."""
    body = field(2, 2, region)
    document = field(1, 2, data) + field(2, 0, 1)  # FORM_TEXT
    return (field(1, 0, 1) + field(2, 2, sid.encode()) + field(3, 2, body)
            + field(4, 0, 2024) + field(7, 2, document))


def fail(msg):
    print("mdp_interop: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def recv(sock, ms=TIMEOUT_MS):
    if not sock.poll(ms):
        return None
    return sock.recv_multipart()


class Client:
    """MDP/Client over REQ, as 7/MDP recommends for a synchronous client."""

    def __init__(self, ctx, endpoint):
        self.ctx, self.endpoint = ctx, endpoint
        self.sock = None
        self.reconnect()

    def reconnect(self):
        if self.sock:
            self.sock.close(0)
        self.sock = self.ctx.socket(zmq.REQ)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(self.endpoint)

    def call(self, service, *body):
        for _ in range(3):
            self.sock.send_multipart([b"MDPC01", service] + list(body))
            reply = recv(self.sock)
            if reply is None:
                self.reconnect()
                continue
            if reply[0] != b"MDPC01" or reply[1] != service:
                fail("bad reply header %r" % reply[:2])
            return reply[2:]
        fail("no reply to %s" % service.decode())


def run_client(endpoint, report):
    ctx = zmq.Context()
    c = Client(ctx, endpoint)
    if c.call(b"mmi.service", b"report.check") != [b"200"]:
        fail("mmi.service report.check is not 200")
    if c.call(b"mmi.service", b"no.such.service") != [b"404"]:
        fail("mmi.service for an unknown service is not 404")
    if c.call(b"mmi.nothing", b"x")[0][:3] != b"501":
        fail("an unknown mmi.* is not 501")
    data = open(report, "rb").read()
    sid = str(uuid.uuid4())
    sub = submission(sid, data)
    rep = c.call(b"titanic.request", b"report.check", sub)
    if rep[0] != b"200" or len(rep) != 2 or len(rep[1]) != 32:
        fail("titanic.request: %r" % rep[:1])
    tid = rep[1]
    if tid != sid.replace("-", "").encode():
        fail("the UUID is not derived from the submission id")
    again = c.call(b"titanic.request", b"report.check", sub)
    if again != [b"200", tid]:
        fail("resubmission did not give the same UUID")
    deadline = time.time() + 10
    while True:
        rep = c.call(b"titanic.reply", tid)
        if rep[0] == b"200":
            break
        if rep[0][:3] != b"300" or time.time() > deadline:
            fail("titanic.reply: %r" % rep[0])
        time.sleep(0.05)
    if sid.encode() not in rep[1]:
        fail("the Result does not carry the submission id")
    if c.call(b"titanic.close", tid) != [b"200"]:
        fail("titanic.close is not 200")
    if c.call(b"titanic.close", b"0" * 32) != [b"200"]:
        fail("titanic.close of an unknown UUID is not 200")
    if c.call(b"titanic.reply", b"f" * 32)[0][:3] != b"400":
        fail("titanic.reply of an unknown UUID is not 400")
    plain = c.call(b"report.check", submission(str(uuid.uuid4()), data))
    if len(plain) != 1 or len(plain[0]) < 10:
        fail("plain MDP report.check gave no Result")
    print("mdp_interop client: mmi, titanic request/reply/close and plain MDP OK")


def run_broker(endpoint, reportd, report, config):
    """A minimal MDP broker: one ROUTER, a queue of idle workers, heartbeats."""
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    router.bind(endpoint)
    env = dict(os.environ)
    proc = subprocess.Popen([reportd, "-c", config, "worker"], env=env,
                            stderr=subprocess.DEVNULL)
    client = ctx.socket(zmq.DEALER)
    client.setsockopt(zmq.LINGER, 0)
    client_ep = "inproc://interop-client"
    front = ctx.socket(zmq.ROUTER)
    front.bind(client_ep)
    client.connect(client_ep)
    try:
        idle, seen_ready, heartbeats = [], 0, 0
        data = open(report, "rb").read()
        sid = str(uuid.uuid4())
        client.send_multipart([b"", b"MDPC01", b"report.check", submission(sid, data)])
        pending = None
        got_reply = False
        disconnected = None
        deadline = time.time() + 20
        poller = zmq.Poller()
        poller.register(router, zmq.POLLIN)
        poller.register(front, zmq.POLLIN)
        last_hb = time.time()
        while time.time() < deadline:
            events = dict(poller.poll(100))
            if time.time() - last_hb > 0.2:
                for w in idle:
                    router.send_multipart([w, b"", b"MDPW01", b"\x04"])
                last_hb = time.time()
            if front in events:
                f = front.recv_multipart()
                pending = (f[0], f[3], f[4:])
            if router in events:
                f = router.recv_multipart()
                wid, hdr, cmd = f[0], f[2], f[3]
                if f[1] != b"" or hdr != b"MDPW01":
                    fail("worker sent a bad header %r" % f[:3])
                if cmd == b"\x01":
                    if f[4] != b"report.check":
                        fail("READY for %r" % f[4])
                    seen_ready += 1
                    idle.append(wid)
                elif cmd == b"\x04":
                    heartbeats += 1
                elif cmd == b"\x03":
                    client_id, body = f[4], f[6:]
                    if f[5] != b"":
                        fail("REPLY without the empty delimiter")
                    front.send_multipart([client_id, b"", b"MDPC01", b"report.check"] + body)
                    idle.append(wid)
                elif cmd == b"\x05":
                    idle = [w for w in idle if w != wid]
            if pending and idle:
                w = idle.pop(0)
                router.send_multipart([w, b"", b"MDPW01", b"\x02", pending[0], b""] + pending[2])
                pending = None
            r = recv(client, 0) if client.poll(0) else None
            if r:
                if r[1] != b"MDPC01" or sid.encode() not in r[3]:
                    fail("reply through the Python broker lacks the Result")
                got_reply = True
                # 7/MDP: a worker told DISCONNECT reconnects on a new socket
                w = idle.pop(0)
                router.send_multipart([w, b"", b"MDPW01", b"\x05"])
                disconnected = w
            if got_reply and seen_ready >= 2 and heartbeats > 0:
                break
        if not got_reply:
            fail("no Result came back through the minimal broker")
        if seen_ready < 2:
            fail("the worker did not register again after DISCONNECT")
        if heartbeats == 0:
            fail("the worker sent no HEARTBEAT")
        if disconnected in idle:
            fail("the disconnected identity came back")
        print("mdp_interop broker: reportd worker served, heartbeated, re-registered OK")
    finally:
        proc.terminate()
        proc.wait(5)


def run_garbage(endpoint, max_message):
    ctx = zmq.Context()
    d = ctx.socket(zmq.DEALER)
    d.setsockopt(zmq.LINGER, 0)
    d.connect(endpoint)
    d.send_multipart([b"garbage"])
    d.send_multipart([b"", b"MDPX01", b"report.check", b"x"])
    d.send_multipart([b"", b"MDPW01", b"\x07"])
    d.send_multipart([b"", b"MDPC01"])
    d.send_multipart([b"\xff" * 10])
    if recv(d, 300) is not None:
        fail("the broker answered an invalid message")
    # valid but unexpected worker command → DISCONNECT
    d.send_multipart([b"", b"MDPW01", b"\x04"])
    r = recv(d, 3000)
    if r != [b"", b"MDPW01", b"\x05"]:
        fail("HEARTBEAT from an unknown worker did not get DISCONNECT: %r" % r)
    # truncated protobuf: stored, then answered by a REJECTED Result
    c = Client(ctx, endpoint)
    sub = submission(str(uuid.uuid4()), b"x" * 100)
    rep = c.call(b"titanic.request", b"report.check", sub[:-20])
    if rep[0] != b"200":
        fail("truncated Submission was not accepted for processing: %r" % rep[0])
    deadline = time.time() + 10
    while True:
        r = c.call(b"titanic.reply", rep[1])
        if r[0] == b"200":
            break
        if time.time() > deadline:
            fail("no Result for the truncated Submission")
        time.sleep(0.05)
    if field(3, 0, 3) not in r[1]:  # status = STATUS_REJECTED
        fail("the truncated Submission's Result is not REJECTED")
    # oversized: libzmq drops the connection (ZMQ_MAXMSGSIZE); others unaffected
    big = ctx.socket(zmq.DEALER)
    big.setsockopt(zmq.LINGER, 0)
    big.connect(endpoint)
    big.send_multipart([b"", b"MDPC01", b"report.check", b"\0" * (int(max_message) + 1)])
    if recv(big, 500) is not None:
        fail("an oversized message was answered")
    if c.call(b"mmi.service", b"report.check") != [b"200"]:
        fail("the broker is disturbed after bad input")
    print("mdp_interop garbage: invalid frames dropped, truncated → REJECTED, "
          "oversized refused, broker undisturbed OK")


def fields(data):
    """The top-level fields of a protobuf message: {number: value}."""
    out, i = {}, 0
    while i < len(data):
        key, i = read_varint(data, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            out[num], i = read_varint(data, i)
        elif wire == 2:
            n, i = read_varint(data, i)
            out[num], i = data[i:i + n], i + n
        else:
            fail("unexpected wire type %d" % wire)
    return out


def read_varint(data, i):
    n, shift = 0, 0
    while True:
        b = data[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def run_titanic(reportctl, report):
    """A Titanic peer on one ROUTER: UUIDs of its own (uuid4), titanic.reply
    answered "300" the first time a UUID is asked and "200" + Result after,
    each batch of titanic.reply answers sent in reverse order of arrival."""
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    endpoint = "tcp://127.0.0.1:%d" % (20000 + os.getpid() % 10000)
    router.bind(endpoint)
    n = 6
    proc = subprocess.Popen([reportctl, "submit", "--broker", endpoint, "--repeat", str(n),
                             "--timeout", "3000", "--retries", "1", "--region", "430381",
                             report], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    jobs, asked, closed, requests = {}, set(), set(), 0
    names = [b"PASS", b"WARN", b"FAIL"]
    deadline = time.time() + 20
    try:
        while proc.poll() is None and time.time() < deadline:
            if not router.poll(50):
                continue
            batch = []
            while router.poll(20):
                batch.append(router.recv_multipart())
            replies = []
            for f in batch:
                cid, service, body = f[0], f[3], f[4:]
                if f[2] != b"MDPC01":
                    fail("titanic peer: bad header %r" % f[2])
                head = [cid, b"", b"MDPC01", service]
                if service == b"titanic.request":
                    requests += 1
                    sid = fields(body[1])[2]
                    tid = uuid.uuid4().hex.encode()
                    jobs[tid] = (sid, len(jobs) % 3)
                    router.send_multipart(head + [b"200", tid])
                elif service == b"titanic.reply":
                    tid = body[0]
                    if tid not in jobs:
                        replies.append(head + [b"400"])
                    elif tid not in asked:
                        asked.add(tid)
                        replies.append(head + [b"300"])
                    else:
                        sid, status = jobs[tid]
                        result = field(1, 0, 1) + field(2, 2, sid) + field(3, 0, status)
                        replies.append(head + [b"200", result])
                elif service == b"titanic.close":
                    closed.add(body[0])
                    router.send_multipart(head + [b"200"])
                else:
                    fail("titanic peer: unexpected service %r" % service)
            for r in reversed(replies):
                router.send_multipart(r)
        out, err = proc.communicate(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # exit 1: every Result came back and one (a third of them) is FAIL, the default --fail-on
    if proc.returncode != 1:
        fail("reportctl submit exited %d (not 1) against the Titanic peer: %s"
             % (proc.returncode, err.decode(errors="replace").strip()))
    lines = [l.split(b"\t") for l in out.splitlines()]
    if len(lines) != n or requests != n:
        fail("%d lines printed, %d titanic.requests for %d submissions" % (len(lines), requests, n))
    want = {sid: names[status] for sid, status in jobs.values()}
    for l in lines:
        if want.get(l[1]) != l[2]:
            fail("submission %s printed %s, its Result says %s"
                 % (l[1].decode(), l[2].decode(), want.get(l[1])))
    if closed != set(jobs):
        fail("closed %d of %d jobs" % (len(closed), len(jobs)))
    print("mdp_interop titanic: server-chosen UUIDs acknowledged, %d Results matched to their "
          "submissions out of order, every job closed, no orphan OK" % n)


def run_watch(reportctl):
    ctx = zmq.Context()
    base = 21000 + (os.getpid() % 3000) * 3
    eps = ["tcp://127.0.0.1:%d" % (base + i) for i in range(3)]
    router = ctx.socket(zmq.ROUTER)
    pubs = [ctx.socket(zmq.XPUB), ctx.socket(zmq.XPUB)]
    for sock, ep in zip([router] + pubs, eps):
        sock.setsockopt(zmq.LINGER, 0)
        sock.bind(ep)
    body = {i: b"m%d" % i for i in range(1, 8)}
    published, asked = set(), []

    def serve(ms):
        end = time.time() + ms / 1000
        while True:
            left = int((end - time.time()) * 1000)
            if left <= 0 or not router.poll(left):
                return
            f = router.recv_multipart()
            if f[2:4] != [b"MDPC01", b"reportd.replay"]:
                fail("watch peer: unexpected request %r" % f[2:4])
            last = max(published, default=0)
            lo, hi = int(f[4]), int(f[5]) if f[5] else last
            hi = min(hi, last)
            asked.append((lo, f[5].decode()))
            out = [f[0], b"", b"MDPC01", b"reportd.replay", b"200", b"%d" % (hi + 1), b"%d" % last]
            for q in sorted(published):
                if lo <= q <= hi:
                    out += [b"deadletter", b"%d" % q, body[q]]
            router.send_multipart(out)

    proc = subprocess.Popen([reportctl, "watch", "--broker", eps[0], "--publish",
                             eps[1] + "," + eps[2], "--count", "7"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        subscribed = [False, False]
        deadline = time.time() + 10
        while not (all(subscribed) and asked) and time.time() < deadline:
            serve(20)
            for i, x in enumerate(pubs):
                if x.poll(0) and x.recv_multipart()[0][:1] == b"\x01":
                    subscribed[i] = True
        if not all(subscribed) or not asked:
            fail("watch: reportctl did not subscribe to both publishers and ask for the baseline")
        a, b = pubs
        # both; only the second; both; 5 before 4 (4 only on the second); 6 lost, 7 on both
        steps = [[(a, 1), (b, 1)], [(b, 2)], [(a, 3), (b, 3)], [(a, 5), (b, 4), (b, 5)],
                 [(a, 7), (b, 7)]]
        for step in steps:
            for sock, q in step:
                published.add(q)
                sock.send_multipart([b"deadletter", b"%d" % q, body[q]])
            if step[0][1] == 7:
                published.add(6)
            serve(100)
        deadline = time.time() + 20
        while proc.poll() is None and time.time() < deadline:
            serve(50)
        out, err = proc.communicate(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    want = ["%d deadletter m%d" % (i, i) for i in range(1, 6)] + \
           ["6 deadletter (replayed) m6", "7 deadletter m7"]
    got = out.decode().splitlines()
    if proc.returncode != 0 or got != want:
        fail("watch over two publishers: exit %d, printed %r, want %r; stderr: %s"
             % (proc.returncode, got, want, err.decode(errors="replace").strip()))
    if (6, "6") not in asked:
        fail("watch: the gap at 6 was not replayed as 6..6: asked %r" % asked)
    if "7 printed, 1 gaps, 1 replayed, last seq 7" not in err.decode():
        fail("watch: totals: %s" % err.decode(errors="replace").strip())
    print("mdp_interop watch: two publishers, each sequence number printed once and in order "
          "(duplicates dropped, 5 held until 4 came, the lost 6 replayed) OK")


def main():
    if len(sys.argv) < 2:
        fail(__doc__)
    mode = sys.argv[1]
    if mode == "client" and len(sys.argv) == 4:
        run_client(sys.argv[2], sys.argv[3])
    elif mode == "broker" and len(sys.argv) == 6:
        run_broker(*sys.argv[2:6])
    elif mode == "garbage" and len(sys.argv) == 4:
        run_garbage(sys.argv[2], sys.argv[3])
    elif mode == "titanic" and len(sys.argv) == 4:
        run_titanic(sys.argv[2], sys.argv[3])
    elif mode == "watch" and len(sys.argv) == 3:
        run_watch(sys.argv[2])
    else:
        fail(__doc__)


if __name__ == "__main__":
    main()
