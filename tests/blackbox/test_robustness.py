"""Robustness of the HTTP layer against a real filingd with small limits: oversized bodies and
headers, slow and idle clients, junk bytes, pipelining, keep-alive. Every error is JSON."""

import json
import time
import unittest

from harness import (Daemon, DaemonTestCase, new_filing, read_http_response, unique,
                     wait_closed)

HEADER_TIMEOUT_MS = 500
READ_TIMEOUT_MS = 1000
IDLE_TIMEOUT_MS = 2000
MAX_BODY = 65536


class HttpRobustness(DaemonTestCase):
    daemon_options = {"limits": {"header_timeout_ms": HEADER_TIMEOUT_MS,
                                 "read_timeout_ms": READ_TIMEOUT_MS,
                                 "idle_timeout_ms": IDLE_TIMEOUT_MS,
                                 "max_body_bytes": MAX_BODY}}

    def assertJsonError(self, status, headers, body, expected_status):
        self.assertEqual(status, expected_status, body)
        self.assertIn("application/json", headers.get("content-type", ""))
        doc = json.loads(body)
        self.assertIsInstance(doc.get("error"), str, doc)
        self.assertIsInstance(doc.get("message"), str, doc)
        return doc

    def assertServing(self):
        c = self.daemon.client()
        try:
            r = c.get("/healthz")
            self.assertEqual(r.status, 200, r)
        finally:
            c.close()

    # -- size limits --

    def test_body_over_the_limit_is_413(self):
        head = self.head_seq()
        s = self.daemon.connect_raw()
        try:
            # Announce a too-large body: the daemon answers from the header alone.
            s.sendall(b"POST /v1/filings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: " + str(MAX_BODY + 1).encode() + b"\r\n\r\n")
            status, headers, body, _ = read_http_response(s)
            doc = self.assertJsonError(status, headers, body, 413)
            self.assertEqual(doc["error"], "too_large")
            wait_closed(s, 5)
        finally:
            s.close()
        self.assertEqual(self.head_seq(), head)
        self.assertServing()

    def test_chunked_body_over_the_limit_is_413(self):
        s = self.daemon.connect_raw()
        try:
            s.sendall(b"POST /v1/filings HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      + f"{MAX_BODY + 10:x}\r\n".encode())
            status, headers, body, _ = read_http_response(s)
            self.assertJsonError(status, headers, body, 413)
        finally:
            s.close()
        self.assertServing()

    def test_body_over_the_limit_sent_in_full_gets_413(self):
        """A plain client (curl -d @big.json) sends the whole body before reading: it must still
        see the 413, not a connection reset."""
        body = json.dumps({"filing_type": "first_filing", "pad": "x" * (MAX_BODY * 2)}).encode()
        r = self.c.post("/v1/filings", body)
        self.assertError(r, 413)
        self.assertServing()

    def test_body_at_the_limit_is_read(self):
        body = new_filing(unique())
        body["websites"][0]["name"] = "n"
        raw = json.dumps(body).encode()
        raw = raw + b" " * (MAX_BODY - len(raw))  # whitespace is valid JSON padding
        self.assertEqual(len(raw), MAX_BODY)
        r = self.c.post("/v1/filings", raw)
        self.assertEqual(r.status, 201, r)

    def test_header_over_16k_is_431(self):
        s = self.daemon.connect_raw()
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * (17 * 1024)
                      + b"\r\n\r\n")
            status, headers, body, _ = read_http_response(s)
            self.assertJsonError(status, headers, body, 431)
        finally:
            s.close()
        self.assertServing()

    # -- slow and idle clients --

    def test_slow_header_is_cut_off(self):
        s = self.daemon.connect_raw()
        try:
            start = time.monotonic()
            s.sendall(b"GET /v1/ledger/head HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            got = wait_closed(s, HEADER_TIMEOUT_MS / 1000 + 5)
            elapsed = time.monotonic() - start
            self.assertGreaterEqual(elapsed, HEADER_TIMEOUT_MS / 1000 * 0.8)
            if got:  # a 408 is allowed before the close, nothing else
                self.assertTrue(got.startswith(b"HTTP/1.1 408"), got)
        finally:
            s.close()
        self.assertServing()

    def test_slow_body_is_cut_off(self):
        s = self.daemon.connect_raw()
        try:
            s.sendall(b"POST /v1/filings HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\":")
            got = wait_closed(s, READ_TIMEOUT_MS / 1000 + 5)
            if got:
                self.assertTrue(got.startswith(b"HTTP/1.1 408"), got)
        finally:
            s.close()
        self.assertServing()

    def test_idle_keep_alive_connection_is_closed(self):
        s = self.daemon.connect_raw()
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            status, _, _, rest = read_http_response(s)
            self.assertEqual(status, 200)
            self.assertEqual(rest, b"")
            start = time.monotonic()
            got = wait_closed(s, IDLE_TIMEOUT_MS / 1000 + 5)
            self.assertEqual(got, b"")
            self.assertGreaterEqual(time.monotonic() - start, IDLE_TIMEOUT_MS / 1000 * 0.8)
        finally:
            s.close()

    def test_silent_connection_is_closed(self):
        s = self.daemon.connect_raw()
        try:
            self.assertEqual(wait_closed(s, IDLE_TIMEOUT_MS / 1000 + 5), b"")
        finally:
            s.close()

    # -- bad bytes --

    def test_junk_bytes_close_only_that_connection(self):
        keep = self.daemon.client()
        try:
            self.assertEqual(keep.get("/healthz").status, 200)
            port = keep.local_port()
            for junk in [b"\x00\xffGARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                         b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64 + b"\r\n\r\n",
                         b"GET /healthz HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                         b"POST /v1/filings HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}"]:
                s = self.daemon.connect_raw()
                try:
                    s.sendall(junk)
                    resp = read_http_response(s)
                    self.assertIsNotNone(resp, f"no answer to {junk!r}")
                    status, headers, body, _ = resp
                    self.assertJsonError(status, headers, body, 400)
                    self.assertEqual(headers.get("connection", "").lower(), "close")
                    wait_closed(s, 5)
                finally:
                    s.close()
                # The kept-alive connection is unaffected and still the same connection.
                r = keep.get("/v1/ledger/head")
                self.assertEqual(r.status, 200, (junk, r))
                self.assertEqual(keep.local_port(), port, "keep-alive connection was dropped")
        finally:
            keep.close()

    def test_malformed_request_target_is_400_json(self):
        s = self.daemon.connect_raw()
        try:
            s.sendall(b"GET /v1/records/%ZZ HTTP/1.1\r\nHost: x\r\n\r\n")
            status, headers, body, _ = read_http_response(s)
            self.assertJsonError(status, headers, body, 400)
        finally:
            s.close()

    # -- HTTP/1.1 semantics --

    def test_pipelined_requests_are_answered_in_order(self):
        s = self.daemon.connect_raw()
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                      b"GET /v1/filings/PIPE-none HTTP/1.1\r\nHost: x\r\n\r\n"
                      b"GET /v1/ledger/head HTTP/1.1\r\nHost: x\r\n\r\n")
            leftover = b""
            statuses, bodies = [], []
            for _ in range(3):
                if leftover:
                    # Put back what the previous read consumed past its response.
                    status, headers, body, leftover = _parse_buffered(s, leftover)
                else:
                    status, headers, body, leftover = read_http_response(s)
                statuses.append(status)
                bodies.append(json.loads(body))
            self.assertEqual(statuses, [200, 404, 200])
            self.assertEqual(bodies[0], {"status": "ok"})
            self.assertEqual(bodies[1]["error"], "not_found")
            self.assertIn("seq", bodies[2])
        finally:
            s.close()

    def test_pipelined_posts_keep_their_order(self):
        n1, n2, n3 = unique(), unique(), unique()
        reqs = b""
        for n in (n1, n2, n3):
            body = json.dumps(new_filing(n, filing_id=f"PP-{n}")).encode()
            reqs += (b"POST /v1/filings HTTP/1.1\r\nHost: x\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body)
        s = self.daemon.connect_raw()
        try:
            s.sendall(reqs)
            leftover = b""
            seqs, ids = [], []
            for _ in range(3):
                status, headers, body, leftover = (_parse_buffered(s, leftover) if leftover
                                                   else read_http_response(s))
                self.assertEqual(status, 201, body)
                doc = json.loads(body)
                seqs.append(doc["seq"])
                ids.append(doc["filing_id"])
            self.assertEqual(ids, [f"PP-{n1}", f"PP-{n2}", f"PP-{n3}"])
            self.assertEqual(seqs, sorted(seqs))
        finally:
            s.close()

    def test_keep_alive_reuses_one_connection(self):
        c = self.daemon.client()
        try:
            self.assertEqual(c.get("/healthz").status, 200)
            sock, port = c.conn.sock, c.local_port()
            for i in range(50):
                r = c.get("/v1/ledger/head") if i % 2 else c.get("/healthz")
                self.assertEqual(r.status, 200)
                self.assertIs(c.conn.sock, sock, f"reconnected at request {i}")
            self.assertEqual(c.local_port(), port)
            # A 4xx answer does not end the connection either.
            self.assertEqual(c.get("/v1/filings/none-such").status, 404)
            self.assertEqual(c.post("/v1/filings", b"{").status, 400)
            self.assertEqual(c.get("/healthz").status, 200)
            self.assertIs(c.conn.sock, sock)
        finally:
            c.close()

    def test_connection_close_is_honoured(self):
        s = self.daemon.connect_raw()
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            status, headers, _, _ = read_http_response(s)
            self.assertEqual(status, 200)
            self.assertEqual(headers.get("connection", "").lower(), "close")
            self.assertEqual(wait_closed(s, 5), b"")
        finally:
            s.close()

    def test_http_1_0_is_answered_and_closed(self):
        s = self.daemon.connect_raw()
        try:
            s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
            buf = wait_closed(s, 5)
            self.assertTrue(buf.startswith(b"HTTP/1.0 200") or buf.startswith(b"HTTP/1.1 200"), buf)
        finally:
            s.close()

    def test_every_error_body_is_json(self):
        c = self.c
        cases = [
            c.get("/nope"),
            c.get("/v1/filings/none-such"),
            c.request("DELETE", "/v1/filings"),
            c.post("/v1/filings", b"[]"),
            c.post("/v1/filings", b"{"),
            c.post("/v1/filings", {"filing_type": "first_filing"}),
            c.post("/v1/filings/none-such/events", {"type": "photo_approved", "actor": "a"}),
            c.get("/v1/events?limit=x"),
            c.get("/v1/records/bad"),
        ]
        for r in cases:
            self.assertGreaterEqual(r.status, 400, r)
            self.assertLess(r.status, 500, r)
            self.assertIn("application/json", r.headers.get("Content-Type", ""), r)
            self.assertIsInstance(r.json.get("error"), str, r)
            self.assertIsInstance(r.json.get("message"), str, r)

    def test_many_concurrent_connections(self):
        socks = []
        try:
            for _ in range(64):
                socks.append(self.daemon.connect_raw())
            for s in socks:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            for s in socks:
                status, _, _, _ = read_http_response(s)
                self.assertEqual(status, 200)
        finally:
            for s in socks:
                s.close()
        self.assertServing()


class ConnectionLifetime(unittest.TestCase):
    """Each test has its own daemon: a crash shows up as an unclean exit of that daemon."""

    def setUp(self):
        self.daemon = Daemon()
        self.addCleanup(self.daemon.cleanup)
        self.daemon.start()

    def test_many_appends_on_one_keep_alive_connection(self):
        # Regression: every append on a connection used to release the connection's strand one
        # time too many (a GCC 12 coroutine temporary destroyed twice in daemon/api.cpp
        # async_append), so closing a connection that had made 4+ appends crashed the daemon.
        c = self.daemon.client()
        sock = None
        for i in range(20):
            n = unique()
            r = c.post("/v1/filings", new_filing(n, filing_id=f"KA-{n}"))
            self.assertEqual(r.status, 201, (i, r))
            r = c.post(f"/v1/filings/KA-{n}/events",
                       {"type": "photo_approved", "actor": "rev", "data": {"method": "photo"}})
            self.assertEqual(r.status, 201, (i, r))
            sock = sock or c.conn.sock
            self.assertIs(c.conn.sock, sock, "the connection was not kept alive")
        c.close()
        c = self.daemon.client()
        self.assertEqual(c.get("/healthz").status, 200)
        c.close()
        rc, out = self.daemon.stop()
        self.assertEqual(rc, 0, f"filingd crashed (exit {rc}):\n{out[-3000:]}")
        self.assertIn("stopped cleanly", out)

    def test_shutdown_with_open_idle_connections(self):
        idle = [self.daemon.connect_raw() for _ in range(4)]
        busy = self.daemon.client()
        try:
            self.assertEqual(busy.get("/healthz").status, 200)
            rc, out = self.daemon.stop()
            self.assertEqual(rc, 0, out)
            self.assertIn("stopped cleanly", out)
            for s in idle:
                self.assertEqual(wait_closed(s, 5), b"")
        finally:
            busy.close()
            for s in idle:
                s.close()


def _parse_buffered(sock, buf):
    """read_http_response, starting from bytes already received."""

    class Prefixed:
        def __init__(self, s, data):
            self.s, self.data = s, data

        def settimeout(self, t):
            self.s.settimeout(t)

        def recv(self, n):
            if self.data:
                d, self.data = self.data, b""
                return d
            return self.s.recv(n)

    return read_http_response(Prefixed(sock, buf))


if __name__ == "__main__":
    unittest.main()

class BodyBudget(DaemonTestCase):
    """limits.max_bodies_in_flight_bytes: bodies being received share one budget, so many slow
    uploads cannot make memory reach max_connections x max_body_bytes."""

    daemon_options = {"limits": {"max_body_bytes": MAX_BODY,
                                 "max_bodies_in_flight_bytes": 2 * MAX_BODY,
                                 "read_timeout_ms": 30000}}

    def in_flight(self):
        r = self.c.get("/metrics")
        self.assertEqual(r.status, 200)
        for line in r.body.decode().splitlines():
            if line.startswith("filingd_http_body_bytes_in_flight "):
                return int(line.split()[1])
        raise AssertionError("filingd_http_body_bytes_in_flight missing from /metrics")

    def wait_in_flight(self, expected, timeout=10):
        deadline = time.monotonic() + timeout
        while (now := self.in_flight()) != expected:
            self.assertLess(time.monotonic(), deadline, f"body bytes in flight stayed {now}")
        return now

    def start_upload(self):
        s = self.daemon.connect_raw()
        s.sendall(b"POST /v1/filings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: " + str(MAX_BODY).encode() + b"\r\n\r\n{\"filing_id\":")
        return s

    def test_uploads_beyond_the_budget_get_503_and_the_budget_is_returned(self):
        self.wait_in_flight(0)
        slow = [self.start_upload(), self.start_upload()]
        try:
            self.wait_in_flight(2 * MAX_BODY)
            third = self.start_upload()
            try:
                status, headers, body, _ = read_http_response(third)
                self.assertEqual(status, 503, body)
                self.assertEqual(headers.get("retry-after"), "1")
                self.assertEqual(json.loads(body)["error"], "unavailable")
                wait_closed(third, 5)
            finally:
                third.close()
            # Requests without a body still pass.
            self.assertEqual(self.c.get("/healthz").status, 200)
        finally:
            for s in slow:
                s.close()
        # The closed uploads give their share back; a whole filing then goes through.
        self.wait_in_flight(0)
        r = self.c.post("/v1/filings", new_filing(unique()))
        self.assertEqual(r.status, 201, r.body)

