"""The HTTP trust boundary and "who did it" against a real filingd (SPEC §5.6, §5.7, §3.1).

SlowBodiesWithoutToken: 64 connections without a token, each announcing a 1 MiB body and
sending one byte of it, against a daemon whose body budget (limits.max_bodies_in_flight_bytes)
holds 16 such bodies. They are answered 401 at once and closed without their body being read,
so the budget stays empty and an operator's appends (a kept-alive connection and fresh ones) are
all answered 201 within 2 s. A control proves the budget really is that small: 16 slow bodies
*with* a token fill it, and the next body gets 503.

ConnectionCapAttack: limits.max_connections = 64, and many times that many connections without a
token (slowloris headers that never end, bodies announced without a token) opened continuously
from a background thread; the operator's appends (kept-alive and fresh connections) are all 201
within 2 s, and the daemon's eviction / refused-unread counters show the attack was met. A fresh
connection closed before any answer is retried as a client would (same event_id, same
deadline); at most one in ten may need it.

TrustBoundary (one daemon, several roles): request smuggling and duplicates get 400 and the
connection closed (a request smuggled behind them is never executed); requests refused from
their headers are answered at once without their body and closed; /metrics and /readyz are
public on loopback; every response body is valid UTF-8; error messages never echo personal data;
events carry the token's name as `principal`, `actor: system` is reserved, a client cannot set
`principal`, the timers record `system`.

PrivateMetrics: server.public_metrics = false puts /metrics and /readyz behind a token of any
role. ListenOnLocalhost: "localhost" is a loopback listen host. NoTokens: principal "local".

AccessLog: the JSON-lines access log beside the data directory (fields, request ids echoed or
generated, principals, route templates, no bodies, no personal data, no query strings, mode
0600 even if it existed before), a custom path, and server.access_log = "" writing nothing.

Synchronisation: no sleeps. Waits are bounded polls on a condition (the access log is flushed
every second and at stop; the timer's sms_expired), socket reads under timeouts, select().
Standard library only.
"""

import collections
import datetime
import json
import os
import re
import resource
import select
import socket
import stat
import threading
import time
import unittest

from harness import (Client, Daemon, DaemonTestCase, bad_resident_id, mobile, new_filing,
                     read_http_response, resident_id, unique, wait_closed, website)

OPERATOR = "tb-operator-3c9f10a2"
AUDITOR = "tb-auditor-77e01b5d"
READER = "tb-reader-0d4e8c61"
PRIVACY = "tb-privacy-a1b2c3d4"
TOKENS = [("desk-op", "operator", OPERATOR), ("audit-1", "auditor", AUDITOR),
          ("portal", "reader", READER), ("dpo", "privacy_officer", PRIVACY)]

MIB = 1 << 20
APPEND_DEADLINE = 2.0  # seconds: every operator append under attack is answered within this
PROMPT = 2.0  # seconds: a refusal that needs no body comes at once (read timeout is 30 s)


# ---- helpers ---------------------------------------------------------------------------------

def poll(condition, timeout, interval=0.02):
    """Calls condition() until it returns something truthy or `timeout` passes; returns the
    last value. (A bounded poll on a condition, not a sleep for synchronisation.)"""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1 << 16
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def parse_metrics(text):
    """{name: value} of the unlabelled samples of a Prometheus text page."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*) (\S+)$", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def fetch_metrics(daemon, token=OPERATOR):
    c = daemon.client(token=token, timeout=10)
    try:
        r = c.get("/metrics")
        assert r.status == 200, r
        return parse_metrics(r.body.decode("utf-8"))
    finally:
        c.close()


def request_bytes(method, path, *, token=None, body=None, headers=(), host=b"x",
                  content_length=None):
    """One HTTP/1.1 request as bytes. body: bytes or a dict (JSON)."""
    if isinstance(body, dict):
        body = json.dumps(body, ensure_ascii=False).encode("utf-8")
    lines = [f"{method} {path} HTTP/1.1".encode()]
    if host is not None:
        lines.append(b"Host: " + host)
    if token:
        lines.append(f"Authorization: Bearer {token}".encode())
    lines += [h if isinstance(h, bytes) else h.encode() for h in headers]
    if content_length is None and body is not None:
        content_length = len(body)
    if content_length is not None:
        lines.append(f"Content-Length: {content_length}".encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")


def slow_body_header(token=None, path="/v1/filings", length=MIB):
    """A POST announcing a `length`-byte body, and the first byte of it."""
    return request_bytes("POST", path, token=token, headers=["Content-Type: application/json"],
                         content_length=length) + b"{"


def timed_append(client, n=None):
    """(status or exception text, seconds, filing id): one new filing by `client` (filing n,
    sent with an event_id of its own, so that sending it again is an idempotent retry)."""
    n = unique() if n is None else n
    fid = f"TB-{n}"
    t0 = time.monotonic()
    try:
        r = client.post("/v1/filings", dict(new_filing(n, filing_id=fid), event_id=f"tb-ev-{n}"))
        status = r.status
    except Exception as e:  # noqa: BLE001 - any failure is recorded, not raised
        status = f"{type(e).__name__}: {e}"
    return status, time.monotonic() - t0, fid


class OperatorLoad:
    """Operator appends, alternating a kept-alive connection and a fresh connection per
    append; every one recorded with its latency. The kept-alive connection must never be
    replaced (http.client would reconnect silently: its local port is compared)."""

    def __init__(self, test, daemon, keepalive):
        self.test = test
        self.daemon = daemon
        self.keepalive = keepalive
        self.results = []  # (kind, status, seconds, fid)
        self.keepalive_port = keepalive.local_port()
        self.reconnected = 0
        self.retried = 0  # fresh appends whose connection was closed before an answer

    def append_keepalive(self):
        status, dt, fid = timed_append(self.keepalive)
        if self.keepalive.local_port() != self.keepalive_port:
            self.reconnected += 1
            self.keepalive_port = self.keepalive.local_port()
        self.results.append(("keepalive", status, dt, fid))

    def append_fresh(self):
        """As a client does on a fresh connection: a connection closed before any answer (at
        the connection cap, the daemon cannot tell a new connection from an attacker's until it
        has read it; in a burst of accepted connections it may close one whose request was
        still unread) is retried with the same event_id, within the same deadline."""
        n = unique()
        t0 = time.monotonic()
        for attempt in range(1, 100):
            c = self.daemon.client(token=OPERATOR, timeout=10)
            try:
                status, _, fid = timed_append(c, n)
            finally:
                c.close()
            closed = isinstance(status, str) and any(
                e in status for e in ("BrokenPipe", "ConnectionReset", "RemoteDisconnected"))
            if not closed or time.monotonic() - t0 > APPEND_DEADLINE:
                break
        if attempt > 1:
            self.retried += 1
            if status == 200:
                status = 201  # the first attempt had been appended: the retry is answered 200
        self.results.append(("fresh", status, time.monotonic() - t0, fid))

    def check(self, minimum_each):
        fresh = sum(1 for r in self.results if r[0] == "fresh")
        self.test.assertLessEqual(self.retried, max(1, fresh // 10),
                                  f"{self.retried} of {fresh} fresh connections were closed "
                                  "before an answer")
        bad = [r for r in self.results if r[1] != 201 or r[2] > APPEND_DEADLINE]
        self.test.assertEqual(bad, [], "operator appends not answered 201 within "
                              f"{APPEND_DEADLINE} s (kind, status, seconds, filing)")
        for kind in ("keepalive", "fresh"):
            n = sum(1 for r in self.results if r[0] == kind)
            self.test.assertGreaterEqual(n, minimum_each, f"{kind} appends made")
        self.test.assertEqual(self.reconnected, 0, "the operator's kept-alive connection was "
                              "closed by the daemon during the attack")
        # Every acknowledged filing is really there.
        c = self.daemon.client(token=OPERATOR)
        try:
            for _, _, _, fid in self.results:
                r = c.get(f"/v1/filings/{fid}")
                self.test.assertEqual(r.status, 200, (fid, r))
        finally:
            c.close()

    def worst(self):
        return max((r[2] for r in self.results), default=0.0)


# ---- 1. slow bodies without a token ---------------------------------------------------------

class SlowBodyAttacker(threading.Thread):
    """Keeps `pool` connections each holding a POST /v1/filings header (no token) announcing a
    1 MiB body plus its first byte. Never closes one itself before the daemon has answered and
    closed it; then opens a new one. Records what each got."""

    def __init__(self, daemon, pool):
        super().__init__(daemon=True)
        self.d = daemon
        self.pool = pool
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.opened = 0
        self.outcomes = collections.Counter()  # "401 closed", or what went wrong
        self.latencies = []  # send -> answer, seconds
        self.error = None

    def _open(self, live):
        s = self.d.connect_raw(timeout=5)
        s.sendall(slow_body_header())
        live[s] = time.monotonic()
        with self.lock:
            self.opened += 1

    def _settle(self, s, sent_at):
        """Reads the answer of one attack connection and checks the daemon closed it."""
        try:
            r = read_http_response(s, timeout=5)
        except (ConnectionResetError, AssertionError, OSError) as e:
            return f"no answer: {type(e).__name__}", None
        if r is None:
            return "closed without an answer", None
        latency = time.monotonic() - sent_at
        status, _, _, rest = r
        try:
            after = wait_closed(s, 5)
            closed = "closed" if rest + after == b"" else "closed after more bytes"
        except AssertionError:
            closed = "left open"
        return f"{status} {closed}", latency

    def run(self):
        live = {}
        try:
            while not self.stop_event.is_set():
                while len(live) < self.pool:
                    self._open(live)
                readable, _, _ = select.select(list(live), [], [], 0.05)
                for s in readable:
                    outcome, latency = self._settle(s, live.pop(s))
                    s.close()
                    with self.lock:
                        self.outcomes[outcome] += 1
                        if latency is not None:
                            self.latencies.append(latency)
            # The ones still open get their answer too (they must: no body is coming).
            for s, sent_at in list(live.items()):
                outcome, latency = self._settle(s, sent_at)
                s.close()
                with self.lock:
                    self.outcomes[outcome] += 1
                    if latency is not None:
                        self.latencies.append(latency)
        except Exception as e:  # noqa: BLE001 - reported to the test
            self.error = f"{type(e).__name__}: {e}"
            for s in live:
                s.close()

    def answered(self):
        with self.lock:
            return sum(self.outcomes.values())

    def stop(self):
        self.stop_event.set()
        self.join(timeout=60)


class SlowBodiesWithoutToken(unittest.TestCase):
    BUDGET_BODIES = 16  # limits.max_bodies_in_flight_bytes = 16 MiB: 16 bodies of 1 MiB
    ATTACKERS = 64

    def setUp(self):
        raise_fd_limit()
        self.daemon = Daemon(tokens=TOKENS,
                             limits={"max_bodies_in_flight_bytes": self.BUDGET_BODIES * MIB})
        self.addCleanup(self.daemon.cleanup)
        self.daemon.start()
        self.socks = []

    def tearDown(self):
        for s in self.socks:
            s.close()
        if self.daemon.proc.poll() is None:
            self.daemon.assert_stops_cleanly(self)

    def test_control_authenticated_slow_bodies_do_fill_the_budget(self):
        # The budget is really as small as configured: 16 slow bodies *with* a valid token fill
        # it, and the next request with a body is refused 503. (So had the daemon admitted the
        # bodies of clients without a token, 64 of them would have shut the operator out.)
        for _ in range(self.BUDGET_BODIES):
            s = self.daemon.connect_raw()
            s.sendall(slow_body_header(token=OPERATOR))
            self.socks.append(s)
        full = poll(lambda: fetch_metrics(self.daemon)["filingd_http_body_bytes_in_flight"]
                    == self.BUDGET_BODIES * MIB, 10)
        self.assertTrue(full, "16 authenticated slow bodies did not fill the budget")
        c = self.daemon.client(token=OPERATOR)
        self.addCleanup(c.close)
        status, _, _ = timed_append(c)
        self.assertEqual(status, 503, "a body beyond the budget was admitted")
        for s in self.socks:
            s.close()
        self.socks = []
        emptied = poll(lambda: fetch_metrics(self.daemon)["filingd_http_body_bytes_in_flight"]
                       == 0, 10)
        self.assertTrue(emptied, "the budget was not released when the slow bodies went away")
        c = self.daemon.client(token=OPERATOR)
        self.addCleanup(c.close)
        self.assertEqual(timed_append(c)[0], 201)

    def test_operator_appends_while_64_tokenless_slow_bodies_are_announced(self):
        before = fetch_metrics(self.daemon)
        keepalive = self.daemon.client(token=OPERATOR, timeout=10)
        self.addCleanup(keepalive.close)
        self.assertEqual(keepalive.get("/v1/ledger/head").status, 200)  # connected, known
        load = OperatorLoad(self, self.daemon, keepalive)

        attacker = SlowBodyAttacker(self.daemon, self.ATTACKERS)
        attacker.start()
        self.addCleanup(attacker.stop)
        # The first wave is in: 64 announced 1 MiB bodies, four times the budget.
        self.assertTrue(poll(lambda: attacker.opened >= self.ATTACKERS, 15),
                        f"attacker opened only {attacker.opened}")
        in_flight = []
        for _ in range(12):
            load.append_keepalive()
            load.append_fresh()
            r = keepalive.get("/metrics")
            in_flight.append(parse_metrics(r.body.decode())["filingd_http_body_bytes_in_flight"])
        attacker.stop()
        self.assertIsNone(attacker.error, attacker.error)
        after = fetch_metrics(self.daemon)

        load.check(minimum_each=12)
        # The attack was going on the whole time, at least twice the first wave.
        self.assertGreaterEqual(attacker.opened, 2 * self.ATTACKERS, attacker.outcomes)
        # Every attacker got 401 and its connection closed, at once: its body (never sent in
        # full) was not waited for (the read timeout is 30 s).
        self.assertEqual(set(attacker.outcomes), {"401 closed"}, attacker.outcomes)
        self.assertEqual(sum(attacker.outcomes.values()), attacker.opened)
        self.assertLess(max(attacker.latencies), PROMPT, "a 401 came late")
        # The daemon says so too: refused from the headers, body unread; none of their bodies
        # was ever admitted to the budget, and nobody was refused 503.
        refused = after["filingd_http_refused_unread_total"] - before["filingd_http_refused_unread_total"]
        self.assertGreaterEqual(refused, attacker.opened)
        # The operator's own appends (about 500 bytes each) may be in flight at a sample; one of
        # the attack's announced 1 MiB bodies would show as 1 MiB.
        self.assertLess(max(in_flight), MIB, f"body bytes in flight during the attack: {in_flight}")
        self.assertEqual(after["filingd_http_bodies_refused_total"],
                         before["filingd_http_bodies_refused_total"])
        print(f"\nslow bodies: {attacker.opened} attack connections, operator worst "
              f"{load.worst() * 1000:.1f} ms, 401 worst {max(attacker.latencies) * 1000:.1f} ms")


# ---- 2. the connection cap ------------------------------------------------------------------

class CapAttacker(threading.Thread):
    """Connections without a token, opened without pause for as long as it runs: three of four
    send a request header that never ends (slowloris), one of four announces a body without a
    token. Sockets are kept open (client side) until more than `keep` are, then the oldest are
    closed (long since evicted by then)."""

    def __init__(self, daemon, keep):
        super().__init__(daemon=True)
        self.d = daemon
        self.keep = keep
        self.stop_event = threading.Event()
        self.opened = 0
        self.connect_failures = 0
        self.error = None

    def open_one(self, socks):
        i = self.opened
        try:
            s = socket.create_connection(("127.0.0.1", self.d.port), timeout=2)
        except OSError:
            self.connect_failures += 1
            return
        self.opened += 1
        try:
            if i % 4 == 3:
                s.sendall(slow_body_header(path=f"/v1/filings/CAP-{i}/events"))
            else:
                s.sendall(f"GET /v1/filings/CAP-{i} HTTP/1.1\r\nHost: x\r\nX-Slow: ".encode())
        except OSError:
            pass  # already closed by the daemon: fine
        socks.append(s)
        while len(socks) > self.keep:
            socks.popleft().close()

    def run(self):
        socks = collections.deque()
        try:
            while not self.stop_event.is_set():
                self.open_one(socks)
        except Exception as e:  # noqa: BLE001
            self.error = f"{type(e).__name__}: {e}"
        finally:
            for s in socks:
                s.close()

    def stop(self):
        self.stop_event.set()
        self.join(timeout=30)


class ConnectionCapAttack(unittest.TestCase):
    CAP = 64

    def setUp(self):
        raise_fd_limit()
        self.daemon = Daemon(tokens=TOKENS, limits={"max_connections": self.CAP})
        self.addCleanup(self.daemon.cleanup)
        self.daemon.start()

    def tearDown(self):
        if self.daemon.proc.poll() is None:
            self.daemon.assert_stops_cleanly(self)

    def test_operator_appends_through_a_flood_of_tokenless_connections(self):
        before = fetch_metrics(self.daemon)
        self.assertEqual(before["filingd_http_connections_max"], self.CAP)
        keepalive = self.daemon.client(token=OPERATOR, timeout=10)
        self.addCleanup(keepalive.close)
        self.assertEqual(keepalive.get("/v1/ledger/head").status, 200)
        load = OperatorLoad(self, self.daemon, keepalive)

        attacker = CapAttacker(self.daemon, keep=8 * self.CAP)
        attacker.start()
        self.addCleanup(attacker.stop)
        # Several times the cap are in before the operator starts, and it goes on.
        self.assertTrue(poll(lambda: attacker.opened >= 4 * self.CAP, 15),
                        f"attacker opened only {attacker.opened}")
        for _ in range(12):
            load.append_keepalive()
            load.append_fresh()
        opened_during = attacker.opened
        during = None
        try:
            r = keepalive.get("/metrics")
            if r.status == 200:
                during = parse_metrics(r.body.decode())
        except OSError as e:
            during = f"{type(e).__name__}: {e}"
        attacker.stop()
        self.assertIsNone(attacker.error, attacker.error)

        load.check(minimum_each=12)
        self.assertIsInstance(during, dict, f"/metrics on the kept-alive connection: {during}")
        self.assertGreaterEqual(opened_during, 8 * self.CAP, "the attack was not kept up")
        # The daemon held to its cap, evicting the tokenless connections to make room, and
        # answered the announced bodies without reading them.
        # (An evicted connection counts until its close is done: a few over the cap, briefly.)
        self.assertLessEqual(during["filingd_http_connections"], self.CAP + 16, during)
        evicted = during["filingd_http_connections_evicted_total"] - before["filingd_http_connections_evicted_total"]
        unread = during["filingd_http_refused_unread_total"] - before["filingd_http_refused_unread_total"]
        self.assertGreaterEqual(evicted, 2 * self.CAP, during)
        self.assertGreater(unread, 0, during)
        print(f"\nconnection cap: {attacker.opened} attack connections, {evicted:.0f} evicted, "
              f"{unread:.0f} refused unread, {during['filingd_http_connections']:.0f} open, "
              f"operator worst {load.worst() * 1000:.1f} ms, {load.retried} fresh retried")


# ---- 3, 4, 5, 7, 8, 9: one daemon with every role --------------------------------------------

class TrustBoundary(DaemonTestCase):
    daemon_options = {"tokens": TOKENS}
    token = OPERATOR

    def exchange(self, data, timeout=5.0):
        """Sends raw bytes on a new connection; reads one response, then requires the daemon
        to close the connection. Returns (status, headers, body, bytes after the response,
        seconds to the answer)."""
        s = self.daemon.connect_raw()
        try:
            t0 = time.monotonic()
            s.sendall(data)
            r = read_http_response(s, timeout)
            elapsed = time.monotonic() - t0
            self.assertIsNotNone(r, f"closed without an answer to {data[:120]!r}")
            status, headers, body, rest = r
            try:
                after = wait_closed(s, 5.0)
            except AssertionError:
                self.fail(f"the connection stayed open after {status} to {data[:120]!r}")
            return status, headers, body, rest + after, elapsed
        finally:
            s.close()

    def assertJsonError(self, status, body, expect, error=None):
        self.assertEqual(status, expect, body)
        doc = json.loads(body.decode("utf-8"))
        self.assertIsInstance(doc.get("message"), str, doc)
        if error is not None:
            self.assertEqual(doc.get("error"), error, doc)
        return doc

    def filing_exists(self, fid):
        r = self.c.get(f"/v1/filings/{fid}")
        self.assertIn(r.status, (200, 404), r)
        return r.status == 200

    def smuggled(self, n):
        """A complete, valid, authorised POST /v1/filings creating SMUG-n."""
        return request_bytes("POST", "/v1/filings", token=OPERATOR,
                             body=new_filing(n, filing_id=f"SMUG-{n}"))

    # -- 3. smuggling and duplicates --

    def test_transfer_encodings_other_than_chunked_alone_are_400_and_close(self):
        head = self.head_seq()
        te = "Transfer-Encoding"
        cases = [
            ("identity", [f"{te}: identity"], "smuggled"),
            ("xchunked", [f"{te}: xchunked"], "smuggled"),
            ("chunked, identity", [f"{te}: chunked, identity"], "smuggled"),
            ("gzip, chunked", [f"{te}: gzip, chunked"], "chunked"),
            ("chunked then identity", [f"{te}: chunked", f"{te}: identity"], "chunked"),
            ("identity then chunked", [f"{te}: identity", f"{te}: chunked"], "chunked"),
            ("chunked + Content-Length", [f"{te}: chunked", "Content-Length: LEN"], "chunked"),
            ("Content-Length + chunked", ["Content-Length: LEN", f"{te}: chunked"], "chunked"),
        ]
        smuggled_ids = []
        for name, headers, kind in cases:
            with self.subTest(name):
                n = unique()
                smuggled_ids.append(f"SMUG-{n}")
                # What follows the header: the smuggled request itself, or an empty chunked
                # body and then it, so that a parser believing either framing finds a request.
                payload = self.smuggled(n) if kind == "smuggled" else b"0\r\n\r\n" + self.smuggled(n)
                headers = [h.replace("LEN", str(len(payload))) for h in headers]
                data = request_bytes("POST", "/v1/filings", token=OPERATOR, headers=headers) + payload
                status, _, body, after, _ = self.exchange(data)
                self.assertJsonError(status, body, 400, "malformed")
                self.assertEqual(after, b"", "a second response: the smuggled request was served")
        for fid in smuggled_ids:
            self.assertFalse(self.filing_exists(fid), f"smuggled request {fid} was executed")
        self.assertEqual(self.head_seq(), head, "something was written")

    def test_control_chunked_alone_and_pipelining_work(self):
        # The refusals above are about the framing: "chunked" alone is served, and two plain
        # requests pipelined on one connection are both served.
        n = unique()
        body = json.dumps(new_filing(n, filing_id=f"CH-{n}"), ensure_ascii=False).encode()
        chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        s = self.daemon.connect_raw()
        try:
            s.sendall(request_bytes("POST", "/v1/filings", token=OPERATOR,
                                    headers=["Transfer-Encoding: chunked"]) + chunked)
            status, _, rbody, rest = read_http_response(s)
            self.assertEqual(status, 201, rbody)
            self.assertEqual(rest, b"")
            m = unique()
            s.sendall(self.smuggled(m) + request_bytes("GET", f"/v1/filings/SMUG-{m}",
                                                       token=OPERATOR))
            status, _, rbody, rest = read_http_response(s)
            self.assertEqual(status, 201, rbody)
            if not rest:
                rest = s.recv(65536)
            self.assertTrue(rest.startswith(b"HTTP/1.1 200"), rest[:200])
        finally:
            s.close()
        self.assertTrue(self.filing_exists(f"CH-{n}"))

    def test_two_authorization_headers_are_400_and_close(self):
        head = self.head_seq()
        n = unique()
        for name, auth in [("same token twice", [f"Authorization: Bearer {OPERATOR}"] * 2),
                           ("operator and reader", [f"Authorization: Bearer {READER}",
                                                    f"authorization: Bearer {OPERATOR}"]),
                           ("valid and junk", [f"Authorization: Bearer {OPERATOR}",
                                               "Authorization: Basic eDp5"])]:
            with self.subTest(name):
                body = json.dumps(new_filing(n, filing_id=f"AUTH2-{n}"), ensure_ascii=False).encode()
                data = request_bytes("POST", "/v1/filings", headers=auth, body=body)
                status, _, rbody, after, _ = self.exchange(data)
                self.assertJsonError(status, rbody, 400, "malformed")
                self.assertEqual(after, b"")
        self.assertFalse(self.filing_exists(f"AUTH2-{n}"))
        self.assertEqual(self.head_seq(), head)

    def test_host_header_missing_or_repeated_is_400_and_close(self):
        ok = f"Authorization: Bearer {OPERATOR}"
        for name, data in [
                ("HTTP/1.1 without Host", request_bytes("GET", "/v1/ledger/head", token=OPERATOR,
                                                        host=None)),
                ("two Host headers", request_bytes("GET", "/v1/ledger/head", token=OPERATOR,
                                                   headers=["Host: y"])),
                ("two equal Host headers", request_bytes("GET", "/v1/ledger/head",
                                                         headers=["Host: x", ok])),
        ]:
            with self.subTest(name):
                status, _, body, after, _ = self.exchange(data)
                self.assertJsonError(status, body, 400, "malformed")
                self.assertEqual(after, b"")
        # Control: HTTP/1.0 has no Host requirement.
        status, _, body, _, _ = self.exchange(
            f"GET /v1/ledger/head HTTP/1.0\r\n{ok}\r\n\r\n".encode())
        self.assertEqual(status, 200, body)

    def test_duplicate_json_keys_at_any_depth_are_400_and_close(self):
        n = unique()
        fid = f"DUP-{n}"
        base = json.dumps(new_filing(n, filing_id=fid), ensure_ascii=False)
        other_id = resident_id(unique())
        rid = resident_id(n)
        self.assertEqual(base.count(f'"id_number": "{rid}"'), 2)
        cases = {
            "top level": base.replace('"filing_type": "first_filing"',
                                      '"filing_type": "first_filing", "filing_type": "change"'),
            "top level, escaped": base.replace('"province": "京"',
                                               '"province": "京", "provinc\\u0065": "沪"'),
            "subject.id_number": base.replace(f'"id_number": "{rid}"',
                                              f'"id_number": "{rid}", "id_number": "{other_id}"', 1),
            "websites[0].responsible.mobile": base.replace(
                '"mobile": ', f'"mobile": "{mobile(unique())}", "mobile": '),
        }
        self.assertEqual(len(set(cases.values()) | {base}), len(cases) + 1, "a case did not apply")
        head = self.head_seq()
        for name, text in cases.items():
            with self.subTest(name):
                # A pipelined request after it must not be answered: the connection is closed.
                data = (request_bytes("POST", "/v1/filings", token=OPERATOR, body=text.encode())
                        + request_bytes("GET", "/v1/ledger/head", token=OPERATOR))
                status, _, body, after, _ = self.exchange(data)
                doc = self.assertJsonError(status, body, 400, "malformed")
                self.assertIn("duplicate", doc["message"])
                self.assertEqual(after, b"", "the pipelined request was answered")
                for personal in (rid, other_id, mobile(n)):
                    self.assertNotIn(personal, body.decode())
        # Events too: a duplicate inside data, and in the envelope.
        self.submit(new_filing(n, filing_id=fid))
        head = self.head_seq()
        for name, text in [
                ("data.method", '{"type": "photo_approved", "actor": "x", '
                                '"data": {"method": "photo", "method": "video"}}'),
                ("type", '{"type": "photo_approved", "type": "photo_rejected", "actor": "x", '
                         '"data": {"method": "photo"}}')]:
            with self.subTest(name):
                data = request_bytes("POST", f"/v1/filings/{fid}/events", token=OPERATOR,
                                     body=text.encode())
                status, _, body, after, _ = self.exchange(data)
                self.assertJsonError(status, body, 400, "malformed")
                self.assertEqual(after, b"")
        self.assertEqual(self.head_seq(), head, "a body with a duplicate key was written")
        # Control: without the duplicate, the same event is accepted.
        self.event(fid, "photo_approved", {"method": "photo"})

    # -- 4. refused from the headers, body never read --

    def test_refusals_from_headers_are_answered_without_the_body_and_close(self):
        before = fetch_metrics(self.daemon)
        cases = [
            ("401 no token", 401, slow_body_header()[:-1]),
            ("401 wrong token", 401, slow_body_header(token=OPERATOR + "x")[:-1]),
            ("401 chunked, no token", 401,
             request_bytes("POST", "/v1/filings/X-1/events",
                           headers=["Transfer-Encoding: chunked"])),
            ("403 reader appends", 403, slow_body_header(token=READER)[:-1]),
            ("403 operator erases", 403,
             slow_body_header(token=OPERATOR, path="/v1/subjects/erase")[:-1]),
            ("404 unknown path", 404,
             slow_body_header(token=OPERATOR, path="/v1/no-such-thing")[:-1]),
            ("405 wrong method", 405,
             request_bytes("PUT", "/v1/filings", token=OPERATOR, content_length=MIB)),
        ]
        for name, expect, data in cases:
            with self.subTest(name):
                status, headers, body, after, elapsed = self.exchange(data)
                self.assertJsonError(status, body, expect)
                self.assertLess(elapsed, PROMPT, "the refusal waited for the body")
                self.assertEqual(headers.get("connection", "").lower(), "close", headers)
                self.assertEqual(after, b"")
        after = fetch_metrics(self.daemon)
        self.assertEqual(after["filingd_http_refused_unread_total"]
                         - before["filingd_http_refused_unread_total"], len(cases))
        self.assertEqual(after["filingd_http_body_bytes_in_flight"], 0)

    def test_control_an_admitted_body_is_waited_for(self):
        # The same announced body with a token allowed to append is admitted and waited for:
        # no answer until it comes (so the prompt answers above are the refusals' doing).
        s = self.daemon.connect_raw()
        try:
            s.sendall(slow_body_header(token=OPERATOR)[:-1])
            readable, _, _ = select.select([s], [], [], 1.0)
            self.assertEqual(readable, [], "answered before the body came")
            in_flight = poll(lambda: fetch_metrics(self.daemon)["filingd_http_body_bytes_in_flight"]
                             == MIB, 5)
            self.assertTrue(in_flight, "the admitted body holds no share of the budget")
        finally:
            s.close()

    # -- 5. public metrics on loopback --

    def test_metrics_and_readyz_are_public_on_loopback(self):
        for path in ("/metrics", "/readyz", "/healthz"):
            r = self.c.get(path, token="")
            self.assertEqual(r.status, 200, (path, r))
        self.assertIn(b"filingd_http_connections_evicted_total", self.c.get("/metrics", token="").body)

    # -- 7. valid UTF-8 whatever came in --

    def test_every_response_body_is_valid_utf8(self):
        n = unique()
        fid = f"U8-{n}"
        self.submit(new_filing(n, filing_id=fid))
        body = json.dumps(new_filing(unique()), ensure_ascii=False).encode()
        bad_string = body.replace("网站".encode(), b"\xff\xfe\xe4\xba", 1)
        self.assertNotEqual(bad_string, body)
        requests = [
            ("GET", "/v1/filings?%FF%FE=1", None),
            ("GET", "/v1/filings?state=%FF%FE", None),
            ("GET", "/v1/filings?%C0%AF=%C0%AF", None),
            ("GET", "/v1/filings/%FF%FEab", None),
            ("GET", "/v1/filings/%E4%BA", None),
            ("GET", "/v1/filings/%FF%FEab/events", None),
            ("GET", f"/v1/filings/{fid}?as_of=%FF", None),
            ("POST", "/v1/filings/%FF%FE/events", {"type": "photo_approved", "actor": "x",
                                                   "data": {"method": "photo"}}),
            ("GET", "/v1/records/%FF%FE", None),
            ("GET", "/v1/records?domain=%ED%A0%80", None),
            ("GET", "/v1/%FF", None),
            ("POST", "/v1/filings", bad_string),
            ("POST", "/v1/filings", b'{"filing_type": "\\ud800"}'),
            ("POST", "/v1/filings", b'{"\xff": 1}'),
            ("POST", f"/v1/filings/{fid}/events",
             b'{"type": "photo_approved", "actor": "\xc3\x28", "data": {"method": "photo"}}'),
            ("POST", f"/v1/filings/{fid}/events", {"type": "\u00ff\ufffd", "actor": "x"}),
            ("POST", "/v1/filings", dict(new_filing(unique()), filing_id="\u00ff\u00fe")),
        ]
        for method, path, payload in requests:
            with self.subTest(f"{method} {path} {payload!r:.60}"):
                r = self.c.request(method, path, body=payload)
                self.assertIn(r.status // 100, (2, 4), r)
                text = r.body.decode("utf-8")  # strict: raises on invalid UTF-8
                json.loads(text)
        # Invalid UTF-8 in the request line and headers (raw bytes, not percent-encoded).
        for data in [b"GET /v1/filings/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
                     b"GET /v1/filings?\xff=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                     + OPERATOR.encode() + b"\r\n\r\n",
                     b"G\xffT / HTTP/1.1\r\nHost: x\r\n\r\n",
                     b"GET /v1/ledger/head HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\r\n\r\n",
                     b"GET /healthz HTTP/1.1\r\nHost: \xff\r\nX-Request-Id: \xff\xfe\r\n\r\n"]:
            with self.subTest(repr(data[:40])):
                s = self.daemon.connect_raw()
                try:
                    s.sendall(data)
                    r = read_http_response(s)
                finally:
                    s.close()
                self.assertIsNotNone(r, data)
                status, headers, rbody, _ = r
                json.loads(rbody.decode("utf-8"))
                # An X-Request-Id that is not a sane token is replaced, never echoed.
                rid = headers.get("x-request-id", "")
                self.assertNotIn("\ufffd", rid)
                self.assertRegex(rid, r"^[A-Za-z0-9._:-]*$")

    # -- 8. no personal data in error messages --

    def test_errors_never_echo_personal_data(self):
        n = unique()
        fid = f"PII-{n}"
        first = new_filing(n, filing_id=fid)
        first["subject"]["name"] = "欧阳保密"
        self.submit(first)
        rid = resident_id(n)
        # A second open filing of the same subject: the open filing named, not the subject.
        second = new_filing(n, filing_id=f"PII2-{n}",
                            websites=[website(unique())])
        second["subject"]["name"] = "欧阳保密"
        r = self.c.post("/v1/filings", second)
        doc = self.assertError(r, 409)
        self.assertIn(fid, doc["message"])
        text = r.body.decode("utf-8")
        for personal in (rid, rid[:17], "欧阳保密", mobile(n)):
            self.assertNotIn(personal, text)
        # Invalid resident IDs, a bad mobile, a bad e-mail: the field named, never the value.
        m = unique()
        bad_subject = new_filing(m)
        bad_subject["subject"]["id_number"] = bad_resident_id(m)
        bad_responsible = new_filing(m)
        bad_responsible["websites"][0]["responsible"]["id_number"] = bad_resident_id(m)
        bad_mobile = new_filing(m)
        bad_mobile["websites"][0]["responsible"]["mobile"] = "1280013" + f"{m % 10000:04d}"
        bad_short_id = new_filing(m)
        bad_short_id["subject"]["id_number"] = bad_resident_id(m)[:17]
        bad_email = new_filing(m)
        bad_email["websites"][0]["responsible"]["email"] = f"secret{m}.mailbox"
        for name, body, field, value in [
                ("subject id", bad_subject, "subject.id_number", bad_resident_id(m)),
                ("responsible id", bad_responsible, "websites[0].responsible.id_number",
                 bad_resident_id(m)),
                ("short id", bad_short_id, "subject.id_number", bad_resident_id(m)[:17]),
                ("mobile", bad_mobile, "websites[0].responsible.mobile",
                 bad_mobile["websites"][0]["responsible"]["mobile"]),
                ("email", bad_email, "websites[0].responsible.email", f"secret{m}.mailbox")]:
            with self.subTest(name):
                r = self.c.post("/v1/filings", body)
                self.assertError(r, 422, field=field)
                self.assertNotIn(value, r.body.decode("utf-8"))
        # Erasure refusals name neither the number.
        for body, expect in [({"id_type": "resident_id", "id_number": rid, "reason": "r"}, 409),
                             ({"id_type": "resident_id", "id_number": resident_id(unique()),
                               "reason": "r"}, 404)]:
            r = self.c.post("/v1/subjects/erase", body, token=PRIVACY)
            self.assertError(r, expect)
            self.assertNotIn(body["id_number"], r.body.decode("utf-8"))

    # -- 9. principal --

    def events_of(self, fid):
        r = self.c.get(f"/v1/filings/{fid}/events", token=AUDITOR)
        self.assertEqual(r.status, 200, r)
        return r.json["items"]

    def test_events_carry_the_token_name_as_principal(self):
        n = unique()
        fid = f"PR-{n}"
        self.submit(new_filing(n, filing_id=fid, actor="front-desk 7"))
        self.event(fid, "photo_approved", {"method": "photo"}, actor="rev-9")
        r = self.c.post(f"/v1/filings/{fid}/events", {"type": "initial_review_approved",
                                                      "data": {"reviewer": "x"}})
        self.assertEqual(r.status, 201, r)  # no actor: the token's name stands for it
        events = self.events_of(fid)
        self.assertEqual([(e["type"], e["actor"], e["principal"]) for e in events],
                         [("filing_submitted", "front-desk 7", "desk-op"),
                          ("photo_approved", "rev-9", "desk-op"),
                          ("initial_review_approved", "desk-op", "desk-op")])

    def test_actor_system_is_reserved(self):
        n = unique()
        fid = f"SYS-{n}"
        head = self.head_seq()
        r = self.c.post("/v1/filings", new_filing(n, filing_id=fid, actor="system"))
        self.assertError(r, 422, field="actor")
        self.assertFalse(self.filing_exists(fid))
        self.submit(new_filing(n, filing_id=fid))
        head = self.head_seq()
        r = self.c.post(f"/v1/filings/{fid}/events",
                        {"type": "photo_approved", "actor": "system", "data": {"method": "photo"}})
        self.assertError(r, 422, field="actor")
        self.assertEqual(self.head_seq(), head)

    def test_a_client_cannot_set_the_principal(self):
        n = unique()
        fid = f"PRC-{n}"
        head = self.head_seq()
        body = new_filing(n, filing_id=fid)
        body["principal"] = "mallory"
        r = self.c.post("/v1/filings", body)
        # Refused (an unknown field) or ignored; never taken.
        self.assertIn(r.status, (201, 422), r)
        if r.status == 422:
            self.assertError(r, 422, field="principal")
            self.assertEqual(self.head_seq(), head)
            self.submit(new_filing(n, filing_id=fid))
        for envelope in [{"principal": "mallory"}, {"data": {"method": "photo", "principal": "mallory"}}]:
            event = {"type": "photo_approved", "actor": "x", "data": {"method": "photo"}}
            event.update(envelope)
            r = self.c.post(f"/v1/filings/{fid}/events", event)
            self.assertIn(r.status, (201, 422), r)
        events = self.events_of(fid)
        self.assertEqual({e["principal"] for e in events}, {"desk-op"}, events)
        self.assertNotIn(b"mallory", self.c.get(f"/v1/filings/{fid}/events", token=AUDITOR).body)

    def test_timer_events_have_principal_system(self):
        n = unique()
        fid = f"TMR-{n}"
        now = datetime.datetime.now(datetime.timezone.utc)

        def ago(hours):
            return (now - datetime.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")

        self.submit(dict(new_filing(n, filing_id=fid), occurred_at=ago(27)))
        self.event(fid, "initial_review_approved", {"reviewer": "r"}, occurred_at=ago(26))
        self.event(fid, "photo_approved", {"method": "photo"}, occurred_at=ago(26))
        self.event(fid, "submitted_to_bureau", occurred_at=ago(25))  # 24 h window: overdue

        def expired():
            return [e for e in self.events_of(fid) if e["type"] == "sms_expired"]

        events = poll(expired, 10)
        self.assertEqual(len(events), 1, self.events_of(fid))
        self.assertEqual(events[0]["principal"], "system")
        self.assertEqual([e["principal"] for e in self.events_of(fid)][:4], ["desk-op"] * 4)


# ---- 5. public_metrics = false, localhost -----------------------------------------------------

class PrivateMetrics(DaemonTestCase):
    daemon_options = {"tokens": TOKENS, "extra_config": "[server]\npublic_metrics = false\n"}

    def test_metrics_and_readyz_need_a_token_of_any_role(self):
        for path in ("/metrics", "/readyz"):
            with self.subTest(path):
                r = self.c.get(path, token="")
                self.assertError(r, 401, error="unauthorized")
                self.assertEqual(r.headers.get("WWW-Authenticate"), "Bearer")
                self.assertNotIn(b"filingd_", r.body)
                self.assertError(self.c.get(path, token=READER + "x"), 401)
                for token in (READER, AUDITOR, OPERATOR, PRIVACY):
                    r = self.c.get(path, token=token)
                    self.assertEqual(r.status, 200, (path, token, r))
        self.assertIn(b"filingd_http_connections", self.c.get("/metrics", token=READER).body)
        # Liveness stays public.
        self.assertEqual(self.c.get("/healthz", token="").status, 200)


class ListenOnLocalhost(unittest.TestCase):

    def test_localhost_is_loopback(self):
        d = Daemon(listen="localhost:0", tokens=TOKENS)
        self.addCleanup(d.cleanup)
        d.start()
        self.assertIn("listening on http://localhost:", d.output())
        c = Client(d.port, host="localhost")  # whichever loopback address it names first
        try:
            self.assertEqual(c.get("/metrics").status, 200)  # public: loopback
            self.assertEqual(c.get("/v1/ledger/head").status, 401)
        finally:
            c.close()
        d.assert_stops_cleanly(self)


class NoTokens(DaemonTestCase):

    def test_principal_is_local_without_tokens(self):
        n = unique()
        fid = f"LOC-{n}"
        self.submit(new_filing(n, filing_id=fid))
        self.event(fid, "photo_approved", {"method": "photo"})
        r = self.c.get(f"/v1/filings/{fid}/events")
        self.assertEqual([e["principal"] for e in r.json["items"]], ["local", "local"])


# ---- 6. the access log ----------------------------------------------------------------------

def log_lines(path):
    """The complete lines of the access log so far, parsed."""
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        data = f.read()
    return [json.loads(line) for line in data.decode("utf-8").split("\n")[:-1] if line]


class AccessLog(unittest.TestCase):
    FIELDS = {"time", "request_id", "principal", "remote", "method", "route", "status", "bytes",
              "duration_us"}

    def start(self, **kw):
        d = Daemon(tokens=TOKENS, **kw)
        self.addCleanup(d.cleanup)
        return d

    def test_one_line_per_request_without_bodies_or_personal_data(self):
        d = self.start()
        path = os.path.join(d.dir, "access.log")
        # It existed before, readable by others: the daemon makes it private all the same.
        with open(path, "w"):
            pass
        os.chmod(path, 0o644)
        d.start()
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)

        n = unique()
        fid = f"AL-{n}"
        body = new_filing(n, filing_id=fid)
        secrets = {"name": "诸葛秘密", "address": f"上海市保密路{n}号",
                   "id": resident_id(n), "mobile": mobile(n),
                   "email": f"hidden{n}@secret{n}.cn"}
        body["subject"]["name"] = secrets["name"]
        body["subject"]["address"] = secrets["address"]
        body["websites"][0]["responsible"]["name"] = secrets["name"]
        body["websites"][0]["responsible"]["email"] = secrets["email"]
        reason = f"理由文本{n}"
        query_value = f"query-secret-{n}.cn"

        op = d.client(token=OPERATOR)
        self.addCleanup(op.close)
        expected = []  # (response, expected fields)

        def record(r, **fields):
            expected.append((r, fields))
            return r

        r = record(op.post("/v1/filings", body, headers={"X-Request-Id": f"tb-sane.id:{n}_x"}),
                   method="POST", route="/v1/filings", filing_id=fid, status=201,
                   principal="desk-op")
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.headers.get("X-Request-Id"), f"tb-sane.id:{n}_x")
        r = record(op.post(f"/v1/filings/{fid}/events",
                           {"type": "initial_review_rejected", "actor": "rev-1",
                            "data": {"reason_code": "other", "reason": reason}}),
                   method="POST", route="/v1/filings/{id}/events", filing_id=fid, status=201,
                   principal="desk-op")
        self.assertEqual(r.status, 201, r)
        record(op.get(f"/v1/filings/{fid}/events", token=AUDITOR), method="GET",
               route="/v1/filings/{id}/events", filing_id=fid, status=200, principal="audit-1")
        r = record(op.get(f"/v1/filings/{fid}", token=READER,
                          headers={"X-Request-Id": "has spaces and is not sane"}),
                   method="GET", route="/v1/filings/{id}", filing_id=fid, status=200,
                   principal="portal")
        self.assertNotEqual(r.headers.get("X-Request-Id"), "has spaces and is not sane")
        r = record(op.get(f"/v1/filings/{fid}", headers={"X-Request-Id": "x" * 65}),
                   method="GET", route="/v1/filings/{id}", filing_id=fid, status=200,
                   principal="desk-op")
        self.assertNotEqual(r.headers.get("X-Request-Id"), "x" * 65)
        record(op.get(f"/v1/records?domain={query_value}"), method="GET", route="/v1/records",
               status=200, principal="desk-op")
        record(op.post("/v1/filings", new_filing(unique()), token=""), method="POST",
               route="/v1/filings", status=401, principal="")
        record(op.get("/healthz", token=""), method="GET", route="/healthz", status=200,
               principal="")
        record(op.get("/v1/filings/NOPE-1", token=READER), method="GET", route="/v1/filings/{id}",
               filing_id="NOPE-1", status=404, principal="portal")

        ids = [r.headers.get("X-Request-Id") for r, _ in expected]
        self.assertTrue(all(ids), "a response without X-Request-Id")
        self.assertEqual(len(set(ids)), len(ids), f"request ids not unique: {ids}")

        def logged():
            by_id = {line["request_id"]: line for line in log_lines(path)}
            return by_id if all(i in by_id for i in ids) else None

        by_id = poll(logged, 10)  # flushed every second
        self.assertIsNotNone(by_id, f"not all requests in the access log within 10 s: {ids}")
        now = datetime.datetime.now(datetime.timezone.utc)
        for (r, fields), rid in zip(expected, ids):
            with self.subTest(rid):
                line = by_id[rid]
                want = self.FIELDS | ({"filing_id"} if "filing_id" in fields else set())
                self.assertEqual(set(line), want, line)
                for k, v in fields.items():
                    self.assertEqual(line[k], v, line)
                self.assertEqual(line["remote"], "127.0.0.1", line)
                self.assertEqual(line["bytes"], len(r.body), line)
                self.assertIsInstance(line["duration_us"], int, line)
                self.assertGreaterEqual(line["duration_us"], 0, line)
                t = datetime.datetime.fromisoformat(line["time"].replace("Z", "+00:00"))
                self.assertLess(abs((now - t).total_seconds()), 120, line)

        # Lines of the last moments reach the file at stop.
        last = op.get("/v1/ledger/head", headers={"X-Request-Id": f"tb-last-{n}"})
        self.assertEqual(last.status, 200)
        op.close()
        d.assert_stops_cleanly(self)
        lines = log_lines(path)
        self.assertIn(f"tb-last-{n}", [line["request_id"] for line in lines])
        with open(path, "rb") as f:
            raw = f.read().decode("utf-8")
        for label, value in list(secrets.items()) + [("reason", reason),
                                                     ("query", query_value)]:
            self.assertNotIn(value, raw, f"the access log holds the {label}")
        for fragment in ('"filing_type"', "first_filing", "initial_review_rejected", "jdcloud",
                         "Bearer", OPERATOR, READER):
            self.assertNotIn(fragment, raw, "the access log holds a body or a header")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)

    def test_custom_path(self):
        d = self.start()
        custom = os.path.join(d.dir, "logs-elsewhere.jsonl")
        with open(d.config, "a", encoding="utf-8") as f:
            f.write(f'\n[server]\naccess_log = "{custom}"\n')
        d.start()
        c = d.client(token=OPERATOR)
        r = c.get("/v1/ledger/head", headers={"X-Request-Id": "tb-custom-1"})
        self.assertEqual(r.status, 200)
        c.close()
        d.assert_stops_cleanly(self)
        self.assertEqual([line["request_id"] for line in log_lines(custom)], ["tb-custom-1"])
        self.assertEqual(stat.S_IMODE(os.stat(custom).st_mode), 0o600)
        self.assertFalse(os.path.exists(os.path.join(d.dir, "access.log")))

    def test_empty_path_turns_it_off(self):
        d = self.start(extra_config='[server]\naccess_log = ""\n')
        d.start()
        c = d.client(token=OPERATOR)
        n = unique()
        self.assertEqual(c.post("/v1/filings", new_filing(n, filing_id=f"OFF-{n}"),
                                headers={"X-Request-Id": f"tb-off-{n}"}).status, 201)
        self.assertEqual(c.get("/healthz").status, 200)
        c.close()
        d.assert_stops_cleanly(self)
        found = []
        for root, _, files in os.walk(d.dir):
            for name in files:
                full = os.path.join(root, name)
                if name == "access.log":
                    found.append(full)
                    continue
                with open(full, "rb") as f:
                    if f"tb-off-{n}".encode() in f.read():
                        found.append(full)
        self.assertEqual(found, [], "an access log was written")


if __name__ == "__main__":
    unittest.main()
