// What the operator console (SPEC §7) asks of the daemon, through Api::handle: its compiled-in
// files under /console/ with their security and cache headers, who a token is (/v1/whoami), the
// state machine's allowed events (/v1/workflow), and the server's check of a filing's events
// (/v1/filings/{id}/verify), which must fail on a tampered log.
#include <gtest/gtest.h>

#include <rocksdb/db.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "console/assets.hpp"
#include "daemon/api.hpp"
#include "events/encoding.hpp"
#include "events/hash.hpp"
#include "ledger/format/keys.hpp"
#include "ledger/ledger.hpp"
#include "projections/state_machine.hpp"
#include "tests/test_util.hpp"

namespace filingd {
namespace {

namespace json = boost::json;

std::string header(const HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return {};
}

TokenConfig token(const std::string& name, Role role) {
  return TokenConfig{name, role, to_hex(sha256(name + "-secret"))};
}

class ConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Ledger::open({.data_dir = dir_.str()});
    ASSERT_TRUE(opened) << opened.error().message;
    ledger_ = std::move(*opened);
    api_.attach_ledger(*ledger_);
    api_.context().readiness.set(Readiness::Phase::serving);
  }

  HttpResponse get(const std::string& target, const std::string& who = "",
                   const std::string& if_none_match = "") {
    HttpRequest request{"GET", target, who.empty() ? "" : "Bearer " + who + "-secret"};
    request.if_none_match = if_none_match;
    return test::call_api(api_, std::move(request));
  }

  test::TempDir dir_;
  SystemClock clock_;
  WorkCalendar calendar_;
  Api api_{Authenticator({token("desk", Role::operator_), token("audit", Role::auditor),
                          token("portal", Role::reader), token("dpo", Role::privacy_officer)}),
           calendar_, clock_};
  std::unique_ptr<Ledger> ledger_;
};

TEST_F(ConsoleTest, ThePageIsServedWithoutATokenUnderAPolicyThatAllowsOnlyItsOwnFiles) {
  const HttpResponse r = get("/console/");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_NE(r.body.find("<html lang=\"zh-CN\">"), std::string::npos);
  EXPECT_NE(header(r, "Content-Security-Policy").find("default-src 'self'"), std::string::npos);
  EXPECT_EQ(header(r, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(header(r, "Referrer-Policy"), "no-referrer");
  EXPECT_EQ(header(r, "Cache-Control"), "no-cache");

  const HttpResponse moved = get("/console");
  EXPECT_EQ(moved.status, 308);
  EXPECT_EQ(header(moved, "Location"), "/console/");
}

TEST_F(ConsoleTest, EveryFileHasItsContentTypeAndAnETagThatRevalidates) {
  ASSERT_FALSE(console_assets().empty());
  for (const ConsoleAsset& a : console_assets()) {
    const HttpResponse r = get("/console/" + std::string(a.path));
    ASSERT_EQ(r.status, 200) << a.path;
    EXPECT_EQ(r.body, a.body) << a.path;
    EXPECT_EQ(r.content_type, a.content_type) << a.path;
    const std::string etag = header(r, "ETag");
    EXPECT_EQ(etag, a.etag) << a.path;
    EXPECT_EQ(header(r, "X-Content-Type-Options"), "nosniff") << a.path;

    const HttpResponse same = get("/console/" + std::string(a.path), "", "W/" + etag);
    EXPECT_EQ(same.status, 304) << a.path;
    EXPECT_TRUE(same.body.empty()) << a.path;
    EXPECT_EQ(get("/console/" + std::string(a.path), "", "\"stale\"").status, 200) << a.path;
  }
  EXPECT_EQ(find_console_asset("js/main.js")->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(find_console_asset("console.css")->content_type, "text/css; charset=utf-8");
}

TEST_F(ConsoleTest, AnUnknownConsolePathIsA404) {
  for (const char* path : {"/console/nothing.js", "/console/js/../index.html", "/console/js/",
                           "/console/index.html/x"}) {
    const HttpResponse r = get(path);
    EXPECT_EQ(r.status, 404) << path << " " << r.body;
  }
}

TEST_F(ConsoleTest, WhoamiNamesTheTokensRoleAndPermissions) {
  EXPECT_EQ(get("/v1/whoami").status, 401);
  const auto who = [&](const std::string& name) {
    const HttpResponse r = get("/v1/whoami", name);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body).as_object();
  };
  EXPECT_EQ(json::serialize(who("desk")),
            R"({"name":"desk","role":"operator","permissions":["read_projections",)"
            R"("read_history","unmasked","append"]})");
  EXPECT_EQ(who("audit").at("role"), "auditor");
  EXPECT_EQ(json::serialize(who("portal").at("permissions")), R"(["read_projections"])");
  EXPECT_EQ(
      json::serialize(who("dpo")),
      R"({"name":"dpo","role":"privacy_officer","permissions":["read_projections","erase"]})");
}

TEST(ConsoleWhoami, WithoutTokensEveryRequestIsLocalWithEveryPermissionAndNoRole) {
  test::TempDir dir;
  auto ledger = Ledger::open({.data_dir = dir.str()});
  ASSERT_TRUE(ledger);
  SystemClock clock;
  WorkCalendar calendar;
  Api api(Authenticator({}), calendar, clock);
  api.attach_ledger(**ledger);
  api.context().readiness.set(Readiness::Phase::serving);
  const HttpResponse r = test::call_api(api, {"GET", "/v1/whoami"});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"name":"local","role":null,"permissions":["read_projections",)"
                    R"("read_history","unmasked","append","erase"]})"
                    "\n");
}

TEST_F(ConsoleTest, WorkflowListsTheStateMachinesAllowedEventsForEveryState) {
  const HttpResponse r = get("/v1/workflow", "portal");
  ASSERT_EQ(r.status, 200) << r.body;
  const json::object states = json::parse(r.body).at("allowed_events").as_object();
  EXPECT_EQ(states.size(), 8u);
  for (const auto& [name, events] : states) {
    const auto state = parse_filing_state(name);
    ASSERT_TRUE(state) << name;
    std::vector<std::string> expected;
    for (EventType t : allowed_events(*state)) expected.emplace_back(to_string(t));
    std::vector<std::string> got;
    for (const auto& e : events.as_array()) got.emplace_back(e.as_string());
    EXPECT_EQ(got, expected) << name;
  }
  EXPECT_EQ(json::serialize(states.at("ready_for_bureau")),
            R"(["submitted_to_bureau","filing_withdrawn"])");
}

class ConsoleVerify : public ConsoleTest {
 protected:
  // F-1 with four events (seqs 2..5) after F-0's one (seq 1), so no check starts at the log's
  // first event.
  void SetUp() override {
    ConsoleTest::SetUp();
    ASSERT_TRUE(ledger_->append(test::submit("F-0", 0)));
    ASSERT_TRUE(ledger_->append(test::submit("F-1", 1)));
    for (Payload p :
         {Payload{InitialReviewApproved{}}, Payload{PhotoApproved{}}, Payload{SubmittedToBureau{}}})
      ASSERT_TRUE(ledger_->append(test::action("F-1", std::move(p))));
  }

  json::object verify(const std::string& who = "audit") {
    const HttpResponse r = get("/v1/filings/F-1/verify", who);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? json::parse(r.body).as_object() : json::object{};
  }

  // Overwrites the stored hash of event `seq` (its last 32 bytes) with another value.
  void forge_hash(std::uint64_t seq) {
    rocksdb::DB* db = ledger_->store().db();
    std::string record;
    ASSERT_TRUE(db->Get({}, ledger_->store().cf(Cf::log), keys::seq(Seq(seq)), &record).ok());
    record.back() ^= 1;
    ASSERT_TRUE(db->Put({}, ledger_->store().cf(Cf::log), keys::seq(Seq(seq)), record).ok());
  }
};

TEST_F(ConsoleVerify, AnIntactFilingVerifiesEventByEventAgainstTheTree) {
  const json::object v = verify();
  EXPECT_EQ(v.at("verified"), true);
  EXPECT_EQ(v.at("tree_size").as_int64(), 5);
  EXPECT_EQ(v.at("root_hash").as_string(), base64(ledger_->tree_head().root));
  const json::array& items = v.at("items").as_array();
  ASSERT_EQ(items.size(), 4u);
  auto events = ledger_->stream("F-1");
  ASSERT_TRUE(events);
  for (std::size_t i = 0; i < items.size(); ++i) {
    const json::object& c = items[i].as_object();
    EXPECT_EQ(c.at("seq").as_int64(), static_cast<std::int64_t>(i) + 2);
    EXPECT_EQ(c.at("hash").as_string(), to_hex((*events)[i].hash));
    EXPECT_EQ(c.at("hash_ok"), true);
    EXPECT_EQ(c.at("chain_ok"), true);
    EXPECT_EQ(c.at("in_tree"), true);
  }
}

TEST_F(ConsoleVerify, AForgedHashFailsItsOwnChecksAndTheNextEventsLink) {
  forge_hash(3);
  const json::object v = verify();
  EXPECT_EQ(v.at("verified"), false);
  const json::array& items = v.at("items").as_array();
  ASSERT_EQ(items.size(), 4u);
  const auto check = [&](std::size_t i, const char* key) {
    return items[i].as_object().at(key).as_bool();
  };
  EXPECT_TRUE(check(0, "hash_ok") && check(0, "chain_ok") && check(0, "in_tree"));
  EXPECT_FALSE(check(1, "hash_ok"));  // seq 3: its bytes no longer hash to its hash
  EXPECT_TRUE(check(1, "chain_ok"));
  EXPECT_FALSE(check(1, "in_tree"));   // the tree holds the hash it was appended with
  EXPECT_FALSE(check(2, "chain_ok"));  // seq 4's prev_hash is the true hash of seq 3
  EXPECT_TRUE(check(2, "hash_ok") && check(2, "in_tree"));
}

TEST_F(ConsoleVerify, NeedsTheHistoryPermissionAndAKnownFiling) {
  EXPECT_EQ(get("/v1/filings/F-1/verify", "portal").status, 403);
  EXPECT_EQ(get("/v1/filings/F-1/verify", "desk").status, 200);
  EXPECT_EQ(get("/v1/filings/F-9/verify", "audit").status, 404);
}

}  // namespace
}  // namespace filingd
