// GET /v1/filings's filters, sorts and pages (SPEC §6.2), through Api::handle over a ledger
// whose personal data is sealed: the name and certificate filters go through keyed indexes.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <set>

#include "daemon/api.hpp"
#include "ledger/ledger.hpp"
#include "tests/samples/samples.hpp"
#include "tests/test_util.hpp"

namespace filingd {
namespace {

namespace json = boost::json;
using test::action;
using test::submit;

constexpr Timestamp kStart{1'780'000'000'000'000};  // 2026-05-28

class Search : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Ledger::open({.data_dir = dir_.str(), .clock = &clock_, .keyring = keyring_});
    ASSERT_TRUE(opened) << opened.error().message;
    ledger_ = std::move(*opened);
    api_.attach_ledger(*ledger_);
    api_.context().readiness.set(Readiness::Phase::serving);
  }

  void ok(AppendCommand c) {
    auto r = ledger_->append(std::move(c));
    ASSERT_TRUE(r) << r.error().message << " (field " << r.error().field << ")";
  }

  // Filing F<n> of subject n, submitted an hour after the one before, by `provider`.
  void file(int n, const std::string& provider = "jdcloud", bool individual = false) {
    clock_.advance(kMicrosPerHour);
    AppendCommand c = individual ? test::individual("F" + std::to_string(n), n)
                                 : submit("F" + std::to_string(n), n);
    std::get<FilingSubmitted>(c.data).provider = provider;
    ok(std::move(c));
  }

  json::object get(const std::string& query, int status = 200) {
    const HttpResponse r = test::call_api(api_, {"GET", "/v1/filings" + query});
    EXPECT_EQ(r.status, status) << query << ": " << r.body;
    return json::parse(r.body).as_object();
  }

  // The filing ids of one page.
  std::vector<std::string> ids(const std::string& query) {
    std::vector<std::string> out;
    auto body = get(query);
    for (const auto& item : body["items"].as_array())
      out.emplace_back(item.as_object().at("filing_id").as_string());
    return out;
  }

  // Every page from `cursor` on, following next_cursor.
  std::vector<std::string> all_pages(const std::string& query, std::string cursor = "") {
    std::vector<std::string> out;
    for (int pages = 0; pages < 100; ++pages) {
      auto body = get(query + (cursor.empty() ? "" : "&cursor=" + cursor));
      for (const auto& item : body["items"].as_array())
        out.emplace_back(item.as_object().at("filing_id").as_string());
      if (body["next_cursor"].is_null()) return out;
      cursor = std::string(body["next_cursor"].as_string());
    }
    ADD_FAILURE() << "more than 100 pages";
    return out;
  }

  test::TempDir dir_;
  ManualClock clock_{kStart};
  std::shared_ptr<Keyring> keyring_ = test::new_keyring();
  WorkCalendar calendar_;
  Api api_{Authenticator({}), calendar_, clock_};
  std::unique_ptr<Ledger> ledger_;
};

using Ids = std::vector<std::string>;

TEST_F(Search, ByProviderAnyOfRepeatedValues) {
  file(1, "aliyun");
  file(2, "tencent");
  file(3, "aliyun");
  file(4, "jdcloud");
  EXPECT_EQ(ids("?provider=aliyun"), (Ids{"F1", "F3"}));
  EXPECT_EQ(ids("?provider=aliyun&provider=jdcloud"), (Ids{"F1", "F3", "F4"}));
  EXPECT_EQ(ids("?provider=nobody"), Ids{});
}

TEST_F(Search, ByRepeatedStateMeansAnyOfThem) {
  for (int n = 1; n <= 3; ++n) file(n);
  ok(action("F2", InitialReviewRejected{{"rev", "name", "名称不符"}}));
  ok(action("F3", InitialReviewApproved{}));
  ok(action("F3", PhotoApproved{}));
  EXPECT_EQ(ids("?state=returned"), (Ids{"F2"}));
  EXPECT_EQ(ids("?state=returned&state=ready_for_bureau"), (Ids{"F2", "F3"}));
}

TEST_F(Search, BySubjectNameThroughTheKeyedIndex) {
  file(1, "jdcloud", true);
  file(2, "jdcloud", true);
  file(3);
  const std::string name = test::person(2).name;
  EXPECT_EQ(ids("?subject_name=" + test::url_encode(name)), (Ids{"F2"}));
  const std::string enterprise = std::get<FilingSubmitted>(submit("F3", 3).data).subject.name;
  EXPECT_EQ(ids("?subject_name=" + test::url_encode(enterprise)), (Ids{"F3"}));
  EXPECT_EQ(ids("?subject_name=" + test::url_encode(name + "x")), Ids{});
}

TEST_F(Search, ByCertificateThroughTheKeyedIndex) {
  file(1, "jdcloud", true);
  file(2);
  EXPECT_EQ(ids("?id_type=resident_id&id_number=" + test::person(1).id_number), (Ids{"F1"}));
  EXPECT_EQ(ids("?id_type=uscc&id_number=" + samples::uscc(2)), (Ids{"F2"}));
  EXPECT_EQ(ids("?id_type=passport&id_number=" + test::person(1).id_number), Ids{});
  // One without the other is a 400 naming the missing one.
  EXPECT_EQ(get("?id_type=uscc", 400)["field"], "id_number");
  EXPECT_EQ(get("?id_number=x", 400)["field"], "id_type");
  EXPECT_EQ(get("?id_type=foo&id_number=x", 400)["field"], "id_type");
}

TEST_F(Search, ByDomainAndByRecordNumber) {
  file(1);
  file(2);
  ok(action("F1", InitialReviewApproved{}));
  ok(action("F1", PhotoApproved{}));
  ok(action("F1", SubmittedToBureau{}));
  ok(action("F1", SmsConfirmed{}));
  const std::string domain = samples::domain_of(1);
  ok(action("F1", BureauApproved{"京ICP备2026000001号", {{domain, "京ICP备2026000001号-1"}}}));
  EXPECT_EQ(ids("?domain=" + samples::domain_of(2)), (Ids{"F2"}));
  EXPECT_EQ(ids("?domain=WWW." + samples::domain_of(2)), (Ids{"F2"})) << "domains are lowercased";
  EXPECT_EQ(ids("?record_number=" + test::url_encode("京ICP备2026000001号")), (Ids{"F1"}));
  EXPECT_EQ(ids("?record_number=" + test::url_encode("京ICP备2026000001号-1")), (Ids{"F1"}));
  EXPECT_EQ(get("?domain=not_a_domain", 400)["field"], "domain");
}

// SPEC §6.7: a cancelled record is still found by its domain, and a status shows it cancelled.
TEST_F(Search, RecordsByDomainIncludeCancelledOnes) {
  file(1);
  for (Payload p : {Payload(InitialReviewApproved{}), Payload(PhotoApproved{}),
                    Payload(SubmittedToBureau{}), Payload(SmsConfirmed{})})
    ok(action("F1", std::move(p)));
  const std::string domain = samples::domain_of(1);
  ok(action("F1", BureauApproved{"京ICP备2026000001号", {{domain, "京ICP备2026000001号-1"}}}));
  ok(action("F1", RecordCancelled{"京ICP备2026000001号-1", "网站关闭"}));
  const HttpResponse r = test::call_api(api_, {"GET", "/v1/records?domain=" + domain});
  ASSERT_EQ(r.status, 200) << r.body;
  auto items = json::parse(r.body).as_object().at("items").as_array();
  ASSERT_EQ(items.size(), 1u) << r.body;
  EXPECT_EQ(items[0].as_object().at("record_number"), "京ICP备2026000001号-1");
  EXPECT_EQ(items[0].as_object().at("status"), "cancelled") << r.body;
  EXPECT_EQ(test::call_api(api_, {"GET", "/v1/records?domain=" + domain.substr(0, 4)}).status, 400)
      << "not a host name";
  auto status = json::parse(test::call_api(api_, {"GET", "/v1/filings/F1"}).body).as_object();
  EXPECT_EQ(status["websites"].as_array()[0].as_object().at("record_status"), "cancelled");
}

TEST_F(Search, BySubmissionTimeAndCombined) {
  for (int n = 1; n <= 5; ++n) file(n, n % 2 ? "aliyun" : "tencent");
  // F<n> was submitted at kStart + n hours.
  const auto at = [](int hours) {
    return format_rfc3339(Timestamp{kStart.micros + hours * kMicrosPerHour});
  };
  EXPECT_EQ(ids("?submitted_after=" + at(2) + "&submitted_before=" + at(4)), (Ids{"F2", "F3"}));
  EXPECT_EQ(ids("?submitted_after=" + at(2) + "&provider=aliyun"), (Ids{"F3", "F5"}));
  EXPECT_EQ(get("?submitted_after=yesterday", 400)["field"], "submitted_after");
}

// A submission window without another filter is read from the submission index, yet listed
// and paged in filing id order as every unsorted list is.
TEST_F(Search, SubmissionWindowAlonePagesInFilingIdOrder) {
  for (int n : {5, 3, 6, 1, 4, 2}) file(n);  // F5 at kStart + 1 h, F3 at + 2 h, ..., F2 at + 6 h
  const auto at = [](int hours) {
    return format_rfc3339(Timestamp{kStart.micros + hours * kMicrosPerHour});
  };
  const std::string window = "?submitted_after=" + at(2) + "&submitted_before=" + at(6);
  EXPECT_EQ(ids(window), (Ids{"F1", "F3", "F4", "F6"}));
  EXPECT_EQ(all_pages(window + "&limit=1"), (Ids{"F1", "F3", "F4", "F6"}));
  EXPECT_EQ(all_pages(window + "&limit=3&order=desc"), (Ids{"F6", "F4", "F3", "F1"}));
  EXPECT_EQ(ids("?submitted_after=" + at(5)), (Ids{"F2", "F4"}));
  EXPECT_EQ(ids("?submitted_before=" + at(3)), (Ids{"F3", "F5"}));
  EXPECT_EQ(ids(window + "&overdue=false&limit=2"), (Ids{"F1", "F3"}));
  EXPECT_EQ(ids("?submitted_after=" + at(7)), Ids{});
}

// With two category filters the walk takes the index of the one with fewer filings; the
// results and their pages are those of any walk.
TEST_F(Search, TwoCategoryFiltersEitherIndexSameResults) {
  for (int n = 1; n <= 9; ++n) {
    clock_.advance(kMicrosPerHour);
    AppendCommand c = submit("F" + std::to_string(n), n);
    std::get<FilingSubmitted>(c.data).province = n % 3 == 0 ? "沪" : "京";
    ok(std::move(c));
  }
  ok(action("F3", InitialReviewRejected{{"rev", "name", "名称不符"}}));
  ok(action("F4", InitialReviewRejected{{"rev", "name", "名称不符"}}));
  const std::string hu = "province=" + test::url_encode("沪");
  EXPECT_EQ(ids("?state=provider_review&" + hu), (Ids{"F6", "F9"}));
  EXPECT_EQ(all_pages("?" + hu + "&state=provider_review&state=returned&limit=1"),
            (Ids{"F3", "F6", "F9"}));
  EXPECT_EQ(all_pages("?state=returned&province=" + test::url_encode("京") + "&limit=1"),
            (Ids{"F4"}));
  EXPECT_EQ(ids("?state=approved&" + hu), Ids{});
}

// A walk checks the other filters in their indexes before it reads a status (Page): whatever
// the walk, the page is that of matching whole statuses (F1's id begins F10's index key).
TEST_F(Search, FiltersCheckedInTheIndexMatchWholeFilingIds) {
  for (int n = 1; n <= 10; ++n) {
    clock_.advance(kMicrosPerHour);
    AppendCommand c = submit("F" + std::to_string(n), n);
    std::get<FilingSubmitted>(c.data).province = n == 10 ? "京" : "沪";
    ok(std::move(c));
  }
  const std::string jing = "province=" + test::url_encode("京");
  EXPECT_EQ(ids("?sort=submitted_at&state=provider_review&" + jing), (Ids{"F10"}));
  EXPECT_EQ(ids("?" + jing + "&state=provider_review&state=returned"), (Ids{"F10"}));
  EXPECT_EQ(ids("?sort=updated_at&order=desc&limit=2&state=provider_review&province=" +
                test::url_encode("沪")),
            (Ids{"F9", "F8"}));
}

TEST_F(Search, SortsByTimeEitherWay) {
  for (int n = 1; n <= 4; ++n) file(5 - n);  // F4 first, F1 last
  clock_.advance(kMicrosPerHour);
  ok(action("F3", InitialReviewApproved{}));  // F3 updated last
  EXPECT_EQ(ids("?sort=submitted_at"), (Ids{"F4", "F3", "F2", "F1"}));
  EXPECT_EQ(ids("?sort=submitted_at&order=desc"), (Ids{"F1", "F2", "F3", "F4"}));
  EXPECT_EQ(ids("?sort=updated_at&order=desc&limit=1"), (Ids{"F3"}));
  EXPECT_EQ(ids("?order=desc"), (Ids{"F4", "F3", "F2", "F1"}));
  // An exact filter is sorted in memory, the same way.
  EXPECT_EQ(ids("?sort=submitted_at&order=desc&id_type=uscc&id_number=" + samples::uscc(3)),
            (Ids{"F3"}));
  EXPECT_EQ(get("?sort=colour", 400)["field"], "sort");
  EXPECT_EQ(get("?order=up", 400)["field"], "order");
}

TEST_F(Search, SortsBySmsDeadlineTheFilingsThatHaveOne) {
  for (int n = 1; n <= 3; ++n) file(n);
  for (const std::string id : {"F3", "F1"}) {
    clock_.advance(kMicrosPerHour);
    ok(action(id, InitialReviewApproved{}));
    ok(action(id, PhotoApproved{}));
    ok(action(id, SubmittedToBureau{}));
  }
  EXPECT_EQ(ids("?sort=sms_deadline"), (Ids{"F3", "F1"}));
}

// Pages neither repeat nor skip a filing, in any order, also while new filings arrive.
TEST_F(Search, PagesAreStable) {
  for (int n = 1; n <= 23; ++n) file(n, n % 3 ? "aliyun" : "tencent");
  for (const std::string query :
       {"?limit=4", "?limit=4&order=desc", "?limit=3&sort=submitted_at",
        "?limit=5&sort=updated_at&order=desc", "?limit=2&provider=aliyun&provider=tencent"}) {
    const auto paged = all_pages(query);
    EXPECT_EQ(paged.size(), 23u) << query;
    EXPECT_EQ(std::set<std::string>(paged.begin(), paged.end()).size(), 23u) << query;
  }
  // A filing arriving between pages is not confused with the ones already read.
  auto first = get("?limit=10&sort=submitted_at");
  file(100);
  auto rest =
      all_pages("?limit=10&sort=submitted_at", std::string(first["next_cursor"].as_string()));
  EXPECT_EQ(rest.size(), 14u);
  EXPECT_EQ(rest.back(), "F100");
}

TEST_F(Search, BadCursorsAndUnknownParametersAre400s) {
  file(1);
  EXPECT_EQ(get("?sort=submitted_at&cursor=zz", 400)["field"], "cursor");
  EXPECT_EQ(get("?colour=red", 400)["field"], "colour");
  EXPECT_EQ(get("?overdue=true&sort=submitted_at", 400)["field"], "sort");
}

}  // namespace
}  // namespace filingd
