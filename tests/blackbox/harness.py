"""Black-box harness: starts the real `filingd` binary and talks HTTP to it.

Standard library only. The binary comes from $FILINGD_BIN (CTest sets it to the built target).

Environment: FILINGD_BIN (required outside CTest), FILINGD_WRAPPER (optional command prefix,
e.g. "valgrind --error-exitcode=99 -q", to run every daemon under a checker).

Synchronisation rule: nothing here sleeps. The daemon's start is awaited by reading its log with
select() until the "listening on http://HOST:PORT" line, under a deadline; its exit with
Popen.wait(timeout); sockets with blocking reads under socket timeouts or select().
"""

import datetime
import hashlib
import http.client
import itertools
import json
import os
import re
import select
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

START_TIMEOUT = 30.0  # seconds for the daemon to log its listening address
STOP_TIMEOUT = 30.0  # seconds for SIGTERM to end the process

_LISTENING = re.compile(rb"filingd listening on http://(\[[^\]]+\]|[^\s:]+):(\d+)")


def _binary(env, build_path):
    """$env, else build/<build_path> of this checkout; must be executable."""
    path = os.environ.get(env)
    if not path:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.join(here, "..", "..", "build", build_path)
    path = os.path.abspath(path)
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"{os.path.basename(build_path)} not found at {path}: set {env}")
    return path


def filingd_bin():
    return _binary("FILINGD_BIN", "daemon/filingd")


def filingctl_bin():
    return _binary("FILINGCTL_BIN", "filingctl/filingctl")


def all_events(test, client):
    """The whole global log through GET /v1/events, page by page."""
    events, after = [], 0
    while True:
        r = client.get(f"/v1/events?after_seq={after}&limit=10000")
        test.assertEqual(r.status, 200, r)
        if not r.json["items"]:
            return events
        events += r.json["items"]
        after = r.json["next_after_seq"]


# ---- identities ------------------------------------------------------------------------------

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def gb11643_check_digit(first17):
    """The GB 11643-1999 check character of an 18-character resident ID."""
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS))
    return _CHECK[total % 11]


USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100-2015: no I, O, S, V, Z
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc(first17):
    """A USCC: the 17 characters given and their GB 32100 check character."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS))
    return first17 + USCC_ALPHABET[(31 - total % 31) % 31]


def resident_id(n):
    """A valid, distinct resident ID for every n >= 0 (Beijing Dongcheng, born 1950-2004)."""
    born = datetime.date(1950, 1, 1) + datetime.timedelta(days=n % 20000)
    first17 = "110101" + born.strftime("%Y%m%d") + f"{(n // 20000) % 1000:03d}"
    return first17 + gb11643_check_digit(first17)


def bad_resident_id(n):
    """resident_id(n) with a wrong check character."""
    good = resident_id(n)
    wrong = next(c for c in _CHECK if c != good[-1])
    return good[:-1] + wrong


_counter = itertools.count(1)
_counter_lock = threading.Lock()


def unique():
    """A process-wide unique positive integer: subjects, domains and numbers never collide."""
    with _counter_lock:
        return next(_counter)


def mobile(n):
    return "138" + f"{n % 100_000_000:08d}"


def subject_number(n, province="京"):
    """A subject record number with 10 digits, e.g. 京ICP备2026000042号."""
    return f"{province}ICP备2026{n % 1_000_000:06d}号"


def website(n, domains=None, record_number=None, person_n=None):
    person = n if person_n is None else person_n
    w = {
        "name": f"网站{n}",
        "domains": domains if domains is not None else [f"site{n}.cn", f"www.site{n}.cn"],
        "responsible": {
            "name": "张三",
            "id_type": "resident_id",
            "id_number": resident_id(person),
            "mobile": mobile(person),
            "email": f"owner{n}@site{n}.cn",
        },
    }
    if record_number is not None:
        w["record_number"] = record_number
    return w


def filing_fields(subject_n, filing_type="first_filing", province="京", websites=None,
                  existing_record_number=None):
    """The filing fields of SPEC §3.4 (no envelope)."""
    body = {
        "filing_type": filing_type,
        "province": province,
        "provider": "jdcloud",
        "subject": {
            "kind": "individual",
            "name": "张三",
            "id_type": "resident_id",
            "id_number": resident_id(subject_n),
            "address": "北京市海淀区中关村大街1号",
        },
        "websites": websites if websites is not None else [website(subject_n)],
    }
    if existing_record_number is not None:
        body["existing_record_number"] = existing_record_number
    return body


def new_filing(subject_n, filing_id=None, actor="desk-1", **kw):
    """A POST /v1/filings body."""
    body = filing_fields(subject_n, **kw)
    if filing_id is not None:
        body["filing_id"] = filing_id
    body["actor"] = actor
    return body


def quote(text):
    return urllib.parse.quote(text, safe="")


# ---- HTTP ------------------------------------------------------------------------------------


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        self.json = None
        ctype = headers.get("Content-Type", "") if headers else ""
        if ctype.split(";")[0].strip() == "application/json" and body:
            self.json = json.loads(body.decode("utf-8"))

    def __repr__(self):
        return f"<Response {self.status} {self.body[:300]!r}>"


class Client:
    """One keep-alive HTTP/1.1 connection (http.client reconnects only if the server closed)."""

    def __init__(self, port, token=None, timeout=15.0, host="127.0.0.1"):
        self.token = token
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)

    def request(self, method, path, body=None, token=None, headers=None):
        hdrs = dict(headers or {})
        tok = self.token if token is None else token
        if tok:
            hdrs["Authorization"] = f"Bearer {tok}"
        if isinstance(body, (dict, list)):
            body = json.dumps(body, ensure_ascii=False).encode("utf-8")
        elif isinstance(body, str):
            body = body.encode("utf-8")
        if body is not None:
            hdrs.setdefault("Content-Type", "application/json")
        self.conn.request(method, path, body=body, headers=hdrs)
        r = self.conn.getresponse()
        data = r.read()
        return Response(r.status, r.headers, data)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body=body, **kw)

    def local_port(self):
        return self.conn.sock.getsockname()[1] if self.conn.sock else None

    def close(self):
        self.conn.close()


def read_http_response(sock, timeout=10.0):
    """Reads one HTTP/1.1 response from a raw socket: (status, headers dict, body bytes, rest).

    Returns None if the server closed the connection before any byte of a response."""
    sock.settimeout(timeout)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            if not buf:
                return None
            raise AssertionError(f"connection closed inside a response header: {buf!r}")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("connection closed inside a response body")
        rest += chunk
    return status, headers, rest[:length], rest[length:]


def wait_closed(sock, timeout):
    """Blocks until the peer closes (EOF or reset) or `timeout` passes. Returns the bytes read
    before the close, or raises AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    got = b""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"server did not close the connection within {timeout}s")
        readable, _, _ = select.select([sock], [], [], remaining)
        if not readable:
            continue
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return got
        if not chunk:
            return got
        got += chunk


# ---- the daemon ------------------------------------------------------------------------------


class DaemonError(AssertionError):
    pass


# The shipped SMS policies (config/filingd.toml): the 2017-2020 48 h pilot, then 24 h.
SHIPPED_SMS_POLICIES = """
[[sms.policies]]
id = "pilot-48h-2017"
window_hours = 48
provinces = ["津", "甘", "藏", "宁", "琼", "新", "青"]
from = "2017-12-15T00:00:00+08:00"
until = "2020-08-17T00:00:00+08:00"

[[sms.policies]]
id = "default-24h"
window_hours = 24
"""


def write_config(path, *, tokens=None, limits=None, kafka_mode="off", threads=None, extra=""):
    """tokens: [(name, role, token_string)]; limits: {key: int}; extra: raw TOML appended."""
    lines = []
    if threads is not None:
        lines += ["[server]", f"threads = {int(threads)}", ""]
    if limits:
        lines.append("[limits]")
        for k, v in limits.items():
            lines.append(f"{k} = {int(v)}")
        lines.append("")
    lines += ["[kafka]", f'mode = "{kafka_mode}"', ""]
    for name, role, token in tokens or []:
        digest = hashlib.sha256(token.encode("utf-8")).hexdigest()
        lines += ["[[auth.tokens]]", f'name = "{name}"', f'role = "{role}"',
                  f'sha256 = "{digest}"', ""]
    lines.append(extra)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


class Daemon:
    """A filingd process on 127.0.0.1:<free port> with its own temp data dir and config."""

    def __init__(self, *, tokens=None, limits=None, listen="127.0.0.1:0", threads=None,
                 extra_config="", kafka_mode="off"):
        self._tmp = tempfile.TemporaryDirectory(prefix="filingd-bb-")
        self.dir = self._tmp.name
        self.data_dir = os.path.join(self.dir, "data")
        self.config = os.path.join(self.dir, "filingd.toml")
        self.listen = listen
        write_config(self.config, tokens=tokens, limits=limits, threads=threads,
                     extra=extra_config, kafka_mode=kafka_mode)
        self.proc = None
        self.port = None
        self._out = bytearray()
        self._out_lock = threading.Lock()
        self._drain = None

    # -- lifecycle --

    def argv(self):
        # FILINGD_WRAPPER runs the daemon under a tool, e.g. "valgrind --error-exitcode=99".
        wrapper = os.environ.get("FILINGD_WRAPPER", "").split()
        return wrapper + [filingd_bin(), "--listen", self.listen, "--data-dir", self.data_dir,
                          "--config", self.config]

    def start(self, timeout=START_TIMEOUT):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        with self._out_lock:
            self._out = bytearray()
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        seen = bytearray()
        while True:
            m = _LISTENING.search(seen)
            if m:
                self.port = int(m.group(2))
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._abort()
                raise DaemonError(f"no 'listening on' line within {timeout}s:\n{seen.decode(errors='replace')}")
            readable, _, _ = select.select([fd], [], [], remaining)
            if not readable:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                rc = self.proc.wait(timeout=STOP_TIMEOUT)
                self.proc.stdout.close()
                raise DaemonError(f"filingd exited with {rc} before listening:\n"
                                  f"{seen.decode(errors='replace')}")
            seen += chunk
        with self._out_lock:
            self._out += seen
        # Keep draining the log so the daemon never blocks on a full pipe.
        self._drain = threading.Thread(target=self._drain_loop, args=(fd,), daemon=True)
        self._drain.start()
        return self

    def _drain_loop(self, fd):
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self._out_lock:
                self._out += chunk

    def output(self):
        with self._out_lock:
            return bytes(self._out).decode("utf-8", errors="replace")

    def _finish(self):
        if self._drain is not None:
            self._drain.join(timeout=STOP_TIMEOUT)
            self._drain = None
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()

    def _abort(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT)
        self._finish()

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM; returns (exit code, full log)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._abort()
            raise DaemonError(f"filingd did not exit within {timeout}s of SIGTERM:\n{self.output()}")
        self._finish()
        return rc, self.output()

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        rc = self.proc.wait(timeout=STOP_TIMEOUT)
        self._finish()
        return rc

    def assert_stops_cleanly(self, test):
        rc, out = self.stop()
        test.assertEqual(rc, 0, f"filingd exit code after SIGTERM:\n{out}")
        test.assertIn("stopped cleanly", out)

    def cleanup(self):
        self._abort()
        self._tmp.cleanup()

    # -- HTTP --

    def client(self, token=None, timeout=15.0):
        return Client(self.port, token=token, timeout=timeout)

    def connect_raw(self, timeout=10.0):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s


def run_to_exit(argv, timeout=START_TIMEOUT):
    """Runs a process that is expected to exit on its own: (exit code, output)."""
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", errors="replace")


# ---- test base -------------------------------------------------------------------------------


class DaemonTestCase(unittest.TestCase):
    """One daemon per test class (setUpClass), stopped with SIGTERM in tearDownClass, which
    asserts a clean exit. Subclasses set `daemon_options`."""

    daemon_options = {}
    token = None

    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(**cls.daemon_options)
        try:
            cls.daemon.start()
        except BaseException:
            cls.daemon.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            rc, out = cls.daemon.stop()
            if rc != 0 or "stopped cleanly" not in out:
                raise AssertionError(f"filingd did not stop cleanly (exit {rc}):\n{out[-4000:]}")
        finally:
            cls.daemon.cleanup()

    def setUp(self):
        self.c = self.daemon.client(token=self.token)

    def tearDown(self):
        self.c.close()

    # -- assertions --

    def assertError(self, r, status, field=None, error=None):
        """An error response: the status, a JSON body with "error" and "message", and the field
        named when `field` is given."""
        self.assertEqual(r.status, status, r)
        self.assertIsNotNone(r.json, f"error body is not JSON: {r}")
        self.assertIsInstance(r.json.get("error"), str, r)
        self.assertIsInstance(r.json.get("message"), str, r)
        self.assertTrue(r.json["message"], r)
        if field is not None:
            self.assertEqual(r.json.get("field"), field, r)
        if error is not None:
            self.assertEqual(r.json["error"], error, r)
        return r.json

    # -- API helpers --

    def head_seq(self):
        r = self.c.get("/v1/ledger/head")
        self.assertEqual(r.status, 200, r)
        return r.json["seq"]

    def status(self, fid):
        r = self.c.get(f"/v1/filings/{fid}")
        self.assertEqual(r.status, 200, r)
        return r.json

    def submit(self, body, expect=201):
        r = self.c.post("/v1/filings", body)
        self.assertEqual(r.status, expect, r)
        return r.json

    def event(self, fid, etype, data=None, expect=201, **envelope):
        body = {"type": etype, "actor": envelope.pop("actor", "ops-1")}
        if data is not None:
            body["data"] = data
        body.update(envelope)
        r = self.c.post(f"/v1/filings/{fid}/events", body)
        self.assertEqual(r.status, expect, f"{etype} on {fid}: {r}")
        return r.json

    def drive(self, fid, to):
        """From provider_review up to `to` (ready_for_bureau, sms_pending or bureau_review)."""
        r = self.event(fid, "initial_review_approved", {"reviewer": "rev-1"})
        self.assertEqual(r["state"], "provider_review")
        r = self.event(fid, "photo_approved", {"method": "photo"})
        self.assertEqual(r["state"], "ready_for_bureau")
        if to == "ready_for_bureau":
            return r
        r = self.event(fid, "submitted_to_bureau")
        if to == "bureau_review" and r["state"] == "bureau_review":  # cancel_access: no SMS
            return r
        self.assertEqual(r["state"], "sms_pending")
        if to == "sms_pending":
            return r
        r = self.event(fid, "sms_confirmed")
        self.assertEqual(r["state"], "bureau_review")
        return r

    def approved_first_filing(self, n=None, sites=1, province="京"):
        """A first filing run to approval: (filing_id, subject number, [website numbers],
        subject n, [domain lists])."""
        n = unique() if n is None else n
        fid = f"FF-{n}"
        webs = [website(n) if i == 0 else
                website(n, domains=[f"s{i}-site{n}.cn", f"www.s{i}-site{n}.cn"])
                for i in range(sites)]
        self.submit(new_filing(n, filing_id=fid, province=province, websites=webs))
        self.drive(fid, "bureau_review")
        number = subject_number(n, province)
        site_numbers = [f"{number}-{i + 1}" for i in range(sites)]
        r = self.event(fid, "bureau_approved", {
            "subject_record_number": number,
            "websites": [{"domain": w["domains"][0], "record_number": sn}
                         for w, sn in zip(webs, site_numbers)]})
        self.assertEqual(r["state"], "approved")
        return fid, number, site_numbers, n, [w["domains"] for w in webs]

    def record(self, number, expect=200):
        r = self.c.get(f"/v1/records/{quote(number)}")
        self.assertEqual(r.status, expect, r)
        return r.json
