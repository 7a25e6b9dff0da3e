"""Personal data and the trust boundary, end to end with the real daemon (SPEC §5).

One scenario (PersonalDataTest.test_personal_data_end_to_end), on one ledger, in phases:

A. The daemon runs with the embedded Kafka cluster (kafka.personal_data left at its default,
   masked) and tokens of the four roles. Planted: individual subjects whose name, address and
   resident ID, and whose websites' responsible persons (name, resident ID, mobile, email), are
   unique to this run, in every event type that carries personal data (a submission, a
   resubmission, sms_confirmed with a phone); and an enterprise subject, whose name, address and
   USCC are public (SPEC §5.1) and serve as the positive control of every scanner below.
   - HTTP: operator and auditor read clear values, the reader reads them masked to their last
     four characters (counted as characters: Chinese names too; four or fewer masked whole).
   - Kafka: every message of filing.events, filing.status and filing.keys (values, keys,
     headers, the base64 `body` headers decoded) holds no planted value; events show them as
     the reader does; filing.keys holds each subject's wrapped data key (65 bytes: a 4-byte
     generation and the 61-byte wrapped key of privacy/wrap.hpp).
   - Erasure (SPEC §5.4): 403 for an operator, 404 for an unknown subject, 409 for a subject
     with an open filing (the message does not echo its ID number), 409 for a subject with an
     active record number, 201 for a subject whose filings are all closed (one abandoned by the
     45-day timer, one returned and withdrawn), 409 when erased again. Afterwards every HTTP read
     path shows "[erased]" for every role, the workflow history remains, subject_erased is in
     the global log without personal data, filing.keys has the subject's tombstone.
   - `filingctl restore --from-kafka` while the daemon runs: the same head; with the daemon's key
     clear values and "[erased]", without it "[encrypted]"; `verify` passes; a restore given
     another master key is refused and writes nothing.
B. SIGTERM, then every byte of every file under the daemon's directory (the data directory,
   the access log, the key file) is scanned, SST blocks decompressed (LZ4) and log-format files
   (WAL, MANIFEST) de-framed, so that a value is found whatever RocksDB did with it: no planted
   value, and not the erased subject's wrapped data key; the enterprise's public values are
   found (the scanner is not blind). Modes: data directory 0700, its files 0600, key file 0600.
   filingctl history / replay / export with the key show clear values and "[erased]"; a
   missing --key-file fails; without the default key "[encrypted]"; verify passes with
   clear_personal_events == 0.
C. The daemon restarts on the same ledger: the embedded cluster is new and the publisher
   republishes the whole log, so the erased subject's events are published anew after the
   erasure: their personal fields read "[erased]" on Kafka, its key only as a tombstone, and a
   restore from that republished topic still gives the same head.

Synchronisation: no sleeps; conditions are polled under deadlines (poll_until) and Kafka is
read with the consumer's own blocking poll up to the partitions' high watermarks.

The cases beside it, each on a daemon of its own: test_personal_data_cases.py. Shared
helpers: personal_data.py. Environment: FILINGD_BIN, FILINGCTL_BIN (see harness.py). Needs
confluent_kafka.
"""

import base64
import glob
import json
import os
import re
import secrets
import shutil
import stat
import subprocess
import tempfile
import time
import unittest
import urllib.parse

from harness import DaemonTestCase, all_events, filingctl_bin
from personal_data import (TOKENS, OPERATOR, AUDITOR, READER, PRIVACY, PRIVACY_NAME, ERASED,
                           ENCRYPTED, CTL_TIMEOUT, STORED_KEY_SIZE, rng, RUN, masked, Person,
                           Individual, Enterprise, fields, leaks, status_personal, event_personal,
                           expected_personal, readable_files, scan, master_key_line, write_key_file,
                           read_topic, message_blobs, listening_addresses, LOOPBACK, poll_until,
                           rfc3339, Helpers, urlquote)


class PersonalDataTest(Helpers, DaemonTestCase):
    daemon_options = {"tokens": TOKENS, "kafka_mode": "embedded"}
    token = OPERATOR

    @classmethod
    def tearDownClass(cls):
        # The scenario stops and restarts the daemon itself; stop it only if it still runs.
        try:
            proc = cls.daemon.proc
            if proc is not None and proc.poll() is None:
                rc, out = cls.daemon.stop()
                if rc != 0 or "stopped cleanly" not in out:
                    raise AssertionError(
                        f"filingd did not stop cleanly (exit {rc}):\n{out[-4000:]}")
        finally:
            cls.daemon.cleanup()

    # -- helpers --

    def as_role(self, token):
        c = self.daemon.client(token=token)
        self.addCleanup(c.close)
        return c

    def submit_as(self, body, fid, occurred_at=None):
        body = dict(body, filing_id=fid, actor="desk-1")
        if occurred_at is not None:
            body["occurred_at"] = occurred_at
        return self.submit(body)

    # -- the plant --

    def plant(self):
        now = time.time()
        self.wrapped_keys = {}  # subject_ref -> stored data key, as filing.keys published it
        self.s_erased = Individual(1)  # S1: all its filings closed, then erased
        self.s_open = Individual(2)  # S2: an open filing (bureau_review, SMS confirmed)
        self.s_approved = Individual(3)  # S3: an active record number
        self.enterprise = Enterprise()  # S4: public subject, personal responsible person
        self.p = {k: Person(10 + k) for k in range(6)}
        self.phones = {k: "139" + f"{rng.randrange(10**8):08d}" for k in ("erased", "open")}
        self.fid = {k: f"PD-{k}-{RUN}" for k in ("abandoned", "withdrawn", "open", "approved",
                                               "enterprise")}
        self.people = {"abandoned": [self.p[0]], "withdrawn": [self.p[1]],
                       "open": [self.p[2]], "approved": [self.p[3]],
                       "enterprise": [self.p[4]]}
        self.subjects = {"abandoned": self.s_erased, "withdrawn": self.s_erased,
                         "open": self.s_open, "approved": self.s_approved,
                         "enterprise": self.enterprise}

        # S1, filing 1: submitted 50 days ago, returned 47 days ago: abandoned by the 45-day
        # timer as soon as it is appended.
        fid = self.fid["abandoned"]
        self.submit_as(fields(self.s_erased, [self.p[0]], "ab"), fid,
                       occurred_at=rfc3339(now - 50 * 86400))
        self.event(fid, "initial_review_rejected",
                   {"reason_code": "website_name", "reason": "网站名称不符合要求"},
                   occurred_at=rfc3339(now - 47 * 86400))
        poll_until(lambda: self.status(fid)["state"] == "abandoned", f"{fid} to be abandoned")

        # S1, filing 2: returned, resubmitted with another responsible person, SMS confirmed with
        # a planted phone, rejected by the bureau, withdrawn.
        fid = self.fid["withdrawn"]
        self.submit_as(fields(self.s_erased, [self.p[5]], "wd"), fid)
        self.event(fid, "initial_review_rejected", {"reason_code": "subject_info",
                                                   "reason": "主体信息有误"})
        r = self.event(fid, "filing_submitted", fields(self.s_erased, [self.p[1]], "wd"))
        self.assertEqual(r["state"], "provider_review")
        self.drive(fid, "sms_pending")
        r = self.event(fid, "sms_confirmed", {"phone": self.phones["erased"]})
        self.assertEqual(r["state"], "bureau_review")
        self.event(fid, "bureau_rejected", {"reason_code": "content", "reason": "内容不符"})
        r = self.event(fid, "filing_withdrawn", {"reason": "不再备案"})
        self.assertEqual(r["state"], "withdrawn")
        self.people["withdrawn_first"] = [self.p[5]]

        # S2: open, in bureau_review, its SMS confirmed with a planted phone.
        fid = self.fid["open"]
        self.submit_as(fields(self.s_open, [self.p[2]], "op"), fid)
        self.drive(fid, "sms_pending")
        r = self.event(fid, "sms_confirmed", {"phone": self.phones["open"]})
        self.assertEqual(r["state"], "bureau_review")
        self.sms_seq = r["seq"]

        # S3: approved, its record numbers active.
        fid = self.fid["approved"]
        self.submit_as(fields(self.s_approved, [self.p[3]], "ap"), fid)
        self.drive(fid, "bureau_review")
        number = f"京ICP备2026{rng.randrange(10**6):06d}号"
        domain = f"ap-0-{RUN}.cn"
        r = self.event(fid, "bureau_approved", {"subject_record_number": number, "websites": [
            {"domain": domain, "record_number": number + "-1"}]})
        self.assertEqual(r["state"], "approved")
        self.record_number = number

        # S4: an enterprise; its responsible person is an individual.
        self.submit_as(fields(self.enterprise, [self.p[4]], "en"), self.fid["enterprise"])

        self.refs = {k: self.status(fid)["subject"]["subject_ref"]
                     for k, fid in self.fid.items()}
        self.assertEqual(self.refs["abandoned"], self.refs["withdrawn"])
        self.assertEqual(len(set(self.refs.values())), 4, self.refs)
        for ref in self.refs.values():
            self.assertRegex(ref, r"^[0-9a-f]{64}$")

        # Every planted personal value, by subject; the enterprise's public values.
        self.erased_values = (self.s_erased.values() + self.p[0].values() + self.p[1].values()
                              + self.p[5].values() + [self.phones["erased"]])
        self.kept_values = (self.s_open.values() + self.s_approved.values() + self.p[2].values()
                            + self.p[3].values() + self.p[4].values() + [self.phones["open"]])
        self.planted = self.erased_values + self.kept_values
        self.public = self.enterprise.values()
        self.assertEqual(len(set(self.planted)), len(self.planted), "planted values collide")

    # -- phase A: the daemon runs --

    def check_http_before_erasure(self):
        op, aud, rd = self.as_role(OPERATOR), self.as_role(AUDITOR), self.as_role(READER)
        fid = self.fid["open"]
        expected = expected_personal(self.s_open, [self.p[2]])
        for name, c in (("operator", op), ("auditor", aud)):
            r = c.get(f"/v1/filings/{fid}")
            self.assertEqual(r.status, 200, r)
            self.assert_personal(status_personal(r.json), expected, f"{name} reads clear values")
            r = c.get(f"/v1/filings/{fid}/events")
            self.assertEqual(r.status, 200, r)
            by_type = {e["type"]: e for e in r.json["items"]}
            self.assert_personal(event_personal(by_type["filing_submitted"]),
                                 [("data." + p, v) for p, v in expected], name)
            self.assertEqual(by_type["sms_confirmed"]["data"]["phone"], self.phones["open"], name)
        # The auditor reads the withdrawn filing's resubmission and phone in clear too.
        r = aud.get(f"/v1/filings/{self.fid['withdrawn']}/events")
        subs = [e for e in r.json["items"] if e["type"] == "filing_submitted"]
        self.assertEqual(len(subs), 2, r)
        self.assertEqual(subs[1]["data"]["websites"][0]["responsible"]["id_number"],
                         self.p[1].id_number)

        # The reader: masked, counted in characters.
        r = rd.get(f"/v1/filings/{fid}")
        self.assertEqual(r.status, 200, r)
        self.assert_personal(status_personal(r.json), [(p, masked(v)) for p, v in expected],
                             "the reader reads masked values")
        subj = r.json["subject"]
        self.assertEqual(subj["name"], "**" + self.s_open.name[2:], "6 Chinese characters")
        self.assertEqual(r.json["websites"][0]["responsible"]["name"], "***",
                         "a name of 3 characters is masked whole")
        self.assertEqual(subj["id_number"], "*" * 14 + self.s_open.id_number[-4:])
        self.assertEqual(r.json["websites"][0]["responsible"]["mobile"],
                         "*" * 7 + self.p[2].mobile[-4:])
        # The enterprise's subject is public: the reader reads it; its responsible person not.
        r = rd.get(f"/v1/filings/{self.fid['enterprise']}")
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json["subject"]["name"], r.json["subject"]["id_number"],
                          r.json["subject"]["address"]), tuple(self.enterprise.values()))
        self.assert_personal(status_personal(r.json),
                             [(p, masked(v)) for p, v in expected_personal(self.enterprise,
                                                                           [self.p[4]])],
                             "the enterprise's responsible person, as the reader sees it")
        # Nothing the reader can reach holds a planted value.
        bodies = [rd.get(f"/v1/filings/{f}").body for f in self.fid.values()]
        bodies += [rd.get(f"/v1/filings/{self.fid['open']}?as_of_seq={self.sms_seq}").body,
                   rd.get("/v1/filings?limit=1000").body, rd.get("/v1/deadlines").body,
                   rd.get(f"/v1/records/{urlquote(self.record_number)}").body]
        for path in (f"/v1/filings/{fid}/events", "/v1/events"):
            r = rd.get(path)
            if r.status == 200:
                bodies.append(r.body)
            else:
                self.assertEqual(r.status, 403, f"reader on {path}: {r}")
        for body in bodies:
            self.assertEqual(leaks(body, self.planted), [], "a planted value reached the reader")

    def check_kafka_before_erasure(self, bootstrap):
        head = self.wait_published()
        topics = self.read_topics(bootstrap)
        events = [m.json() for m in topics["filing.events"]]
        self.assertEqual(max(e["seq"] for e in events), head["seq"], "events topic incomplete")
        self.assertEqual({e["seq"] for e in events}, set(range(1, head["seq"] + 1)))

        # filing.keys: each subject's wrapped data key, under its reference.
        keys = {}
        for m in topics["filing.keys"]:
            ref = m.key.decode()
            if m.value is not None:
                self.wrapped_keys.setdefault(ref, m.value)
            self.assertIsNotNone(m.value, f"a tombstone before any erasure: {m}")
            self.assertEqual(len(m.value), STORED_KEY_SIZE, f"stored data key size: {m}")
            self.assertEqual(m.value[:4], b"\0\0\0\0", "generation 0")
            self.assertEqual(m.value[4], 0x01, "wrapped key format version 1")
            self.assertEqual(keys.setdefault(ref, m.value), m.value, f"two keys for {ref}")
        self.assertEqual(set(keys), set(self.refs.values()), "one key per subject")

        public_seen, body_public_seen = False, False
        for name, msgs in topics.items():
            self.assertTrue(msgs, f"{name} is empty")
            for m in msgs:
                for blob in message_blobs(m):
                    self.assertEqual(leaks(blob, self.planted), [], f"planted value in {m}")
                public_seen = public_seen or bool(leaks(m.value or b"", self.public))
                body = m.header("body")
                if body is not None:
                    body_public_seen = body_public_seen or bool(
                        leaks(base64.b64decode(body), self.public))
        self.assertTrue(public_seen, "the enterprise's public name is on no event: the scan of "
                                     "Kafka messages would be blind")
        self.assertTrue(body_public_seen, "no body header holds the enterprise's name: the "
                                          "decoding of body headers would be blind")

        # Events show personal data as the reader sees it (kafka.personal_data = masked).
        by = {(e["filing_id"], e["type"]): e for e in events}
        sub = by[(self.fid["open"], "filing_submitted")]
        self.assert_personal(event_personal(sub),
                             [("data." + p, masked(v))
                              for p, v in expected_personal(self.s_open, [self.p[2]])],
                             "filing_submitted on Kafka")
        self.assertEqual(by[(self.fid["open"], "sms_confirmed")]["data"]["phone"],
                         masked(self.phones["open"]))
        sealed = [m for m in topics["filing.events"] if m.header("event_type") in
                  (b"filing_submitted", b"sms_confirmed")]
        self.assertTrue(sealed and all(m.header("body") for m in sealed),
                        "events with sealed personal data carry their stored body")


    def check_filingctl_before_erasure(self):
        d = self.daemon.data_dir
        _, out, _ = self.ctl("history", "--data-dir", d, self.fid["withdrawn"], "--json")
        items = json.loads(out)["items"]
        subs = [e for e in items if e["type"] == "filing_submitted"]
        self.assert_personal(event_personal(subs[1]),
                             [("data." + p, v)
                              for p, v in expected_personal(self.s_erased, [self.p[1]])],
                             "filingctl history with the default key, while the daemon runs")
        self.assertEqual([e["data"]["phone"] for e in items if e["type"] == "sms_confirmed"],
                         [self.phones["erased"]])

    def erase(self, token, subject, reason="用户依法要求删除个人信息"):
        c = self.as_role(token)
        return c.post("/v1/subjects/erase", {"id_type": subject.id_type,
                                             "id_number": subject.id_number, "reason": reason})

    def check_erasure_refusals(self):
        r = self.erase(OPERATOR, self.s_erased)
        self.assertError(r, 403)
        unknown = Individual(99)
        r = self.erase(PRIVACY, unknown)
        self.assertError(r, 404)
        self.assertEqual(leaks(r.body, [unknown.id_number]), [], r)
        r = self.erase(PRIVACY, self.s_open)
        self.assertError(r, 409)
        self.assertEqual(leaks(r.body, self.planted), [],
                         f"the 409 echoes personal data (SPEC §5.7): {r}")
        r = self.erase(PRIVACY, self.s_approved)
        self.assertError(r, 409)
        self.assertEqual(leaks(r.body, self.planted), [], r)
        # Nothing was written by the refusals.
        self.assertEqual(self.head()["seq"], self.head_before_erasure)
        # Before the erasure, a search by the subject's certificate or name finds its filings.
        erased_fids = sorted([self.fid["abandoned"], self.fid["withdrawn"]])
        for query in self.person_searches(self.s_erased):
            r = self.as_role(OPERATOR).get(query)
            self.assertEqual(sorted(s["filing_id"] for s in r.json["items"]), erased_fids, r)

    @staticmethod
    def person_searches(subject):
        q = urllib.parse.urlencode
        return ["/v1/filings?" + q({"id_type": subject.id_type, "id_number": subject.id_number}),
                "/v1/filings?" + q({"subject_name": subject.name}),
                "/v1/filings?" + q({"subject_name": subject.name, "sort": "updated_at"})]

    def do_erasure(self):
        self.erase_reason = f"PIPL art.47 request {RUN}"
        r = self.erase(PRIVACY, self.s_erased, reason=self.erase_reason)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["subject_ref"], self.refs["withdrawn"], r)
        self.assertEqual(sorted(r.json["filings"]),
                         sorted([self.fid["abandoned"], self.fid["withdrawn"]]), r)
        self.assertEqual(r.json["seq"], self.head_before_erasure + 1, r)
        self.assertEqual(leaks(r.body, self.planted), [], r)
        self.erasure_seq = r.json["seq"]
        again = self.erase(PRIVACY, self.s_erased)
        self.assertError(again, 409)
        self.assertEqual(leaks(again.body, self.planted), [], again)
        self.assertEqual(self.head()["seq"], self.erasure_seq, "a refused erasure wrote")

    def check_http_after_erasure(self):
        erased_fids = (self.fid["abandoned"], self.fid["withdrawn"])
        roles = {"operator": OPERATOR, "auditor": AUDITOR, "reader": READER,
                 "privacy_officer": PRIVACY}
        for role, token in roles.items():
            c = self.as_role(token)
            for fid in erased_fids:
                r = c.get(f"/v1/filings/{fid}")
                self.assertEqual(r.status, 200, r)
                self.assert_personal(status_personal(r.json), ERASED, f"{role} GET {fid}")
                self.assertEqual(leaks(r.body, self.erased_values), [], f"{role} GET {fid}")
            s = c.get(f"/v1/filings/{self.fid['withdrawn']}").json
            self.assertEqual((s["state"], s["attempt"]), ("withdrawn", 2), "workflow kept")
            self.assertEqual(c.get(f"/v1/filings/{self.fid['abandoned']}").json["state"],
                             "abandoned")
            r = c.get(f"/v1/filings/{self.fid['withdrawn']}?as_of_seq={self.erasure_seq - 1}")
            self.assertEqual(r.status, 200, r)
            self.assert_personal(status_personal(r.json), ERASED, f"{role} as_of_seq")
            for state in ("withdrawn", "abandoned"):
                r = c.get(f"/v1/filings?state={state}&limit=1000")
                self.assertEqual(r.status, 200, r)
                mine = [s for s in r.json["items"] if s["filing_id"] in erased_fids]
                self.assertEqual(len(mine), 1, r)
                self.assert_personal(status_personal(mine[0]), ERASED, f"{role} list {state}")
            r = c.get("/v1/filings?limit=1000")
            self.assertEqual(leaks(r.body, self.erased_values), [], f"{role} list")
            for path in [f"/v1/filings/{f}/events" for f in erased_fids] + ["/v1/events"]:
                r = c.get(path + ("?limit=10000" if path == "/v1/events" else ""))
                if role in ("reader", "privacy_officer") and r.status == 403:
                    continue
                self.assertEqual(r.status, 200, f"{role} {path}: {r}")
                self.assertEqual(leaks(r.body, self.erased_values), [], f"{role} {path}")
                self.assert_events_marked([e for e in r.json["items"]
                                           if e["filing_id"] in erased_fids], ERASED,
                                          f"{role} {path}")
            # The erased person can no longer be traced to the filings by certificate or name;
            # another subject still is.
            for query in self.person_searches(self.s_erased):
                r = c.get(query)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json["items"], [], f"{role} {query}")
            for query in self.person_searches(self.s_open):
                r = c.get(query)
                self.assertEqual([s["filing_id"] for s in r.json["items"]], [self.fid["open"]],
                                 f"{role} {query}")
            # The subjects not erased are untouched.
            if role in ("operator", "auditor"):
                s = c.get(f"/v1/filings/{self.fid['open']}").json
                self.assert_personal(status_personal(s),
                                     expected_personal(self.s_open, [self.p[2]]),
                                     f"{role}: a subject not erased")

        # The history remains, and subject_erased is in the global log without personal data.
        events = all_events(self, self.as_role(AUDITOR))
        self.assertEqual(len(events), self.erasure_seq)
        self.assertEqual([e["type"] for e in events if e["filing_id"] == self.fid["withdrawn"]],
                         ["filing_submitted", "initial_review_rejected", "filing_submitted",
                          "initial_review_approved", "photo_approved", "submitted_to_bureau",
                          "sms_confirmed", "bureau_rejected", "filing_withdrawn"])
        erased = events[-1]
        self.assertEqual(erased["seq"], self.erasure_seq)
        self.assertEqual(erased["type"], "subject_erased", erased)
        self.assertEqual(erased["data"]["subject_ref"], self.refs["withdrawn"], erased)
        self.assertEqual(erased["data"]["reason"], self.erase_reason, erased)
        self.assertEqual(erased["principal"], PRIVACY_NAME, erased)
        self.assertEqual(leaks(json.dumps(erased, ensure_ascii=False).encode(), self.planted), [])

    def check_kafka_after_erasure(self, bootstrap):
        self.wait_published()
        ref = self.refs["withdrawn"]

        def tombstone():
            keys = read_topic(bootstrap, "filing.keys")
            return [m for m in keys if m.key == ref.encode() and m.value is None] and keys
        keys = poll_until(tombstone, "the erased subject's tombstone on filing.keys")
        last = {}
        for m in keys:
            last[m.key.decode()] = m.value
        self.assertIsNone(last[ref], "the erased subject's last key message is its tombstone")
        self.assertEqual({k for k, v in last.items() if v is not None},
                         set(self.refs.values()) - {ref})
        events = read_topic(bootstrap, "filing.events")
        erased = [m for m in events if m.header("event_type") == b"subject_erased"]
        self.assertEqual(len(erased), 1, erased)
        e = erased[0].json()
        self.assertEqual((e["seq"], e["data"]["subject_ref"], e["principal"]),
                         (self.erasure_seq, ref, PRIVACY_NAME))
        for m in events + keys:
            for blob in message_blobs(m):
                self.assertEqual(leaks(blob, self.planted), [], f"planted value in {m}")

    def check_status_topic_after_erasure(self, bootstrap):
        """filing.status is compacted and keyed by filing_id: what a consumer reads of a filing
        is its latest status there. After the erasure it must read "[erased]" (SPEC §5.4: from
        then on Kafka shows those fields as "[erased]"), not the masked values published before."""
        self.wait_published()
        erased_fids = (self.fid["abandoned"], self.fid["withdrawn"])

        def latest():
            out = {}
            for m in read_topic(bootstrap, "filing.status"):
                fid = m.key.decode()
                if fid in erased_fids and (fid not in out or m.offset > out[fid].offset):
                    out[fid] = m
            return {fid: dict(status_personal(m.json())) for fid, m in out.items()}

        def all_erased():
            now = latest()
            return all(set(now.get(f, {}).values()) == {ERASED} for f in erased_fids)
        try:
            poll_until(all_erased, "filing.status to show the erased filings' fields as [erased]",
                       timeout=5)
        except AssertionError as e:
            self.fail(f"{e}: the latest status of each erased filing on the compacted topic "
                      f"still reads {latest()}")

    def check_restore(self, bootstrap):
        head = self.wait_published()
        self.restore_tmp = tempfile.mkdtemp(prefix="filingd-pd-restore-")
        self.addCleanup(shutil.rmtree, self.restore_tmp, True)
        self.restored = os.path.join(self.restore_tmp, "replica", "data")
        _, out, err = self.ctl("restore", "--from-kafka", bootstrap, "--data-dir", self.restored)
        m = re.search(r"head seq (\d+) hash ([0-9a-f]{64})", out)
        self.assertIsNotNone(m, out + err)
        self.assertEqual((int(m.group(1)), m.group(2)), (head["seq"], head["hash"]),
                         "the restored head differs from the daemon's")
        key = os.path.join(self.daemon.dir, "filingd.key")
        self.assertFalse(os.path.exists(os.path.join(self.restore_tmp, "replica", "filingd.key")))

        # With the daemon's key: clear values for the subjects not erased, "[erased]" for S1.
        _, out, _ = self.ctl("history", "--data-dir", self.restored, "--key-file", key,
                             self.fid["open"], "--json")
        items = json.loads(out)["items"]
        self.assert_personal(event_personal(items[0]),
                             [("data." + p, v)
                              for p, v in expected_personal(self.s_open, [self.p[2]])],
                             "restored replica with the key")
        self.assertEqual([e["data"]["phone"] for e in items if e["type"] == "sms_confirmed"],
                         [self.phones["open"]])
        _, out, _ = self.ctl("history", "--data-dir", self.restored, "--key-file", key,
                             self.fid["withdrawn"], "--json")
        self.assert_events_marked(json.loads(out)["items"], ERASED,
                                  "restored replica, erased subject")
        self.assertEqual(leaks(out.encode(), self.erased_values), [])
        # Without a key: "[encrypted]"; the erased subject still "[erased]".
        _, out, _ = self.ctl("history", "--data-dir", self.restored, self.fid["open"], "--json")
        self.assert_events_marked(json.loads(out)["items"], ENCRYPTED,
                                  "restored replica without key")
        self.assertEqual(leaks(out.encode(), self.planted), [])
        _, out, _ = self.ctl("history", "--data-dir", self.restored, self.fid["withdrawn"],
                             "--json")
        self.assert_events_marked(json.loads(out)["items"], ERASED,
                                  "restored, no key, erased subject")
        _, out, _ = self.ctl("verify", "--data-dir", self.restored, "--json")
        report = json.loads(out)
        self.assertTrue(report["ok"], out)
        self.assertEqual(report["head"], head)

        # Another master key: refused, naming the key, and nothing written.
        other = os.path.join(self.restore_tmp, "other.key")
        write_key_file(other, master_key_line(secrets.token_bytes(32)))
        target = os.path.join(self.restore_tmp, "replica2", "data")
        rc, out, err = self.ctl("restore", "--from-kafka", bootstrap, "--data-dir", target,
                                "--key-file", other, ok=False)
        self.assertNotEqual(rc, 0, out + err)
        self.assertIn("master key", err, "the refusal names the master key")
        self.assertFalse(os.path.exists(target), "a refused restore left its directory")
        self.assertFalse(os.path.exists(target + ".partial"), "a refused restore left files")

    # -- phase B: stopped --

    def check_files_at_rest(self):
        d = self.daemon
        found = scan(d.dir, self.planted)
        self.assertEqual(found, {}, "planted personal values at rest")
        # The scan can fail: the enterprise's public values are stored in clear, and found.
        hits = scan(d.dir, self.public)
        self.assertTrue(any(p.startswith(d.data_dir) for p in hits), hits)
        in_sst = {p: v for p, v in hits.items() if p.endswith(".sst")}
        ssts = glob.glob(os.path.join(d.data_dir, "**", "*.sst"), recursive=True)
        if ssts:
            # Clear bytes in an SST are LZ4-compressed: found only through decompression.
            self.assertTrue(in_sst, f"the public values are in no SST of {ssts}")
        # The erased subject's data key is destroyed: its wrapped bytes are nowhere; those of a
        # subject not erased are found (the same scan can find a key).
        files = readable_files(d.dir)
        erased_key = self.wrapped_keys.get(self.refs["withdrawn"])
        kept_key = self.wrapped_keys.get(self.refs["open"])
        self.assertIsNotNone(erased_key, "filing.keys never published the subject's key")
        for path, blob in files.items():
            self.assertNotIn(erased_key, blob,
                             f"the erased subject's wrapped data key is still in {path}")
        self.assertTrue(any(kept_key in blob for blob in files.values()),
                        "a kept subject's wrapped key is in no file: the key scan is blind")
        # The master key is beside the data directory, not in it, and never logged.
        with open(os.path.join(d.dir, "filingd.key")) as f:
            master_hex = f.read().split()[1]
        master = [master_hex, master_hex.upper()]
        for path, blob in files.items():
            if os.path.basename(path) != "filingd.key":
                self.assertEqual(leaks(blob, master), [], f"the master key is in {path}")
                self.assertNotIn(bytes.fromhex(master_hex), blob, f"the master key is in {path}")
        self.assertEqual(leaks(d.output().encode(), master), [], "the master key was logged")
        # The restored replica holds no planted value, nor the erased subject's key, either.
        self.assertEqual(scan(self.restore_tmp, self.planted), {}, "planted values in replica")
        for path, blob in readable_files(self.restore_tmp).items():
            self.assertNotIn(erased_key, blob, f"the erased subject's key is in {path}")
        self.assertTrue(scan(self.restore_tmp, self.public), "replica scan is blind")
        # Nor does the daemon's log.
        self.assertEqual(leaks(d.output().encode(), self.planted), [], "planted value logged")

    def check_modes(self):
        d = self.daemon
        self.assertEqual(stat.S_IMODE(os.stat(d.data_dir).st_mode), 0o700, d.data_dir)
        for dirpath, dirs, names in os.walk(d.data_dir):
            for name in dirs:
                p = os.path.join(dirpath, name)
                self.assertEqual(stat.S_IMODE(os.lstat(p).st_mode), 0o700, p)
            for name in names:
                p = os.path.join(dirpath, name)
                self.assertEqual(stat.S_IMODE(os.lstat(p).st_mode), 0o600, p)
        key = os.path.join(d.dir, "filingd.key")
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600, key)

    def check_rebuild_modes(self):
        """filingctl rebuild-projections writes new table files, under the shell's umask."""
        p = subprocess.run([filingctl_bin(), "rebuild-projections", "--data-dir",
                            self.daemon.data_dir], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=CTL_TIMEOUT,
                           preexec_fn=lambda: os.umask(0o022))
        self.assertEqual(p.returncode, 0, p.stderr.decode("utf-8", "replace"))
        self.check_modes()

    def check_filingctl_offline(self):
        d = self.daemon.data_dir
        key = os.path.join(self.daemon.dir, "filingd.key")
        erased_fids = {self.fid["abandoned"], self.fid["withdrawn"]}
        clear = {k: expected_personal(self.subjects[k], self.people[k])
                 for k in ("open", "approved", "enterprise")}

        # history: the default key beside the data directory, and --key-file.
        for extra in ([], ["--key-file", key]):
            _, out, _ = self.ctl("history", "--data-dir", d, self.fid["open"], "--json", *extra)
            items = json.loads(out)["items"]
            self.assert_personal(event_personal(items[0]),
                                 [("data." + p, v) for p, v in clear["open"]], f"history {extra}")
            self.assertEqual([e["data"]["phone"] for e in items if e["type"] == "sms_confirmed"],
                             [self.phones["open"]])
            _, out, _ = self.ctl("history", "--data-dir", d, self.fid["withdrawn"], "--json",
                                 *extra)
            self.assert_events_marked(json.loads(out)["items"], ERASED,
                                      f"history erased {extra}")
            self.assertEqual(leaks(out.encode(), self.erased_values), [])

        # replay: every filing's status.
        _, out, _ = self.ctl("replay", "--data-dir", d, "--json")
        statuses = {s["filing_id"]: s for s in json.loads(out)["filings"]}
        for k in ("open", "approved", "enterprise"):
            self.assert_personal(status_personal(statuses[self.fid[k]]), clear[k], f"replay {k}")
        for fid in erased_fids:
            self.assert_personal(status_personal(statuses[fid]), ERASED, f"replay {fid}")
        self.assertEqual(leaks(out.encode(), self.erased_values), [])

        # export: every event.
        _, out, _ = self.ctl("export", "--data-dir", d, "--format", "jsonl")
        events = [json.loads(line) for line in out.splitlines() if line.strip()]
        self.assertEqual(len(events), self.erasure_seq)
        self.assert_events_marked([e for e in events if e["filing_id"] in erased_fids], ERASED,
                                  "export")
        sub = next(e for e in events if e["filing_id"] == self.fid["approved"]
                   and e["type"] == "filing_submitted")
        self.assert_personal(event_personal(sub), [("data." + p, v) for p, v in clear["approved"]],
                             "export")
        self.assertEqual(leaks(out.encode(), self.erased_values), [])
        self.assertTrue(leaks(out.encode(), self.kept_values), "export shows clear values")

        # --key-file naming a missing file: an error, naming it.
        missing = os.path.join(self.daemon.dir, "no-such.key")
        for args in (["history", "--data-dir", d, self.fid["open"], "--json"],
                     ["replay", "--data-dir", d, "--json"],
                     ["export", "--data-dir", d, "--format", "jsonl"]):
            rc, out, err = self.ctl(*args, "--key-file", missing, ok=False)
            self.assertNotEqual(rc, 0, f"{args[0]} with a missing key file: {out}")
            self.assertIn(missing, err)
            self.assertEqual(leaks(out.encode(), self.planted), [])

        # Without the default key: "[encrypted]".
        moved = key + ".away"
        os.rename(key, moved)
        try:
            _, out, err = self.ctl("history", "--data-dir", d, self.fid["open"], "--json")
            self.assert_events_marked(json.loads(out)["items"], ENCRYPTED,
                                      "history without the key")
            self.assertEqual(leaks(out.encode(), self.planted), [])
            _, out, _ = self.ctl("replay", "--data-dir", d, "--json")
            statuses = {s["filing_id"]: s for s in json.loads(out)["filings"]}
            self.assert_personal(status_personal(statuses[self.fid["open"]]), ENCRYPTED,
                                 "replay without the key")
            self.assertEqual(leaks(out.encode(), self.planted), [])
            _, out, _ = self.ctl("export", "--data-dir", d, "--format", "jsonl")
            self.assertEqual(leaks(out.encode(), self.planted), [])
            self.assertIn(ENCRYPTED, out)
            # verify never needs the key.
            _, out, _ = self.ctl("verify", "--data-dir", d)
        finally:
            os.rename(moved, key)

        _, out, _ = self.ctl("verify", "--data-dir", d, "--json")
        report = json.loads(out)
        self.assertTrue(report["ok"], out)
        self.assertEqual(report["head"], self.final_head)
        self.assertEqual(report["clear_personal_events"], 0, out)

    # -- phase C: restarted, the whole log republished --

    def check_republished(self):
        self.daemon.start()
        self.c.close()
        self.c = self.daemon.client(token=OPERATOR)
        bootstrap = self.bootstrap()
        head = self.wait_published()
        self.assertEqual(head, self.final_head)
        topics = self.read_topics(bootstrap)
        erased_fids = {self.fid["abandoned"], self.fid["withdrawn"]}
        seen = set()
        for m in topics["filing.events"]:
            e = m.json()
            if e["filing_id"] in erased_fids and event_personal(e):
                self.assert_personal(event_personal(e), ERASED, f"republished seq {e['seq']}")
                seen.add(e["seq"])
        self.assertEqual(len(seen), 4, "3 submissions and 1 confirmation of the erased subject")
        for m in topics["filing.status"]:
            if m.key.decode() in erased_fids:
                self.assert_personal(status_personal(m.json()), ERASED, f"status {m}")
        ref = self.refs["withdrawn"]
        mine = [m for m in topics["filing.keys"] if m.key == ref.encode()]
        self.assertTrue(mine, "the erased subject's tombstone is republished")
        self.assertTrue(all(m.value is None for m in mine), f"its destroyed key published: {mine}")
        for msgs in topics.values():
            for m in msgs:
                for blob in message_blobs(m):
                    self.assertEqual(leaks(blob, self.planted), [], f"planted value in {m}")
        # A restore from the republished topics gives the same head.
        target = os.path.join(self.restore_tmp, "replica3", "data")
        _, out, _ = self.ctl("restore", "--from-kafka", bootstrap, "--data-dir", target)
        m = re.search(r"head seq (\d+) hash ([0-9a-f]{64})", out)
        self.assertIsNotNone(m, out)
        self.assertEqual((int(m.group(1)), m.group(2)), (head["seq"], head["hash"]))
        self.daemon.assert_stops_cleanly(self)

    def test_personal_data_end_to_end(self):
        bootstrap = self.bootstrap()
        with self.subTest("A: the daemon and its embedded Kafka listen on loopback only"):
            addresses = listening_addresses(self.daemon.proc.pid)
            self.assertGreaterEqual(len(addresses), 2, addresses)  # HTTP and the Kafka broker
            port = int(bootstrap.rsplit(":", 1)[1])
            self.assertIn(f"0100007F:{port:04X}", addresses)
            self.assertEqual([a for a in addresses if not a.startswith(LOOPBACK)], [])
        self.plant()
        with self.subTest("A: HTTP reads before the erasure"):
            self.check_http_before_erasure()
        with self.subTest("A: Kafka before the erasure"):
            self.check_kafka_before_erasure(bootstrap)
        with self.subTest("A: filingctl while the daemon runs"):
            self.check_filingctl_before_erasure()
        self.head_before_erasure = self.head()["seq"]
        with self.subTest("A: erasure refused"):
            self.check_erasure_refusals()
        self.do_erasure()
        with self.subTest("A: HTTP reads after the erasure"):
            self.check_http_after_erasure()
        with self.subTest("A: Kafka after the erasure"):
            self.check_kafka_after_erasure(bootstrap)
        with self.subTest("A: the compacted status topic after the erasure"):
            self.check_status_topic_after_erasure(bootstrap)
        self.final_head = self.head()
        self.check_restore(bootstrap)

        self.daemon.assert_stops_cleanly(self)
        with self.subTest("B: modes"):
            self.check_modes()
        with self.subTest("B: no personal value at rest"):
            self.check_files_at_rest()
        with self.subTest("B: filingctl on the stopped ledger"):
            self.check_filingctl_offline()
        with self.subTest("B: a rebuild's files are as private"):
            self.check_rebuild_modes()

        with self.subTest("C: the log republished after the erasure"):
            self.check_republished()


if __name__ == "__main__":
    unittest.main()
