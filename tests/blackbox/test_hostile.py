"""Hostile clients against a real filingd (issue 7, item 5; SPEC §3.1 "slow or idle
connections time out", §4 "junk bytes on the socket ... the daemon keeps serving").

HostileClients: one daemon, started with a soft open-files limit of 1024 (a login shell's
default) so it has to raise its own. Each test runs one attack from hostile.py for
ATTACK_SECONDS in a separate process while a well-behaved client (three threads: keep-alive
GETs, keep-alive POSTs, a new connection per GET) checks every answer, and the daemon's RSS is
sampled (VmHWM reset before each attack, so the peak is the kernel's own). Each test asserts:
every well-behaved request was answered correctly, at least MIN_SERVED of each kind were
served during the attack, the attack met the defence it should (cut off, 431, 413, 400, answers
in order, connections held), and the RSS grew by no more than the attack's allowance.

RSS allowances (growth of the peak over the RSS at the attack's start), measured on a
RelWithDebInfo build, with margin:
- idle (10,000 connections): measured about 7 KiB per connection (the coroutine frame with its
  512-byte first-read buffer and parser, the socket and its reactor state, the bookkeeping),
  +64-70 MiB; allowance 12 KiB per connection, 120 MiB (about 1.8x). Holding them a second
  time must not grow the peak by more than IDLE_REPEAT_MIB (measured +4-8 MiB): no
  per-connection leak.
- slowloris (1,000 connections, header bytes trickling): measured +9 MiB; allowance 48 MiB.
- oversized bodies (4 attackers, each request buffering up to the 1 MiB body limit before its
  413): measured +7 MiB; allowance 64 MiB.
- slow bodies (SLOW_BODIES connections each holding a 1 MiB body but its last byte): a body
  costs what has arrived of it, measured 1.03 MiB each; allowance 1.25 MiB each + 32 MiB. (So
  the worst case is max_connections x max_body_bytes: the cap and the body limit bound it.)
- oversized headers, garbage, pipelined floods (a few connections; flooding connections that
  never read are held back by TCP, not buffered): measured +1-2 MiB; allowance 32 MiB.
On top, the whole daemon must stay under TOTAL_RSS_MIB over the RSS it had before any attack.

ConnectionCap: a daemon with max_connections = 32: at the cap, the connection waiting longest
without a request (idle keep-alive, or still sending its headers) is closed to admit a new one;
when all are busy with a request, new connections are refused and the busy ones are untouched.

OpenFilesLimit: a daemon whose hard limit is 512 lowers its connection cap to fit (and says
so), and 600 connections neither exhaust its descriptors nor stop it from serving.

Under a sanitizer build (ASan/TSan keep freed memory in quarantine and shadow it) or a
FILINGD_WRAPPER (valgrind), the RSS figures mean nothing: the RSS assertions are skipped, and
said so; everything else is checked.

Environment: FILINGD_HOSTILE_SECONDS (default 4) per attack.
"""

import json
import os
import re
import resource
import select
import sys
import time
import unittest

import hostile
from harness import (Daemon, DaemonTestCase, filingd_bin, new_filing, read_http_response, unique,
                     wait_closed)

ATTACK_SECONDS = float(os.environ.get("FILINGD_HOSTILE_SECONDS", "4"))
HEADER_TIMEOUT_MS = 2000
READ_TIMEOUT_MS = 5000
IDLE_CONNECTIONS = 10000
SLOWLORIS_CONNECTIONS = 1000
SLOW_BODIES = 50
MIN_SERVED = 10  # per kind of well-behaved request (get, post, fresh) during an attack
MIB = 1024  # KiB
ALLOWANCE_MIB = {"idle": 120, "slowloris": 48, "big_bodies": 64, "big_headers": 32,
                 "garbage": 32, "pipeline": 32, "slow_bodies": SLOW_BODIES * 1.25 + 32}
IDLE_REPEAT_MIB = 16
TOTAL_RSS_MIB = 256
SEED = 7

# Replaces itself with the daemon under the given RLIMIT_NOFILE (soft, hard).
_EXEC_WITH_NOFILE = ("import os, resource, sys; "
                     "resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[1]), int(sys.argv[2]))); "
                     "os.execv(sys.argv[3], sys.argv[3:])")


class LimitedDaemon(Daemon):
    """A Daemon started under its own RLIMIT_NOFILE."""

    def __init__(self, nofile, **kw):
        super().__init__(**kw)
        self.nofile = nofile

    def argv(self):
        inner = super().argv()
        return [sys.executable, "-c", _EXEC_WITH_NOFILE, str(self.nofile[0]),
                str(self.nofile[1])] + inner


def instrumented(binary):
    """Why RSS figures of this daemon are meaningless, or None: a sanitizer runtime in the
    binary, or a wrapper (valgrind)."""
    if os.environ.get("FILINGD_WRAPPER"):
        return "FILINGD_WRAPPER is set"
    with open(binary, "rb") as f:
        data = f.read()
    for marker, name in ((b"__asan_init", "AddressSanitizer"), (b"__tsan_init", "ThreadSanitizer")):
        if marker in data:
            return f"the daemon is built with {name}"
    return None


def nofile_limits(pid):
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return int(soft), int(hard)
    raise AssertionError("no 'Max open files' in /proc/PID/limits")


def metric(text, name):
    m = re.search(rf"^{name} (\d+)$", text, re.M)
    if m is None:
        raise AssertionError(f"{name} missing from /metrics")
    return int(m.group(1))


def seed_filings(daemon, count):
    c = daemon.client()
    ids = []
    try:
        for _ in range(count):
            n = unique()
            fid = f"HOST-{n}"
            r = c.post("/v1/filings", new_filing(n, filing_id=fid))
            assert r.status == 201, r
            ids.append(fid)
    finally:
        c.close()
    return ids


def describe(r):
    rss = r["rss"]
    return (f"{r['attack']:>11}: served {r['served']} ({r['served_per_s']:.0f}/s), "
            f"GET p50 {r['get_p50_ms']:.1f} ms p99 {r['get_p99_ms']:.1f} ms, "
            f"POST p50 {r['post_p50_ms']:.1f} ms p99 {r['post_p99_ms']:.1f} ms, "
            f"RSS {rss['start_kib'] / MIB:.1f} -> peak {rss['peak_kib'] / MIB:.1f} MiB, "
            f"attacker {json.dumps(r['attacker'], sort_keys=True)}")


class HostileClients(DaemonTestCase):
    """tearDownClass (DaemonTestCase) stops the daemon and asserts a clean exit."""

    @classmethod
    def setUpClass(cls):
        cls.soft, cls.hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if cls.hard != resource.RLIM_INFINITY and cls.hard < IDLE_CONNECTIONS + 2048:
            raise unittest.SkipTest(f"the hard open-files limit {cls.hard} is below "
                                    f"{IDLE_CONNECTIONS + 2048}: cannot hold "
                                    f"{IDLE_CONNECTIONS} connections on this machine")
        hard = cls.hard if cls.hard != resource.RLIM_INFINITY else 1 << 20
        cls.daemon = LimitedDaemon(
            (min(1024, hard), hard),
            limits={"header_timeout_ms": HEADER_TIMEOUT_MS, "read_timeout_ms": READ_TIMEOUT_MS})
        try:
            cls.daemon.start()
            cls.ids = seed_filings(cls.daemon, 100)
            cls.pid = cls.daemon.proc.pid
            cls.no_rss = instrumented(filingd_bin())
            if cls.no_rss:
                print(f"\nRSS bounds not checked: {cls.no_rss}", file=sys.stderr, flush=True)
            cls.rss_before = hostile.proc_memory(cls.pid)["VmRSS"]
            cls.baseline = hostile.measure(cls.daemon.port, cls.pid, "none", ATTACK_SECONDS,
                                           SEED, cls.ids)
            print("\n" + describe(cls.baseline), file=sys.stderr, flush=True)
        except BaseException:
            cls.daemon.cleanup()
            raise

    def attack(self, name, params=None):
        r = hostile.measure(self.daemon.port, self.pid, name, ATTACK_SECONDS, SEED, self.ids,
                            params)
        print("\n" + describe(r), file=sys.stderr, flush=True)
        self.assertIsNone(self.daemon.proc.poll(), f"filingd died:\n{self.daemon.output()[-3000:]}")
        self.assertEqual(r["errors"], [], f"well-behaved requests failed during {name}")
        for kind, n in r["by_kind"].items():
            self.assertGreaterEqual(n, MIN_SERVED, f"{kind} requests served during {name}")
        if self.no_rss:
            return r
        growth = r["rss"]["peak_kib"] - r["rss"]["start_kib"]
        self.assertLessEqual(growth, ALLOWANCE_MIB[name] * MIB,
                             f"RSS grew {growth / MIB:.1f} MiB during {name}: {r['rss']}")
        self.assertLessEqual(r["rss"]["peak_kib"] - self.rss_before, TOTAL_RSS_MIB * MIB,
                             f"RSS peak {r['rss']['peak_kib'] / MIB:.1f} MiB")
        return r

    def test_daemon_raised_its_open_files_limit(self):
        soft, hard = nofile_limits(self.pid)
        self.assertEqual(soft, hard, "filingd did not raise its soft open-files limit")
        self.assertIn(f"open files limit {hard}, at most 10000 HTTP connections",
                      self.daemon.output())

    def test_slowloris(self):
        r = self.attack("slowloris", {"conns": SLOWLORIS_CONNECTIONS, "byte_interval": 0.25})
        a = r["attacker"]
        timeout = HEADER_TIMEOUT_MS / 1000
        # Every connection of the first wave outlived the header timeout and was cut off.
        self.assertGreaterEqual(a.get("cut_by_server", 0), SLOWLORIS_CONNECTIONS, a)
        self.assertGreaterEqual(a["cut_after_s_min"], 0.8 * timeout, a)
        self.assertLessEqual(a["cut_after_s_max"], timeout + 3.0, a)
        self.assertEqual(a.get("answered_other", 0), 0, a)

    def test_big_headers(self):
        a = self.attack("big_headers")["attacker"]
        self.assertEqual(set(a) - {"status_431", "closed_without_answer"}, set(), a)
        self.assertGreater(a.get("status_431", 0), 0, a)
        self.assertLessEqual(a.get("closed_without_answer", 0), a["status_431"] / 10, a)

    def test_big_bodies(self):
        a = self.attack("big_bodies")["attacker"]
        for kind in ("gib", "chunked", "whole"):
            self.assertGreater(a.get(f"{kind}_status_413", 0), 0, a)
        unexpected = {k for k in a if not k.endswith(("_status_413", "_closed_without_answer"))}
        self.assertEqual(unexpected, set(), a)

    def test_slow_bodies(self):
        r = self.attack("slow_bodies", {"conns": SLOW_BODIES})
        a = r["attacker"]
        self.assertEqual(a["holding"], SLOW_BODIES, a)
        # Held until the read timeout (5 s): a 408 then, never another answer.
        self.assertEqual(a.get("answered_other", 0), 0, a)
        # The bodies were really buffered: the daemon read at least 3/4 of their bytes out of
        # its sockets (on a loaded machine the rest may still be in flight). The RSS cannot
        # show it: the allocator reuses what earlier attacks freed.
        self.assertGreaterEqual(a["bytes_sent"] - a["bytes_unread_by_server"],
                                SLOW_BODIES * 1024 * 1024 * 3 / 4, a)
        # Still open when it was counted (a closed end would count as read). CI runs have seen
        # one or two rows more than ours match the port numbers: at least, not exactly.
        self.assertGreaterEqual(a["server_ends_open"], SLOW_BODIES, a)

    def test_garbage(self):
        a = self.attack("garbage")["attacker"]
        self.assertGreater(a.get("status_400", 0), 0, a)
        self.assertEqual(set(a) - {"status_400", "closed_without_answer"}, set(), a)

    def test_pipelined_flood(self):
        a = self.attack("pipeline")["attacker"]
        self.assertEqual(a.get("wrong_answers", 0), 0, a)
        self.assertGreater(a.get("answered_in_order", 0), 1000, a)

    def test_idle_connections(self):
        first = self.attack("idle", {"conns": IDLE_CONNECTIONS})
        a = first["attacker"]
        self.assertEqual(a["opened"], IDLE_CONNECTIONS, a)
        # The daemon really held them (one descriptor each) while serving the others...
        self.assertGreaterEqual(first["fds_peak"], IDLE_CONNECTIONS, first)
        # ...and at the cap (10,000) closed only as many as the new connections needed.
        self.assertGreaterEqual(a["open_at_end"], IDLE_CONNECTIONS - 100, a)
        second = self.attack("idle", {"conns": IDLE_CONNECTIONS})
        self.assertEqual(second["attacker"]["opened"], IDLE_CONNECTIONS, second["attacker"])
        if self.no_rss:
            return
        self.assertLessEqual(second["rss"]["peak_kib"], first["rss"]["peak_kib"] + IDLE_REPEAT_MIB * MIB,
                             "holding 10,000 connections a second time grew the peak RSS: "
                             f"{first['rss']} then {second['rss']}")


class ConnectionCap(unittest.TestCase):
    CAP = 32

    def setUp(self):
        self.daemon = Daemon(limits={"max_connections": self.CAP, "header_timeout_ms": 60000,
                                     "read_timeout_ms": 60000, "idle_timeout_ms": 60000})
        self.addCleanup(self.daemon.cleanup)
        self.daemon.start()
        self.socks = []  # the connections filling the cap
        self.extra = []  # connections opened after

    def tearDown(self):
        for s in self.socks + self.extra:
            s.close()
        self.socks, self.extra = [], []
        if self.daemon.proc.poll() is None:
            self.daemon.assert_stops_cleanly(self)

    def closed_ones(self, expect, timeout=5.0):
        """Indexes of self.socks the server closed: waits until `expect` of them are closed or
        `timeout` passes (expect 0: the whole timeout), then takes any others closed by then."""
        closed = set()
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            last = remaining <= 0 or (expect and len(closed) >= expect)
            open_socks = [s for i, s in enumerate(self.socks) if i not in closed]
            readable, _, _ = select.select(open_socks, [], [], 0 if last else remaining)
            for s in readable:
                s.settimeout(1)
                try:
                    data = s.recv(4096)
                except ConnectionResetError:
                    data = b""
                if not data:
                    closed.add(self.socks.index(s))
            if last:
                return sorted(closed)

    def newcomer(self):
        """A new connection that asks for /metrics and stays open; returns the metrics text."""
        s = self.daemon.connect_raw()
        self.extra.append(s)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        r = read_http_response(s)
        self.assertIsNotNone(r, "the newcomer was refused")
        self.assertEqual(r[0], 200)
        return r[2].decode()

    def test_the_longest_idle_connection_makes_room(self):
        # Fill the cap with kept-alive connections, each idle after one request, oldest first.
        for _ in range(self.CAP):
            s = self.daemon.connect_raw()
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(read_http_response(s)[0], 200)
            self.socks.append(s)
        self.assertEqual(self.closed_ones(0, 0), [])
        # A newcomer is served; one of the connections idle the longest was closed for it.
        # (Oldest of about the first three: a connection joins the queue just after its
        # answer is written, so under load two neighbours can swap.)
        text = self.newcomer()
        self.assertEqual(metric(text, "filingd_http_connections_max"), self.CAP)
        self.assertEqual(metric(text, "filingd_http_connections_evicted_total"), 1)
        first = self.closed_ones(1)
        self.assertEqual(len(first), 1, first)
        self.assertLess(first[0], 3, first)
        text = self.newcomer()
        self.assertEqual(metric(text, "filingd_http_connections_evicted_total"), 2)
        both = self.closed_ones(2)
        self.assertEqual(len(both), 2, both)
        self.assertLess(max(both), 4, both)

    def test_slow_headers_make_room_too(self):
        for i in range(self.CAP):
            s = self.daemon.connect_raw()
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow-%d: " % i)
            self.socks.append(s)
        text = self.newcomer()  # admitted by closing one of the slow ones
        self.assertEqual(metric(text, "filingd_http_connections_evicted_total"), 1)
        closed = self.closed_ones(1)
        self.assertEqual(len(closed), 1, closed)
        # The others are still there and can finish their requests.
        survivor = self.socks[(closed[0] + 1) % self.CAP]
        survivor.sendall(b"v\r\n\r\n")
        self.assertEqual(read_http_response(survivor)[0], 200)

    def test_busy_connections_are_not_evicted(self):
        # Every slot holds a request whose body is still coming: nothing may be evicted. Each
        # connection pipelines a GET before its POST, so once the GET is answered the daemon
        # has the POST's header in hand.
        for _ in range(self.CAP):
            s = self.daemon.connect_raw()
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                      b"POST /v1/filings HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n{\"a\":")
            self.socks.append(s)
        for s in self.socks:
            status, _, _, rest = read_http_response(s)
            self.assertEqual((status, rest), (200, b""))
        refused = self.daemon.connect_raw()
        try:
            try:
                refused.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            except OSError:
                pass
            self.assertEqual(wait_closed(refused, 5), b"", "a connection over the cap was served")
        finally:
            refused.close()
        self.assertEqual(self.closed_ones(0, 0.2), [], "a busy connection was evicted")
        # One request completes (400: not JSON); that connection then waits for its next
        # request, so it makes room (it joins the queue just after its answer is written: a
        # newcomer may still be refused until then).
        self.socks[5].sendall(b"123456789012345")
        status, _, _, _ = read_http_response(self.socks[5])
        self.assertEqual(status, 400)
        deadline = time.monotonic() + 5
        text = None
        while text is None and time.monotonic() < deadline:
            try:
                text = self.newcomer()
            except (OSError, AssertionError):
                self.extra.pop().close()
        self.assertIsNotNone(text, "no room made within 5 s")
        self.assertGreaterEqual(metric(text, "filingd_http_connections_refused_total"), 1)
        self.assertEqual(metric(text, "filingd_http_connections_evicted_total"), 1)
        self.assertEqual(self.closed_ones(1), [5])


class OpenFilesLimit(unittest.TestCase):

    def test_cap_fits_a_low_hard_limit(self):
        hostile.raise_fd_limit()  # this process holds 600 sockets
        daemon = LimitedDaemon((512, 512))
        self.addCleanup(daemon.cleanup)
        daemon.start()
        # 512 descriptors, 128 kept for the ledger and Kafka: 384 connections.
        out = daemon.output()
        self.assertIn("does not fit the open files limit 512", out)
        self.assertIn("open files limit 512, at most 384 HTTP connections", out)
        socks = []
        try:
            for _ in range(600):
                socks.append(daemon.connect_raw())
            c = daemon.client()
            self.assertEqual(c.get("/healthz").status, 200)
            n = unique()
            self.assertEqual(c.post("/v1/filings", new_filing(n, filing_id=f"NF-{n}")).status, 201)
            text = c.get("/metrics").body.decode()
            c.close()
            self.assertLessEqual(metric(text, "filingd_http_connections"), 384 + 8)
            self.assertGreaterEqual(metric(text, "filingd_http_connections_evicted_total"), 200)
            self.assertEqual(metric(text, "filingd_http_accept_errors_total"), 0)
            self.assertNotIn("accept failed", daemon.output())
        finally:
            for s in socks:
                s.close()
        daemon.assert_stops_cleanly(self)


if __name__ == "__main__":
    unittest.main()
