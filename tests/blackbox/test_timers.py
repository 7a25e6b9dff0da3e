"""Timers in the running daemon: an SMS deadline that has already passed (a back-dated
submission to the bureau) expires at once, and one that passes while the daemon is stopped
fires when it starts again (SPEC §1.6, §3.4)."""

import datetime
import time
import unittest

from harness import Daemon, new_filing, unique

WAIT = 20.0  # bound on waiting for the timer to act


def rfc3339(t):
    return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Timers(unittest.TestCase):

    def setUp(self):
        self.daemon = Daemon()
        self.addCleanup(self.daemon.cleanup)
        self.daemon.start()
        self.c = self.daemon.client()

    def tearDown(self):
        self.c.close()
        if self.daemon.proc is not None and self.daemon.proc.poll() is None:
            self.daemon.assert_stops_cleanly(self)

    def post(self, path, body, expect=201):
        r = self.c.post(path, body)
        self.assertEqual(r.status, expect, r)
        return r.json

    def to_bureau(self, occurred_at):
        """A filing submitted to the bureau at `occurred_at` (business time, back-dated)."""
        n = unique()
        fid = f"T-{n}"
        when = rfc3339(occurred_at)
        self.post("/v1/filings", dict(new_filing(n, filing_id=fid), occurred_at=when))
        for etype in ("initial_review_approved", "photo_approved"):
            self.post(f"/v1/filings/{fid}/events", {"type": etype, "occurred_at": when})
        r = self.post(f"/v1/filings/{fid}/events",
                      {"type": "submitted_to_bureau", "occurred_at": when})
        return fid, r["sms_deadline"]

    def wait_for_state(self, fid, state):
        deadline = time.monotonic() + WAIT
        while True:
            s = self.c.get(f"/v1/filings/{fid}").json
            if s["state"] == state or time.monotonic() > deadline:
                return s
            time.sleep(0.05)

    def assert_expired_at(self, fid, deadline):
        s = self.wait_for_state(fid, "returned")
        self.assertEqual(s["state"], "returned", s)
        self.assertEqual(s["returned"]["cause"], "sms_expired")
        last = self.c.get(f"/v1/filings/{fid}/events").json["items"][-1]
        self.assertEqual(last["type"], "sms_expired")
        self.assertEqual(last["actor"], "system")
        self.assertEqual(last["occurred_at"], deadline, "occurred_at is the deadline itself")
        self.assertEqual(last["data"]["deadline"], deadline)

    def test_back_dated_submission_expires_at_once(self):
        now = datetime.datetime.now(datetime.timezone.utc)
        fid, deadline = self.to_bureau(now - datetime.timedelta(hours=25))
        self.assert_expired_at(fid, deadline)
        metrics = self.c.get("/metrics").body.decode()
        self.assertIn('filingd_timer_fired_total{kind="sms"} 1', metrics)
        # A confirmation after the deadline is refused, and nothing else changes.
        r = self.c.post(f"/v1/filings/{fid}/events", {"type": "sms_confirmed"})
        self.assertEqual(r.status, 422, r)

    def test_deadline_passing_while_stopped_fires_at_start(self):
        now = datetime.datetime.now(datetime.timezone.utc)
        # Submitted 24 h minus 2 s ago: the 24 h window closes 2 s from now.
        fid, deadline = self.to_bureau(now - datetime.timedelta(hours=24, seconds=-2))
        self.assertEqual(self.c.get(f"/v1/filings/{fid}").json["state"], "sms_pending")
        self.c.close()
        self.daemon.assert_stops_cleanly(self)
        # Let the deadline pass while nothing runs (waiting for time itself, not for a process).
        due = datetime.datetime.fromisoformat(deadline.replace("Z", "+00:00"))
        while datetime.datetime.now(datetime.timezone.utc) <= due:
            time.sleep(0.1)
        self.daemon.start()
        self.c = self.daemon.client()
        self.assert_expired_at(fid, deadline)

    def test_confirmed_filing_never_expires(self):
        now = datetime.datetime.now(datetime.timezone.utc)
        fid, deadline = self.to_bureau(now - datetime.timedelta(hours=24, seconds=-1))
        self.post(f"/v1/filings/{fid}/events", {"type": "sms_confirmed"})
        pending = self.c.get("/v1/deadlines?kind=sms").json["items"]
        self.assertNotIn(fid, [d["filing_id"] for d in pending])
        # A second filing, left unconfirmed with the same deadline, shows the timer did run.
        other, other_deadline = self.to_bureau(now - datetime.timedelta(hours=24, seconds=-1))
        self.assert_expired_at(other, other_deadline)
        self.assertEqual(self.c.get(f"/v1/filings/{fid}").json["state"], "bureau_review")
        types = [e["type"] for e in self.c.get(f"/v1/filings/{fid}/events").json["items"]]
        self.assertNotIn("sms_expired", types)


if __name__ == "__main__":
    unittest.main()
