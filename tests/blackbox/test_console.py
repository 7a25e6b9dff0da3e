"""The operator console (SPEC §7) in a real browser: headless Chromium, driven by Selenium,
against the real daemon on loopback.

An operator signs in with a token, submits a filing through the form (a refused field is named
beside it), finds it on the board and in the list, advances it through the provider review, the
photo check and the submission to the bureau, watches the SMS countdown, reads the timeline with
the server's chain marks, sees a change made elsewhere appear within 2 s, and records the bureau's
approval; a reader sees masked ID numbers and no actions; a subject named
"<img src=x onerror=alert(1)>" renders as text; the first load weighs under 200 KB; the files
carry their security headers. Screenshots go to $FILINGD_CONSOLE_SCREENSHOTS (CTest: the build
directory). Skips, saying why, when chromium, chromedriver or python3-selenium is missing.

Synchronisation: WebDriverWait with bounds, never a sleep.
"""

import datetime
import os
import re
import shutil
import sys
import unittest

from harness import (DaemonTestCase, filingd_bin, mobile, new_filing, resident_id, subject_number,
                     unique)

try:
    from selenium import webdriver
    from selenium.common.exceptions import (NoAlertPresentException, NoSuchElementException,
                                            StaleElementReferenceException, TimeoutException)
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:
    webdriver = None

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
MISSING = [name for name, found in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER),
                                    ("python3-selenium", webdriver)) if not found]
SKIP_REASON = ("the console test needs " + ", ".join(MISSING) +
               " (scripts/install-deps installs them)")

OPERATOR = "console-operator-token"
READER = "console-reader-token"
PRIVACY = "console-privacy-token"
WAIT = 15.0  # bound on the page answering a click or finishing a read
LIVE = 2.0  # SPEC §7: a change appears within 2 s without a reload
PAGE_WEIGHT_LIMIT = 200 * 1024
XSS = "<img src=x onerror=alert(1)>"
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def screenshot_dir():
    path = os.environ.get("FILINGD_CONSOLE_SCREENSHOTS") or os.path.join(
        os.path.dirname(os.path.dirname(filingd_bin())), "tests", "console-screenshots")
    os.makedirs(path, exist_ok=True)
    return path


def beijing(rfc3339):
    """'2026-11-22T08:00:00.123456Z' -> '2026-11-22 16:00:00', as the console shows it."""
    t = datetime.datetime.fromisoformat(re.sub(r"(\.\d+)?Z$", "+00:00", rfc3339))
    return t.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def start_browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--window-size=1366,768", "--lang=zh-CN", "--no-sandbox",
                "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


class ConsoleCase(DaemonTestCase):
    """One daemon and one browser per class."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.browser = start_browser()
        except BaseException:
            super().tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.browser.quit()
        finally:
            super().tearDownClass()

    def tearDown(self):
        # Errors the page logged: a script exception or a refused (CSP) load fails the test. An
        # API refusal the page answers (401 before sign-in, a 422 shown beside its field) is
        # logged by Chromium as a failed resource load, which is expected.
        try:
            errors = [e["message"] for e in self.browser.get_log("browser")
                      if e["level"] == "SEVERE" and "Failed to load resource" not in e["message"]]
            self.assertEqual(errors, [], "the page logged errors")
        finally:
            super().tearDown()

    # -- the browser --

    def url(self):
        return f"http://127.0.0.1:{self.daemon.port}/console/"

    def wait(self, condition, what, timeout=WAIT):
        try:
            return WebDriverWait(self.browser, timeout, poll_frequency=0.05,
                                 ignored_exceptions=(NoSuchElementException,
                                                     StaleElementReferenceException, TimeoutException)).until(
                lambda _: condition(), f"{what} (within {timeout}s)")
        except TimeoutException:
            self.shot("timeout-" + self.id().rsplit(".", 1)[-1])
            raise AssertionError(f"{what}: not within {timeout}s; the page: {self.page_state()}")

    def page_state(self):
        """What a timed-out wait saw: the page's readiness, URL, shown sections, requests."""
        return self.browser.execute_script("""
            return {ready: document.readyState, url: location.href,
                    shown: [...document.querySelectorAll('body > *')]
                        .filter((e) => !e.hidden).map((e) => e.id || e.tagName),
                    main: (document.querySelector('main') || {}).textContent?.slice(0, 200),
                    requests: performance.getEntriesByType('resource')
                        .map((r) => [r.name.replace(location.origin, ''),
                                     Math.round(r.duration), r.responseStatus])};""")

    def find(self, css):
        return self.browser.find_element(By.CSS_SELECTOR, css)

    def shown(self, css, timeout=WAIT):
        return self.wait(lambda: self.find(css).is_displayed() and self.find(css), f"{css} shown",
                         timeout)

    def text(self, css):
        """The text of the first match, read in the page (no stale element), or None."""
        return self.browser.execute_script(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
            css)

    def texts(self, css):
        return self.browser.execute_script(
            "return [...document.querySelectorAll(arguments[0])].map((e) => e.textContent);", css)

    def classes(self, css):
        """The class attribute of the first match, read in the page: the page re-renders its
        lists every second, so an element found first may be gone when it is read."""
        return self.browser.execute_script(
            "const e = document.querySelector(arguments[0]); return e ? e.className : null;",
            css)

    def wait_text(self, css, expected, timeout=WAIT):
        self.wait(lambda: self.text(css) == expected, f"{css} reads {expected!r}", timeout)

    def go(self, page):
        """Follows a navigation link, as a user would."""
        self.find(f'#nav a[data-page="{page}"]').click()
        self.wait(lambda: self.browser.execute_script("return location.hash").startswith(
            "#/" + page), f"on page {page}")

    def sign_in(self, token):
        # The token is forgotten on a page of the same origin that runs none of the console's
        # scripts: cleared on the console itself, a request still in flight from its start could
        # leave it signed in (CI once found the board where the sign-in form should be).
        self.browser.get(self.url() + "console.css")
        self.browser.execute_script("sessionStorage.clear()")
        self.assertEqual(self.browser.execute_script("return sessionStorage.length"), 0)
        self.browser.get(self.url())
        field = self.shown("#token")
        self.assertFalse(self.find("#nav").is_displayed())
        field.send_keys(token, Keys.ENTER)
        self.shown("#nav")

    def shot(self, name, element=None):
        path = os.path.join(screenshot_dir(), name + ".png")
        if element is not None:
            self.browser.execute_script("arguments[0].scrollIntoView()", element)
            element.screenshot(path)
        else:
            self.browser.save_screenshot(path)

    def assert_fits_width(self):
        """Usable at 1366x768: nothing wider than the window."""
        width, inner = self.browser.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth]")
        self.assertLessEqual(width, inner, "the page scrolls sideways")

    def assert_no_alert(self):
        with self.assertRaises(NoAlertPresentException):
            self.browser.switch_to.alert.text


@unittest.skipIf(MISSING, SKIP_REASON)
class Console(ConsoleCase):
    daemon_options = {"tokens": [("desk-1", "operator", OPERATOR), ("portal", "reader", READER),
                                 ("dpo", "privacy_officer", PRIVACY)]}
    token = OPERATOR

    def test_files_carry_security_headers_and_unknown_paths_are_404(self):
        r = self.c.get("/console/", token="")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers["Content-Type"], "text/html; charset=utf-8")
        csp = r.headers["Content-Security-Policy"]
        self.assertIn("default-src 'self'", csp)
        self.assertNotIn("unsafe", csp)
        self.assertEqual(r.headers["X-Content-Type-Options"], "nosniff")
        self.assertEqual(r.headers["Referrer-Policy"], "no-referrer")
        again = self.c.get("/console/", token="", headers={"If-None-Match": r.headers["ETag"]})
        self.assertEqual(again.status, 304, again)
        page = r.body.decode("utf-8")
        self.assertNotIn("<script>", page)  # no inline script: the policy would refuse it
        for ref in re.findall(r'(?:src|href)="([^"#]+)"', page):
            asset = self.c.get("/console/" + ref, token="")
            self.assertEqual(asset.status, 200, ref)
            self.assertEqual(asset.headers["X-Content-Type-Options"], "nosniff", ref)
        self.assertEqual(self.c.get("/console/js/main.js", token="").headers["Content-Type"],
                         "text/javascript; charset=utf-8")
        self.assertEqual(self.c.get("/console/js/nothing.js", token="").status, 404)
        self.assertEqual(self.c.get("/console/js/", token="").status, 404)

    def test_operator_submits_and_advances_a_filing(self):
        n = unique()
        fid = f"CON-{n}"
        domain = f"console{n}.cn"
        self.sign_in(OPERATOR)
        self.assertEqual(self.text("#who"), "desk-1 · 操作员")
        self.assertFalse(self.find('#nav a[data-page="erase"]').is_displayed())
        total = self.c.get("/v1/stats").json["total"]
        self.wait_text("#board-total", str(total))

        # A new filing through the form: a bad mobile number is named beside its field.
        self.go("new")
        form = self.shown("#filing-form")
        values = {
            "filing_id": fid, "provider": "aliyun", "subject.name": "李四",
            "subject.id_number": resident_id(n), "subject.address": "浙江省杭州市西湖区文三路1号",
            "websites[0].name": "李四的博客", "websites[0].domains": f"{domain} www.{domain}",
            "websites[0].responsible.name": "李四",
            "websites[0].responsible.id_number": resident_id(n),
            "websites[0].responsible.mobile": "12345",
            "websites[0].responsible.email": f"li@{domain}",
        }
        for name, value in values.items():
            form.find_element(By.CSS_SELECTOR, f'[name="{name}"]').send_keys(value)
        Select(form.find_element(By.CSS_SELECTOR, '[name="province"]')).select_by_value("浙")
        self.find("#submit-filing").click()
        mobile_field = '[data-field="websites[0].responsible.mobile"]'
        self.wait(lambda: self.find(mobile_field).get_attribute("aria-invalid") == "true",
                  "the refused mobile marked")
        error = self.text(".field:has(> " + mobile_field + ") .field-error")
        self.assertIn("mobile", error)
        self.assertEqual(self.c.get(f"/v1/filings/{fid}").status, 404)  # nothing written
        box = self.find(mobile_field)
        box.clear()
        box.send_keys(mobile(n), Keys.ENTER)  # the keyboard submits the form
        self.wait(lambda: self.browser.execute_script("return location.hash") ==
                  f"#/filing/{fid}", "the new filing's page")
        self.wait_text("#filing-state", "服务商审核")
        self.assertEqual(self.status(fid)["province"], "浙")

        # On the board, and in the list found with the filters.
        self.go("board")
        self.wait_text("#board-total", str(total + 1))
        self.assertRegex(self.text('tr[data-province="浙"] td[data-state="provider_review"]'),
                         r"^[1-9]\d*$")
        self.assert_fits_width()
        self.go("filings")
        filters = self.shown("#filters")
        Select(filters.find_element(By.CSS_SELECTOR, '[name="province"]')).select_by_value("浙")
        filters.find_element(By.CSS_SELECTOR, '[name="state"][value="provider_review"]').click()
        filters.find_element(By.CSS_SELECTOR, 'button[type="submit"]').click()
        row = f'tr[data-filing="{fid}"]'
        self.shown(row)
        hash_ = self.browser.execute_script("return location.hash")
        self.assertIn("state=provider_review", hash_)
        self.assertIn("province=%E6%B5%99", hash_)
        self.assertIn("服务商审核", self.text(row))
        self.assert_fits_width()

        # Provider review, photo check, submission to the bureau: each an action's form.
        self.find(f"{row} a").click()
        self.wait_text("#filing-state", "服务商审核")
        summary = self.shown('details[data-action="initial_review_approved"] summary')
        summary.send_keys(Keys.ENTER)  # <details> opens from the keyboard
        reviewer = self.shown('details[data-action="initial_review_approved"] [name="reviewer"]')
        reviewer.send_keys("审核员王五", Keys.ENTER)
        self.wait(lambda: not self.browser.find_elements(
            By.CSS_SELECTOR, 'details[data-action="initial_review_approved"]'),
            "initial review no longer offered once approved")
        self.act("photo_approved")
        self.wait_text("#filing-state", "待提交管局")
        self.act("submitted_to_bureau")
        self.wait_text("#filing-state", "短信核验中")

        # The SMS countdown: a 24-hour window, ticking.
        countdown = "#sms-deadline .countdown"
        first = self.text(countdown)
        self.assertRegex(first, r"^剩余 (1天 00:00:00|23:5\d:\d\d)$")
        self.wait(lambda: self.text(countdown) != first, "the countdown ticks", timeout=3)
        self.assertNotIn("urgent", self.classes(countdown))

        # The timeline: every event in Chinese, Beijing times, who, hash, the server's mark.
        events = self.c.get(f"/v1/filings/{fid}/events").json["items"]
        self.wait(lambda: len(self.texts("#timeline .chain.ok")) == 4, "four verified events")
        self.assertEqual(self.texts("#timeline .event-type"),
                         ["提交备案", "初审通过", "核验通过", "提交管局"])
        self.assertEqual(self.texts("#timeline code.hash"), [e["hash"] for e in events])
        first_event = self.text("#timeline li.event")
        self.assertIn("业务时间" + beijing(events[0]["occurred_at"]), first_event)
        self.assertIn("记录时间" + beijing(events[0]["recorded_at"]), first_event)
        self.assertIn("令牌desk-1", first_event)
        self.assertIn("审核人审核员王五", self.texts("#timeline li.event")[1])
        self.assert_fits_width()
        self.shot("filing")
        self.shot("timeline", self.find("#timeline-section"))

        # The work queue, most urgent first: a filing whose window closes within 2 hours is red.
        urgent = self.back_dated_sms_filing()
        self.go("queue")
        self.shown(f'tr[data-filing="{fid}"][data-kind="sms"]')
        order = self.browser.execute_script(
            "return [...document.querySelectorAll('tr[data-kind=\"sms\"]')]"
            ".map((r) => r.dataset.filing)")
        self.assertLess(order.index(urgent), order.index(fid))
        self.assertIn("urgent", self.classes(f'tr[data-filing="{urgent}"] .countdown'))
        self.shot("queue")

        # The board's SMS deadlines within 24 hours.
        self.go("board")
        self.shown(f'tr a[href="#/filing/{fid}"]')
        stats = self.c.get("/v1/stats").json["sms_due_within"]
        self.wait_text("#board-sms-24h", str(stats["24h"]))
        self.assertGreaterEqual(stats["24h"], 2)
        self.shot("board")

        # A change made elsewhere shows within 2 s, without a reload: made just after the page
        # polled, it waits the longest for the next poll.
        self.browser.execute_script("location.hash = arguments[0]", f"#/filing/{fid}")
        self.wait_text("#filing-state", "短信核验中")
        marker = self.browser.execute_script("return window.__sameDocument = 42")
        self.after_a_poll()
        self.event(fid, "sms_confirmed", actor="miit")
        self.wait_text("#filing-state", "管局审核", timeout=LIVE)
        self.assertEqual(self.browser.execute_script("return window.__sameDocument"), marker)

        # The bureau's approval: a malformed number is named beside its field, then accepted.
        number = subject_number(n, "浙")
        self.act("bureau_approved", {"subject_record_number": "浙ICP备12号",
                                     "websites[0].record_number": number + "-1"})
        field = 'details[data-action="bureau_approved"] [data-field="subject_record_number"]'
        self.wait(lambda: self.find(field).get_attribute("aria-invalid") == "true",
                  "the malformed subject number marked")
        self.find(field).clear()
        self.find(field).send_keys(number, Keys.ENTER)
        self.wait_text("#filing-state", "已通过")
        self.wait_text("td.record-number", number + "-1")

        # 备案号: the registry by domain.
        self.go("records")
        form = self.shown("#record-form")
        Select(form.find_element(By.CSS_SELECTOR, '[name="by"]')).select_by_value("domain")
        form.find_element(By.CSS_SELECTOR, '[name="q"]').send_keys(domain, Keys.ENTER)
        record = self.shown(f'tr[data-record="{number}-1"]')
        self.assertIn("有效", record.text)
        self.assert_no_alert()

    def after_a_poll(self):
        """Returns once the page has read the ledger head again."""
        self.browser.execute_script("performance.clearResourceTimings()")
        self.wait(lambda: self.browser.execute_script(
            "return performance.getEntriesByType('resource')"
            ".some((e) => e.name.endsWith('/v1/ledger/head'))"), "the page polls")

    def act(self, action, values=None):
        """Opens an action's form, fills it and submits it."""
        details = f'details[data-action="{action}"]'
        self.shown(details + " summary").click()
        for name, value in (values or {}).items():
            self.shown(f'{details} [name="{name}"]').send_keys(value)
        self.find(details + ' button[type="submit"]').click()

    def back_dated_sms_filing(self):
        """A filing sent to the bureau 23 hours ago: its 24-hour SMS window closes within 1 h."""
        n = unique()
        fid = f"CON-URGENT-{n}"
        when = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=23))
        when = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        self.submit(dict(new_filing(n, filing_id=fid), occurred_at=when))
        self.event(fid, "initial_review_approved", occurred_at=when)
        self.event(fid, "photo_approved", {"method": "photo"}, occurred_at=when)
        self.event(fid, "submitted_to_bureau", occurred_at=when)
        return fid

    def test_filings_are_paged_with_the_api_cursor(self):
        ids = []
        for _ in range(3):
            n = unique()
            ids.append(f"CON-PAGE-{n}")
            self.submit(new_filing(n, filing_id=ids[-1], province="琼"))
        self.sign_in(OPERATOR)
        self.browser.execute_script("location.hash = '#/filings?province=%E7%90%BC&limit=2'")
        rows = "return [...document.querySelectorAll('tr[data-filing]')].map((r) => r.dataset.filing)"
        self.wait(lambda: self.browser.execute_script(rows) == sorted(ids)[:2], "page 1")
        self.find("#next-page").click()
        self.wait(lambda: self.browser.execute_script(rows) == sorted(ids)[2:], "page 2")
        self.assertEqual(self.text("#page-number"), "第 2 页")
        self.assertFalse(self.find("#next-page").is_enabled())
        self.find(".pager button").click()  # 上一页
        self.wait(lambda: self.browser.execute_script(rows) == sorted(ids)[:2], "page 1 again")

    def test_reader_sees_masked_data_and_no_actions(self):
        n = unique()
        fid = f"CON-R-{n}"
        self.submit(new_filing(n, filing_id=fid))
        self.sign_in(READER)
        self.assertEqual(self.text("#who"), "portal · 只读")
        self.assertFalse(self.find('#nav a[data-page="new"]').is_displayed())
        self.browser.execute_script("location.hash = arguments[0]", f"#/filing/{fid}")
        self.wait_text("#filing-state", "服务商审核")
        clear = resident_id(n)
        shown_id = self.text("#subject-id-number")
        self.assertEqual(shown_id, "*" * (len(clear) - 4) + clear[-4:])
        self.assertEqual(self.texts(".responsible-id"), [shown_id])
        self.assertNotIn(clear, self.browser.page_source)
        self.assertNotIn(mobile(n), self.browser.page_source)
        self.assertEqual(self.browser.find_elements(By.CSS_SELECTOR, "#actions, details.action"),
                         [])
        self.assertIn("不能查看事件历史", self.text("main"))
        self.shot("reader-filing")
        self.browser.execute_script("location.hash = '#/new'")
        self.wait(lambda: "不能使用这个页面" in self.text("main"), "the form refused to a reader")
        self.find("#sign-out").click()
        self.shown("#token")
        self.assertIsNone(self.browser.execute_script(
            "return sessionStorage.getItem('filingd.token')"))

    def test_privacy_officer_erases_a_subject(self):
        n = unique()
        fid = f"CON-P-{n}"
        self.submit(new_filing(n, filing_id=fid))
        self.event(fid, "filing_withdrawn", {"reason": "申请人撤回"})
        self.sign_in(PRIVACY)
        self.assertEqual(self.text("#who"), "dpo · 隐私专员")
        self.assertFalse(self.find('#nav a[data-page="new"]').is_displayed())
        self.go("erase")
        form = self.shown("#erase-form")
        self.browser.execute_script("window.confirm = () => true")
        reason = form.find_element(By.CSS_SELECTOR, '[name="reason"]')
        reason.send_keys("本人申请删除", Keys.ENTER)  # no ID number: refused, named beside it
        number = form.find_element(By.CSS_SELECTOR, '[name="id_number"]')
        self.wait(lambda: number.get_attribute("aria-invalid") == "true", "the ID number marked")
        number.send_keys(resident_id(n), Keys.ENTER)
        self.wait(lambda: fid in (self.text("#erase-result") or ""), "the erasure's answer")
        self.assertEqual(self.status(fid)["subject"]["id_number"], "[erased]")

    def test_a_returned_filing_is_resubmitted_from_its_prefilled_form(self):
        n = unique()
        fid = f"CON-B-{n}"
        self.submit(new_filing(n, filing_id=fid))
        self.event(fid, "initial_review_rejected", {"reason_code": "website_name",
                                                    "reason": "网站名称不符合要求"})
        self.sign_in(OPERATOR)
        self.browser.execute_script("location.hash = arguments[0]", f"#/filing/{fid}")
        self.wait_text("#filing-state", "已退回")
        self.shown('[data-action="filing_submitted"] a').click()
        form = self.shown("#filing-form")
        self.assertEqual(form.find_element(By.CSS_SELECTOR, '[name="subject.id_number"]')
                         .get_attribute("value"), resident_id(n))
        name = form.find_element(By.CSS_SELECTOR, '[name="websites[0].name"]')
        name.clear()
        name.send_keys("张三的技术笔记", Keys.ENTER)
        self.wait_text("#filing-state", "服务商审核")
        s = self.status(fid)
        self.assertEqual(s["attempt"], 2)
        self.assertEqual(s["websites"][0]["name"], "张三的技术笔记")
        self.wait(lambda: "重新提交备案" in self.texts("#timeline .event-type"),
                  "the resubmission in the timeline")

    def test_a_name_that_is_markup_renders_as_text(self):
        n = unique()
        fid = f"CON-X-{n}"
        body = new_filing(n, filing_id=fid)
        body["subject"]["name"] = XSS
        body["websites"][0]["name"] = XSS
        self.submit(body)
        self.event(fid, "initial_review_rejected", {"reason_code": "website_name", "reason": XSS})
        self.sign_in(OPERATOR)
        self.browser.execute_script("location.hash = arguments[0]", f"#/filing/{fid}")
        self.wait_text("#subject-name", XSS)
        self.wait(lambda: XSS in self.text("#timeline"), "the rejection's reason in the timeline")
        self.assertIn(XSS, self.text("#main"))
        images = "return document.images.length"
        self.assertEqual(self.browser.execute_script(images), 0)
        self.browser.execute_script("location.hash = '#/filings?state=returned'")
        self.wait_text(f'tr[data-filing="{fid}"] .subject-name', XSS)
        self.assertEqual(self.browser.execute_script(images), 0)
        self.go("queue")
        self.wait(lambda: XSS in (self.text(f'tr[data-filing="{fid}"][data-kind="abandon"]') or ""),
                  "the queue names the subject")
        self.assertEqual(self.browser.execute_script(images), 0)
        self.assert_no_alert()
        self.shot("xss")

    def test_first_load_weighs_under_200_kb(self):
        self.sign_in(OPERATOR)
        self.browser.execute_cdp_cmd("Network.enable", {})
        self.browser.execute_cdp_cmd("Network.clearBrowserCache", {})
        self.browser.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
        try:
            self.browser.get(self.url())  # signed in from sessionStorage: the board loads data
            self.shown("#board-total")
            self.wait(lambda: self.text("#board-total") != "", "the board's figures")
            entries = self.browser.execute_script("""
                return [...performance.getEntriesByType('navigation'),
                        ...performance.getEntriesByType('resource')].map(
                  (e) => [new URL(e.name).pathname, e.transferSize, e.encodedBodySize]);""")
        finally:
            self.browser.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": False})
        sizes = {path: transfer for path, transfer, _ in entries}
        for path in ("/console/", "/console/console.css", "/console/js/main.js",
                     "/console/js/filing.js", "/v1/whoami", "/v1/stats"):
            self.assertGreater(sizes.get(path, 0), 0, f"{path} was not fetched over the network")
        total = sum(transfer for _, transfer, _ in entries)
        print(f"\nconsole first load: {len(entries)} requests, {total} bytes transferred "
              f"({sum(body for _, _, body in entries)} bytes of bodies)", file=sys.stderr)
        self.assertLess(total, PAGE_WEIGHT_LIMIT)


@unittest.skipIf(MISSING, SKIP_REASON)
class QuickStartConsole(ConsoleCase):
    """With no tokens configured (a loopback daemon) the console opens without signing in."""

    def test_opens_directly_without_tokens(self):
        self.browser.get(self.url())
        self.shown("#nav")
        self.wait_text("#who", "本机（未配置令牌）")
        self.assertFalse(self.find("#sign-in").is_displayed())
        self.assertFalse(self.find("#sign-out").is_displayed())
        self.assertTrue(self.find('#nav a[data-page="new"]').is_displayed())
        self.assertTrue(self.find('#nav a[data-page="erase"]').is_displayed())
        self.wait_text("#board-total", "0")


if __name__ == "__main__":
    unittest.main()
