"""Durability of a real filingd: a clean restart keeps every projection and the head, and a
kill -9 under concurrent HTTP load loses nothing that was acknowledged (SPEC §2.1, §4)."""

import http.client
import json
import threading
import unittest

from harness import Daemon, all_events, new_filing, quote, subject_number, unique

THREADS = 8
ACKED_BEFORE_KILL = 300
LOAD_TIMEOUT = 60.0


class DurabilityBase(unittest.TestCase):

    def setUp(self):
        self.daemon = Daemon()
        self.addCleanup(self.daemon.cleanup)
        self.daemon.start()

    def tearDown(self):
        if self.daemon.proc is not None and self.daemon.proc.poll() is None:
            self.daemon.assert_stops_cleanly(self)

    def assertGaplessChain(self, events, head):
        self.assertEqual([e["seq"] for e in events], list(range(1, len(events) + 1)),
                         "the global log has a gap")
        prev = "0" * 64
        for e in events:
            self.assertEqual(e["prev_hash"], prev, f"hash chain broken at seq {e['seq']}")
            prev = e["hash"]
        self.assertEqual(head["seq"], len(events))
        if events:
            self.assertEqual(head["hash"], events[-1]["hash"])


class Restart(DurabilityBase):

    def test_restart_keeps_state(self):
        c = self.daemon.client()
        ids = []
        # A spread of states: provider_review, sms_pending, returned, approved, withdrawn.
        for target in ("provider_review", "sms_pending", "returned", "approved", "withdrawn"):
            n = unique()
            fid = f"RS-{target}-{n}"
            ids.append(fid)
            self.assertEqual(c.post("/v1/filings", new_filing(n, filing_id=fid)).status, 201)
            steps = {
                "provider_review": [],
                "sms_pending": [("initial_review_approved", None), ("photo_approved", None),
                                ("submitted_to_bureau", None)],
                "returned": [("initial_review_rejected", {"reason_code": "c", "reason": "原因"})],
                "approved": [("initial_review_approved", None), ("photo_approved", None),
                             ("submitted_to_bureau", None), ("sms_confirmed", None),
                             ("bureau_approved", {
                                 "subject_record_number": subject_number(n),
                                 "websites": [{"domain": f"site{n}.cn",
                                               "record_number": subject_number(n) + "-1"}]})],
                "withdrawn": [("filing_withdrawn", {"reason": "不要了"})],
            }[target]
            for etype, data in steps:
                body = {"type": etype, "actor": "ops"}
                if data is not None:
                    body["data"] = data
                r = c.post(f"/v1/filings/{fid}/events", body)
                self.assertEqual(r.status, 201, r)
            self.assertEqual(c.get(f"/v1/filings/{fid}").json["state"], target)

        def snapshot(client):
            snap = {fid: client.get(f"/v1/filings/{fid}").json for fid in ids}
            snap["head"] = client.get("/v1/ledger/head").json
            snap["records"] = client.get(
                "/v1/records/" + quote(subject_number(int(ids[3].rsplit("-", 1)[1])))).json
            deadlines = client.get("/v1/deadlines?limit=1000").json
            for item in deadlines["items"]:
                del item["seconds_left"]  # counts down between the two snapshots
            snap["deadlines"] = deadlines
            return snap

        before = snapshot(c)
        events_before = all_events(self, c)
        c.close()
        self.daemon.assert_stops_cleanly(self)

        self.daemon.start()
        c = self.daemon.client()
        after = snapshot(c)
        self.assertEqual(after, before)
        self.assertEqual(all_events(self, c), events_before)
        # And the ledger carries on from the same head.
        r = c.post(f"/v1/filings/{ids[0]}/events", {"type": "photo_approved", "actor": "ops"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["seq"], before["head"]["seq"] + 1)
        events = all_events(self, c)
        self.assertGaplessChain(events, c.get("/v1/ledger/head").json)
        c.close()

    def test_idempotency_survives_restart(self):
        c = self.daemon.client()
        n = unique()
        body = new_filing(n, filing_id=f"IR-{n}")
        body["event_id"] = f"evt-ir-{n}"
        r1 = c.post("/v1/filings", body)
        self.assertEqual(r1.status, 201, r1)
        c.close()
        self.daemon.assert_stops_cleanly(self)
        self.daemon.start()
        c = self.daemon.client()
        r2 = c.post("/v1/filings", body)
        self.assertEqual(r2.status, 200, r2)
        self.assertEqual(r2.json["seq"], r1.json["seq"])
        c.close()


class KillNine(DurabilityBase):

    def test_kill_9_under_load_loses_nothing_acknowledged(self):
        port = self.daemon.port
        acked = []  # (filing_id, seq) of every 201
        lock = threading.Condition()
        stop = threading.Event()
        errors = []
        finished = []  # workers that ended (before the kill, only if the daemon failed)

        def worker(k):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                while not stop.is_set():
                    n = unique()
                    fid = f"K{k}-{n}"
                    body = new_filing(n, filing_id=fid)
                    try:
                        conn.request("POST", "/v1/filings",
                                     body=json.dumps(body, ensure_ascii=False).encode(),
                                     headers={"Content-Type": "application/json"})
                        resp = conn.getresponse()
                        data = resp.read()
                    except (OSError, http.client.HTTPException):
                        return  # the daemon died: whatever was not acknowledged may be lost
                    if resp.status != 201:
                        errors.append((fid, resp.status, data))
                        return
                    seq = json.loads(data)["seq"]
                    with lock:
                        acked.append((fid, seq))
                        lock.notify_all()
            finally:
                conn.close()
                with lock:
                    finished.append(k)
                    lock.notify_all()

        threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(THREADS)]
        for t in threads:
            t.start()
        with lock:
            lock.wait_for(lambda: len(acked) >= ACKED_BEFORE_KILL or errors or finished,
                          timeout=LOAD_TIMEOUT)
            count, ended = len(acked), list(finished)
        self.assertEqual(errors, [])
        self.assertEqual(ended, [], f"workers lost the daemon after {count} acknowledged "
                                    f"appends (exit code {self.daemon.proc.poll()}):\n"
                                    f"{self.daemon.output()[-3000:]}")
        self.assertGreaterEqual(count, ACKED_BEFORE_KILL,
                                f"only {count} acknowledged within {LOAD_TIMEOUT}s")
        rc = self.daemon.kill9()  # while the workers are still posting
        stop.set()
        for t in threads:
            t.join(timeout=60)
            self.assertFalse(t.is_alive())
        self.assertEqual(rc, -9)
        with lock:
            acknowledged = list(acked)
        self.assertGreaterEqual(len(acknowledged), ACKED_BEFORE_KILL)

        self.daemon.start()
        c = self.daemon.client()
        head = c.get("/v1/ledger/head").json
        self.assertGreaterEqual(head["seq"], len(acknowledged))
        for fid, seq in acknowledged:
            r = c.get(f"/v1/filings/{fid}")
            self.assertEqual(r.status, 200, f"acknowledged filing {fid} (seq {seq}) was lost: {r}")
            self.assertEqual(r.json["state"], "provider_review")
            self.assertEqual(r.json["seq"], seq)
        events = all_events(self, c)
        self.assertGaplessChain(events, head)
        by_seq = {e["seq"]: e for e in events}
        for fid, seq in acknowledged:
            self.assertEqual(by_seq[seq]["filing_id"], fid)
        # Every event in the log has its projection (nothing half-written).
        listed = c.get("/v1/filings?limit=1000").json
        ids = {i["filing_id"] for i in listed["items"]}
        while listed["next_cursor"]:
            listed = c.get(f"/v1/filings?limit=1000&cursor={listed['next_cursor']}").json
            ids |= {i["filing_id"] for i in listed["items"]}
        self.assertEqual(ids, {e["filing_id"] for e in events})
        # And the daemon keeps appending after recovery.
        n = unique()
        r = c.post("/v1/filings", new_filing(n, filing_id=f"AFTER-{n}"))
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["seq"], head["seq"] + 1)
        c.close()


if __name__ == "__main__":
    unittest.main()
