"""Personal data case by case, each test on a daemon of its own (SPEC §5.2, §5.4, §5.5, §5.7).

KeyFileAtStart: a master key file with group/other permission bits, a malformed one, and a
valid key that is not the ledger's are each refused at start with a message naming the problem,
and leave the data directory as it was. ErasureGenerations: a subject filing again after its
erasure gets a new data key; a second erasure destroys that one too, even if the daemon is
killed right after answering. KafkaOmitted, KafkaClear: kafka.personal_data's other two modes,
each restored from Kafka. RefusalsDoNotEcho: refused requests quote no personal value and write
nothing.

The end-to-end scenario on one ledger: test_personal_data.py. Shared helpers: personal_data.py.
Environment: FILINGD_BIN, FILINGCTL_BIN (see harness.py). Needs confluent_kafka.
"""

import base64
import json
import os
import secrets
import stat
import subprocess
import unittest

from harness import Daemon, DaemonError, filingctl_bin, resident_id
from personal_data import (ERASED, CTL_TIMEOUT, STORED_KEY_SIZE, rng, RUN, ID_BASE, MOBILE_BASE,
                           Person, Individual, fields, leaks, status_personal, event_personal,
                           expected_personal, readable_files, scan, listing, master_key_line,
                           write_key_file, message_blobs, urlquote, OwnDaemon)


class KeyFileAtStart(unittest.TestCase):
    """SPEC §5.2: the master key file is checked at start; a bad one refuses the start and
    writes nothing."""

    def setUp(self):
        self.daemon = Daemon()
        self.addCleanup(self.daemon.cleanup)
        self.daemon.start()
        c = self.daemon.client()
        person = Person(50)
        subject = Individual(51)
        r = c.post("/v1/filings", dict(fields(subject, [person], "kf"), filing_id="KF-1",
                                       actor="desk-1"))
        self.assertEqual(r.status, 201, r)
        self.planted = subject.values() + person.values()
        self.expected = expected_personal(subject, [person])
        self.head = c.get("/v1/ledger/head").json
        c.close()
        self.daemon.assert_stops_cleanly(self)
        self.key = os.path.join(self.daemon.dir, "filingd.key")
        with open(self.key) as f:
            self.good = f.read()
        self.beside = sorted(os.listdir(self.daemon.dir))

    def refused(self, what):
        before = listing(self.daemon.data_dir)
        with open(self.key, "rb") as f:
            key_before = f.read()
        with self.assertRaises(DaemonError, msg=what) as cm:
            self.daemon.start()
        with open(self.key, "rb") as f:
            self.assertEqual(f.read(), key_before, f"{what}: the daemon rewrote the key file")
        self.assertEqual(sorted(os.listdir(self.daemon.dir)), self.beside,
                         f"{what}: files created beside the data directory")
        return str(cm.exception), before, listing(self.daemon.data_dir)

    def restart_reads_clear(self):
        with open(self.key, "w") as f:
            f.write(self.good)
        os.chmod(self.key, 0o600)
        self.daemon.start()
        c = self.daemon.client()
        try:
            self.assertEqual(c.get("/v1/ledger/head").json, self.head)
            s = c.get("/v1/filings/KF-1").json
            self.assertEqual(dict(status_personal(s)), dict(self.expected))
        finally:
            c.close()
        self.daemon.assert_stops_cleanly(self)

    def test_key_file_readable_by_others_is_refused(self):
        os.chmod(self.key, 0o644)
        out, before, after = self.refused("a key file with mode 0644")
        self.assertIn(self.key, out)
        self.assertIn("0644", out)
        self.assertEqual(after, before, "the refused start changed the data directory")
        self.assertEqual(stat.S_IMODE(os.stat(self.key).st_mode), 0o644, "the daemon chmodded")
        self.assertEqual(leaks(out.encode(), self.planted), [])
        self.restart_reads_clear()

    def test_malformed_key_file_is_refused(self):
        at = len("filingd-master-key-v1 ") + 7  # a hex digit of the key
        mistyped = self.good[:at] + ("1" if self.good[at] != "1" else "2") + self.good[at + 1:]
        for bad in ("filingd-master-key-v1 " + "z" * 64 + " 00000000\n", "", "\n",
                    self.good[:-10] + "\n", mistyped, self.good.strip() + " extra\n"):
            with self.subTest(bad=bad):
                write_key_file(self.key, bad)
                out, before, after = self.refused(f"key file {bad!r}")
                self.assertIn(self.key, out)
                self.assertRegex(out, r"malformed|truncated|empty|check value")
                self.assertNotIn(bad.strip() or "\0", out.replace(self.key, ""),
                                 "the message echoes the key file's content")
                self.assertEqual(after, before, "the refused start changed the data directory")
        self.restart_reads_clear()

    def test_wrong_master_key_is_refused(self):
        write_key_file(self.key, master_key_line(secrets.token_bytes(32)))
        out, before, after = self.refused("another valid master key")
        self.assertIn("master key", out)
        self.assertIn(self.daemon.data_dir, out)
        # The ledger's data is untouched: every table file as it was, and no new one. (Opening
        # RocksDB to read the key's check value rewrites its own bookkeeping files: MANIFEST,
        # OPTIONS, CURRENT, the info LOG and an empty WAL.)
        tables = lambda files: {k: v for k, v in files.items() if k.endswith(".sst")}
        self.assertEqual(tables(after), tables(before), "the refused start changed a table")
        self.assertTrue(tables(before))
        new_wal = {k: v for k, v in after.items() if k.endswith(".log") and k not in before}
        self.assertTrue(all(size == 0 for size, _ in new_wal.values()), new_wal)
        self.restart_reads_clear()
        p = subprocess.run([filingctl_bin(), "verify", "--data-dir", self.daemon.data_dir,
                            "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=CTL_TIMEOUT)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(json.loads(p.stdout)["head"], self.head)


class ErasureGenerations(OwnDaemon):
    """SPEC §5.2, §5.4: a subject that files again after its erasure gets a new data key (a new
    generation); the old filings stay erased, the new one reads clear, and a second erasure
    destroys the new key too. An erasure destroys the key on disk even if the daemon is killed
    right after answering it."""

    def test_refiling_after_erasure_gets_a_new_key(self):
        subj, p1, p2 = Individual(400), Person(401), Person(402)
        key_file = os.path.join(self.daemon.dir, "filingd.key")
        self.post("/v1/filings", dict(fields(subj, [p1], f"g1-{RUN}"), filing_id="G1",
                                      actor="desk-1"))
        self.event("G1", "filing_withdrawn", {"reason": "不备了"})
        # Generation 0 reaches filing.keys before the erasure: a publisher that lags past the
        # erasure finds the key destroyed and never publishes it (as it must not).
        self.wait_published()
        ref = self.erase(subj)["subject_ref"]
        self.post("/v1/filings", dict(fields(subj, [p2], f"g2-{RUN}"), filing_id="G2",
                                      actor="desk-1"))
        self.assert_personal(self.personal("G1"), ERASED, "the erased filing")
        self.assert_personal(self.personal("G2"), expected_personal(subj, [p2]),
                             "the filing after the erasure")
        self.assertEqual(self.c.get("/v1/filings/G2").json["subject"]["subject_ref"], ref)
        # The erasure's stream is the subject's, not a filing: the filing routes do not read it.
        for path in ("", "/events", "/verify"):
            r = self.c.get(f"/v1/filings/subject:{ref}{path}")
            self.assertEqual(r.status, 404, (path, r))

        msgs = self.key_messages(ref)
        values = [m.value for m in msgs]
        self.assertIn(None, values, "the erasure's tombstone")
        gen0 = values[0]
        gen1 = values[-1]
        self.assertEqual((len(gen0), gen0[:4]), (STORED_KEY_SIZE, b"\0\0\0\0"), msgs)
        self.assertEqual((len(gen1), gen1[:4]), (STORED_KEY_SIZE, b"\0\0\0\1"),
                         f"the new key is generation 1, published after the tombstone: {msgs}")

        restored = self.restore("replica")
        for extra in (["--key-file", key_file], []):
            _, out, _ = self.ctl("history", "--data-dir", restored, "G1", "--json", *extra)
            self.assert_events_marked(json.loads(out)["items"], ERASED, f"replica G1 {extra}")
        _, out, _ = self.ctl("history", "--data-dir", restored, "G2", "--json", "--key-file",
                             key_file)
        self.assert_personal(event_personal(json.loads(out)["items"][0]),
                             [("data." + p, v) for p, v in expected_personal(subj, [p2])],
                             "replica G2 with the key")
        self.ctl("verify", "--data-dir", restored)

        # The daemon restarted (no cached key): the same.
        self.restart()
        self.assert_personal(self.personal("G1"), ERASED, "G1 after a restart")
        self.assert_personal(self.personal("G2"), expected_personal(subj, [p2]), "G2 restarted")

        # A second erasure destroys generation 1.
        self.event("G2", "filing_withdrawn", {"reason": "不备了"})
        r = self.erase(subj)
        self.assertEqual((r["subject_ref"], sorted(r["filings"])), (ref, ["G1", "G2"]), r)
        self.erase(subj, expect=409)
        for fid in ("G1", "G2"):
            self.assert_personal(self.personal(fid), ERASED, f"{fid} after the second erasure")
        self.assertIsNone(self.key_messages(ref)[-1].value, "the second tombstone")
        self.daemon.assert_stops_cleanly(self)
        self.ctl("verify", "--data-dir", self.daemon.data_dir)
        planted = subj.values() + p1.values() + p2.values()
        self.assertEqual(scan(self.daemon.dir, planted), {})
        for path, blob in readable_files(self.daemon.dir).items():
            self.assertNotIn(gen0, blob, f"the generation-0 key is in {path}")
            self.assertNotIn(gen1, blob, f"the generation-1 key is in {path}")

    def test_erasure_destroys_the_key_on_disk_even_after_a_crash(self):
        """The erasure's batch deletes the wrapped key; the bytes leave the files only once the
        keys column family is flushed and compacted. A daemon killed right after answering must
        still get there (at its next start at the latest): otherwise the data directory and the
        key file beside it (or their backups) still open the "erased" personal data."""
        subj, person = Individual(410), Person(411)
        self.post("/v1/filings", dict(fields(subj, [person], f"kc-{RUN}"), filing_id="KC1",
                                      actor="desk-1"))
        self.event("KC1", "filing_withdrawn", {"reason": "不备了"})
        ref = self.c.get("/v1/filings/KC1").json["subject"]["subject_ref"]
        wrapped = self.key_messages(ref)[0].value
        self.assertEqual(len(wrapped), STORED_KEY_SIZE)
        self.restart()  # a clean stop flushes: the wrapped key is now in a table file
        self.assertTrue(any(wrapped in b for b in readable_files(self.daemon.data_dir).values()),
                        "the wrapped key is in no file before the erasure: the scan is blind")
        self.erase(subj)
        self.restart(kill=True)
        self.assert_personal(self.personal("KC1"), ERASED, "after the crash")
        self.daemon.assert_stops_cleanly(self)
        self.ctl("verify", "--data-dir", self.daemon.data_dir)
        left = [p for p, b in readable_files(self.daemon.dir).items() if wrapped in b]
        self.assertEqual(left, [], "the erased subject's wrapped data key is still on disk after "
                                   "a kill -9 right after the erasure, a restart and a clean stop")

    def test_cancelled_records_remain_after_erasure(self):
        """An approved subject is erasable once its record numbers are cancelled; the records
        and the filing's workflow remain (SPEC §5.4)."""
        subj, person = Individual(430), Person(431)
        number = f"京ICP备2026{rng.randrange(10**6):06d}号"
        domain = f"rc-{RUN}-0-{RUN}.cn"  # site() of fields(..., label "rc-RUN")
        self.post("/v1/filings", dict(fields(subj, [person], f"rc-{RUN}"), filing_id="RC1",
                                      actor="desk-1"))
        for etype, data in (("initial_review_approved", {"reviewer": "r"}),
                            ("photo_approved", {"method": "photo"}),
                            ("submitted_to_bureau", None), ("sms_confirmed", None)):
            self.event("RC1", etype, data)
        self.event("RC1", "bureau_approved", {"subject_record_number": number, "websites": [
            {"domain": domain, "record_number": number + "-1"}]})
        r = self.erase(subj, expect=409)
        self.assertEqual(leaks(json.dumps(r, ensure_ascii=False).encode(), subj.values()), [])
        self.event("RC1", "record_cancelled", {"record_number": number, "reason": "注销主体"})
        r = self.erase(subj)
        self.assertEqual(r["filings"], ["RC1"])
        s = self.c.get("/v1/filings/RC1").json
        self.assertEqual((s["state"], s["subject_record_number"],
                          s["websites"][0]["record_number"]), ("approved", number, number + "-1"))
        self.assert_personal(status_personal(s), ERASED, "the erased approved filing")
        for n in (number, number + "-1"):
            rec = self.c.get(f"/v1/records/{urlquote(n)}")
            self.assertEqual(rec.status, 200, rec)
            self.assertEqual((rec.json["status"], rec.json["filing_id"]), ("cancelled", "RC1"))


class KafkaPersonalDataModes(OwnDaemon):
    """SPEC §5.5: kafka.personal_data omitted / clear; in every mode a restore rebuilds the
    ledger with the same head, and the master key reads its personal data."""

    def run_mode(self, mode):
        subj, person = Individual(420), Person(421)
        phone = "139" + f"{rng.randrange(10**8):08d}"
        self.post("/v1/filings", dict(fields(subj, [person], f"km-{mode}-{RUN}"), filing_id="KM1",
                                      actor="desk-1"))
        for etype, data in (("initial_review_approved", {"reviewer": "r"}),
                            ("photo_approved", {"method": "photo"}),
                            ("submitted_to_bureau", None), ("sms_confirmed", {"phone": phone})):
            self.event("KM1", etype, data)
        planted = subj.values() + person.values() + [phone]
        self.wait_published()
        boot = self.bootstrap()
        topics = self.read_topics(boot)
        events = {m.json()["type"]: m for m in topics["filing.events"]}
        sub = events["filing_submitted"].json()["data"]
        for m in topics["filing.events"]:
            body = m.header("body")
            if body is not None:
                self.assertEqual(leaks(base64.b64decode(body), planted), [],
                                 "a stored body holds a clear value: it is not sealed")
        if mode == "omitted":
            for msgs in topics.values():
                for m in msgs:
                    for blob in message_blobs(m):
                        self.assertEqual(leaks(blob, planted), [], f"planted value in {m}")
            self.assertNotIn("id_number", sub["subject"], sub)
            self.assertNotIn("mobile", sub["websites"][0]["responsible"], sub)
        else:
            self.assertIn("personal_data", self.daemon.output(), "no warning for clear")
            self.assert_personal(event_personal(events["filing_submitted"].json()),
                                 [("data." + p, v) for p, v in expected_personal(subj, [person])],
                                 "clear mode")
            self.assertEqual(events["sms_confirmed"].json()["data"]["phone"], phone)
        restored = self.restore("replica")
        _, out, _ = self.ctl("history", "--data-dir", restored, "KM1", "--json", "--key-file",
                             os.path.join(self.daemon.dir, "filingd.key"))
        items = json.loads(out)["items"]
        self.assert_personal(event_personal(items[0]),
                             [("data." + p, v) for p, v in expected_personal(subj, [person])],
                             f"restored from a {mode} topic, with the key")
        self.assertEqual(items[-1]["data"]["phone"], phone)
        self.ctl("verify", "--data-dir", restored)
        self.assertEqual(scan(restored, planted), {}, "clear values in the replica")


class KafkaOmitted(KafkaPersonalDataModes):
    config = '[kafka]\nmode = "embedded"\npersonal_data = "omitted"\n'

    def test_omitted(self):
        self.run_mode("omitted")


class KafkaClear(KafkaPersonalDataModes):
    config = '[kafka]\nmode = "embedded"\npersonal_data = "clear"\n'

    def test_clear(self):
        self.run_mode("clear")


class RefusalsDoNotEcho(OwnDaemon):
    """SPEC §5.7: error messages never echo personal data; refused requests write nothing."""

    def test_refusals_do_not_echo_personal_values(self):
        subj, person = Individual(440), Person(441)
        good = dict(fields(subj, [person], f"ec-{RUN}"), filing_id="EC1", actor="desk-1")
        bad_id = resident_id(ID_BASE + 442)
        bad_id = bad_id[:-1] + ("0" if bad_id[-1] != "0" else "1")
        cases = [(("subject", "id_number"), bad_id),
                 (("websites", 0, "responsible", "mobile"), f"13{MOBILE_BASE}99"),  # 12 digits
                 (("websites", 0, "responsible", "email"), f"龚{RUN}@@x"),
                 (("websites", 0, "responsible", "id_number"), bad_id[:16])]
        for path, value in cases:
            body = json.loads(json.dumps(good))
            target = body
            for k in path[:-1]:
                target = target[k]
            target[path[-1]] = value
            r = self.c.post("/v1/filings", body)
            self.assertEqual(r.status, 422, r)
            self.assertEqual(leaks(r.body, [value] + subj.values() + person.values()), [], r)
        self.assertEqual(self.head()["seq"], 0, "a refused submission wrote")
        self.post("/v1/filings", good)
        again = dict(good, filing_id="EC2")
        r = self.c.post("/v1/filings", again)
        self.assertEqual(r.status, 409, r)
        self.assertEqual(leaks(r.body, subj.values() + person.values()), [], r)
        self.assertIn("EC1", r.json["message"])


if __name__ == "__main__":
    unittest.main()
