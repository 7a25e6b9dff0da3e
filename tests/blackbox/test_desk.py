"""Black-box tests of the filing desk's operations (SPEC §6.5, §6.7) on the real filingd:
the per-filing export over HTTP and from filingctl, the calendar's coverage warning, /readyz and
its metric, and SIGHUP reloading the calendar and the SMS policies."""

import datetime
import json
import signal
import subprocess
import time
import unittest

from harness import (DaemonTestCase, filingctl_bin, new_filing, unique, START_TIMEOUT)

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def today():
    return datetime.datetime.now(SHANGHAI).date()


def calendar_toml(until, window_hours=24):
    return (f'[calendar]\nholidays = ["2026-10-01"]\nuntil = "{until.isoformat()}"\n\n'
            f'[[sms.policies]]\nid = "p{window_hours}h"\nwindow_hours = {window_hours}\n')


def submit_to_bureau(client, n):
    fid = f"D{n}"
    r = client.post("/v1/filings", new_filing(n, filing_id=fid))
    assert r.status == 201, r.body
    for event in ({"type": "initial_review_approved", "data": {"reviewer": "r"}},
                  {"type": "photo_approved", "data": {"reviewer": "r", "method": "photo"}},
                  {"type": "submitted_to_bureau", "data": {}}):
        r = client.post(f"/v1/filings/{fid}/events", dict(event, actor="desk-1"))
        assert r.status == 201, r.body
    return fid, json.loads(r.body)


def wait_for(predicate, timeout=START_TIMEOUT, what="a condition"):
    """Polls `predicate` until it is true, under a deadline (the daemon logs asynchronously)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)  # a poll interval, not a synchronisation: the condition decides


CALENDAR = calendar_toml(today() + datetime.timedelta(days=10))


class CalendarCoverage(DaemonTestCase):
    daemon_options = {"extra_config": CALENDAR}

    def test_a_calendar_ending_soon_is_warned_of_and_shown(self):
        until = (today() + datetime.timedelta(days=10)).isoformat()
        wait_for(lambda: f"the working-day calendar ends on {until} (10 days left)"
                 in self.daemon.output(), what="the calendar warning")
        r = self.c.get("/readyz")
        self.assertEqual(json.loads(r.body)["calendar_until"], until)
        metrics = self.c.get("/metrics").body.decode()
        self.assertIn("filingd_calendar_days_left 10", metrics)

    def test_sighup_reloads_the_calendar_and_sms_policies_not_pinned_deadlines(self):
        client = self.c
        before_id, before = submit_to_bureau(client, unique())
        later = today() + datetime.timedelta(days=400)
        with open(self.daemon.config, encoding="utf-8") as f:
            text = f.read()
        self.assertIn(CALENDAR, text)
        text = text.replace(CALENDAR, calendar_toml(later, window_hours=48))
        with open(self.daemon.config, "w", encoding="utf-8") as f:
            f.write(text)
        self.daemon.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "SIGHUP: reloaded" in self.daemon.output(), what="the reload")
        self.assertIn(f"covers until {later.isoformat()}", self.daemon.output())
        self.assertEqual(json.loads(client.get("/readyz").body)["calendar_until"],
                         later.isoformat())
        _, after = submit_to_bureau(client, unique())
        window = (datetime.datetime.fromisoformat(after["sms_deadline"].replace("Z", "+00:00"))
                  - datetime.datetime.now(datetime.timezone.utc))
        self.assertGreater(window, datetime.timedelta(hours=47))
        status = json.loads(client.get(f"/v1/filings/{before_id}").body)
        self.assertEqual(status["sms_deadline"], before["sms_deadline"])
        self.assertEqual(status["sms_policy"], "p24h")

    def test_a_bad_config_on_sighup_keeps_what_was_loaded(self):
        until = json.loads(self.c.get("/readyz").body)["calendar_until"]
        with open(self.daemon.config, encoding="utf-8") as f:
            good = f.read()
        try:
            with open(self.daemon.config, "w", encoding="utf-8") as f:
                f.write(good + '\n[calendar.bad\n')
            self.daemon.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: "stay as they were" in self.daemon.output(), what="the refusal")
            self.assertEqual(json.loads(self.c.get("/readyz").body)["calendar_until"], until)
        finally:
            with open(self.daemon.config, "w", encoding="utf-8") as f:
                f.write(good)


class PerFilingExport(DaemonTestCase):
    def test_csv_has_a_bom_and_one_row_per_filing(self):
        client = self.c
        ids = []
        for _ in range(3):
            n = unique()
            ids.append(f"X{n}")
            self.assertEqual(client.post("/v1/filings", new_filing(n, filing_id=f"X{n}")).status,
                             201)
        r = client.get("/v1/filings/export?format=csv")
        self.assertEqual(r.status, 200, r.body)
        raw = r.body
        self.assertTrue(raw.startswith(b"\xef\xbb\xbf"), raw[:20])
        lines = raw[3:].decode("utf-8").splitlines()
        self.assertTrue(lines[0].startswith("filing_id,filing_type,state,province,provider,"))
        rows = [line for line in lines[1:] if line.split(",")[0] in ids]
        self.assertEqual(len(rows), 3, lines)
        self.assertIn(",张三,", rows[0])  # an operator sees the individual's name in clear
        jsonl = client.get("/v1/filings/export?format=jsonl&state=provider_review").body
        items = [json.loads(line) for line in jsonl.splitlines()]
        self.assertTrue({i["filing_id"] for i in items} >= set(ids))
        self.assertEqual(client.get("/v1/filings/export?format=xml").status, 400)

    def test_filingctl_writes_the_same_rows_offline(self):
        client = self.c
        n = unique()
        self.assertEqual(client.post("/v1/filings", new_filing(n, filing_id=f"Y{n}")).status, 201)
        online = client.get("/v1/filings/export?format=jsonl").body
        self.daemon.assert_stops_cleanly(self)
        try:
            out = subprocess.run([filingctl_bin(), "export", "--per-filing", "--format", "jsonl",
                                  "--data-dir", self.daemon.data_dir],
                                 capture_output=True, timeout=60, check=True).stdout
        finally:
            self.daemon.start()
        offline = {json.loads(line)["filing_id"]: json.loads(line)
                   for line in out.decode().splitlines()}
        for line in online.splitlines():
            item = json.loads(line)
            self.assertEqual(offline[item["filing_id"]]["state"], item["state"])
            self.assertEqual(offline[item["filing_id"]]["domains"], item["domains"])
        self.assertIn(f"Y{n}", offline)


if __name__ == "__main__":
    unittest.main()
