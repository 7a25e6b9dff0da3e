"""Bearer-token access control against a real filingd (SPEC §3.1): roles operator, auditor and
reader; personal data masked for readers; public health endpoints; no tokens, no public bind."""

import unittest

from harness import (DaemonTestCase, Daemon, mobile, new_filing, resident_id,
                     run_to_exit, unique)

OPERATOR = "op-token-7f3a9c1e"
AUDITOR = "audit-token-52be0d44"
READER = "read-token-c0ffee11"


class TokenRoles(DaemonTestCase):
    daemon_options = {"tokens": [("desk-1", "operator", OPERATOR),
                                 ("audit-1", "auditor", AUDITOR),
                                 ("portal", "reader", READER)]}
    token = OPERATOR

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        c = cls.daemon.client(token=OPERATOR)
        cls.n = unique()
        cls.fid = f"AU-{cls.n}"
        r = c.post("/v1/filings", new_filing(cls.n, filing_id=cls.fid))
        assert r.status == 201, r
        c.close()

    def test_no_token_is_401(self):
        for method, path, body in [("GET", f"/v1/filings/{self.fid}", None),
                                   ("GET", "/v1/filings", None),
                                   ("GET", "/v1/events", None),
                                   ("GET", "/v1/ledger/head", None),
                                   ("POST", "/v1/filings", new_filing(unique())),
                                   ("POST", f"/v1/filings/{self.fid}/events",
                                    {"type": "photo_approved", "actor": "x"})]:
            r = self.c.request(method, path, body=body, token="")
            self.assertError(r, 401, error="unauthorized")
            self.assertEqual(r.headers.get("WWW-Authenticate"), "Bearer", path)

    def test_wrong_or_malformed_token_is_401(self):
        for auth in [f"Bearer {OPERATOR}x", f"Basic {OPERATOR}", f"bearer{OPERATOR}", "Bearer ",
                     OPERATOR]:
            r = self.c.request("GET", f"/v1/filings/{self.fid}", token="",
                               headers={"Authorization": auth})
            self.assertError(r, 401)

    def test_reader_cannot_post(self):
        head = self.head_seq()
        r = self.c.post("/v1/filings", new_filing(unique()), token=READER)
        self.assertError(r, 403, error="forbidden")
        r = self.c.post(f"/v1/filings/{self.fid}/events",
                        {"type": "photo_approved", "actor": "x"}, token=READER)
        self.assertError(r, 403)
        self.assertEqual(self.head_seq(), head)

    def test_auditor_cannot_post(self):
        head = self.head_seq()
        r = self.c.post(f"/v1/filings/{self.fid}/events",
                        {"type": "photo_approved", "actor": "x"}, token=AUDITOR)
        self.assertError(r, 403)
        self.assertEqual(self.head_seq(), head)

    def test_reader_sees_personal_data_masked(self):
        r = self.c.get(f"/v1/filings/{self.fid}", token=READER)
        self.assertEqual(r.status, 200, r)
        s = r.json
        rid, mob = resident_id(self.n), mobile(self.n)
        masked_id = "*" * 14 + rid[-4:]
        self.assertEqual(s["subject"]["id_number"], masked_id)
        resp = s["websites"][0]["responsible"]
        self.assertEqual(resp["id_number"], masked_id)
        self.assertEqual(resp["mobile"], "*" * 7 + mob[-4:])
        self.assertNotIn(rid, r.body.decode())
        self.assertNotIn(mob, r.body.decode())
        # The list endpoint masks too.
        r = self.c.get("/v1/filings?limit=1000", token=READER)
        self.assertEqual(r.status, 200, r)
        self.assertNotIn(rid, r.body.decode())
        self.assertNotIn(mob, r.body.decode())
        self.assertIn(masked_id, r.body.decode())

    def test_auditor_and_operator_see_personal_data(self):
        for token in (AUDITOR, OPERATOR):
            r = self.c.get(f"/v1/filings/{self.fid}", token=token)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["subject"]["id_number"], resident_id(self.n))
            self.assertEqual(r.json["websites"][0]["responsible"]["mobile"], mobile(self.n))

    def test_history_is_for_auditors_not_readers(self):
        r = self.c.get(f"/v1/filings/{self.fid}/events", token=AUDITOR)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["items"][0]["type"], "filing_submitted")
        self.assertEqual(r.json["items"][0]["data"]["subject"]["id_number"], resident_id(self.n))
        self.assertEqual(self.c.get("/v1/events", token=AUDITOR).status, 200)
        self.assertError(self.c.get(f"/v1/filings/{self.fid}/events", token=READER), 403)
        self.assertError(self.c.get("/v1/events", token=READER), 403)

    def test_reader_may_read_projections(self):
        for path in ["/v1/filings?limit=5", "/v1/deadlines", "/v1/ledger/head",
                     "/v1/records?domain=none.cn"]:
            self.assertEqual(self.c.get(path, token=READER).status, 200, path)

    def test_public_endpoints_need_no_token(self):
        for path in ("/healthz", "/readyz", "/metrics"):
            r = self.c.get(path, token="")
            self.assertEqual(r.status, 200, (path, r))

    def test_operator_appends_with_its_name_as_default_actor(self):
        n = unique()
        body = new_filing(n, filing_id=f"OPA-{n}")
        del body["actor"]
        r = self.c.post("/v1/filings", body, token=OPERATOR)
        self.assertEqual(r.status, 201, r)
        ev = self.c.get(f"/v1/filings/OPA-{n}/events", token=AUDITOR).json["items"][0]
        self.assertEqual(ev["actor"], "desk-1")


class PublicBind(unittest.TestCase):

    def test_refuses_non_loopback_without_tokens(self):
        d = Daemon(listen="0.0.0.0:0")
        try:
            rc, out = run_to_exit(d.argv())
            self.assertNotEqual(rc, 0, out)
            self.assertIn("0.0.0.0", out)
            self.assertIn("auth.tokens", out)
            self.assertNotIn("listening on", out)
        finally:
            d.cleanup()

    def test_non_loopback_with_tokens_starts(self):
        d = Daemon(listen="0.0.0.0:0", tokens=[("desk-1", "operator", OPERATOR)])
        try:
            d.start()
            c = d.client(token=OPERATOR)
            self.assertEqual(c.get("/v1/ledger/head").status, 200)
            self.assertEqual(c.get("/v1/ledger/head", token="").status, 401)
            c.close()
            d.assert_stops_cleanly(self)
        finally:
            d.cleanup()

    def test_bad_config_fails_naming_the_key(self):
        d = Daemon()
        try:
            with open(d.config, "a", encoding="utf-8") as f:
                f.write('\n[[auth.tokens]]\nname = "x"\nrole = "admin"\n'
                        'sha256 = "' + "0" * 64 + '"\n')
            rc, out = run_to_exit(d.argv())
            self.assertNotEqual(rc, 0, out)
            self.assertIn("role", out)
            self.assertNotIn("listening on", out)
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
