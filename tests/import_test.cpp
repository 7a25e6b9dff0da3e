// Importing history (SPEC §6.6): a filing's past appended as one, judged by business time, the
// timers seeing it only once it is durable; a refused event refuses everything. On a manual
// clock set years after the histories: no sleeps.
#include <gtest/gtest.h>

#include <rocksdb/iterator.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <condition_variable>
#include <future>
#include <mutex>

#include "daemon/api.hpp"
#include "daemon/timer_service.hpp"
#include "events/json.hpp"
#include "ledger/personal_data.hpp"
#include "replay/history.hpp"
#include "tests/test_util.hpp"

namespace filingd {
namespace {

namespace json = boost::json;

const Timestamp kNow = *parse_rfc3339("2026-11-22T08:00:00Z");
const Timestamp kSubmitted = *parse_rfc3339("2019-03-01T08:00:00Z");

Timestamp at(std::int64_t hours) { return Timestamp{kSubmitted.micros + hours * kMicrosPerHour}; }

ImportedEvent event(Payload data, Timestamp when, std::string actor = "desk-1") {
  return ImportedEvent{.data = std::move(data), .occurred_at = when, .actor = std::move(actor)};
}

// Filing `id` of subject n (an individual: its personal data is sealed) submitted in 2019,
// approved by the provider, handed to the bureau 24 hours later, and then `rest`.
ImportCommand history(const std::string& id, int n, std::vector<ImportedEvent> rest = {}) {
  ImportCommand c;
  c.filing_id = id;
  c.events.push_back(event(test::individual(id, n).data, at(0)));
  c.events.push_back(event(InitialReviewApproved{}, at(2), "rev-2"));
  c.events.push_back(event(PhotoApproved{}, at(3), "rev-2"));
  c.events.push_back(event(SubmittedToBureau{}, at(24)));
  for (auto& e : rest) c.events.push_back(std::move(e));
  return c;
}

// Every entry of every column family: what "nothing written" compares.
std::vector<std::string> everything(Store& store) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < kCfCount; ++i) {
    auto* cf = store.cf(static_cast<Cf>(i));
    if (cf == nullptr) continue;
    std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(rocksdb::ReadOptions(), cf));
    for (it->SeekToFirst(); it->Valid(); it->Next())
      out.push_back(std::to_string(i) + ":" + it->key().ToString() + "=" + it->value().ToString());
  }
  return out;
}

class ImportTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }

  void open(std::size_t max_batch = 4096) {
    timers_.reset();
    ledger_.reset();
    Ledger::Options o;
    o.data_dir = dir_.str();
    o.clock = &clock_;
    o.keyring = test::keyring_of(master_);
    o.max_batch = max_batch;
    auto l = Ledger::open(std::move(o));
    ASSERT_TRUE(l) << l.error().message;
    ledger_ = std::move(*l);
    timers_ = std::make_unique<TimerService>(*ledger_, clock_);
  }

  ImportResult must(ImportCommand c) {
    auto r = ledger_->import(std::move(c));
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : ImportResult{};
  }

  std::optional<FilingStatus> status(const std::string& id) {
    auto s = ledger_->status(id);
    EXPECT_TRUE(s) << s.error().message;
    return s ? *s : std::nullopt;
  }

  std::vector<Event> events(const std::string& id) {
    auto e = ledger_->stream(id);
    EXPECT_TRUE(e) << e.error().message;
    return e ? *e : std::vector<Event>{};
  }

  std::size_t count(const std::string& id, EventType type) {
    std::size_t n = 0;
    for (const Event& e : events(id)) n += e.type() == type;
    return n;
  }

  // The import must be refused at `index`, leaving the ledger exactly as it was.
  Error refused(ImportCommand c, std::size_t index) {
    const LedgerHead head = ledger_->head();
    const std::vector<std::string> before = everything(ledger_->store());
    const std::string id = c.filing_id;
    const bool existed = status(id).has_value();
    auto r = ledger_->import(std::move(c));
    EXPECT_FALSE(r);
    if (r) return Error{};
    EXPECT_EQ(r.error().index, index) << r.error().message;
    EXPECT_EQ(ledger_->head().seq, head.seq);
    EXPECT_EQ(ledger_->head().hash, head.hash);
    EXPECT_EQ(status(id).has_value(), existed);
    EXPECT_EQ(everything(ledger_->store()), before) << "a refused import wrote something";
    return r.error();
  }

  test::TempDir dir_;
  privacy::Key master_ = *privacy::Key::random();
  ManualClock clock_{kNow};
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<TimerService> timers_;
};

TEST_F(ImportTest, ASmsConfirmedInsideItsWindowStaysConfirmedYearsLater) {
  const ImportResult r = must(history("F1", 1, {event(SmsConfirmed{}, at(24 + 23), "miit")}));
  EXPECT_EQ(r.filing_id, "F1");
  EXPECT_EQ(r.first_seq, Seq(1));
  EXPECT_EQ(r.last_seq, Seq(5));
  EXPECT_EQ(r.version, Version(5));
  EXPECT_EQ(r.state, FilingState::bureau_review);
  // Years past the deadline, the timers find nothing to expire.
  EXPECT_EQ(timers_->fire_due().fired, 0u);
  EXPECT_EQ(status("F1")->state, FilingState::bureau_review);
  const std::vector<Event> all = events("F1");
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(std::get<SubmittedToBureau>(all[3].data).sms_deadline, at(24 + 24))
      << "pinned from the policy in force in 2019";
  for (const Event& e : all) {
    EXPECT_EQ(e.recorded_at, kNow) << "recorded by this import";
    EXPECT_LE(e.occurred_at, at(47));
  }
}

TEST_F(ImportTest, AConfirmationAfterTheDeadlineIsRefusedByBusinessTime) {
  const Error e = refused(history("F1", 1, {event(SmsConfirmed{}, at(24 + 25), "miit")}), 4);
  EXPECT_EQ(e.code, ErrorCode::invalid);
  EXPECT_EQ(e.field, "events[4].occurred_at");
  EXPECT_NE(e.message.find("after the SMS deadline"), std::string::npos) << e.message;
}

TEST_F(ImportTest, LeftInSmsPendingItExpiresOnceAfterTheImportAtItsDeadline) {
  EXPECT_EQ(must(history("F1", 1)).state, FilingState::sms_pending)
      << "the timers judge the filing only after the import";
  const Timestamp deadline = *status("F1")->sms_deadline;
  EXPECT_EQ(deadline, at(48));
  // The expiry, then (its 45 days also long past) the abandonment of the returned filing.
  EXPECT_EQ(timers_->fire_due().fired, 2u);
  EXPECT_EQ(timers_->fire_due().fired, 0u);
  ASSERT_EQ(count("F1", EventType::sms_expired), 1u);
  const std::vector<Event> all = events("F1");
  ASSERT_EQ(all.size(), 6u);
  EXPECT_EQ(all[4].type(), EventType::sms_expired);
  EXPECT_EQ(all[4].occurred_at, deadline) << "the deadline, not the firing time";
  EXPECT_EQ(all[4].actor, "system");
  EXPECT_EQ(all[5].type(), EventType::filing_abandoned);
  EXPECT_EQ(all[5].occurred_at, Timestamp{deadline.micros + 45 * kMicrosPerDay});
  EXPECT_EQ(status("F1")->state, FilingState::abandoned);
}

TEST_F(ImportTest, ReturnedLongAgoItIsAbandonedOnce) {
  ImportCommand c;
  c.filing_id = "F1";
  c.events.push_back(event(test::individual("F1", 1).data, at(0)));
  c.events.push_back(
      event(InitialReviewRejected{{"rev-2", "website_name", "网站名称不符合要求"}}, at(5)));
  EXPECT_EQ(must(std::move(c)).state, FilingState::returned);
  EXPECT_EQ(timers_->fire_due().fired, 1u);
  EXPECT_EQ(timers_->fire_due().fired, 0u);
  EXPECT_EQ(count("F1", EventType::filing_abandoned), 1u);
  EXPECT_EQ(events("F1").back().occurred_at, Timestamp{at(5).micros + 45 * kMicrosPerDay});
  EXPECT_EQ(status("F1")->state, FilingState::abandoned);
}

// The service's own thread, woken by the ledger's commit listener, not by a call from the test.
TEST_F(ImportTest, TheTimerThreadExpiresAnImportedFilingOnItsCommit) {
  std::mutex mu;
  std::condition_variable cv;
  Seq head{0};
  ledger_->add_commit_listener([&](Seq s) {
    {
      std::lock_guard lock(mu);
      head = s;
    }
    cv.notify_all();
  });
  timers_->start();
  must(history("F1", 1));  // seqs 1-4, then the expiry (5) and the abandonment (6)
  {
    std::unique_lock lock(mu);
    // The bound only keeps a broken build from hanging; the wait ends at the commit.
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return head.value >= 6; }));
  }
  timers_->stop();
  EXPECT_EQ(count("F1", EventType::sms_expired), 1u);
  EXPECT_EQ(count("F1", EventType::filing_abandoned), 1u);
  EXPECT_EQ(ledger_->head().seq, Seq(6));
}

TEST_F(ImportTest, ABadEventRefusesTheWholeImportAndWritesNothing) {
  // A confirmation before the hand-off to the bureau: refused by the state machine at index 3.
  ImportCommand c = history("F1", 1);
  c.events.insert(c.events.begin() + 3, event(SmsConfirmed{}, at(10), "miit"));
  const Error e = refused(std::move(c), 3);
  EXPECT_EQ(e.code, ErrorCode::transition_not_allowed);
  EXPECT_EQ(e.state, FilingState::ready_for_bureau);
  EXPECT_NE(e.message.find("event 3 (sms_confirmed)"), std::string::npos) << e.message;
  // Nothing half-done for the timers either.
  EXPECT_EQ(timers_->fire_due().fired, 0u);
}

TEST_F(ImportTest, TimeGoingBackwardsIsRefusedWithItsIndex) {
  ImportCommand c = history("F1", 1);
  c.events[2].occurred_at = at(1);  // before the review at at(2)
  const Error e = refused(std::move(c), 2);
  EXPECT_EQ(e.code, ErrorCode::invalid);
  EXPECT_EQ(e.field, "events[2].occurred_at");
}

TEST_F(ImportTest, TheFirstEventMustCreateTheFiling) {
  ImportCommand c = history("F1", 1);
  c.events.erase(c.events.begin());
  const Error e = refused(std::move(c), 0);
  EXPECT_EQ(e.code, ErrorCode::invalid);
  EXPECT_EQ(e.field, "events[0].type");
  ImportCommand empty;
  empty.filing_id = "F1";
  auto r = ledger_->import(std::move(empty));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "events");
}

TEST_F(ImportTest, AnExistingFilingIsAConflict) {
  must(history("F1", 1));
  const Error e = refused(history("F1", 2), 0);
  EXPECT_EQ(e.code, ErrorCode::conflict);
  EXPECT_EQ(e.field, "filing_id");
  // A live filing as much as an imported one.
  ASSERT_TRUE(ledger_->append(test::submit("F2", 3)));
  EXPECT_EQ(refused(history("F2", 4), 0).code, ErrorCode::conflict);
}

TEST_F(ImportTest, AnEventIdUsedBeforeIsAConflictNotARetry) {
  ImportCommand first = history("F1", 1);
  first.events[1].event_id = "review-1";
  must(std::move(first));
  ImportCommand second = history("F2", 2);
  second.events[2].event_id = "review-1";
  EXPECT_EQ(refused(std::move(second), 2).code, ErrorCode::conflict);
  ImportCommand twice = history("F3", 3);
  twice.events[1].event_id = "x";
  twice.events[2].event_id = "x";
  EXPECT_EQ(refused(std::move(twice), 2).field, "events[2].event_id");
}

TEST_F(ImportTest, MoreThanTheLimitOfEventsIsTooLarge) {
  ImportCommand c = history("F1", 1);
  while (c.events.size() <= kMaxImportEvents) c.events.push_back(event(SmsAttemptFailed{}, at(25)));
  auto r = ledger_->import(std::move(c));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::too_large);
}

// The submission of a refused import made its subject's data key: the key must not stay cached
// (PersonalDataTest.ADataKeyMadeForARefusedSubmissionIsNotUsedAfterIt), here when a later event
// refuses the import.
TEST_F(ImportTest, ADataKeyMadeForARefusedImportIsNotUsedAfterIt) {
  ImportCommand bad = history("F1", 1);
  bad.events.push_back(event(BureauApproved{}, at(25)));  // not allowed in sms_pending
  refused(std::move(bad), 4);
  must(history("F1", 1));
  open();  // a fresh keyring: no cached key
  PersonalData personal(ledger_->store(), ledger_->keyring());
  FilingStatus s = *status("F1");
  personal.open(s);
  EXPECT_EQ(s.subject.name, test::person(1).name);
}

TEST_F(ImportTest, ARefusedImportLeavesTheAppendsBesideIt) {
  std::vector<std::future<bool>> done;
  auto append = [&](AppendCommand c) {
    auto p = std::make_shared<std::promise<bool>>();
    done.push_back(p->get_future());
    ledger_->append_async(std::move(c), [p](Result<AppendResult> r) { p->set_value(r.ok()); });
  };
  auto import = [&](ImportCommand c) {
    auto p = std::make_shared<std::promise<bool>>();
    done.push_back(p->get_future());
    ledger_->import_async(std::move(c), [p](Result<ImportResult> r) { p->set_value(r.ok()); });
  };
  ImportCommand bad = history("F2", 2);
  bad.events[3].occurred_at = at(1);
  append(test::submit("F1", 1));
  import(std::move(bad));
  import(history("F3", 3));
  append(test::submit("F4", 4));
  std::vector<bool> ok;
  for (auto& f : done) ok.push_back(f.get());
  EXPECT_EQ(ok, (std::vector<bool>{true, false, true, true}));
  EXPECT_FALSE(status("F2").has_value());
  EXPECT_EQ(events("F3").size(), 4u);
  EXPECT_EQ(ledger_->head().seq, Seq(6));
}

TEST_F(ImportTest, AHistoryLargerThanAGroupCommitIsStillOneWrite) {
  open(/*max_batch=*/2);
  const std::uint64_t before = ledger_->group_commits();
  must(history("F1", 1, {event(SmsConfirmed{}, at(30), "miit")}));
  EXPECT_EQ(ledger_->group_commits() - before, 1u);
  EXPECT_EQ(events("F1").size(), 5u);
}

TEST_F(ImportTest, HistoryShowsRecordedAtBesideAnImportedOccurredAt) {
  must(history("F1", 1));
  ASSERT_TRUE(ledger_->append(test::submit("F2", 2)));
  const std::string imported = history_line(events("F1").front());
  EXPECT_NE(imported.find("2019-03-01T08:00:00Z (recorded 2026-11-22T08:00:00Z)"),
            std::string::npos)
      << imported;
  const std::string live = history_line(events("F2").front());
  EXPECT_EQ(live.find("recorded"), std::string::npos) << live;
}

// ---- over the API ------------------------------------------------------------------------

class ImportApiTest : public ImportTest {
 protected:
  void SetUp() override {
    ImportTest::SetUp();
    api_.attach_ledger(*ledger_);
    api_.context().readiness.set(Readiness::Phase::serving);
  }

  HttpResponse post(const json::object& body) {
    return test::call_api(api_, {"POST", "/v1/imports", "", json::serialize(body)});
  }
  HttpResponse get(const std::string& target) { return test::call_api(api_, {"GET", target}); }

  static json::object body_of(const HttpResponse& r) { return json::parse(r.body).as_object(); }

  // The import's JSON form: each event as an append request would carry it.
  static json::object to_json(const ImportCommand& c) {
    json::array events;
    for (const ImportedEvent& e : c.events) {
      json::object o{{"type", to_string(type_of(e.data))},
                     {"data", json::parse(payload_json(e.data))},
                     {"occurred_at", format_rfc3339(e.occurred_at)},
                     {"actor", e.actor}};
      if (!e.event_id.empty()) o["event_id"] = e.event_id;
      events.push_back(std::move(o));
    }
    return json::object{{"filing_id", c.filing_id}, {"events", std::move(events)}};
  }

  WorkCalendar calendar_;
  Api api_{Authenticator({}), calendar_, clock_};
};

TEST_F(ImportApiTest, An201NamesTheSeqsVersionAndState) {
  const HttpResponse r = post(to_json(history("F1", 1)));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(body_of(r), (json::object{{"filing_id", "F1"},
                                      {"first_seq", 1},
                                      {"last_seq", 4},
                                      {"version", 4},
                                      {"state", "sms_pending"}}));
  EXPECT_EQ(post(to_json(history("F1", 1))).status, 409);
}

TEST_F(ImportApiTest, ARefusedEventIsA422WithItsIndexAndField) {
  json::object body = to_json(history("F1", 1));
  body["events"].as_array()[2].as_object()["occurred_at"] = "2019-03-01T08:30:00Z";
  const HttpResponse r = post(body);
  ASSERT_EQ(r.status, 422) << r.body;
  const json::object e = body_of(r);
  EXPECT_EQ(e.at("index"), 2);
  EXPECT_EQ(e.at("field"), "events[2].occurred_at");
  EXPECT_EQ(ledger_->head().seq, Seq(0));
}

TEST_F(ImportApiTest, BadInputIsA4xxNamingTheEvent) {
  auto refused = [&](json::object body, int status, std::string_view field) {
    const HttpResponse r = post(body);
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(body_of(r).at("field").as_string(), field) << r.body;
  };
  json::object good = to_json(history("F1", 1));
  auto with = [&](std::size_t i, std::string_view key, json::value v) {
    json::object b = good;
    auto& e = b["events"].as_array()[i].as_object();
    if (v.is_null()) {
      e.erase(key);
    } else {
      e[key] = std::move(v);
    }
    return b;
  };
  refused(with(1, "type", "initial_review_maybe"), 422, "events[1].type");
  refused(with(1, "occurred_at", nullptr), 422, "events[1].occurred_at");
  refused(with(1, "occurred_at", "yesterday"), 422, "events[1].occurred_at");
  refused(with(1, "occurred_at", 20190301), 400, "events[1].occurred_at");
  refused(with(1, "colour", "red"), 422, "events[1].colour");
  json::object martian = good;
  martian["events"].as_array()[0].as_object()["data"].as_object()["filing_type"] = "martian";
  refused(martian, 422, "events[0].data.filing_type");
  json::object extra = good;
  extra["expected_version"] = 1;
  refused(extra, 422, "expected_version");
  json::object no_events = good;
  no_events.erase("events");
  refused(no_events, 422, "events");
  json::object too_many = good;
  auto& list = too_many["events"].as_array();
  while (list.size() <= kMaxImportEvents) list.push_back(list.back());
  refused(too_many, 413, "events");
  EXPECT_EQ(ledger_->head().seq, Seq(0));
}

TEST_F(ImportApiTest, AsKnownAtGivesTheStatusFromWhatWasRecordedByThen) {
  ASSERT_TRUE(ledger_->append(test::submit("F2", 2)));  // recorded at kNow
  clock_.advance(kMicrosPerHour);
  ASSERT_EQ(post(to_json(history("F1", 1))).status, 201);  // recorded an hour later
  ASSERT_TRUE(ledger_->append(test::action("F2", InitialReviewRejected{{"rev-2", "x", "y"}})));
  const std::string before = test::url_encode("2026-11-22T08:30:00Z");
  EXPECT_EQ(get("/v1/filings/F1?as_known_at=" + before).status, 404)
      << "imported after that time, however old its history";
  EXPECT_EQ(body_of(get("/v1/filings/F2?as_known_at=" + before)).at("state"), "provider_review");
  EXPECT_EQ(body_of(get("/v1/filings/F2")).at("state"), "returned");
  const std::string after = test::url_encode("2026-11-22T09:00:00Z");
  EXPECT_EQ(body_of(get("/v1/filings/F1?as_known_at=" + after)).at("state"), "sms_pending");
  // as_of stays business time: the imported history as it stood in 2019.
  const std::string in_2019 = test::url_encode(format_rfc3339(at(2)));
  EXPECT_EQ(body_of(get("/v1/filings/F1?as_of=" + in_2019)).at("initial_review"), "approved");
  EXPECT_EQ(body_of(get("/v1/filings/F1?as_of=" + in_2019)).at("photo"), "pending");
  EXPECT_EQ(get("/v1/filings/F1?as_known_at=soon").status, 400);
}

}  // namespace
}  // namespace filingd
