// The API's dispatcher and policies, through Api::handle (no sockets): routes, declared query
// parameters, 405 with Allow, readiness, and the state a refused transition reports.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <atomic>
#include <barrier>
#include <map>
#include <set>
#include <thread>

#include "daemon/api.hpp"
#include "daemon/router.hpp"
#include "events/encoding.hpp"
#include "events/hash.hpp"
#include "events/json.hpp"
#include "events/json_writer.hpp"
#include "ledger/ledger.hpp"
#include "projections/state_machine.hpp"
#include "tests/samples/samples.hpp"
#include "tests/test_util.hpp"

namespace filingd {
namespace {

namespace json = boost::json;

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Ledger::open({.data_dir = dir_.str()});
    ASSERT_TRUE(opened) << opened.error().message;
    ledger_ = std::move(*opened);
    api_.attach_ledger(*ledger_);
    api_.context().readiness.set(Readiness::Phase::serving);
  }

  HttpResponse get(const std::string& target) { return test::call_api(api_, {"GET", target}); }
  HttpResponse post(const std::string& target, const std::string& body) {
    return test::call_api(api_, {"POST", target, "", body});
  }

  test::TempDir dir_;
  SystemClock clock_;
  WorkCalendar calendar_;
  Api api_{Authenticator({}), calendar_, clock_};
  std::unique_ptr<Ledger> ledger_;
};

json::object body_of(const HttpResponse& r) { return json::parse(r.body).as_object(); }

TEST_F(ApiTest, AnUnknownQueryParameterIsA400NamingIt) {
  const HttpResponse r = get("/v1/filings?state=approved&colour=red");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(body_of(r)["field"], "colour");
  EXPECT_NE(r.body.find("unknown query parameter colour"), std::string::npos) << r.body;
}

TEST_F(ApiTest, ARepeatedParameterIsA400UnlessDeclaredRepeatable) {
  const HttpResponse r = get("/v1/events?after_seq=1&after_seq=2");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(body_of(r)["field"], "after_seq");
}

TEST_F(ApiTest, AWrongMethodIsA405ListingTheAllowedOnes) {
  const HttpResponse r = test::call_api(api_, {"DELETE", "/v1/filings"});
  EXPECT_EQ(r.status, 405) << r.body;
  std::set<std::string> allow;
  for (const auto& [name, value] : r.headers)
    if (name == "Allow") allow.insert(value);
  EXPECT_EQ(allow, (std::set<std::string>{"GET, POST"}));
  EXPECT_EQ(test::call_api(api_, {"POST", "/v1/filings/F1"}).status, 405);
}

TEST_F(ApiTest, AnUnknownPathIsA404) {
  EXPECT_EQ(get("/v1/nothing").status, 404);
  EXPECT_EQ(get("/v1/filings/F1/events/extra").status, 404);
}

// An erasure only through POST /v1/subjects/erase (privacy_officer): the events route of any
// stream refuses it, and nothing is written.
TEST_F(ApiTest, TheEventsRouteRefusesAnErasure) {
  const std::string ref(64, 'a');
  for (const std::string& target :
       {"/v1/filings/subject:" + ref + "/events", std::string("/v1/filings/F1/events")}) {
    const HttpResponse r =
        post(target, R"({"type":"subject_erased","data":{"subject_ref":")" + ref + R"("}})");
    EXPECT_EQ(r.status, 422) << target << ": " << r.body;
    EXPECT_EQ(body_of(r)["field"], "type");
  }
  EXPECT_EQ(ledger_->head().seq.value, 0u);
}

// A new filing is POST /v1/filings: the events route's filing_submitted is a resubmission, and
// for an unknown id a 404 (it created the filing before), with nothing written.
TEST_F(ApiTest, TheEventsRouteDoesNotCreateAFiling) {
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("type").string("filing_submitted").key("data");
  write_json(w, Payload(samples::submission(1)));
  w.end_object();
  const HttpResponse r = post("/v1/filings/F9/events", body);
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(body_of(r)["field"], "filing_id");
  EXPECT_EQ(ledger_->head().seq.value, 0u);
  EXPECT_EQ(get("/v1/filings/F9").status, 404);
}

// Query accessors answer "absent" for a parameter that was not given (they read it safely).
TEST(QueryTest, AbsentParametersAreAbsentNotACrash) {
  constexpr QueryParam declared[] = {{"a"}, {"b", true}};
  auto q = Query::parse({{"b", "1"}, {"b", "2"}}, declared);
  ASSERT_TRUE(q) << q.error().message;
  auto n = q->uint("a");
  ASSERT_TRUE(n);
  EXPECT_FALSE(n->has_value());
  auto t = q->time("a");
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->has_value());
  EXPECT_EQ(q->all("b"), (std::vector<std::string_view>{"1", "2"}));
  auto bad = q->uint("b");  // a repeatable parameter read as one value: its first
  ASSERT_TRUE(bad);
  EXPECT_EQ(**bad, 1u);
  EXPECT_FALSE(Query::parse({{"a", "x"}}, declared)->uint("a"));
}

// ---- readiness ---------------------------------------------------------------------------------

TEST(ApiReadiness, NotReadyUntilTheLedgerIsAttachedThenUntilStopping) {
  test::TempDir dir;
  SystemClock clock;
  WorkCalendar calendar;
  Api api(Authenticator({}), calendar, clock);
  api.context().readiness.set(Readiness::Phase::starting, "rebuilding projections");
  HttpResponse r = test::call_api(api, {"GET", "/readyz"});
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(body_of(r)["reason"], "rebuilding projections");
  EXPECT_EQ(test::call_api(api, {"GET", "/healthz"}).status, 200);
  r = test::call_api(api, {"GET", "/v1/filings"});
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_NE(r.body.find("rebuilding projections"), std::string::npos) << r.body;

  auto ledger = Ledger::open({.data_dir = dir.str()});
  ASSERT_TRUE(ledger);
  api.attach_ledger(**ledger);
  api.context().readiness.set(Readiness::Phase::serving);
  EXPECT_EQ(test::call_api(api, {"GET", "/readyz"}).status, 200);
  EXPECT_EQ(test::call_api(api, {"GET", "/v1/filings"}).status, 200);

  api.context().readiness.set(Readiness::Phase::stopping, "shutting down");
  r = test::call_api(api, {"GET", "/readyz"});
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(body_of(r)["reason"], "shutting down");
}

// ---- a refused transition ----------------------------------------------------------------------

// The 422 names the state that refused the event and the events allowed in it, as the ledger
// decided them, even while another append moves the filing on: a refusal never reports a state
// in which the refused event is allowed. Each filing has its photo approved; then, at once, one
// client approves the initial review (to ready_for_bureau) and another submits to the bureau,
// which is refused if decided first. Reading the status after the refusal (as the API once did)
// reported ready_for_bureau, where submitted_to_bureau is allowed, in most of those refusals.
TEST_F(ApiTest, ARefusalReportsTheStateThatRefusedItUnderConcurrentAppends) {
  constexpr int kFilings = 200;
  for (int i = 0; i < kFilings; ++i) {
    const std::string id = "F" + std::to_string(i);
    ASSERT_TRUE(ledger_->append(test::submit(id, i)));
    ASSERT_TRUE(ledger_->append(test::action(id, PhotoApproved{})));
  }
  std::barrier both(2);
  std::thread mover([&] {
    for (int i = 0; i < kFilings; ++i) {
      both.arrive_and_wait();
      post("/v1/filings/F" + std::to_string(i) + "/events",
           R"({"type":"initial_review_approved"})");
    }
  });
  int refusals = 0, contradictions = 0;
  for (int i = 0; i < kFilings; ++i) {
    both.arrive_and_wait();
    const HttpResponse r =
        post("/v1/filings/F" + std::to_string(i) + "/events", R"({"type":"submitted_to_bureau"})");
    if (r.status != 422) continue;
    ++refusals;
    json::object b = body_of(r);
    ASSERT_TRUE(b.contains("state")) << r.body;
    const auto state = parse_filing_state(b["state"].as_string());
    ASSERT_TRUE(state) << r.body;
    json::array allowed;
    for (EventType t : allowed_events(*state)) {
      allowed.emplace_back(to_string(t));
      if (t == EventType::submitted_to_bureau) ++contradictions;
    }
    EXPECT_EQ(b["allowed_events"], json::value(allowed)) << r.body;
  }
  mover.join();
  EXPECT_GT(refusals, 0) << "the race never happened: the test proves nothing";
  EXPECT_EQ(contradictions, 0) << "of " << refusals << " refusals";
}

TEST_F(ApiTest, ARefusalNamesTheStateAndItsAllowedEvents) {
  ASSERT_TRUE(ledger_->append(test::submit("F1", 1)));
  auto r = ledger_->append(test::action("F1", SmsConfirmed{}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::transition_not_allowed);
  EXPECT_EQ(r.error().state, FilingState::provider_review);
  const HttpResponse h = post("/v1/filings/F1/events", R"({"type":"bureau_approved"})");
  EXPECT_EQ(h.status, 422) << h.body;
  EXPECT_EQ(body_of(h)["state"], "provider_review");
}

}  // namespace
}  // namespace filingd

namespace filingd {
namespace {

// The work queue (SPEC §6.4): each deadline with its filing's summary, personal data as the role
// may see it, and the seconds left.
TEST(WorkQueue, EachDeadlineCarriesItsFilingsSummaryMaskedForReaders) {
  test::TempDir dir;
  ManualClock clock(Timestamp{1'767'571'200'000'000});
  auto ledger =
      Ledger::open({.data_dir = dir.str(), .clock = &clock, .keyring = test::new_keyring()});
  ASSERT_TRUE(ledger) << ledger.error().message;
  const auto token = [](const std::string& name, Role role) {
    return TokenConfig{name, role, to_hex(sha256(name + "-secret"))};
  };
  WorkCalendar calendar;
  Api api(Authenticator({token("op", Role::operator_), token("portal", Role::reader)}), calendar,
          clock);
  api.attach_ledger(**ledger);
  api.context().readiness.set(Readiness::Phase::serving);

  ASSERT_TRUE((*ledger)->append(test::individual("W-1", 7)));
  for (Payload p :
       {Payload{InitialReviewApproved{}}, Payload{PhotoApproved{}}, Payload{SubmittedToBureau{}}})
    ASSERT_TRUE((*ledger)->append(test::action("W-1", std::move(p))));
  clock.advance(3600 * kMicrosPerSecond);
  const test::PersonData who = test::person(7);

  const auto queue = [&](const std::string& name) {
    const HttpResponse r =
        test::call_api(api, {"GET", "/v1/deadlines?kind=sms", "Bearer " + name + "-secret"});
    EXPECT_EQ(r.status, 200) << r.body;
    auto items = json::parse(r.body).at("items").as_array();
    EXPECT_EQ(items.size(), 1u) << r.body;
    return items.empty() ? json::object{} : items[0].as_object();
  };
  const json::object op = queue("op");
  EXPECT_EQ(op.at("filing_id"), "W-1");
  EXPECT_EQ(op.at("kind"), "sms");
  EXPECT_EQ(op.at("state"), "sms_pending");
  EXPECT_EQ(op.at("seconds_left").as_int64(), 23 * 3600);  // a 24 h window, one hour gone
  EXPECT_EQ(op.at("subject_name").as_string(), who.name);
  EXPECT_EQ(op.at("responsible_mobile").as_string(), who.mobile);
  EXPECT_FALSE(op.at("province").as_string().empty());
  EXPECT_TRUE(op.contains("provider"));

  const json::object reader = queue("portal");
  EXPECT_EQ(reader.at("subject_name").as_string(), mask_personal(who.name));
  EXPECT_EQ(reader.at("responsible_mobile").as_string(), mask_personal(who.mobile));
  EXPECT_NE(reader.at("responsible_mobile").as_string(), who.mobile);
}

}  // namespace
}  // namespace filingd

namespace filingd {
namespace {

// GET /v1/stats (SPEC §6.3): the groups, the total, overdue and SMS windows, with filters; the
// groups are counters the projector keeps, so they must equal a count of the statuses.
TEST(Stats, GroupsEqualACountOfTheFilingsAndHonourTheFilters) {
  test::TempDir dir;
  ManualClock clock(Timestamp{1'767'571'200'000'000});
  auto ledger = Ledger::open({.data_dir = dir.str(), .clock = &clock});
  ASSERT_TRUE(ledger) << ledger.error().message;
  WorkCalendar calendar;
  Api api(Authenticator({}), calendar, clock);
  api.attach_ledger(**ledger);
  api.context().readiness.set(Readiness::Phase::serving);

  // 12 filings over 3 provinces and 2 providers; a third submitted to the bureau (SMS due in
  // 24 h), a third withdrawn.
  const std::string provinces[] = {"京", "沪", "粤"};
  std::map<std::pair<std::string, std::string>, int> expected;  // (state, province) -> count
  for (int n = 0; n < 12; ++n) {
    AppendCommand c = test::submit("S-" + std::to_string(n), n);
    auto& f = std::get<FilingSubmitted>(c.data);
    f.province = provinces[n % 3];
    f.provider = n % 2 ? "aliyun" : "jdcloud";
    ASSERT_TRUE((*ledger)->append(std::move(c)));
    std::string state = "provider_review";
    if (n % 3 == 1) {
      for (Payload p : {Payload{InitialReviewApproved{}}, Payload{PhotoApproved{}},
                        Payload{SubmittedToBureau{}}})
        ASSERT_TRUE((*ledger)->append(test::action("S-" + std::to_string(n), std::move(p))));
      state = "sms_pending";
    } else if (n % 3 == 2) {
      ASSERT_TRUE(
          (*ledger)->append(test::action("S-" + std::to_string(n), FilingWithdrawn{"撤回"})));
      state = "withdrawn";
    }
    ++expected[{state, provinces[n % 3]}];
  }
  clock.advance(20 * kMicrosPerHour);  // the SMS windows now end within 4 hours

  const auto stats = [&](const std::string& query) {
    const HttpResponse r = test::call_api(api, {"GET", "/v1/stats" + query});
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body).as_object();
  };
  json::object all = stats("?by=state,province");
  EXPECT_EQ(all.at("total").as_int64(), 12);
  std::map<std::pair<std::string, std::string>, int> got;
  for (const auto& g : all.at("groups").as_array())
    got[{std::string(g.at("state").as_string()), std::string(g.at("province").as_string())}] =
        static_cast<int>(g.at("count").as_int64());
  EXPECT_EQ(got, expected);
  const auto& sms = all.at("sms_due_within").as_object();
  EXPECT_EQ(sms.at("1h").as_int64(), 0);
  EXPECT_EQ(sms.at("6h").as_int64(), 4);
  EXPECT_EQ(sms.at("24h").as_int64(), 4);

  json::object some = stats("?by=provider&state=sms_pending&state=withdrawn&province=%E6%B2%AA");
  EXPECT_EQ(some.at("total").as_int64(), 4);  // 沪 is n = 1, 4, 7, 10: all sms_pending
  EXPECT_EQ(some.at("sms_due_within").at("24h").as_int64(), 4);
  EXPECT_EQ(stats("?provider=aliyun").at("total").as_int64(), 6);
  EXPECT_TRUE(stats("").at("groups").as_array().size() == 1);  // no dimension: one group

  // Submitted on Monday 2026-01-05 at 08:00 in Beijing, provider review is due within one
  // working day: by the end of Tuesday, 40 hours after the submissions. Overdue from then on,
  // not a microsecond before: the count and the list agree on both sides.
  const auto overdue_now = [&] {
    const HttpResponse r = test::call_api(api, {"GET", "/v1/filings?overdue=true"});
    EXPECT_EQ(r.status, 200) << r.body;
    return static_cast<std::int64_t>(json::parse(r.body).at("items").as_array().size());
  };
  clock.advance(20 * kMicrosPerHour - 1);
  EXPECT_EQ(stats("").at("overdue").as_int64(), 0);
  EXPECT_EQ(overdue_now(), 0);
  clock.advance(1);
  EXPECT_EQ(stats("").at("overdue").as_int64(), 4);
  EXPECT_EQ(overdue_now(), 4);

  // Days on, the filings still in provider review are past their one-working-day SLA:
  // counted as the overdue list lists them.
  clock.advance(52 * kMicrosPerHour);
  const HttpResponse overdue = test::call_api(api, {"GET", "/v1/filings?overdue=true"});
  ASSERT_EQ(overdue.status, 200) << overdue.body;
  const auto listed = json::parse(overdue.body).at("items").as_array().size();
  EXPECT_EQ(listed, 4u);  // n % 3 == 0
  EXPECT_EQ(stats("").at("overdue").as_int64(), static_cast<std::int64_t>(listed));
  EXPECT_EQ(stats("?provider=jdcloud").at("overdue").as_int64(), 2);  // n = 0, 6
  // Filtered by state only, overdue is counted from the SLA clocks without reading a status:
  // the same count.
  EXPECT_EQ(stats("?state=provider_review").at("overdue").as_int64(), 4);
  EXPECT_EQ(stats("?state=provider_review&state=withdrawn").at("overdue").as_int64(), 4);
  EXPECT_EQ(stats("?state=withdrawn").at("overdue").as_int64(), 0);

  EXPECT_EQ(test::call_api(api, {"GET", "/v1/stats?by=colour"}).status, 400);
  EXPECT_EQ(test::call_api(api, {"GET", "/v1/stats?by=state,state"}).status, 400);
  EXPECT_EQ(test::call_api(api, {"GET", "/v1/stats?state=martian"}).status, 400);
}

}  // namespace
}  // namespace filingd
