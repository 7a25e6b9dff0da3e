"""Hostile clients against a running filingd, and a well-behaved client measuring it meanwhile
(issue 7, item 5). Standard library only. Used by test_hostile.py and bench/hostile/run.

Every attack runs in a process of its own (`python3 hostile.py attack NAME PORT SECONDS SEED
PARAMS_JSON`), so its CPU and the GIL do not slow the well-behaved client, which runs as threads
of the caller. The attacker prints "READY <seconds of set-up>" once the attack is in place
(e.g. all idle connections open), keeps it up for SECONDS, and prints one JSON line of figures.

Attacks:
  slowloris     many connections, each sending an endless request header one byte at a time
  big_headers   headers far over the 16 KiB limit (one huge field; thousands of small fields)
  big_bodies    a 1 GiB Content-Length; a chunked body streaming past the limit; a body one
                byte over the limit sent in full
  slow_bodies   connections that send a body of the limit's size but its last byte, and hold
  idle          10,000 connections that connect and send nothing
  garbage       random bytes (and random bytes after a valid request line), then EOF
  pipeline      pipelined floods: connections sending batches of requests and checking every
                answer in order, and connections that flood without ever reading

The well-behaved client (GoodClient): three threads, each in a closed loop, every answer
checked: keep-alive GET /v1/filings/{id} (200, the right filing), keep-alive POSTs (a new
filing, 201, then a photo_rejected on it with expected_version, 201), and a GET
/v1/ledger/head on a new connection each time (what a client without keep-alive does).

Synchronisation rule as in harness.py: no sleeps. The attacks pace themselves against the
monotonic clock with selectors/socket timeouts; the caller waits for READY with select() under
a deadline and for the attacker's exit with Popen.wait(timeout).
"""

import http.client
import json
import os
import random
import resource
import select
import selectors
import socket
import subprocess
import sys
import threading
import time

from harness import new_filing, unique

HEADER_LIMIT = 16 * 1024  # the daemon's header limit (daemon/http_server.cpp kHeaderLimit)
READY_TIMEOUT = 120.0  # seconds for an attacker to set its attack up
GOOD_TIMEOUT = 10.0  # a well-behaved request slower than this counts as failed


# ---- process helpers ---------------------------------------------------------------------------

def raise_fd_limit():
    """Soft RLIMIT_NOFILE up to the hard limit; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def proc_memory(pid):
    """{'VmRSS': KiB, 'VmHWM': KiB} of a process, from /proc/PID/status."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def reset_peak(pid):
    """Resets VmHWM to the current RSS (Linux >= 4.0, "5" > /proc/PID/clear_refs)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


class RssSampler:
    """Samples a process's VmRSS every 20 ms and keeps the maximum; with a reset VmHWM the
    peak is exact (the kernel's own high-water mark), else the sampled maximum. Counts its open
    descriptors every 0.25 s (listing 10,000 of them is not free) and keeps the maximum."""

    def __init__(self, pid):
        self.pid = pid
        self.stop_event = threading.Event()
        self.max_rss = 0
        self.max_fds = fd_count(pid)
        self.hwm_reset = reset_peak(pid)
        self.start_rss = proc_memory(pid)["VmRSS"]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        i = 0
        while True:
            try:
                self.max_rss = max(self.max_rss, proc_memory(self.pid)["VmRSS"])
                if i % 12 == 0:
                    self.max_fds = max(self.max_fds, fd_count(self.pid))
            except OSError:
                return
            i += 1
            if self.stop_event.wait(0.02):
                return

    def stop(self):
        self.stop_event.set()
        self.thread.join(timeout=10)
        m = proc_memory(self.pid)
        peak = max(self.max_rss, m["VmRSS"])
        if self.hwm_reset:
            peak = max(peak, m["VmHWM"])
        return {"start_kib": self.start_rss, "peak_kib": peak, "end_kib": m["VmRSS"],
                "hwm_kib": m["VmHWM"], "exact_peak": self.hwm_reset, "fds_peak": self.max_fds}


def percentile(values, q):
    """Nearest-rank percentile of `values` (q in 0..100), None if empty."""
    if not values:
        return None
    s = sorted(values)
    rank = max(1, -(-len(s) * q // 100))
    return s[int(rank) - 1]


# ---- the well-behaved client -------------------------------------------------------------------

class GoodClient:
    """Three closed-loop threads; every answer is checked. Latencies in seconds per kind."""

    KINDS = ("get", "post", "fresh")

    def __init__(self, port, filing_ids):
        assert filing_ids, "GoodClient needs existing filings to read"
        self.port = port
        self.ids = list(filing_ids)
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.latencies = {k: [] for k in self.KINDS}
        self.errors = []
        self.threads = [threading.Thread(target=getattr(self, f"_{k}_loop"), daemon=True)
                        for k in self.KINDS]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=GOOD_TIMEOUT * 3)
            if t.is_alive():
                self.errors.append(("hung", "a well-behaved client thread did not finish"))
        return self

    def _conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=GOOD_TIMEOUT)

    def _call(self, kind, conn, method, path, body=None, check=None):
        """One request; returns the parsed JSON or None after recording an error."""
        payload = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        headers = {} if body is None else {"Content-Type": "application/json"}
        t0 = time.monotonic()
        try:
            conn.request(method, path, body=payload, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            with self.lock:
                self.errors.append((kind, f"{method} {path}: {type(e).__name__}: {e}"))
            return None
        elapsed = time.monotonic() - t0
        try:
            doc = json.loads(data)
            problem = check(resp.status, doc)
        except ValueError as e:
            problem = f"bad JSON ({e}): {data[:200]!r}"
        with self.lock:
            if problem:
                self.errors.append((kind, f"{method} {path}: {resp.status} {problem}"))
                return None
            self.latencies[kind].append(elapsed)
        return doc

    def _get_loop(self):
        conn = self._conn()
        i = 0
        while not self.stop_event.is_set():
            fid = self.ids[i % len(self.ids)]
            i += 1
            self._call("get", conn, "GET", f"/v1/filings/{fid}",
                       check=lambda st, d, fid=fid: None if st == 200 and d.get("filing_id") == fid
                       else f"expected 200 with filing {fid}: {d}")
        conn.close()

    def _post_loop(self):
        conn = self._conn()
        while not self.stop_event.is_set():
            n = unique()
            fid = f"GOOD-{os.getpid()}-{n}"
            doc = self._call("post", conn, "POST", "/v1/filings", new_filing(n, filing_id=fid),
                             check=lambda st, d: None if st == 201 and d.get("version") == 1
                             else f"expected 201 version 1: {d}")
            if doc is None or self.stop_event.is_set():
                continue
            body = {"type": "photo_rejected", "actor": "good", "expected_version": 1,
                    "data": {"method": "photo", "reason": "照片模糊"}}
            self._call("post", conn, "POST", f"/v1/filings/{fid}/events", body,
                       check=lambda st, d: None if st == 201 and d.get("version") == 2
                       and d.get("state") == "provider_review" else f"expected 201 v2: {d}")
        conn.close()

    def _fresh_loop(self):
        while not self.stop_event.is_set():
            conn = self._conn()
            self._call("fresh", conn, "GET", "/v1/ledger/head",
                       check=lambda st, d: None if st == 200 and isinstance(d.get("seq"), int)
                       else f"expected 200 with a head: {d}")
            conn.close()

    def summary(self):
        with self.lock:
            lat = {k: list(v) for k, v in self.latencies.items()}
            errors = list(self.errors)
        reads = lat["get"] + lat["fresh"]
        out = {"served": sum(len(v) for v in lat.values()), "errors": errors,
               "by_kind": {k: len(v) for k, v in lat.items()}}
        for name, values in (("get", reads), ("post", lat["post"])):
            out[f"{name}_p50_ms"] = None if not values else 1000 * percentile(values, 50)
            out[f"{name}_p99_ms"] = None if not values else 1000 * percentile(values, 99)
            out[f"{name}_n"] = len(values)
        return out


# ---- running an attack under measurement -------------------------------------------------------

def start_attack(name, port, seconds, seed, params=None):
    """Starts an attacker process; returns (Popen, seconds it took to set up)."""
    argv = [sys.executable, os.path.abspath(__file__), "attack", name, str(port), str(seconds),
            str(seed), json.dumps(params or {})]
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    fd = p.stdout.fileno()
    deadline = time.monotonic() + READY_TIMEOUT
    seen = b""
    while b"\n" not in seen:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            p.kill()
            p.wait()
            raise AssertionError(f"attacker {name} not ready within {READY_TIMEOUT}s")
        readable, _, _ = select.select([fd], [], [], remaining)
        if readable:
            chunk = os.read(fd, 4096)
            if not chunk:
                err = p.stderr.read().decode(errors="replace")
                p.wait()
                raise AssertionError(f"attacker {name} exited before READY: {seen!r} {err}")
            seen += chunk
    line, _, rest = seen.partition(b"\n")
    if not line.startswith(b"READY"):
        p.kill()
        raise AssertionError(f"attacker {name}: {line!r}")
    p._hostile_rest = rest  # the start of the figures line, if it came along
    return p, float(line.split()[1])


def finish_attack(p, seconds):
    """Waits for an attacker to end (bounded) and returns its figures."""
    try:
        out, err = p.communicate(timeout=seconds + 120)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise AssertionError("attacker did not finish in time")
    out = p._hostile_rest + out
    if p.returncode != 0:
        raise AssertionError(f"attacker failed (exit {p.returncode}): {err.decode(errors='replace')}")
    return json.loads(out.decode().strip().splitlines()[-1])


def measure(port, pid, attack, seconds, seed, filing_ids, params=None):
    """Runs `attack` ("none": a baseline window of `seconds`) while a GoodClient measures and
    the daemon's RSS is sampled. Returns a dict of figures."""
    rss = RssSampler(pid)
    fds_before = fd_count(pid)
    good = GoodClient(port, filing_ids).start()
    t0 = time.monotonic()
    setup, figures = 0.0, {}
    try:
        if attack == "none":
            good.stop_event.wait(seconds)  # the measurement window
        else:
            p, setup = start_attack(attack, port, seconds, seed, params)
            figures = finish_attack(p, seconds)
    finally:
        good.stop()
        elapsed = time.monotonic() - t0
        memory = rss.stop()
    out = good.summary()
    out.update({"attack": attack, "seconds": elapsed, "setup_s": setup, "attacker": figures,
                "rss": memory, "fds_before": fds_before, "fds_peak": memory["fds_peak"],
                "served_per_s": out["served"] / elapsed if elapsed else 0})
    return out


# ---- the attacks (run in the attacker process) --------------------------------------------------

class Attack:
    def __init__(self, port, seconds, seed, params):
        self.port = port
        self.seconds = seconds
        self.rng = random.Random(seed)
        self.params = params
        self.stats = {}
        self.lock = threading.Lock()

    def count(self, key, n=1):
        with self.lock:
            self.stats[key] = self.stats.get(key, 0) + n

    def connect(self, timeout=10.0):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def ready(self, setup_started):
        print(f"READY {time.monotonic() - setup_started:.3f}", flush=True)
        self.deadline = time.monotonic() + self.seconds

    def read_status(self, s, timeout=10.0):
        """The status of the response on s, or None if the server closed or reset first."""
        s.settimeout(timeout)
        buf = b""
        try:
            while b"\r\n" not in buf:
                chunk = s.recv(4096)
                if not chunk:
                    return None
                buf += chunk
        except (ConnectionResetError, BrokenPipeError):
            return None
        return int(buf.split(b" ", 2)[1])

    def threads(self, n, fn):
        ts = [threading.Thread(target=fn, args=(random.Random(self.rng.random()),), daemon=True)
              for _ in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()


def hold(a, socks, classify):
    """Holds `socks` until the attack's deadline. Whatever a socket then reads (b"" when the
    server closed it) goes to classify(data) -> (counter name, done); a done socket is no longer
    watched. Sets stats["open_at_end"]."""
    sel = selectors.DefaultSelector()
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    open_count = len(socks)
    while open_count and time.monotonic() < a.deadline:
        for key, _ in sel.select(max(0.0, a.deadline - time.monotonic())):
            try:
                data = key.fileobj.recv(4096)
            except OSError:
                data = b""
            name, done = classify(data)
            a.count(name)
            if done:
                sel.unregister(key.fileobj)
                open_count -= 1
    a.stats["open_at_end"] = open_count


def attack_slowloris(a):
    """`conns` connections each send one byte of an endless header every `byte_interval`
    seconds; a connection the server closes is replaced by a new one."""
    conns = int(a.params.get("conns", 1000))
    interval = float(a.params.get("byte_interval", 0.5))
    header = b"GET /v1/ledger/head HTTP/1.1\r\nHost: x\r\n" + b"".join(
        b"X-Slow-%d: %d\r\n" % (i, i) for i in range(100000))
    sel = selectors.DefaultSelector()
    state = {}  # socket -> [bytes sent, opened at]
    lifetimes = []

    def open_one():
        try:
            s = a.connect()
        except OSError:
            a.count("connect_failed")
            return
        s.setblocking(False)
        state[s] = [0, time.monotonic()]
        sel.register(s, selectors.EVENT_READ)
        a.count("opened")

    def closed(s, answered):
        lifetimes.append(time.monotonic() - state[s][1])
        a.count("cut_by_server")
        if answered:
            a.count("answered_408" if answered.startswith(b"HTTP/1.1 408") else "answered_other")
        sel.unregister(s)
        del state[s]
        s.close()

    started = time.monotonic()
    for _ in range(conns):
        open_one()
    a.ready(started)
    next_tick = time.monotonic()
    while time.monotonic() < a.deadline:
        for s in list(state):
            pos = state[s][0]
            try:
                s.send(header[pos:pos + 1])
                state[s][0] += 1
                a.count("bytes_sent")
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                closed(s, b"")
        next_tick += interval
        while True:
            timeout = min(next_tick, a.deadline) - time.monotonic()
            if timeout <= 0:
                break
            for key, _ in sel.select(timeout):
                s = key.fileobj
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                closed(s, data)
        while len(state) < conns and time.monotonic() < a.deadline:
            open_one()
    a.stats["open_at_end"] = len(state)
    if lifetimes:
        lifetimes.sort()
        a.stats["cut_after_s_min"] = round(lifetimes[0], 3)
        a.stats["cut_after_s_median"] = round(lifetimes[len(lifetimes) // 2], 3)
        a.stats["cut_after_s_max"] = round(lifetimes[-1], 3)
    for s in state:
        s.close()


def attack_big_headers(a):
    """`threads` loops: one 64 KiB header field, or 5,000 small fields; expect 431."""
    nthreads = int(a.params.get("threads", 4))
    huge = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * (64 * 1024) + b"\r\n\r\n"
    many = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(
        b"X-F%d: v\r\n" % i for i in range(5000)) + b"\r\n"
    a.ready(time.monotonic())

    def loop(rng):
        while time.monotonic() < a.deadline:
            req = huge if rng.random() < 0.5 else many
            try:
                s = a.connect()
            except OSError:
                a.count("connect_failed")
                continue
            try:
                try:
                    s.sendall(req)
                except OSError:
                    pass  # the server may answer and close before taking it all
                st = a.read_status(s)
                a.count(f"status_{st}" if st else "closed_without_answer")
            finally:
                s.close()

    a.threads(nthreads, loop)


def attack_big_bodies(a):
    """`threads` loops over: Content-Length 1 GiB then bytes; a chunked body past the limit;
    a body of limit + 1 bytes sent whole. Expect 413."""
    nthreads = int(a.params.get("threads", 4))
    limit = int(a.params.get("max_body_bytes", 1048576))
    over = b"x" * (limit + 1)
    whole = (b"POST /v1/filings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             b"Content-Length: %d\r\n\r\n" % len(over)) + over
    chunk = b"%x\r\n" % 65536 + b"y" * 65536 + b"\r\n"
    a.ready(time.monotonic())

    def loop(rng):
        while time.monotonic() < a.deadline:
            kind = rng.choice(("gib", "chunked", "whole"))
            try:
                s = a.connect()
            except OSError:
                a.count("connect_failed")
                continue
            try:
                try:
                    if kind == "gib":
                        s.sendall(b"POST /v1/filings HTTP/1.1\r\nHost: x\r\n"
                                  b"Content-Length: 1073741824\r\n\r\n" + b"z" * 65536)
                    elif kind == "chunked":
                        s.sendall(b"POST /v1/filings HTTP/1.1\r\nHost: x\r\n"
                                  b"Transfer-Encoding: chunked\r\n\r\n")
                        for _ in range(limit // 65536 + 4):
                            s.sendall(chunk)
                    else:
                        s.sendall(whole)
                except OSError:
                    pass  # answered and closed while we were still sending
                st = a.read_status(s)
                a.count(f"{kind}_status_{st}" if st else f"{kind}_closed_without_answer")
            finally:
                s.close()

    a.threads(nthreads, loop)


def attack_slow_bodies(a):
    """`conns` connections each declare a `body_bytes` body (default the 1 MiB limit), send all
    of it but the last byte, and hold: the daemon buffers what it received until the read
    timeout. Shows the memory a body costs while it arrives."""
    conns = int(a.params.get("conns", 100))
    size = int(a.params.get("body_bytes", 1048576))
    head = (b"POST /v1/filings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % size)
    body = b" " * (size - 1)
    started = time.monotonic()
    socks = []
    for _ in range(conns):
        try:
            s = a.connect(timeout=30)
            s.sendall(head + body)
            socks.append(s)
        except OSError as e:
            a.count(f"failed_{type(e).__name__}")
    a.stats["holding"] = len(socks)
    a.stats["bytes_sent"] = len(socks) * (len(head) + len(body))
    a.ready(started)
    wait_read_by_server(a, socks)
    hold(a, socks, lambda data: ("answered_408" if data.startswith(b"HTTP/1.1 408") else
                                 "closed_by_server" if not data else "answered_other", True))
    for s in socks:
        s.close()


def unread_by_server(port, client_ports):
    """(bytes, sockets): what the kernel holds for the server's ends of our connections that
    the server has not read yet (the rx_queue column of /proc/net/tcp, hex "tx_queue:rx_queue"),
    and how many of those ends are still open."""
    unread = ends = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, remote, state = fields[1], fields[2], fields[3]
            # Established only: a TIME_WAIT end of an earlier connection may share a port.
            if (state == "01" and int(local.split(":")[1], 16) == port
                    and int(remote.split(":")[1], 16) in client_ports):
                unread += int(fields[4].split(":")[1], 16)
                ends += 1
    return unread, ends


def wait_read_by_server(a, socks):
    """Waits (bounded by the attack's deadline) until the server has read every byte we sent
    it, i.e. holds it in its own memory. Sets stats["bytes_unread_by_server"] and, counted at
    that moment, stats["server_ends_open"]. Allocator-proof, unlike the RSS, which reuses
    memory freed earlier."""
    ports = {s.getsockname()[1] for s in socks}
    poll = threading.Event()
    unread, ends = unread_by_server(a.port, ports)
    while unread and time.monotonic() < a.deadline:
        poll.wait(0.05)
        unread, ends = unread_by_server(a.port, ports)
    a.stats["bytes_unread_by_server"] = unread
    a.stats["server_ends_open"] = ends


def attack_idle(a):
    """`conns` connections that send nothing, held for the attack's duration. Counts the ones
    the server closed meanwhile (idle timeout, or evicted to admit new connections)."""
    conns = int(a.params.get("conns", 10000))
    started = time.monotonic()
    socks = []
    for _ in range(conns):
        try:
            socks.append(a.connect(timeout=30))
        except OSError as e:
            a.count(f"connect_failed_{type(e).__name__}")
    a.stats["opened"] = len(socks)
    a.ready(started)
    hold(a, socks, lambda data: ("unexpected_bytes", False) if data else
                   ("closed_by_server", True))
    for s in socks:
        s.close()


def attack_garbage(a):
    """`threads` loops: random bytes (or a valid request line then random bytes), EOF, then
    read whatever comes back until the server closes."""
    nthreads = int(a.params.get("threads", 4))
    a.ready(time.monotonic())

    def loop(rng):
        while time.monotonic() < a.deadline:
            junk = rng.randbytes(rng.randint(1, 8192))
            if rng.random() < 0.3:
                junk = b"POST /v1/filings HTTP/1.1\r\n" + junk
            try:
                s = a.connect()
            except OSError:
                a.count("connect_failed")
                continue
            try:
                try:
                    s.sendall(junk)
                    s.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                st = a.read_status(s)
                a.count(f"status_{st}" if st else "closed_without_answer")
            except socket.timeout:
                a.count("no_close_within_10s")
            finally:
                s.close()

    a.threads(nthreads, loop)


PIPELINE_BATCH = [
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 200),
    (b"GET /v1/ledger/head HTTP/1.1\r\nHost: x\r\n\r\n", 200),
    (b"GET /v1/filings/none-such HTTP/1.1\r\nHost: x\r\n\r\n", 404),
    (b"POST /v1/filings HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n{", 400),
]


def attack_pipeline(a):
    """`readers` connections send `batch` pipelined requests at a time and check every answer
    in order; `floods` connections write pipelined requests and never read."""
    readers = int(a.params.get("readers", 4))
    floods = int(a.params.get("floods", 4))
    batch = int(a.params.get("batch", 256))
    reqs = [PIPELINE_BATCH[i % len(PIPELINE_BATCH)] for i in range(batch)]
    payload = b"".join(r for r, _ in reqs)
    flood_block = b"".join(r for r, _ in PIPELINE_BATCH) * 256
    a.ready(time.monotonic())

    def reader(rng):
        s = None
        while time.monotonic() < a.deadline:
            try:
                if s is None:
                    s = a.connect()
                s.sendall(payload)
                buf = b""
                for _, expect in reqs:
                    st, buf = read_one(s, buf)
                    if st != expect:
                        a.count("wrong_answers")
                        raise OSError(f"expected {expect}, got {st}")
                    a.count("answered_in_order")
            except OSError:
                a.count("reader_reconnects")
                if s is not None:
                    s.close()
                s = None
        if s is not None:
            s.close()

    def flood(rng):
        s = a.connect()
        s.settimeout(0.2)
        sent = 0
        while time.monotonic() < a.deadline:
            try:
                sent += s.send(flood_block)
            except socket.timeout:
                continue  # blocked: the server stopped reading us (backpressure)
            except OSError:
                a.count("flood_closed_by_server")
                s.close()
                s = a.connect()
                s.settimeout(0.2)
        a.count("flood_bytes_sent", sent)
        s.close()

    ts = ([threading.Thread(target=reader, args=(None,), daemon=True) for _ in range(readers)]
          + [threading.Thread(target=flood, args=(None,), daemon=True) for _ in range(floods)])
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def read_one(s, buf):
    """One response from s (with `buf` already received): (status, bytes past it)."""
    s.settimeout(30)
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise OSError("closed")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            raise OSError("closed in a body")
        rest += chunk
    return status, rest[length:]


ATTACKS = {"slowloris": attack_slowloris, "big_headers": attack_big_headers,
           "big_bodies": attack_big_bodies, "slow_bodies": attack_slow_bodies,
           "idle": attack_idle, "garbage": attack_garbage, "pipeline": attack_pipeline}


def main(argv):
    if len(argv) != 7 or argv[1] != "attack" or argv[2] not in ATTACKS:
        print(f"usage: hostile.py attack {{{'|'.join(ATTACKS)}}} PORT SECONDS SEED PARAMS_JSON",
              file=sys.stderr)
        return 2
    raise_fd_limit()
    a = Attack(int(argv[3]), float(argv[4]), int(argv[5]), json.loads(argv[6]))
    ATTACKS[argv[2]](a)
    print(json.dumps(a.stats, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
