"""Importing history (SPEC §6.6) in the real binaries: POST /v1/imports and `filingctl import`.

- An import is appended whole: 201 {filing_id, first_seq, last_seq, version, state}; a refused
  event is a 422 naming its index and writes nothing; an existing filing id is a 409; bad input
  (unknown type, missing or malformed occurred_at, time going backwards, too many events, a
  10 MiB body) is a 4xx and writes nothing. The route's body limit (limits.max_import_bytes) is
  its own: a history larger than limits.max_body_bytes is imported.
- The timers judge an imported filing only after it: a 2019 confirmation within its window stays
  confirmed; a 2019 filing left in sms_pending expires once, at its deadline.
- `filingctl import` reports refused lines by number and imports the rest (exit 1), refuses to
  run beside the daemon, and a daemon started afterwards fires the imported deadlines.
- kill -9 of `filingctl import` in the middle of a large file leaves every filing with all its
  events or none, and a verifiable ledger; running the same file again completes it (the filings
  already there are refused as existing).

Waiting for the daemon's timers (a black-box test cannot move its clock) polls the filing's
status under a deadline.
"""

import datetime
import json
import os
import re
import select
import subprocess
import tempfile
import time
import unittest

from harness import (Daemon, DaemonTestCase, filing_fields, filingctl_bin, read_http_response,
                     run_to_exit, unique, wait_closed, website)

WAIT = 20.0  # bound on waiting for the daemon's timers
SUBMITTED = datetime.datetime(2019, 3, 1, 8, 0, tzinfo=datetime.timezone.utc)
CRASH_FILINGS = int(os.environ.get("FILINGD_IMPORT_CRASH_FILINGS", "40000"))
IMPORT_TIMEOUT = 600.0
PROGRESS = re.compile(rb"filingctl: line \d+: (\d+) filings, ")


def rfc3339(t):
    return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def at(hours):
    return rfc3339(SUBMITTED + datetime.timedelta(hours=hours))


def ev(etype, hours, data=None, actor="desk-1"):
    e = {"type": etype, "occurred_at": at(hours), "actor": actor}
    if data is not None:
        e["data"] = data
    return e


def to_bureau(n):
    """Filing n's history up to its hand-off to the bureau (24 h SMS window, 京)."""
    return [ev("filing_submitted", 0, filing_fields(n)),
            ev("initial_review_approved", 2, {"reviewer": "rev-2"}, "rev-2"),
            ev("photo_approved", 3, {"method": "photo"}, "rev-2"),
            ev("submitted_to_bureau", 24)]


def confirmed(n):
    return to_bureau(n) + [ev("sms_confirmed", 24 + 23, actor="miit")]


def returned(n):
    return [ev("filing_submitted", 0, filing_fields(n)),
            ev("initial_review_rejected", 5, {"reason_code": "website_name", "reason": "名称不符"},
               "rev-2")]


def import_body(fid, events):
    return {"filing_id": fid, "events": events}


def wait_for_state(client, fid, state):
    deadline = time.monotonic() + WAIT
    while True:
        s = client.get(f"/v1/filings/{fid}").json
        if s["state"] == state or time.monotonic() > deadline:
            return s
        time.sleep(0.05)


class ImportOverHttp(DaemonTestCase):

    def imported(self, fid, events, expect=201):
        r = self.c.post("/v1/imports", import_body(fid, events))
        self.assertEqual(r.status, expect, r)
        return r.json

    def history(self, fid):
        r = self.c.get(f"/v1/filings/{fid}/events")
        self.assertEqual(r.status, 200, r)
        return r.json["items"]

    def written_since(self, head):
        """The events appended after seq `head`, but the timers' own: the deadlines of a filing
        an earlier test imported (a 2019 history: they are long past) fire at any moment, and
        the head moves with them."""
        r = self.c.get(f"/v1/events?after_seq={head}&limit=10000")
        self.assertEqual(r.status, 200, r)
        return [e for e in r.json["items"] if e["actor"] != "system"]

    def test_a_2019_confirmation_within_its_window_stays_confirmed(self):
        n = unique()
        head = self.head_seq()
        r = self.imported(f"IM-{n}", confirmed(n))
        self.assertEqual(r, {"filing_id": f"IM-{n}", "first_seq": head + 1, "last_seq": head + 5,
                             "version": 5, "state": "bureau_review"})
        # A filing left pending in 2019, imported after it: once it has expired, the timer has
        # judged both; the confirmed one is untouched.
        m = unique()
        self.imported(f"IM-{m}", to_bureau(m))
        self.assertEqual(wait_for_state(self.c, f"IM-{m}", "abandoned")["state"], "abandoned")
        self.assertEqual(self.status(f"IM-{n}")["state"], "bureau_review")
        items = self.history(f"IM-{n}")
        self.assertEqual(items[3]["data"]["sms_deadline"], at(48), "pinned by the 2019 policy")
        self.assertEqual([e["seq"] for e in items], list(range(head + 1, head + 6)))
        self.assertEqual(len({e["recorded_at"] for e in items}), 1, "recorded together")
        self.assertEqual(items[4]["occurred_at"], at(47))

    def test_one_left_in_sms_pending_expires_once_at_its_deadline(self):
        n = unique()
        fid = f"IM-{n}"
        self.assertEqual(self.imported(fid, to_bureau(n))["state"], "sms_pending")
        s = wait_for_state(self.c, fid, "abandoned")
        self.assertEqual(s["state"], "abandoned", s)
        items = self.history(fid)
        types = [e["type"] for e in items]
        self.assertEqual(types.count("sms_expired"), 1, types)
        self.assertEqual(types.count("filing_abandoned"), 1, types)
        expiry = items[types.index("sms_expired")]
        self.assertEqual(expiry["occurred_at"], at(48), "the deadline, not the firing time")
        self.assertEqual(expiry["actor"], "system")

    def test_a_refused_event_refuses_the_import_and_writes_nothing(self):
        n = unique()
        fid = f"IM-{n}"
        head = self.head_seq()
        events = to_bureau(n)
        events.insert(3, ev("sms_confirmed", 10, actor="miit"))  # before the hand-off
        e = self.assertError(self.c.post("/v1/imports", import_body(fid, events)), 422,
                             error="transition_not_allowed")
        self.assertEqual(e["index"], 3)
        self.assertEqual(e["state"], "ready_for_bureau")
        backwards = to_bureau(n)
        backwards[2]["occurred_at"] = at(1)
        e = self.assertError(self.c.post("/v1/imports", import_body(fid, backwards)), 422,
                             field="events[2].occurred_at")
        self.assertEqual(e["index"], 2)
        self.assertEqual(self.written_since(head), [])
        self.assertEqual(self.c.get(f"/v1/filings/{fid}").status, 404)

    def test_bad_input_is_a_4xx_naming_the_event(self):
        n = unique()
        fid = f"IM-{n}"
        head = self.head_seq()

        def changed(i, key, value):
            events = to_bureau(n)
            if value is None:
                del events[i][key]
            else:
                events[i][key] = value
            return import_body(fid, events)

        cases = [
            (changed(1, "type", "initial_review_maybe"), 422, "events[1].type"),
            (changed(2, "occurred_at", None), 422, "events[2].occurred_at"),
            (changed(2, "occurred_at", "2019-13-01T00:00:00Z"), 422, "events[2].occurred_at"),
            (import_body(fid, to_bureau(n)[1:]), 422, "events[0].type"),
            (import_body(fid, to_bureau(n) + [ev("sms_attempt_failed", 30)] * 1000), 413,
             "events"),
            ({"events": to_bureau(n)}, 422, "filing_id"),
        ]
        for body, status, field in cases:
            with self.subTest(field=field, status=status):
                self.assertError(self.c.post("/v1/imports", body), status, field=field)
        self.assertEqual(self.written_since(head), [])

    def test_an_existing_filing_id_is_a_409(self):
        n = unique()
        fid = f"IM-{n}"
        self.imported(fid, returned(n))
        self.assertError(self.c.post("/v1/imports", import_body(fid, returned(unique()))), 409,
                         field="filing_id")
        m = unique()
        self.submit(dict(filing_fields(m), filing_id=f"LIVE-{m}", actor="desk-1"))
        self.assertError(self.c.post("/v1/imports", import_body(f"LIVE-{m}", returned(m))), 409)

    def refused_from_header(self, path, length):
        """The daemon's answer to a POST announcing a `length`-byte body, from the header alone:
        a 413 it answers without reading the body, then closes."""
        s = self.daemon.connect_raw()
        try:
            s.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      f"Content-Length: {length}\r\n\r\n".encode())
            status, headers, body, _ = read_http_response(s)
            self.assertEqual(status, 413, body)
            self.assertEqual(json.loads(body)["error"], "too_large")
            wait_closed(s, 5)
        finally:
            s.close()

    def test_a_10_mib_body_is_a_413_and_a_long_history_is_not(self):
        head = self.head_seq()
        self.refused_from_header("/v1/imports", 10 << 20)
        self.assertEqual(self.written_since(head), [])
        # A history above the common 1 MiB body limit (limits.max_body_bytes), within the
        # import's own: 300 returns and resubmissions of a filing with 12 websites.
        n = unique()
        sites = [website(n, domains=[f"w{i}-{d}-site{n}.cn" for d in range(6)]) for i in range(12)]
        fields = filing_fields(n, websites=sites)
        events = [ev("filing_submitted", 0, fields)]
        for k in range(300):
            events.append(ev("initial_review_rejected", 2 * k + 1,
                             {"reason_code": "website_name", "reason": "名称不符"}, "rev-2"))
            events.append(ev("filing_submitted", 2 * k + 2, fields))
        body = json.dumps(import_body(f"IM-{n}", events), ensure_ascii=False).encode("utf-8")
        self.assertGreater(len(body), 1 << 20)
        self.refused_from_header("/v1/filings", len(body))
        r = self.c.post("/v1/imports", body)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["version"], 601)
        self.assertEqual(self.status(f"IM-{n}")["attempt"], 301)

    def test_as_known_at_and_recorded_at(self):
        n = unique()
        fid = f"IM-{n}"
        before = rfc3339(datetime.datetime.now(datetime.timezone.utc) -
                         datetime.timedelta(minutes=5))
        self.imported(fid, returned(n))
        r = self.c.get(f"/v1/filings/{fid}?as_known_at={before}")
        self.assertEqual(r.status, 404, r)
        now = rfc3339(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=1))
        r = self.c.get(f"/v1/filings/{fid}?as_known_at={now}")
        self.assertEqual(r.status, 200, r)
        self.assertIn(r.json["state"], ("returned", "abandoned"))
        item = self.history(fid)[0]
        self.assertEqual(item["occurred_at"], at(0))
        self.assertTrue(item["recorded_at"].startswith(str(datetime.date.today().year)), item)


def write_jsonl(path, lines):
    with open(path, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(line if isinstance(line, str) else json.dumps(line, ensure_ascii=False))
            f.write("\n")


def filingctl_import(path, data_dir, *extra):
    p = subprocess.run([filingctl_bin(), "import", path, "--data-dir", data_dir, *extra],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=IMPORT_TIMEOUT)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


class FilingctlImport(unittest.TestCase):

    def setUp(self):
        self.daemon = Daemon()
        self.addCleanup(self.daemon.cleanup)
        self.file = os.path.join(self.daemon.dir, "history.jsonl")

    def test_refused_lines_are_reported_and_the_rest_imported(self):
        a, b, c, d = (unique() for _ in range(4))
        bad = to_bureau(b)
        bad[3]["occurred_at"] = at(1)  # backwards
        write_jsonl(self.file, [import_body(f"A-{a}", confirmed(a)),
                                import_body(f"B-{b}", bad),
                                "",
                                "{not json",
                                import_body(f"C-{c}", to_bureau(c)),
                                import_body(f"A-{a}", returned(d))])
        rc, out, err = filingctl_import(self.file, self.daemon.data_dir, "--json")
        self.assertEqual(rc, 1, err)
        summary = json.loads(out)
        self.assertEqual((summary["lines"], summary["filings"], summary["events"],
                          summary["refused"]), (6, 2, 9, 3), summary)
        self.assertIn("line 2 refused: event 3 (submitted_to_bureau)", err)
        self.assertIn("[events[3].occurred_at]", err)
        self.assertIn("line 4 refused: the line is not valid JSON", err)
        self.assertIn(f"line 6 refused: event 0 (filing_submitted): filing A-{a} already exists",
                      err)
        # The daemon serves them, and fires the imported deadline that passed long ago.
        self.daemon.start()
        client = self.daemon.client()
        self.addCleanup(client.close)
        self.assertEqual(client.get(f"/v1/filings/A-{a}").json["state"], "bureau_review")
        self.assertEqual(client.get(f"/v1/filings/B-{b}").status, 404)
        s = wait_for_state(client, f"C-{c}", "abandoned")
        self.assertEqual(s["state"], "abandoned", s)
        items = client.get(f"/v1/filings/C-{c}/events").json["items"]
        self.assertEqual([e["type"] for e in items].count("sms_expired"), 1)
        self.assertEqual(items[0]["principal"], "filingctl")
        # Not beside the running daemon.
        rc, out, err = filingctl_import(self.file, self.daemon.data_dir)
        self.assertEqual(rc, 2, err)
        self.assertIn("Stop filingd first", err)
        self.daemon.assert_stops_cleanly(self)
        rc, out = run_to_exit([filingctl_bin(), "history", f"A-{a}", "--data-dir",
                               self.daemon.data_dir])
        self.assertEqual(rc, 0, out)
        self.assertIn(f"{at(0)} (recorded ", out)


class ImportCrash(unittest.TestCase):
    """kill -9 of filingctl import in the middle of a large file."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="filingd-import-crash-")
        self.addCleanup(self.tmp.cleanup)
        self.data_dir = os.path.join(self.tmp.name, "data")
        self.file = os.path.join(self.tmp.name, "history.jsonl")
        self.expected = {}  # filing id -> its number of events
        shapes = (confirmed, to_bureau, returned)
        with open(self.file, "w", encoding="utf-8") as f:
            for i in range(CRASH_FILINGS):
                n = unique()
                events = shapes[i % len(shapes)](n)
                fid = f"X-{n}"
                self.expected[fid] = len(events)
                f.write(json.dumps(import_body(fid, events), ensure_ascii=False))
                f.write("\n")

    def run_and_kill(self):
        """Runs filingctl import and kills it with SIGKILL as soon as its progress says some
        filings of this run are imported. False if it ended first."""
        p = subprocess.Popen([filingctl_bin(), "import", self.file, "--data-dir", self.data_dir,
                              "--progress-every", "0.05"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        buf = b""
        deadline = time.monotonic() + IMPORT_TIMEOUT
        try:
            while True:
                remaining = deadline - time.monotonic()
                self.assertGreater(remaining, 0, "no progress from filingctl import")
                readable, _, _ = select.select([p.stderr], [], [], remaining)
                if not readable:
                    continue
                chunk = os.read(p.stderr.fileno(), 65536)
                if not chunk:
                    return False
                buf += chunk
                *lines, buf = buf.split(b"\n")
                if any(PROGRESS.search(l) and int(PROGRESS.search(l).group(1)) > 0
                       for l in lines):
                    p.kill()
                    return True
        finally:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=60)
            p.stderr.close()

    def event_counts(self):
        rc, out = run_to_exit([filingctl_bin(), "verify", "--data-dir", self.data_dir, "--json"],
                              timeout=IMPORT_TIMEOUT)
        self.assertEqual(rc, 0, out)
        p = subprocess.run([filingctl_bin(), "export", "--format", "jsonl", "--data-dir",
                            self.data_dir], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, timeout=IMPORT_TIMEOUT)
        self.assertEqual(p.returncode, 0)
        counts = {}
        for line in p.stdout.splitlines():
            fid = json.loads(line)["filing_id"]
            counts[fid] = counts.get(fid, 0) + 1
        return counts

    def assert_whole(self, counts):
        partial = {fid: (n, self.expected.get(fid)) for fid, n in counts.items()
                   if n != self.expected.get(fid)}
        self.assertEqual(partial, {}, "filings with part of their history")

    def test_kill9_leaves_every_filing_whole_or_absent(self):
        self.assertTrue(self.run_and_kill(), "the import ended before the kill: raise "
                        "FILINGD_IMPORT_CRASH_FILINGS")
        counts = self.event_counts()
        self.assert_whole(counts)
        self.assertGreater(len(counts), 0, "killed before anything was imported")
        self.assertLess(len(counts), len(self.expected))
        first = len(counts)
        # The same file again (what is there is refused as existing), killed again if it is
        # still going; then to its end.
        self.run_and_kill()
        counts = self.event_counts()
        self.assert_whole(counts)
        self.assertGreaterEqual(len(counts), first)
        rc, out, err = filingctl_import(self.file, self.data_dir, "--json")
        self.assertEqual(rc, 1 if counts else 0, err[-2000:])
        summary = json.loads(out)
        self.assertEqual(summary["refused"], len(counts), "the filings already there")
        self.assertEqual(summary["filings"], len(self.expected) - len(counts))
        final = self.event_counts()
        self.assert_whole(final)
        self.assertEqual(set(final), set(self.expected))


if __name__ == "__main__":
    unittest.main()
