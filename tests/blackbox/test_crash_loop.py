"""Crash loop (issue 7, item 3; SPEC §2.1, §4): round after round of kill -9 at a random moment
under concurrent HTTP load. After every crash:

- `filingctl verify` passes on the data directory exactly as the crash left it, and again after
  the restart (hash chain, seq and version continuity, stream and idempotency indexes, and the
  projections' digest equal to a fresh replay of the log);
- the global log is gapless and chained, and holds every acknowledged event (every 201) at the
  seq, version and event_id the daemon answered with;
- the log holds nothing that was not sent: each event is an acknowledged one or one that was in
  flight at the kill;
- re-sending each in-flight request with its event_id answers 200 with the logged result if the
  event was written, 201 if it was not (idempotency entries are as durable as the events);
- every filing's status (the projections as served) equals the state and version the client's
  own model of its acknowledged events predicts.

At the end the daemon stops cleanly, `filingctl rebuild-projections` rebuilds the projections
from the log, and a restarted daemon serves exactly the same statuses and deadlines.

Load: WORKERS threads, each with its own keep-alive connection, submit new filings and append
follow-up events (with expected_version and a client event_id) to filings they own, along
scripted paths through approval, return and resubmission, and withdrawal.

The kill moment: each round draws from a seeded RNG the number of acknowledged appends (0 to
MAX_ACKS_PER_ROUND) after which SIGKILL is sent, while every worker still has requests going.
The main thread waits for that count on a condition variable, bounded by LOAD_TIMEOUT. In about
a third of the rounds the restarted daemon is also killed once during its start (RocksDB
recovery, projection checks, timer catch-up), at a random moment between its spawn and the time
the previous start took to log "listening", before the real restart.

Environment: FILINGD_CRASH_ROUNDS (default 20), FILINGD_CRASH_SEED (default: random, printed),
FILINGCTL_BIN (CTest sets it; default build/replay/filingctl).
"""

import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from harness import (Daemon, all_events, filing_fields, filingctl_bin, new_filing, subject_number,
                     unique)

ROUNDS = int(os.environ.get("FILINGD_CRASH_ROUNDS", "20"))
SEED = int(os.environ.get("FILINGD_CRASH_SEED") or random.SystemRandom().randrange(2**32))
WORKERS = 6
MAX_ACKS_PER_ROUND = 1000
NEW_FILING_SHARE = 0.35  # of the operations; the rest are follow-ups while any are pending
LOAD_TIMEOUT = 60.0  # seconds for a round's acknowledged appends to arrive
JOIN_TIMEOUT = 60.0  # seconds for the workers to notice the kill (their socket timeout is 30)
VERIFY_TIMEOUT = 120.0
START_KILL_SHARE = 0.3  # of the rounds


# ---- filing paths: (event type, data or None, state after it) ---------------------------------

def approval_path(n):
    number = subject_number(n)
    return [
        ("initial_review_approved", {"reviewer": "rev-1"}, "provider_review"),
        ("photo_approved", {"method": "photo"}, "ready_for_bureau"),
        ("submitted_to_bureau", None, "sms_pending"),
        ("sms_attempt_failed", None, "sms_pending"),
        ("sms_confirmed", None, "bureau_review"),
        ("bureau_approved", {"subject_record_number": number,
                             "websites": [{"domain": f"site{n}.cn",
                                           "record_number": number + "-1"}]}, "approved"),
        ("record_cancelled", {"record_number": number + "-1", "reason": "网站关闭"}, "approved"),
    ]


def return_path(n):
    return [
        ("photo_rejected", {"method": "photo", "reason": "照片模糊"}, "provider_review"),
        ("initial_review_rejected", {"reason_code": "website_name", "reason": "网站名称不符合要求"},
         "returned"),
        ("filing_submitted", filing_fields(n), "provider_review"),
        ("photo_approved", {"method": "video"}, "provider_review"),
        ("initial_review_approved", {"reviewer": "rev-2"}, "ready_for_bureau"),
        ("submitted_to_bureau", None, "sms_pending"),
        ("sms_confirmed", None, "bureau_review"),
        ("bureau_rejected", {"reason_code": "subject_info", "reason": "主体信息有误"}, "returned"),
        ("filing_withdrawn", {"reason": "不再备案"}, "withdrawn"),
    ]


def withdrawal_path(n):
    return [("filing_withdrawn", {"reason": "不想备案了"}, "withdrawn")]


PATHS = (approval_path, approval_path, return_path, withdrawal_path)


class Filing:
    """The client's model of one filing: what its acknowledged events imply."""

    def __init__(self, n, path):
        self.n = n
        self.fid = f"CL-{n}"
        self.steps = path(n)
        self.done = 0  # follow-ups acknowledged
        self.version = 0
        self.state = None

    def pending(self):
        return self.done < len(self.steps)


class Op:
    """One append request, re-sendable byte for byte."""

    def __init__(self, worker, filing, path, body, expect_state, follow_up):
        self.worker = worker
        self.filing = filing
        self.path = path
        self.body = body
        self.event_id = body["event_id"]
        self.expect_state = expect_state
        self.expect_version = filing.version + 1
        self.follow_up = follow_up
        self.payload = json.dumps(body, ensure_ascii=False).encode("utf-8")

    def type(self):
        return self.body.get("type", "filing_submitted")


def next_op(rng, owned, worker):
    pending = [f for f in owned if f.pending()]
    if pending and rng.random() >= NEW_FILING_SHARE:
        f = rng.choice(pending)
        etype, data, expect = f.steps[f.done]
        body = {"type": etype, "actor": "crash-loop", "expected_version": f.version,
                "event_id": f"{f.fid}-v{f.version + 1}"}
        if data is not None:
            body["data"] = data
        return Op(worker, f, f"/v1/filings/{f.fid}/events", body, expect, True)
    n = unique()
    f = Filing(n, rng.choice(PATHS))
    body = new_filing(n, filing_id=f.fid, actor="crash-loop")
    body["event_id"] = f"{f.fid}-v1"
    return Op(worker, f, "/v1/filings", body, "provider_review", False)


def advance(op, owned, version, state):
    """Moves the model of op's filing on after an acknowledgement (by the filing's owner)."""
    f = op.filing
    if op.follow_up:
        f.done += 1
    else:
        owned.append(f)
    f.version, f.state = version, state


def send(conn, op):
    conn.request("POST", op.path, body=op.payload, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    return resp.status, resp.read()


class CrashLoop(unittest.TestCase):

    def setUp(self):
        self.daemon = Daemon()
        self.addCleanup(self.daemon.cleanup)
        self.filingctl = filingctl_bin()
        self.filings = {}  # fid -> Filing, every filing with an acknowledged submission
        self.acked = {}  # event_id -> (seq, filing_id, version, type)

    # -- the model --

    def record(self, op, seq, version, state):
        """Checks an acknowledged append against the model and records it (main thread)."""
        self.assertEqual((version, state), (op.expect_version, op.expect_state),
                         f"answer to {op.path} {op.body}")
        self.filings[op.filing.fid] = op.filing
        self.acked[op.event_id] = (seq, op.filing.fid, version, op.type())

    # -- one round of load --

    def load_until_kill(self, rnd, kill_after, owned):
        """Runs WORKERS threads against the daemon and kill -9s it once `kill_after` appends of
        this round are acknowledged. Returns (appends acknowledged in the round, the ops that
        were unanswered at the kill)."""
        port = self.daemon.port
        cond = threading.Condition()
        stop = threading.Event()
        acks = []  # (op, seq, version, state)
        errors, ended = [], []
        in_flight = [None] * WORKERS

        def worker(k):
            # Each worker owns owned[k] and its filings: it alone moves their models on.
            rng = random.Random(f"{SEED}/{rnd}/{k}")
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                while not stop.is_set():
                    op = next_op(rng, owned[k], k)
                    in_flight[k] = op
                    try:
                        status, data = send(conn, op)
                    except (OSError, http.client.HTTPException):
                        return  # the daemon died with `op` unanswered
                    if status != 201:
                        errors.append((op.path, op.body, status, data))
                        return
                    doc = json.loads(data)
                    in_flight[k] = None
                    advance(op, owned[k], doc["version"], doc["state"])
                    with cond:
                        acks.append((op, doc["seq"], doc["version"], doc["state"]))
                        cond.notify_all()
            finally:
                conn.close()
                with cond:
                    ended.append(k)
                    cond.notify_all()

        threads = [threading.Thread(target=worker, args=(k,), daemon=True)
                   for k in range(WORKERS)]
        for t in threads:
            t.start()
        with cond:
            cond.wait_for(lambda: len(acks) >= kill_after or errors or ended,
                          timeout=LOAD_TIMEOUT)
            count, failed, gone = len(acks), list(errors), list(ended)
        if failed or gone or count < kill_after:  # the daemon failed before the kill
            rc = self.daemon.kill9()
            stop.set()
            self.fail(f"round {rnd}: {count}/{kill_after} acknowledged, errors {failed[:3]}, "
                      f"workers ended {gone}, daemon exit code before the kill "
                      f"{rc if rc != -9 else 'none (was running)'}:\n"
                      f"{self.daemon.output()[-3000:]}")
        rc = self.daemon.kill9()  # while the workers are still posting
        stop.set()
        for t in threads:
            t.join(timeout=JOIN_TIMEOUT)
            self.assertFalse(t.is_alive(), f"round {rnd}: a worker hung after the kill")
        self.assertEqual(rc, -9)
        self.assertEqual(errors, [], f"round {rnd}: non-201 answers")
        for op, seq, version, state in acks:
            self.record(op, seq, version, state)
        return len(acks), [op for op in in_flight if op is not None]

    def kill_during_start(self, delay):
        """Spawns the daemon on the same data dir and kill -9s it `delay` seconds later (a
        random moment of its start; the process must not have exited by itself). True if it
        had logged "listening" by then."""
        with tempfile.TemporaryFile() as log:
            p = subprocess.Popen(self.daemon.argv(), stdin=subprocess.DEVNULL, stdout=log,
                                 stderr=subprocess.STDOUT)
            try:
                rc = p.wait(timeout=delay)  # the kill moment, not a synchronisation
                log.seek(0)
                self.fail(f"filingd exited with {rc} within {delay:.3f} s of its start:\n"
                          f"{log.read().decode(errors='replace')}")
            except subprocess.TimeoutExpired:
                p.kill()
            self.assertEqual(p.wait(timeout=30), -9)
            log.seek(0)
            return b"listening on" in log.read()

    def start_daemon(self):
        """Starts the daemon; returns how long it took to log "listening"."""
        t0 = time.monotonic()
        self.daemon.start()
        return time.monotonic() - t0

    # -- checks --

    def verify(self, when):
        p = subprocess.run([self.filingctl, "verify", "--data-dir", self.daemon.data_dir,
                            "--json"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=VERIFY_TIMEOUT)
        out = p.stdout.decode("utf-8", errors="replace")
        self.assertEqual(p.returncode, 0, f"filingctl verify {when}: exit {p.returncode}\n{out}\n"
                                          f"{p.stderr.decode(errors='replace')}")
        report = json.loads(out)
        self.assertTrue(report["ok"], f"verify {when}: {report}")
        self.assertEqual(report["problems"], [], f"verify {when}")
        self.assertIsNotNone(report["projections_digest"], f"verify {when}: projections unchecked")
        self.assertEqual(report["projections_digest"], report["rebuilt_digest"],
                         f"verify {when}: projections differ from a rebuild")
        self.assertEqual(report["events"], report["head"]["seq"], f"verify {when}")
        return report

    def all_statuses(self, c):
        statuses, cursor = {}, None
        while True:
            r = c.get("/v1/filings?limit=1000" + (f"&cursor={cursor}" if cursor else ""))
            self.assertEqual(r.status, 200, r)
            for s in r.json["items"]:
                statuses[s["filing_id"]] = s
            cursor = r.json["next_cursor"]
            if not cursor:
                return statuses

    def check_log(self, rnd, c, in_flight):
        """The log after a restart: gapless, chained, every ack in it, nothing unsent. Returns
        the event_ids of the log."""
        events = all_events(self, c)
        head = c.get("/v1/ledger/head").json
        self.assertEqual([e["seq"] for e in events], list(range(1, len(events) + 1)),
                         f"round {rnd}: the global log has a gap")
        prev = "0" * 64
        for e in events:
            self.assertEqual(e["prev_hash"], prev, f"round {rnd}: chain broken at {e['seq']}")
            prev = e["hash"]
        self.assertEqual(head["seq"], len(events))
        if events:
            self.assertEqual(head["hash"], events[-1]["hash"])
        by_seq = {e["seq"]: e for e in events}
        for event_id, (seq, fid, version, etype) in self.acked.items():
            e = by_seq.get(seq)
            self.assertIsNotNone(e, f"round {rnd}: acknowledged {event_id} (seq {seq}) is lost")
            self.assertEqual((e["event_id"], e["filing_id"], e["version"], e["type"]),
                             (event_id, fid, version, etype),
                             f"round {rnd}: seq {seq} is not the acknowledged event")
        sent = set(self.acked) | {op.event_id for op in in_flight}
        logged = {e["event_id"]: e for e in events}
        self.assertEqual(len(logged), len(events), f"round {rnd}: an event_id is logged twice")
        unsent = set(logged) - sent
        self.assertEqual(unsent, set(), f"round {rnd}: events nobody sent are in the log")
        return logged

    def resolve_in_flight(self, rnd, c, in_flight, logged, owned):
        """Re-sends each request that was unanswered at the kill, with its event_id: 200 and the
        logged result if it was written before the kill, else 201 (written now)."""
        written = 0
        for op in in_flight:
            r = c.post(op.path, op.payload)
            e = logged.get(op.event_id)
            if e is not None:
                written += 1
                self.assertEqual(r.status, 200, f"round {rnd}: retry of a logged event: {r}")
                self.assertEqual((r.json["seq"], r.json["version"]), (e["seq"], e["version"]), r)
            else:
                self.assertEqual(r.status, 201, f"round {rnd}: retry of an unlogged event: {r}")
            advance(op, owned[op.worker], r.json["version"], r.json["state"])
            self.record(op, r.json["seq"], r.json["version"], r.json["state"])
        return written

    def check_projections(self, rnd, c):
        statuses = self.all_statuses(c)
        self.assertEqual(set(statuses), set(self.filings),
                         f"round {rnd}: the listed filings differ from the acknowledged ones")
        for fid, f in self.filings.items():
            s = statuses[fid]
            self.assertEqual((s["state"], s["version"]), (f.state, f.version),
                             f"round {rnd}: status of {fid}")
        return statuses

    # -- the test --

    def test_crash_loop(self):
        rng = random.Random(SEED)
        print(f"\ncrash loop: {ROUNDS} rounds, seed {SEED} (FILINGD_CRASH_SEED={SEED} repeats "
              f"the kill points), {WORKERS} workers", file=sys.stderr, flush=True)
        started = time.monotonic()
        owned = [[] for _ in range(WORKERS)]
        start_time = self.start_daemon()
        totals = {"acked": 0, "in_flight": 0, "written": 0, "start_kills": 0,
                  "start_kills_before_listening": 0}
        for rnd in range(1, ROUNDS + 1):
            kill_after = rng.randint(0, MAX_ACKS_PER_ROUND)
            acked, in_flight = self.load_until_kill(rnd, kill_after, owned)
            # The data directory exactly as the crash left it.
            self.verify(f"after the kill of round {rnd}")
            start_kill = None
            if rng.random() < START_KILL_SHARE:
                start_kill = rng.uniform(0, start_time)
                listening = self.kill_during_start(start_kill)
                totals["start_kills"] += 1
                totals["start_kills_before_listening"] += not listening
                self.verify(f"after the kill during the start of round {rnd}")
            start_time = self.start_daemon()
            c = self.daemon.client()
            try:
                logged = self.check_log(rnd, c, in_flight)
                written = self.resolve_in_flight(rnd, c, in_flight, logged, owned)
                self.check_projections(rnd, c)
                head = c.get("/v1/ledger/head").json
                report = self.verify(f"after the restart of round {rnd}")
                self.assertEqual(report["head"], head, f"round {rnd}: verify saw another head")
                self.assertEqual(head["seq"], len(self.acked), f"round {rnd}")
            finally:
                c.close()
            totals["acked"] += acked
            totals["in_flight"] += len(in_flight)
            totals["written"] += written
            print(f"round {rnd:2}: kill after {kill_after:3} acks ({acked} acknowledged in the "
                  f"round), {len(in_flight)} in flight of which {written} written, "
                  + (f"killed again {start_kill * 1000:.0f} ms into the start "
                     f"({'after' if listening else 'before'} it listened), "
                     if start_kill is not None else "") + f"head "
                  f"{head['seq']}, {len(self.filings)} filings, "
                  f"{time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)

        # Projections equal a rebuild, as served: rebuild offline and compare every status.
        c = self.daemon.client()
        before = self.all_statuses(c)
        deadlines = c.get("/v1/deadlines?limit=10000").json
        c.close()
        self.daemon.assert_stops_cleanly(self)
        p = subprocess.run([self.filingctl, "rebuild-projections", "--data-dir",
                            self.daemon.data_dir], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=VERIFY_TIMEOUT)
        self.assertEqual(p.returncode, 0, p.stdout.decode(errors="replace"))
        self.daemon.start()
        c = self.daemon.client()
        try:
            self.assertEqual(self.all_statuses(c), before,
                             "statuses after an offline rebuild differ from the crash-recovered ones")
            self.assertEqual(c.get("/v1/deadlines?limit=10000").json, deadlines)
        finally:
            c.close()
        self.verify("after the final rebuild")
        self.daemon.assert_stops_cleanly(self)
        print(f"crash loop done: {ROUNDS} rounds, {totals['acked']} appends acknowledged, "
              f"{totals['in_flight']} in flight at kills ({totals['written']} of them written), "
              f"{totals['start_kills']} kills during a start "
              f"({totals['start_kills_before_listening']} before it listened), "
              f"{len(self.filings)} filings, {time.monotonic() - started:.1f} s, seed {SEED}",
              file=sys.stderr, flush=True)


if __name__ == "__main__":
    unittest.main()
