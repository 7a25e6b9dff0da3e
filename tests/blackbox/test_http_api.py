"""The HTTP API end to end against a real filingd: whole filing lives for every filing type,
returns and resubmissions, SMS failure, withdrawal, the record-number registry, input
validation, idempotent retries, version conflicts, metrics and readiness."""

import datetime
import json
import os
import re
import shutil
import subprocess
import unittest

from harness import (SHIPPED_SMS_POLICIES, Daemon, DaemonTestCase, bad_resident_id, filing_fields,
                     gb11643_check_digit, new_filing, quote, resident_id, subject_number, unique,
                     website)


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def rfc3339(t):
    return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class FilingLifecycles(DaemonTestCase):
    """Every filing type from submission to approval, with the registry effects."""

    def test_first_filing_to_approval_issues_numbers(self):
        n = unique()
        fid = f"F2026-{n:06d}"
        body = new_filing(n, filing_id=fid)
        r = self.submit(body)
        self.assertEqual(r["filing_id"], fid)
        self.assertEqual(r["version"], 1)
        self.assertEqual(r["state"], "provider_review")
        first_seq = r["seq"]
        self.assertEqual(self.head_seq(), first_seq)

        s = self.status(fid)
        self.assertEqual(s["filing_type"], "first_filing")
        self.assertEqual(s["state"], "provider_review")
        self.assertEqual(s["initial_review"], "pending")
        self.assertEqual(s["photo"], "pending")
        self.assertEqual(s["attempt"], 1)
        self.assertIsNone(s["returned"])
        self.assertEqual(s["province"], "京")
        self.assertEqual(s["subject"]["id_number"], resident_id(n))
        self.assertIsNone(s["subject_record_number"])

        # Photo first, then the initial review: the order is free (Tencent does video first).
        r = self.event(fid, "photo_approved", {"method": "video"}, expected_version=1)
        self.assertEqual((r["version"], r["state"]), (2, "provider_review"))
        self.assertEqual(self.status(fid)["photo"], "approved")
        r = self.event(fid, "initial_review_approved", {"reviewer": "rev-1"}, expected_version=2)
        self.assertEqual((r["version"], r["state"]), (3, "ready_for_bureau"))

        before = datetime.datetime.now(datetime.timezone.utc)
        r = self.event(fid, "submitted_to_bureau")
        self.assertEqual(r["state"], "sms_pending")
        deadline = parse_time(r["sms_deadline"])
        window = deadline - before
        self.assertTrue(datetime.timedelta(hours=23, minutes=55) < window
                        < datetime.timedelta(hours=24, minutes=5), window)
        s = self.status(fid)
        self.assertEqual(parse_time(s["sms_deadline"]), deadline)

        r = self.event(fid, "sms_confirmed")
        self.assertEqual(r["state"], "bureau_review")
        self.assertIsNone(self.status(fid)["sms_deadline"])

        number = subject_number(n)
        domains = body["websites"][0]["domains"]
        r = self.event(fid, "bureau_approved", {
            "subject_record_number": number,
            "websites": [{"domain": domains[0], "record_number": number + "-1"}]})
        self.assertEqual((r["state"], r["version"], r["seq"]), ("approved", 6, first_seq + 5))

        s = self.status(fid)
        self.assertEqual(s["state"], "approved")
        self.assertEqual(s["subject_record_number"], number)
        self.assertEqual(s["websites"][0]["record_number"], number + "-1")
        self.assertEqual(s["version"], 6)

        rec = self.record(number + "-1")
        self.assertEqual(rec["kind"], "website")
        self.assertEqual(rec["status"], "active")
        self.assertEqual(rec["subject_record_number"], number)
        self.assertEqual(rec["domains"], domains)
        self.assertEqual(rec["filing_id"], fid)
        self.assertIn("issued_at", rec)
        rec = self.record(number)
        self.assertEqual((rec["kind"], rec["status"]), ("subject", "active"))

        # The history has every event, gapless versions, chained hashes.
        r = self.c.get(f"/v1/filings/{fid}/events")
        self.assertEqual(r.status, 200, r)
        items = r.json["items"]
        self.assertEqual([e["type"] for e in items],
                         ["filing_submitted", "photo_approved", "initial_review_approved",
                          "submitted_to_bureau", "sms_confirmed", "bureau_approved"])
        self.assertEqual([e["version"] for e in items], list(range(1, 7)))
        for e in items:
            self.assertEqual(e["filing_id"], fid)
            self.assertRegex(e["hash"], r"^[0-9a-f]{64}$")
        # The ledger pinned the deadline and the policy in the event.
        pinned = items[3]["data"]
        self.assertEqual(parse_time(pinned["sms_deadline"]), deadline)
        self.assertEqual(pinned["policy_id"], "default-24h")

    def test_add_website_gets_the_next_suffix(self):
        fid, number, sites, n, _ = self.approved_first_filing()
        m = unique()
        add_id = f"AW-{m}"
        self.submit(new_filing(n, filing_id=add_id, filing_type="add_website",
                               existing_record_number=number,
                               websites=[website(m, person_n=n)]))
        self.drive(add_id, "bureau_review")
        r = self.event(add_id, "bureau_approved", {
            "websites": [{"domain": f"site{m}.cn", "record_number": number + "-2"}]})
        self.assertEqual(r["state"], "approved")
        s = self.status(add_id)
        self.assertEqual(s["subject_record_number"], number)
        self.assertEqual(s["websites"][0]["record_number"], number + "-2")
        rec = self.record(number + "-2")
        self.assertEqual((rec["kind"], rec["status"], rec["filing_id"]),
                         ("website", "active", add_id))
        r = self.c.get(f"/v1/records?subject={quote(number)}")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(sorted(i["record_number"] for i in r.json["items"]),
                         sorted([number, number + "-1", number + "-2"]))

    def test_new_access_keeps_the_numbers(self):
        n = unique()
        fid = f"NA-{n}"
        number = f"京ICP备2019{n % 1_000_000:06d}号"
        self.submit(new_filing(n, filing_id=fid, filing_type="new_access",
                               existing_record_number=number,
                               websites=[website(n, record_number=number + "-3")]))
        self.drive(fid, "bureau_review")
        # Access keeps its numbers: the bureau may not hand out another one.
        r = self.c.post(f"/v1/filings/{fid}/events", {
            "type": "bureau_approved", "actor": "bureau",
            "data": {"subject_record_number": f"京ICP备2019{(n + 1) % 1_000_000:06d}号"}})
        self.assertError(r, 422)
        r = self.event(fid, "bureau_approved")
        self.assertEqual(r["state"], "approved")
        s = self.status(fid)
        self.assertEqual(s["subject_record_number"], number)
        self.assertEqual(s["websites"][0]["record_number"], number + "-3")
        rec = self.record(number + "-3")
        self.assertEqual((rec["status"], rec["subject_record_number"]), ("active", number))
        r = self.c.get(f"/v1/records?domain=www.site{n}.cn")
        self.assertEqual([i["record_number"] for i in r.json["items"]], [number + "-3"])

    def test_continued_access_keeps_the_numbers(self):
        fid, number, sites, n, domains = self.approved_first_filing()
        cid = f"CA-{unique()}"
        self.submit(new_filing(n, filing_id=cid, filing_type="continued_access",
                               existing_record_number=number,
                               websites=[website(n, domains=domains[0],
                                                 record_number=sites[0])]))
        self.drive(cid, "bureau_review")
        r = self.event(cid, "bureau_approved", {
            "websites": [{"domain": domains[0][0], "record_number": sites[0]}]})
        self.assertEqual(r["state"], "approved")
        s = self.status(cid)
        self.assertEqual(s["subject_record_number"], number)
        self.assertEqual(s["websites"][0]["record_number"], sites[0])
        self.assertEqual(self.record(sites[0])["status"], "active")
        r = self.c.get(f"/v1/records?subject={quote(number)}")
        self.assertEqual(len(r.json["items"]), 2, r)  # no new number

    def test_change_updates_the_registered_domains(self):
        fid, number, sites, n, domains = self.approved_first_filing()
        cid = f"CH-{unique()}"
        new_domains = [domains[0][0], f"blog{n}.cn"]
        self.submit(new_filing(n, filing_id=cid, filing_type="change",
                               existing_record_number=number,
                               websites=[website(n, domains=new_domains,
                                                 record_number=sites[0])]))
        self.drive(cid, "bureau_review")
        self.assertEqual(self.event(cid, "bureau_approved")["state"], "approved")
        s = self.status(cid)
        self.assertEqual(s["subject_record_number"], number)
        self.assertEqual(s["websites"][0]["record_number"], sites[0])
        rec = self.record(sites[0])
        self.assertEqual(rec["domains"], new_domains)
        self.assertEqual(rec["status"], "active")
        r = self.c.get(f"/v1/records?domain=blog{n}.cn")
        self.assertEqual([i["record_number"] for i in r.json["items"]], sites)
        r = self.c.get(f"/v1/records?domain={domains[0][1]}")  # www. dropped by the change
        self.assertEqual(r.json["items"], [], r)

    def test_cancel_website_cancels_only_that_number(self):
        fid, number, sites, n, domains = self.approved_first_filing(sites=2)
        cid = f"CW-{unique()}"
        self.submit(new_filing(n, filing_id=cid, filing_type="cancel_website",
                               existing_record_number=number,
                               websites=[website(n, domains=domains[1],
                                                 record_number=sites[1])]))
        self.drive(cid, "bureau_review")
        self.assertEqual(self.event(cid, "bureau_approved")["state"], "approved")
        self.assertEqual(self.record(sites[1])["status"], "cancelled")
        self.assertEqual(self.record(sites[0])["status"], "active")
        self.assertEqual(self.record(number)["status"], "active")
        # SPEC §6.7: the domain's cancelled record is still found by the domain, as cancelled.
        r = self.c.get(f"/v1/records?domain={domains[1][0]}")
        self.assertEqual([(i["record_number"], i["status"]) for i in r.json["items"]],
                         [(sites[1], "cancelled")])

    def test_cancel_subject_cascades_to_its_websites(self):
        fid, number, sites, n, domains = self.approved_first_filing(sites=2)
        cid = f"CS-{unique()}"
        self.submit(new_filing(n, filing_id=cid, filing_type="cancel_subject",
                               existing_record_number=number,
                               websites=[website(n, domains=domains[0])]))
        self.drive(cid, "bureau_review")
        self.assertEqual(self.event(cid, "bureau_approved")["state"], "approved")
        for num in [number] + sites:
            self.assertEqual(self.record(num)["status"], "cancelled", num)
        r = self.c.get(f"/v1/records?subject={quote(number)}")
        self.assertEqual(len(r.json["items"]), 3)
        self.assertTrue(all(i["status"] == "cancelled" for i in r.json["items"]), r)
        # A cancelled number is never revived: an access filing cannot bring it back.
        r = self.c.post("/v1/filings", new_filing(
            n, filing_id=f"RV-{unique()}", filing_type="new_access",
            existing_record_number=number,
            websites=[website(n, domains=domains[0], record_number=sites[0])]))
        self.assertError(r, 409)

    def test_cancel_access_skips_sms(self):
        fid, number, sites, n, domains = self.approved_first_filing()
        cid = f"CX-{unique()}"
        self.submit(new_filing(n, filing_id=cid, filing_type="cancel_access",
                               existing_record_number=number,
                               websites=[website(n, domains=domains[0],
                                                 record_number=sites[0])]))
        self.drive(cid, "ready_for_bureau")
        r = self.event(cid, "submitted_to_bureau")
        self.assertEqual(r["state"], "bureau_review")
        self.assertIsNone(r.get("sms_deadline"))
        self.assertIsNone(self.status(cid)["sms_deadline"])
        # There is no SMS step to confirm.
        r = self.c.post(f"/v1/filings/{cid}/events", {"type": "sms_confirmed", "actor": "miit"})
        body = self.assertError(r, 422)
        self.assertEqual(body["state"], "bureau_review")
        self.assertEqual(self.event(cid, "bureau_approved")["state"], "approved")
        # The numbers live on elsewhere.
        self.assertEqual(self.record(sites[0])["status"], "active")
        self.assertEqual(self.record(number)["status"], "active")

    def test_record_cancelled_on_an_approved_filing(self):
        fid, number, sites, n, domains = self.approved_first_filing()
        r = self.event(fid, "record_cancelled", {"record_number": sites[0], "reason": "网站关闭"})
        self.assertEqual(r["state"], "approved")
        self.assertEqual(self.record(sites[0])["status"], "cancelled")
        r = self.c.post(f"/v1/filings/{fid}/events", {
            "type": "record_cancelled", "actor": "bureau",
            "data": {"record_number": sites[0], "reason": "again"}})
        self.assertError(r, 409)


class ReturnsAndWithdrawals(DaemonTestCase):

    def test_rejection_and_resubmission(self):
        n = unique()
        fid = f"RJ-{n}"
        body = new_filing(n, filing_id=fid)
        self.submit(body)
        r = self.event(fid, "initial_review_rejected",
                       {"reason_code": "website_name", "reason": "网站名称不符合要求"},
                       expected_version=1, actor="rev-2")
        self.assertEqual((r["version"], r["state"]), (2, "returned"))
        s = self.status(fid)
        self.assertEqual(s["state"], "returned")
        self.assertEqual(s["returned"], {"cause": "initial_review_rejected",
                                         "reason_code": "website_name",
                                         "reason": "网站名称不符合要求"})
        self.assertEqual(s["initial_review"], "rejected")
        self.assertIsNotNone(s["abandon_at"])

        # Resubmission: a filing_submitted event with the full (fixed) filing fields.
        fixed = filing_fields(n)
        fixed["websites"][0]["name"] = "张三的技术博客"
        r = self.event(fid, "filing_submitted", fixed, expected_version=2)
        self.assertEqual(r["state"], "provider_review")
        s = self.status(fid)
        self.assertEqual(s["attempt"], 2)
        self.assertIsNone(s["returned"])
        self.assertEqual((s["initial_review"], s["photo"]), ("pending", "pending"))
        self.assertEqual(s["websites"][0]["name"], "张三的技术博客")

        # The bureau rejects the second attempt; the third goes through.
        self.drive(fid, "bureau_review")
        r = self.event(fid, "bureau_rejected", {"reason_code": "subject_info", "reason": "主体信息有误"})
        self.assertEqual(r["state"], "returned")
        self.assertEqual(self.status(fid)["returned"]["cause"], "bureau_rejected")
        self.event(fid, "filing_submitted", fixed)
        self.assertEqual(self.status(fid)["attempt"], 3)
        self.drive(fid, "bureau_review")
        number = subject_number(n)
        r = self.event(fid, "bureau_approved", {
            "subject_record_number": number,
            "websites": [{"domain": f"site{n}.cn", "record_number": number + "-1"}]})
        self.assertEqual(r["state"], "approved")
        self.assertEqual(self.status(fid)["attempt"], 3)

    def test_a_resubmission_cannot_switch_subject(self):
        n = unique()
        fid = f"SW-{n}"
        self.submit(new_filing(n, filing_id=fid))
        self.event(fid, "initial_review_rejected", {"reason_code": "x", "reason": "y"})
        head = self.head_seq()
        r = self.c.post(f"/v1/filings/{fid}/events",
                        {"type": "filing_submitted", "actor": "desk", "data": filing_fields(unique())})
        self.assertError(r, 422, field="data.subject.id_number")
        self.assertEqual(self.head_seq(), head)

    def test_five_sms_failures_return_the_filing(self):
        n = unique()
        fid = f"SMS-{n}"
        self.submit(new_filing(n, filing_id=fid))
        self.drive(fid, "sms_pending")
        for i in range(1, 5):
            r = self.event(fid, "sms_attempt_failed")
            self.assertEqual(r["state"], "sms_pending", i)
            self.assertEqual(self.status(fid)["sms_failures"], i)
        r = self.event(fid, "sms_attempt_failed")
        self.assertEqual(r["state"], "returned")
        s = self.status(fid)
        self.assertEqual(s["returned"]["cause"], "sms_failed")
        self.assertIsNone(s["sms_deadline"])
        events = self.c.get(f"/v1/filings/{fid}/events").json["items"]
        self.assertEqual([e["data"]["attempt"] for e in events if e["type"] == "sms_attempt_failed"],
                         [1, 2, 3, 4, 5])
        # The applicant resubmits and the whole path runs again.
        self.event(fid, "filing_submitted", filing_fields(n))
        s = self.status(fid)
        self.assertEqual((s["state"], s["attempt"], s["sms_failures"]), ("provider_review", 2, 0))

    def test_withdrawal_in_provider_review(self):
        n = unique()
        fid = f"WD-{n}"
        self.submit(new_filing(n, filing_id=fid))
        r = self.event(fid, "filing_withdrawn", {"reason": "不想备案了"})
        self.assertEqual(r["state"], "withdrawn")
        self.assertEqual(self.status(fid)["state"], "withdrawn")
        # Terminal: nothing more, and the subject may file again.
        head = self.head_seq()
        r = self.c.post(f"/v1/filings/{fid}/events", {"type": "initial_review_approved", "actor": "x"})
        body = self.assertError(r, 422)
        self.assertEqual(body["state"], "withdrawn")
        self.assertEqual(body["allowed_events"], [])
        self.assertEqual(self.head_seq(), head)
        self.submit(new_filing(n, filing_id=f"WD2-{n}"))

    def test_withdrawal_refused_in_sms_pending(self):
        n = unique()
        fid = f"WR-{n}"
        self.submit(new_filing(n, filing_id=fid))
        self.drive(fid, "sms_pending")
        head = self.head_seq()
        r = self.c.post(f"/v1/filings/{fid}/events",
                        {"type": "filing_withdrawn", "actor": "applicant",
                         "data": {"reason": "改主意了"}})
        body = self.assertError(r, 422, error="transition_not_allowed")
        self.assertEqual(body["state"], "sms_pending")
        self.assertIsInstance(body["allowed_events"], list)
        self.assertIn("sms_confirmed", body["allowed_events"])
        self.assertIn("sms_attempt_failed", body["allowed_events"])
        self.assertNotIn("filing_withdrawn", body["allowed_events"])
        self.assertIn("sms_pending", body["message"])
        self.assertEqual(self.head_seq(), head, "a refused transition writes nothing")
        self.assertEqual(self.status(fid)["state"], "sms_pending")

    def test_one_open_filing_per_subject(self):
        n = unique()
        self.submit(new_filing(n, filing_id=f"OP1-{n}"))
        head = self.head_seq()
        r = self.c.post("/v1/filings", new_filing(n, filing_id=f"OP2-{n}"))
        body = self.assertError(r, 409)
        self.assertIn(f"OP1-{n}", body["message"])
        self.assertEqual(self.head_seq(), head)

    def test_unknown_filing_is_404(self):
        r = self.c.post("/v1/filings/NOPE-404/events", {"type": "photo_approved", "actor": "x"})
        self.assertError(r, 404)
        self.assertError(self.c.get("/v1/filings/NOPE-404"), 404)
        self.assertError(self.c.get("/v1/filings/NOPE-404/events"), 404)

    def test_list_filters_by_state(self):
        n = unique()
        fid = f"LS-{n}"
        self.submit(new_filing(n, filing_id=fid, province="粤"))
        r = self.c.get("/v1/filings?state=provider_review&province=%E7%B2%A4&limit=1000")
        self.assertEqual(r.status, 200, r)
        ids = [i["filing_id"] for i in r.json["items"]]
        self.assertIn(fid, ids)
        self.assertTrue(all(i["state"] == "provider_review" and i["province"] == "粤"
                            for i in r.json["items"]))
        self.assertError(self.c.get("/v1/filings?state=bogus"), 400, field="state")


class RecordNumbers(DaemonTestCase):

    def test_lookup_by_number_domain_and_subject(self):
        fid, number, sites, n, domains = self.approved_first_filing(sites=2)
        rec = self.record(number)
        self.assertEqual(rec["record_number"], number)
        self.assertEqual(rec["kind"], "subject")
        self.assertEqual(sorted(rec["websites"]), sorted(sites))
        for site, ds in zip(sites, domains):
            rec = self.record(site)
            self.assertEqual((rec["record_number"], rec["domains"]), (site, ds))
            for d in ds:
                r = self.c.get(f"/v1/records?domain={d}")
                self.assertEqual(r.status, 200, r)
                self.assertEqual([i["record_number"] for i in r.json["items"]], [site])
        # Domain lookups ignore case.
        r = self.c.get(f"/v1/records?domain={domains[0][0].upper()}")
        self.assertEqual([i["record_number"] for i in r.json["items"]], [sites[0]])
        r = self.c.get(f"/v1/records?subject={quote(number)}")
        self.assertEqual(sorted(i["record_number"] for i in r.json["items"]),
                         sorted([number] + sites))
        r = self.c.get("/v1/records?domain=never-filed.cn")
        self.assertEqual((r.status, r.json["items"]), (200, []))

    def test_unknown_and_malformed_numbers(self):
        self.assertError(self.c.get(f"/v1/records/{quote('京ICP备2099999999号')}"), 404)
        self.assertError(self.c.get(f"/v1/records/{quote('ICP-12345')}"), 400)
        self.assertError(self.c.get(f"/v1/records/{quote('京ICP备12345号')}"), 400)  # 5 digits
        self.assertError(self.c.get(f"/v1/records/{quote('京ICP备2024012345号-0')}"), 400)
        self.assertError(self.c.get(f"/v1/records/{quote('火ICP备2024012345号')}"), 400)
        self.assertError(self.c.get(f"/v1/records?subject={quote('京ICP备2024012345号-3')}"), 400)
        self.assertError(self.c.get(f"/v1/records?subject={quote('nonsense')}"), 400)
        self.assertError(self.c.get("/v1/records"), 400)
        self.assertError(self.c.get("/v1/records?domain=a.cn&subject=x"), 400)
        self.assertError(self.c.get("/v1/records?colour=red"), 400)

    def test_province_alias_and_full_name_are_canonicalised(self):
        fid, number, sites, n, domains = self.approved_first_filing(province="川")
        self.assertEqual(self.record(number)["status"], "active")
        self.assertEqual(self.status(fid)["province"], "川")
        for given in ("蜀", "四川省", "四川"):
            m = unique()
            r = self.submit(new_filing(m, filing_id=f"PA-{m}", province=given))
            self.assertEqual(self.status(r["filing_id"])["province"], "川", given)

    def _add_website(self, number, n):
        m = unique()
        aid = f"AW-{m}"
        self.submit(new_filing(n, filing_id=aid, filing_type="add_website",
                               existing_record_number=number, websites=[website(m, person_n=n)]))
        self.drive(aid, "bureau_review")
        return aid, m

    def test_suffix_reuse_is_409(self):
        fid, number, sites, n, _ = self.approved_first_filing()
        aid, m = self._add_website(number, n)
        head = self.head_seq()
        r = self.c.post(f"/v1/filings/{aid}/events", {
            "type": "bureau_approved", "actor": "bureau",
            "data": {"websites": [{"domain": f"site{m}.cn", "record_number": number + "-1"}]}})
        body = self.assertError(r, 409)
        self.assertIn("never reused", body["message"])
        self.assertEqual(self.head_seq(), head)
        self.assertEqual(self.status(aid)["state"], "bureau_review")
        # A cancelled suffix is not re-issued either.
        self.event(fid, "record_cancelled", {"record_number": sites[0], "reason": "关闭"})
        r = self.c.post(f"/v1/filings/{aid}/events", {
            "type": "bureau_approved", "actor": "bureau",
            "data": {"websites": [{"domain": f"site{m}.cn", "record_number": number + "-1"}]}})
        self.assertError(r, 409)
        # -2 is fine.
        self.event(aid, "bureau_approved",
                   {"websites": [{"domain": f"site{m}.cn", "record_number": number + "-2"}]})

    def test_subject_number_issued_twice_is_409(self):
        _, number, _, _, _ = self.approved_first_filing()
        n = unique()
        fid = f"DUP-{n}"
        self.submit(new_filing(n, filing_id=fid))
        self.drive(fid, "bureau_review")
        r = self.c.post(f"/v1/filings/{fid}/events", {
            "type": "bureau_approved", "actor": "bureau",
            "data": {"subject_record_number": number,
                     "websites": [{"domain": f"site{n}.cn", "record_number": number + "-7"}]}})
        self.assertError(r, 409)

    def test_wrong_province_is_422(self):
        n = unique()
        fid = f"WP-{n}"
        self.submit(new_filing(n, filing_id=fid))  # 京
        self.drive(fid, "bureau_review")
        head = self.head_seq()
        number = subject_number(n, "沪")
        r = self.c.post(f"/v1/filings/{fid}/events", {
            "type": "bureau_approved", "actor": "bureau",
            "data": {"subject_record_number": number,
                     "websites": [{"domain": f"site{n}.cn", "record_number": number + "-1"}]}})
        self.assertError(r, 422, field="data.subject_record_number")
        self.assertEqual(self.head_seq(), head)
        # At submission too.
        m = unique()
        r = self.c.post("/v1/filings", new_filing(
            m, filing_id=f"WP2-{m}", filing_type="new_access",
            existing_record_number=subject_number(m, "沪"),
            websites=[website(m, record_number=subject_number(m, "沪") + "-1")]))
        self.assertError(r, 422, field="existing_record_number")
        self.assertEqual(self.head_seq(), head)

    def test_bad_record_number_format_in_events_is_refused(self):
        n = unique()
        fid = f"BF-{n}"
        self.submit(new_filing(n, filing_id=fid))
        self.drive(fid, "bureau_review")
        head = self.head_seq()
        for bad in ["京ICP备123号", "京ICP2026000001号", "京ICP备2026000001", "京ICP备2026000001号-01"]:
            r = self.c.post(f"/v1/filings/{fid}/events", {
                "type": "bureau_approved", "actor": "bureau",
                "data": {"subject_record_number": subject_number(n),
                         "websites": [{"domain": f"site{n}.cn", "record_number": bad}]}})
            body = self.assertError(r, 422)
            self.assertIn("record_number", body["field"], r)
        self.assertEqual(self.head_seq(), head)


class Validation(DaemonTestCase):
    """Bad input gets a clear 4xx naming the field, and nothing is written."""

    def setUp(self):
        super().setUp()
        n = unique()
        self.fid = f"V-{n}"
        self.submit(new_filing(n, filing_id=self.fid))
        self.head = self.head_seq()

    def tearDown(self):
        try:
            self.assertEqual(self.head_seq(), self.head, "a refused request wrote to the ledger")
        finally:
            super().tearDown()

    def post_raw(self, path, raw):
        return self.c.request("POST", path, body=raw, headers={"Content-Type": "application/json"})

    def test_malformed_json_is_400(self):
        for raw in [b'{"filing_type": ', b"not json", b"", b'{"a":1}}', b"\xff\xfe{}"]:
            r = self.post_raw("/v1/filings", raw)
            self.assertError(r, 400, error="malformed")
            r = self.post_raw(f"/v1/filings/{self.fid}/events", raw)
            self.assertError(r, 400, error="malformed")
        self.assertError(self.post_raw("/v1/filings", b"[1, 2]"), 400)
        self.assertError(self.post_raw("/v1/filings", b'"text"'), 400)

    def test_wrong_json_type_is_400_naming_the_field(self):
        n = unique()
        cases = [
            ("province", 11, "province"),
            ("websites", "site.cn", "websites"),
            ("subject", ["x"], "subject"),
        ]
        for key, value, field in cases:
            body = new_filing(n)
            body[key] = value
            self.assertError(self.c.post("/v1/filings", body), 400, field=field)
        body = new_filing(n)
        body["websites"][0]["domains"] = "site.cn"
        self.assertError(self.c.post("/v1/filings", body), 400, field="websites[0].domains")
        body = new_filing(n)
        body["subject"]["id_number"] = 110101199003074514
        self.assertError(self.c.post("/v1/filings", body), 400, field="subject.id_number")
        body = new_filing(n)
        body["filing_id"] = 42
        self.assertError(self.c.post("/v1/filings", body), 400, field="filing_id")
        r = self.c.post(f"/v1/filings/{self.fid}/events",
                        {"type": "photo_approved", "actor": "x", "data": {"method": 5}})
        self.assertError(r, 400, field="data.method")
        r = self.c.post(f"/v1/filings/{self.fid}/events",
                        {"type": "photo_approved", "actor": "x", "expected_version": "1"})
        self.assertError(r, 400, field="expected_version")
        r = self.c.post(f"/v1/filings/{self.fid}/events", {"type": 7, "actor": "x"})
        self.assertError(r, 400, field="type")
        r = self.c.post(f"/v1/filings/{self.fid}/events",
                        {"type": "photo_approved", "actor": ["x"]})
        self.assertError(r, 400, field="actor")

    def test_unknown_field_is_422_naming_it(self):
        n = unique()
        body = new_filing(n)
        body["colour"] = "red"
        self.assertError(self.c.post("/v1/filings", body), 422, field="colour")
        body = new_filing(n)
        body["subject"]["nickname"] = "三儿"
        self.assertError(self.c.post("/v1/filings", body), 422, field="subject.nickname")
        body = new_filing(n)
        body["websites"][0]["responsible"]["fax"] = "010-1234"
        self.assertError(self.c.post("/v1/filings", body), 422,
                         field="websites[0].responsible.fax")
        r = self.c.post(f"/v1/filings/{self.fid}/events",
                        {"type": "photo_approved", "actor": "x", "colour": "red"})
        self.assertError(r, 422, field="colour")
        r = self.c.post(f"/v1/filings/{self.fid}/events",
                        {"type": "photo_approved", "actor": "x", "": 1})
        self.assertError(r, 422, field='""')
        r = self.c.post(f"/v1/filings/{self.fid}/events",
                        {"type": "photo_approved", "actor": "x",
                         "data": {"method": "photo", "colour": "red"}})
        self.assertError(r, 422, field="data.colour")

    def test_bad_resident_id_is_422(self):
        n = unique()
        body = new_filing(n)
        body["subject"]["id_number"] = bad_resident_id(n)
        self.assertError(self.c.post("/v1/filings", body), 422, field="subject.id_number")
        body = new_filing(n)
        body["subject"]["id_number"] = resident_id(n)[:17]
        self.assertError(self.c.post("/v1/filings", body), 422, field="subject.id_number")
        body = new_filing(n)
        body["websites"][0]["responsible"]["id_number"] = bad_resident_id(n)
        self.assertError(self.c.post("/v1/filings", body), 422,
                         field="websites[0].responsible.id_number")
        # The harness computes check digits right: the SPEC's example, and an ID ending in X.
        self.assertEqual(gb11643_check_digit("11010119900307451"), "4")
        x_n = unique()
        while not resident_id(x_n).endswith("X"):
            x_n = unique()
        self.submit(new_filing(x_n, filing_id=f"X-{x_n}"))
        self.head = self.head_seq()

    def test_bad_mobile_is_422(self):
        for bad in ["12345678901", "1380013800", "138001380001", "1380013800a", "+8613800138000"]:
            body = new_filing(unique())
            body["websites"][0]["responsible"]["mobile"] = bad
            self.assertError(self.c.post("/v1/filings", body), 422,
                             field="websites[0].responsible.mobile")

    def test_bad_domain_is_422(self):
        for bad in ["bad_domain!.cn", "-lead.cn", "nodot", "a..b.cn", "x" * 64 + ".cn", ""]:
            body = new_filing(unique())
            body["websites"][0]["domains"] = [bad]
            self.assertError(self.c.post("/v1/filings", body), 422,
                             field="websites[0].domains[0]")
        body = new_filing(unique())
        body["websites"][0]["domains"] = []
        self.assertError(self.c.post("/v1/filings", body), 422, field="websites[0].domains")
        body = new_filing(unique())
        body["websites"] = []
        self.assertError(self.c.post("/v1/filings", body), 422, field="websites")

    def test_bad_province_and_filing_type_are_422(self):
        body = new_filing(unique())
        body["province"] = "火星"
        self.assertError(self.c.post("/v1/filings", body), 422, field="province")
        body = new_filing(unique())
        body["filing_type"] = "second_filing"
        self.assertError(self.c.post("/v1/filings", body), 422, field="filing_type")
        body = new_filing(unique())
        del body["province"]
        self.assertError(self.c.post("/v1/filings", body), 422, field="province")

    def test_bad_filing_id_and_times_are_422(self):
        for bad in ["bad id!", "x" * 65, "备案-1"]:
            body = new_filing(unique(), filing_id=bad)
            self.assertError(self.c.post("/v1/filings", body), 422, field="filing_id")
        body = new_filing(unique())
        body["occurred_at"] = "yesterday"
        self.assertError(self.c.post("/v1/filings", body), 422, field="occurred_at")
        future = (datetime.datetime.now(datetime.timezone.utc)
                  + datetime.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = new_filing(unique())
        body["occurred_at"] = future
        self.assertError(self.c.post("/v1/filings", body), 422, field="occurred_at")

    def test_unknown_event_type_is_422(self):
        r = self.c.post(f"/v1/filings/{self.fid}/events", {"type": "bribe_official", "actor": "x"})
        self.assertError(r, 422, field="type")
        r = self.c.post(f"/v1/filings/{self.fid}/events", {"actor": "x"})
        self.assertError(r, 422, field="type")

    def test_bad_payload_values_are_422(self):
        r = self.c.post(f"/v1/filings/{self.fid}/events", {
            "type": "photo_approved", "actor": "x", "data": {"method": "fax"}})
        self.assertError(r, 422, field="data.method")
        # The SMS deadline is computed and pinned by the ledger, never given by the client.
        r = self.c.post(f"/v1/filings/{self.fid}/events", {
            "type": "submitted_to_bureau", "actor": "x",
            "data": {"sms_deadline": "2030-01-01T00:00:00Z"}})
        self.assertError(r, 422, field="data.sms_deadline")

    def test_bad_query_parameters_are_400(self):
        self.assertError(self.c.get("/v1/events?limit=0"), 400, field="limit")
        self.assertError(self.c.get("/v1/events?limit=abc"), 400, field="limit")
        self.assertError(self.c.get("/v1/events?after_seq=-1"), 400, field="after_seq")
        self.assertError(self.c.get(f"/v1/filings/{self.fid}?as_of=yesterday"), 400, field="as_of")
        self.assertError(self.c.get("/v1/deadlines?kind=nap"), 400, field="kind")
        self.assertError(self.c.get("/v1/filings?bogus=1"), 400, field="bogus")

    def test_unknown_route_and_method(self):
        self.assertError(self.c.get("/v1/nothing-here"), 404)
        self.assertError(self.c.request("DELETE", f"/v1/filings/{self.fid}"), 405)
        self.assertError(self.c.request("PUT", "/v1/filings", body={}), 405)


class IdempotencyAndConcurrency(DaemonTestCase):

    def test_same_event_id_same_body_returns_the_original(self):
        n = unique()
        fid = f"ID-{n}"
        body = new_filing(n, filing_id=fid)
        body["event_id"] = f"evt-sub-{n}"
        r1 = self.c.post("/v1/filings", body)
        self.assertEqual(r1.status, 201, r1)
        head = self.head_seq()
        r2 = self.c.post("/v1/filings", body)
        self.assertEqual(r2.status, 200, r2)
        for k in ("filing_id", "seq", "version", "state", "event_id"):
            self.assertEqual(r2.json[k], r1.json[k], k)
        self.assertEqual(self.head_seq(), head)

        ev = {"type": "photo_approved", "actor": "rev", "event_id": f"evt-photo-{n}",
              "data": {"method": "photo"}, "expected_version": 1}
        e1 = self.c.post(f"/v1/filings/{fid}/events", ev)
        self.assertEqual(e1.status, 201, e1)
        # A retry after the filing moved on is still the original result, not a version conflict.
        self.event(fid, "initial_review_approved")
        head = self.head_seq()
        e2 = self.c.post(f"/v1/filings/{fid}/events", ev)
        self.assertEqual(e2.status, 200, e2)
        self.assertEqual((e2.json["seq"], e2.json["version"], e2.json["state"]),
                         (e1.json["seq"], e1.json["version"], e1.json["state"]))
        self.assertEqual(self.head_seq(), head)
        self.assertEqual(len(self.c.get(f"/v1/filings/{fid}/events").json["items"]), 3)

    def test_same_event_id_different_body_is_409(self):
        n = unique()
        fid = f"IX-{n}"
        body = new_filing(n, filing_id=fid)
        body["event_id"] = f"evt-x-{n}"
        self.submit(body)
        head = self.head_seq()
        r = self.c.post(f"/v1/filings/{fid}/events", {
            "type": "photo_approved", "actor": "rev", "event_id": f"evt-x-{n}",
            "data": {"method": "photo"}})
        self.assertError(r, 409, field="event_id")
        body2 = dict(body)
        body2["provider"] = "aliyun"
        self.assertError(self.c.post("/v1/filings", body2), 409, field="event_id")
        self.assertEqual(self.head_seq(), head)

    def test_retry_without_filing_id_is_idempotent(self):
        """A client that lets the daemon pick the filing_id and retries with its event_id (the
        response was lost) must get the original filing back, not a conflict or a new filing."""
        n = unique()
        body = new_filing(n)
        body["event_id"] = f"evt-auto-{n}"
        r1 = self.c.post("/v1/filings", body)
        self.assertEqual(r1.status, 201, r1)
        head = self.head_seq()
        r2 = self.c.post("/v1/filings", body)
        self.assertEqual(r2.status, 200, r2)
        self.assertEqual((r2.json["filing_id"], r2.json["seq"]),
                         (r1.json["filing_id"], r1.json["seq"]))
        self.assertEqual(self.head_seq(), head)

    def test_duplicate_filing_id_is_409(self):
        n = unique()
        fid = f"DF-{n}"
        self.submit(new_filing(n, filing_id=fid))
        head = self.head_seq()
        r = self.c.post("/v1/filings", new_filing(unique(), filing_id=fid))
        self.assertError(r, 409, field="filing_id")
        self.assertEqual(self.head_seq(), head)

    def test_expected_version_mismatch_is_409(self):
        n = unique()
        fid = f"EV-{n}"
        self.submit(new_filing(n, filing_id=fid))
        head = self.head_seq()
        for stale in (0, 2, 5):
            r = self.c.post(f"/v1/filings/{fid}/events", {
                "type": "photo_approved", "actor": "rev", "expected_version": stale,
                "data": {"method": "photo"}})
            self.assertError(r, 409, field="expected_version")
        self.assertEqual(self.head_seq(), head)
        self.assertEqual(self.status(fid)["photo"], "pending")
        r = self.event(fid, "photo_approved", {"method": "photo"}, expected_version=1)
        self.assertEqual(r["version"], 2)

    def test_generated_ids(self):
        n = unique()
        r = self.submit(new_filing(n))
        fid = r["filing_id"]
        self.assertRegex(fid, r"^[A-Za-z0-9._-]{1,64}$")
        self.assertTrue(r["event_id"])
        self.assertEqual(self.status(fid)["state"], "provider_review")


class EventsMetricsReadiness(DaemonTestCase):

    def test_global_log_is_gapless_and_chained(self):
        for _ in range(3):
            n = unique()
            self.submit(new_filing(n, filing_id=f"GL-{n}"))
            self.event(f"GL-{n}", "photo_approved", {"method": "sh_app"})
        head = self.c.get("/v1/ledger/head").json
        r = self.c.get("/v1/events?after_seq=0&limit=10000")
        self.assertEqual(r.status, 200, r)
        items = r.json["items"]
        self.assertEqual([e["seq"] for e in items], list(range(1, head["seq"] + 1)))
        self.assertEqual(items[0]["prev_hash"], "0" * 64)
        for a, b in zip(items, items[1:]):
            self.assertEqual(b["prev_hash"], a["hash"])
        self.assertEqual(items[-1]["hash"], head["hash"])
        # Paging.
        r = self.c.get("/v1/events?after_seq=2&limit=2")
        self.assertEqual([e["seq"] for e in r.json["items"]], [3, 4])
        self.assertEqual(r.json["next_after_seq"], 4)

    def test_metrics(self):
        n = unique()
        self.submit(new_filing(n, filing_id=f"M-{n}"))
        self.c.get("/v1/filings/M-missing")
        r = self.c.get("/metrics")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.headers.get("Content-Type", "").startswith("text/plain"), r.headers)
        text = r.body.decode()
        self.assertRegex(text, r'filingd_http_requests_total\{route="post_filing",status="201"\} [1-9]')
        self.assertRegex(text, r'filingd_http_requests_total\{route="get_filing",status="404"\} [1-9]')
        head = self.head_seq()
        m = re.search(r"^filingd_ledger_head_seq (\d+)$", text, re.M)
        self.assertIsNotNone(m, text)
        self.assertEqual(int(m.group(1)), head)
        self.assertIn("# TYPE filingd_http_requests_total counter", text)
        # Every sample line is "name{labels} value" or "name value".
        for line in text.splitlines():
            if line and not line.startswith("#"):
                self.assertRegex(line, r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [0-9.eE+-]+$|'
                                       r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? (\+Inf|NaN)$')

    def test_metrics_follow_prometheus_naming_rules(self):
        """promtool (Prometheus' own checker) accepts /metrics, with every module's metrics in
        it: the publisher's too (embedded Kafka), after appends, errors and a timer."""
        promtool = shutil.which("promtool")
        self.assertIsNotNone(promtool, "promtool is missing: scripts/install-deps installs it")
        d = Daemon(kafka_mode="embedded")
        d.start()
        try:
            c = d.client()
            n = unique()
            self.assertEqual(c.post("/v1/filings", new_filing(n, filing_id=f"PM-{n}")).status, 201)
            c.get("/v1/filings/PM-missing")
            c.get("/nowhere")
            text = c.get("/metrics").body
            for family in ("filingd_http_requests_total", "filingd_kafka_lag_events",
                           "filingd_timer_fired_total", "filingd_filings",
                           "filingd_http_connections"):
                self.assertIn(family.encode(), text)
            check = subprocess.run([promtool, "check", "metrics"], input=text,
                                   capture_output=True, timeout=60)
            self.assertEqual(check.returncode, 0, (check.stdout + check.stderr).decode())
            c.close()
            d.assert_stops_cleanly(self)
        finally:
            d.cleanup()

    def test_as_of_gives_the_state_then(self):
        n = unique()
        fid = f"AS-{n}"
        day = datetime.timedelta(days=1)
        t0 = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) - 10 * day
        body = new_filing(n, filing_id=fid)
        body["occurred_at"] = rfc3339(t0)
        first = self.submit(body)
        self.event(fid, "photo_approved", {"method": "photo"}, occurred_at=rfc3339(t0 + day))
        # (No return here: a return in the past would let the 45-day abandonment timer fire.)
        self.event(fid, "initial_review_approved", occurred_at=rfc3339(t0 + 2 * day))
        s = self.c.get(f"/v1/filings/{fid}?as_of_seq={first['seq']}").json
        self.assertEqual((s["version"], s["photo"], s["state"]), (1, "pending", "provider_review"))
        s = self.c.get(f"/v1/filings/{fid}?as_of={rfc3339(t0 + 1.5 * day)}").json
        self.assertEqual((s["version"], s["photo"], s["state"]), (2, "approved", "provider_review"))
        self.assertEqual(self.status(fid)["state"], "ready_for_bureau")
        self.assertError(self.c.get(f"/v1/filings/{fid}?as_of={rfc3339(t0 - day)}"), 404)

    def test_pending_sms_deadlines_are_listed(self):
        n = unique()
        fid = f"DL-{n}"
        self.submit(new_filing(n, filing_id=fid))
        sent = self.drive(fid, "sms_pending")
        r = self.c.get("/v1/deadlines?kind=sms&limit=1000")
        self.assertEqual(r.status, 200, r)
        mine = [d for d in r.json["items"] if d["filing_id"] == fid]
        self.assertEqual(len(mine), 1, r)
        self.assertEqual(parse_time(mine[0]["due_at"]), parse_time(sent["sms_deadline"]))
        dues = [parse_time(d["due_at"]) for d in r.json["items"]]
        self.assertEqual(dues, sorted(dues), "deadlines must come earliest first")
        self.event(fid, "sms_confirmed")
        r = self.c.get("/v1/deadlines?kind=sms&limit=1000")
        self.assertNotIn(fid, [d["filing_id"] for d in r.json["items"]])

    def test_health_and_readiness(self):
        r = self.c.get("/healthz")
        self.assertEqual(r.status, 200, r)
        r = self.c.get("/readyz")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "ready")


class BusinessTime(DaemonTestCase):
    """Back-dated actions run on business time (SPEC §1.6, §3.4). Timers may fire in the
    background here, so these tests never compare ledger heads."""

    daemon_options = {"extra_config": SHIPPED_SMS_POLICIES}

    def backdated(self, province, at):
        n = unique()
        fid = f"BT-{n}"
        when = rfc3339(at)
        body = new_filing(n, filing_id=fid, province=province)
        body["occurred_at"] = when
        self.submit(body)
        self.event(fid, "initial_review_approved", occurred_at=when)
        self.event(fid, "photo_approved", {"method": "photo"}, occurred_at=when)
        return fid, self.event(fid, "submitted_to_bureau", occurred_at=when)

    def pinned_policy(self, fid):
        items = self.c.get(f"/v1/filings/{fid}/events").json["items"]
        sent = next(e for e in items if e["type"] == "submitted_to_bureau")
        return sent["data"]["policy_id"], parse_time(sent["data"]["sms_deadline"])

    def test_pilot_policy_is_chosen_by_province_and_time_and_pinned(self):
        at = datetime.datetime(2019, 6, 1, 8, tzinfo=datetime.timezone.utc)
        fid, r = self.backdated("甘", at)
        self.assertEqual(parse_time(r["sms_deadline"]), at + datetime.timedelta(hours=48))
        self.assertEqual(self.pinned_policy(fid), ("pilot-48h-2017",
                                                   at + datetime.timedelta(hours=48)))
        fid, r = self.backdated("京", at)
        self.assertEqual(parse_time(r["sms_deadline"]), at + datetime.timedelta(hours=24))
        self.assertEqual(self.pinned_policy(fid)[0], "default-24h")
        # After the pilot, 甘 is back to 24 h.
        at = datetime.datetime(2021, 6, 1, 8, tzinfo=datetime.timezone.utc)
        fid, r = self.backdated("甘", at)
        self.assertEqual(parse_time(r["sms_deadline"]), at + datetime.timedelta(hours=24))

    def test_confirmation_after_the_deadline_is_refused(self):
        now = datetime.datetime.now(datetime.timezone.utc)
        fid, r = self.backdated("京", now - datetime.timedelta(hours=25))
        deadline = parse_time(r["sms_deadline"])
        self.assertLess(deadline, now)
        # Refused whether or not the expiry timer has already returned the filing.
        r = self.c.post(f"/v1/filings/{fid}/events", {"type": "sms_confirmed", "actor": "miit"})
        self.assertError(r, 422)
        self.assertNotIn("sms_confirmed",
                         [e["type"] for e in
                          self.c.get(f"/v1/filings/{fid}/events").json["items"]])


class ReadmeExamples(DaemonTestCase):
    """The README's API examples, run as written (curl, against this daemon instead of the
    quick-start one on port 8080): every JSON answer is a success."""

    def test_the_readme_api_examples_work_as_written(self):
        readme = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "README.md")
        with open(readme, encoding="utf-8") as f:
            text = f.read()
        api = text[text.index("\n## API"):]
        block = re.search(r"```sh\n(.*?)```", api, re.S).group(1)
        self.assertIn("localhost:8080", block)
        script = block.replace("localhost:8080", f"127.0.0.1:{self.daemon.port}")
        out = subprocess.run(["bash", "-e", "-c", script], capture_output=True, text=True,
                             timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        answers = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
        self.assertGreaterEqual(len(answers), 15, out.stdout)
        for a in answers:
            self.assertNotIn("error", a, a)
        self.assertIn("filingd_http_requests_total", out.stdout)
        self.assertEqual(self.head_seq(), 6)


if __name__ == "__main__":
    unittest.main()
