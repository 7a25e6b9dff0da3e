// Whole filing lives through the ledger on a real RocksDB in a temp dir.
#include <gtest/gtest.h>
#include <pthread.h>

#include <condition_variable>
#include <mutex>

#include "events/record_number.hpp"
#include "tests/test_util.hpp"
#include "ledger/format/projection_values.hpp"

namespace filingd {
namespace {

using test::action;
using test::submit;

const Timestamp kStart = *parse_rfc3339("2026-11-22T08:00:00Z");

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override { reopen(); }

  void reopen() {
    ledger_.reset();
    Ledger::Options o;
    o.data_dir = dir_.str();
    o.clock = &clock_;
    o.sms_policies = policies_;
    auto l = Ledger::open(o);
    ASSERT_TRUE(l) << l.error().message;
    ledger_ = std::move(*l);
  }

  AppendResult ok(AppendCommand c) {
    auto r = ledger_->append(std::move(c));
    EXPECT_TRUE(r) << r.error().message << " (field " << r.error().field << ")";
    return r ? *r : AppendResult{};
  }

  // Expects a refusal with `code` and checks that nothing was written.
  Error refused(AppendCommand c, ErrorCode code) {
    const LedgerHead before = ledger_->head();
    auto r = ledger_->append(std::move(c));
    EXPECT_FALSE(r);
    if (r) return {};
    EXPECT_EQ(r.error().code, code) << r.error().message;
    EXPECT_EQ(ledger_->head().seq, before.seq) << "a refused append must write nothing";
    return r.error();
  }

  FilingStatus status(const std::string& id) {
    auto s = ledger_->status(id);
    EXPECT_TRUE(s && *s) << id;
    return s && *s ? **s : FilingStatus{};
  }

  // Drives a filing from submission to the given state.
  void drive(const std::string& id, int n, FilingState target,
             FilingType type = FilingType::first_filing) {
    ok(submit(id, n, type));
    if (target == FilingState::provider_review) return;
    ok(action(id, InitialReviewApproved{}));
    ok(action(id, PhotoApproved{}));
    if (target == FilingState::ready_for_bureau) return;
    ok(action(id, SubmittedToBureau{}));
    if (target == FilingState::sms_pending) return;
    ok(action(id, SmsConfirmed{}));
    ASSERT_EQ(status(id).state, FilingState::bureau_review);
  }

  AppendCommand approve(const std::string& id, std::string subject,
                        std::vector<WebsiteNumber> sites) {
    return action(id, BureauApproved{std::move(subject), std::move(sites)});
  }

  test::TempDir dir_;
  ManualClock clock_{kStart};
  SmsPolicies policies_;
  std::unique_ptr<Ledger> ledger_;
};

TEST_F(LedgerTest, FirstFilingRunsToApprovalAndIssuesNumbers) {
  const AppendResult first = ok(submit("F1", 1));
  EXPECT_EQ(first.seq, Seq(1));
  EXPECT_EQ(first.version, Version(1));
  EXPECT_EQ(first.state, FilingState::provider_review);
  drive("F1-unused", 2, FilingState::provider_review);  // another subject in parallel

  ok(action("F1", PhotoApproved{}, Version(1)));
  EXPECT_EQ(ok(action("F1", InitialReviewApproved{}, Version(2))).state,
            FilingState::ready_for_bureau);
  const AppendResult sent = ok(action("F1", SubmittedToBureau{}));
  EXPECT_EQ(sent.state, FilingState::sms_pending);
  ASSERT_TRUE(sent.sms_deadline);
  EXPECT_EQ(sent.sms_deadline->micros - kStart.micros, 24 * kMicrosPerHour);
  EXPECT_EQ(ok(action("F1", SmsConfirmed{})).state, FilingState::bureau_review);
  const AppendResult approved =
      ok(approve("F1", "京ICP备2026000001号", {{"site1.cn", "京ICP备2026000001号-1"}}));
  EXPECT_EQ(approved.state, FilingState::approved);

  const FilingStatus s = status("F1");
  EXPECT_EQ(s.subject_record_number, "京ICP备2026000001号");
  EXPECT_EQ(s.websites.at(0).record_number, "京ICP备2026000001号-1");
  EXPECT_EQ(s.version, Version(6));
  auto rec = ledger_->record("京ICP备2026000001号-1");
  ASSERT_TRUE(rec && *rec);
  EXPECT_TRUE((*rec)->active);
  EXPECT_EQ((*rec)->domains, (std::vector<std::string>{"site1.cn", "www.site1.cn"}));
  auto by_domain = ledger_->record_for_domain("www.site1.cn");
  ASSERT_TRUE(by_domain && *by_domain);
  EXPECT_EQ(**by_domain, "京ICP备2026000001号-1");
  auto subject = ledger_->records_of_subject("京ICP备2026000001号");
  ASSERT_TRUE(subject);
  EXPECT_EQ(subject->size(), 2u);
}

// Commit listeners run on the sync thread, after the batch is durable, with no ledger lock held:
// one that reads the ledger (its head, a status) sees the batch and does not deadlock.
TEST_F(LedgerTest, ACommitListenerMayReadTheLedger) {
  struct Seen {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::pair<Seq, Seq>> heads;  // (listener's seq, head() inside the listener)
    std::string thread;
    bool status_found = false;
  };
  auto seen = std::make_shared<Seen>();
  Ledger* ledger = ledger_.get();
  ledger_->add_commit_listener([seen, ledger](Seq seq) {
    const LedgerHead head = ledger->head();
    auto status = ledger->status("F1");
    char name[16] = {};
    pthread_getname_np(pthread_self(), name, sizeof name);
    std::lock_guard lock(seen->mu);
    seen->heads.emplace_back(seq, head.seq);
    seen->thread = name;
    seen->status_found = status && status->has_value();
    seen->cv.notify_all();
  });
  ok(test::submit("F1", 1));
  std::unique_lock lock(seen->mu);
  ASSERT_TRUE(seen->cv.wait_for(lock, std::chrono::seconds(10), [&] { return !seen->heads.empty(); }))
      << "the listener never ran (deadlocked?)";
  EXPECT_EQ(seen->heads.front().first, Seq(1));
  EXPECT_EQ(seen->heads.front().second, Seq(1)) << "the head is published before the listener";
  EXPECT_EQ(seen->thread, "ledger-sync");
  EXPECT_TRUE(seen->status_found);
}

TEST_F(LedgerTest, UnknownFilingIsNotFoundAndDuplicateFilingIdConflicts) {
  refused(action("nope", PhotoApproved{}), ErrorCode::not_found);
  ok(submit("F1", 1));
  auto again = submit("F1", 2);
  again.must_create = true;
  refused(again, ErrorCode::conflict);
}

TEST_F(LedgerTest, RefusedTransitionNamesStateAndAllowedEvents) {
  drive("F1", 1, FilingState::sms_pending);
  Error e = refused(action("F1", FilingWithdrawn{"不想备案了"}), ErrorCode::transition_not_allowed);
  EXPECT_NE(e.message.find("sms_pending"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("sms_confirmed"), std::string::npos) << e.message;
}

TEST_F(LedgerTest, RejectionReturnsAndResubmissionCountsAttempts) {
  ok(submit("F1", 1));
  ok(action("F1", InitialReviewRejected{{"rev-2", "website_name", "网站名称不符合要求"}}));
  FilingStatus s = status("F1");
  EXPECT_EQ(s.state, FilingState::returned);
  EXPECT_EQ(s.return_cause, ReturnCause::initial_review_rejected);
  EXPECT_EQ(s.return_reason, "网站名称不符合要求");
  AppendCommand again = submit("F1", 1);
  EXPECT_EQ(ok(again).state, FilingState::provider_review);
  EXPECT_EQ(status("F1").attempt, 2u);
  // A resubmission may not switch subject.
  ok(action("F1", InitialReviewRejected{}));
  refused(submit("F1", 9), ErrorCode::invalid);
}

TEST_F(LedgerTest, FifthFailedSmsAttemptReturns) {
  drive("F1", 1, FilingState::sms_pending);
  for (int i = 1; i <= 4; ++i)
    EXPECT_EQ(ok(action("F1", SmsAttemptFailed{})).state, FilingState::sms_pending);
  refused(action("F1", SmsAttemptFailed{7}), ErrorCode::invalid);  // pinned count is 5
  EXPECT_EQ(ok(action("F1", SmsAttemptFailed{})).state, FilingState::returned);
  EXPECT_EQ(status("F1").return_cause, ReturnCause::sms_failed);
  auto events = ledger_->stream("F1");
  ASSERT_TRUE(events);
  EXPECT_EQ(std::get<SmsAttemptFailed>(events->back().data).attempt, 5u);
}

TEST_F(LedgerTest, SmsExpiryAndLateConfirmation) {
  drive("F1", 1, FilingState::sms_pending);
  const Timestamp deadline = *status("F1").sms_deadline;
  // Not yet due.
  refused(action("F1", SmsExpired{}), ErrorCode::invalid);
  // A confirmation that happened after the deadline is refused.
  clock_.set(Timestamp{deadline.micros + kMicrosPerHour});
  AppendCommand late = action("F1", SmsConfirmed{});
  late.occurred_at = Timestamp{deadline.micros + 1};
  refused(late, ErrorCode::invalid);
  // The expiry, as the timer appends it: occurred_at is the deadline.
  AppendCommand expiry = action("F1", SmsExpired{});
  expiry.occurred_at = deadline;
  expiry.actor = "system";
  expiry.principal = std::string(kSystemPrincipal);
  EXPECT_EQ(ok(expiry).state, FilingState::returned);
  const FilingStatus s = status("F1");
  EXPECT_EQ(s.return_cause, ReturnCause::sms_expired);
  EXPECT_FALSE(s.sms_deadline);
  auto events = ledger_->stream("F1");
  ASSERT_TRUE(events);
  EXPECT_EQ(std::get<SmsExpired>(events->back().data).deadline, deadline);
}

TEST_F(LedgerTest, SmsPolicyIsChosenByProvinceAndTimeAndPinned) {
  auto pilot = SmsPolicies::make(
      {SmsPolicy{"pilot-48h",
                 48 * kMicrosPerHour,
                 {"甘"},
                 {},
                 parse_rfc3339("2017-12-15T00:00:00+08:00"),
                 parse_rfc3339("2020-08-17T00:00:00+08:00")},
       SmsPolicy{"default-24h", 24 * kMicrosPerHour, {}, {}, std::nullopt, std::nullopt}});
  ASSERT_TRUE(pilot);
  policies_ = *pilot;
  reopen();
  const Timestamp in_2019 = *parse_rfc3339("2019-06-01T08:00:00Z");
  for (auto [id, province, n] : {std::tuple{"F-gs", "甘", 1}, std::tuple{"F-bj", "京", 2}}) {
    AppendCommand c = submit(id, n);
    std::get<FilingSubmitted>(c.data).province = province;
    c.occurred_at = in_2019;
    ok(c);
    for (Payload p : {Payload(InitialReviewApproved{}), Payload(PhotoApproved{}),
                      Payload(SubmittedToBureau{})}) {
      AppendCommand a = action(id, p);
      a.occurred_at = in_2019;
      ok(a);
    }
  }
  const FilingStatus gansu = status("F-gs");
  const FilingStatus beijing = status("F-bj");
  EXPECT_EQ(gansu.province, "甘");
  EXPECT_EQ(gansu.sms_policy_id, "pilot-48h");
  EXPECT_EQ(gansu.sms_deadline->micros - in_2019.micros, 48 * kMicrosPerHour);
  EXPECT_EQ(beijing.sms_policy_id, "default-24h");
  EXPECT_EQ(beijing.sms_deadline->micros - in_2019.micros, 24 * kMicrosPerHour);
  refused(action("F-gs", SubmittedToBureau{kStart, "mine"}), ErrorCode::invalid);
}

TEST_F(LedgerTest, WithdrawalOnlyBeforeTheBureau) {
  ok(submit("A", 1));
  EXPECT_EQ(ok(action("A", FilingWithdrawn{"改主意了"})).state, FilingState::withdrawn);
  drive("B", 2, FilingState::ready_for_bureau);
  EXPECT_EQ(ok(action("B", FilingWithdrawn{})).state, FilingState::withdrawn);
  drive("C", 3, FilingState::bureau_review);
  refused(action("C", FilingWithdrawn{}), ErrorCode::transition_not_allowed);
  refused(action("A", InitialReviewApproved{}), ErrorCode::transition_not_allowed);
}

TEST_F(LedgerTest, AbandonmentAfter45Days) {
  ok(submit("F1", 1));
  ok(action("F1", InitialReviewRejected{}));
  const Timestamp due = *status("F1").abandon_at;
  EXPECT_EQ(due.micros - kStart.micros, 45 * kMicrosPerDay);
  refused(action("F1", FilingAbandoned{}), ErrorCode::invalid);
  clock_.set(due);
  EXPECT_EQ(ok(action("F1", FilingAbandoned{})).state, FilingState::abandoned);
  refused(submit("F1", 1), ErrorCode::transition_not_allowed);
}

TEST_F(LedgerTest, OneOpenFilingPerSubject) {
  ok(submit("F1", 1));
  Error e = refused(submit("F2", 1), ErrorCode::conflict);
  EXPECT_NE(e.message.find("F1"), std::string::npos);
  ok(action("F1", FilingWithdrawn{}));
  ok(submit("F2", 1));
}

TEST_F(LedgerTest, GeneratedEventIdsAreUuidV7sInTimeOrder) {
  const AppendResult a = ok(submit("F1", 1));
  const AppendResult b = ok(submit("F2", 2));  // the same clock reading
  clock_.set(Timestamp{kStart.micros + 1'500});
  const AppendResult c = ok(submit("F3", 3));
  for (const AppendResult& r : {a, b, c}) {
    ASSERT_EQ(r.event_id.size(), 36u) << r.event_id;
    EXPECT_EQ(r.event_id[14], '7') << r.event_id;                                     // version
    EXPECT_NE(std::string_view("89ab").find(r.event_id[19]), std::string_view::npos)  // variant
        << r.event_id;
  }
  // The first 48 bits are the clock's Unix milliseconds; random bits keep equal times apart.
  EXPECT_EQ(std::stoull(a.event_id.substr(0, 8) + a.event_id.substr(9, 4), nullptr, 16),
            static_cast<unsigned long long>(kStart.micros / 1000));
  EXPECT_NE(a.event_id, b.event_id);
  EXPECT_LT(a.event_id, c.event_id);
  EXPECT_LT(b.event_id, c.event_id);
}

TEST_F(LedgerTest, IdempotentRetryReturnsTheOriginalResult) {
  AppendCommand c = submit("F1", 1);
  c.event_id = "evt-0001";
  const AppendResult first = ok(c);
  EXPECT_FALSE(first.duplicate);
  const AppendResult retry = ok(c);
  EXPECT_TRUE(retry.duplicate);
  EXPECT_EQ(retry.seq, first.seq);
  EXPECT_EQ(retry.version, first.version);
  EXPECT_EQ(retry.state, first.state);
  EXPECT_EQ(ledger_->head().seq, Seq(1));
  // Same event_id, different content.
  AppendCommand other = action("F1", PhotoApproved{});
  other.event_id = "evt-0001";
  Error e = refused(other, ErrorCode::conflict);
  EXPECT_EQ(e.field, "event_id");
  // Still recognised after a restart.
  reopen();
  EXPECT_TRUE(ok(c).duplicate);
}

TEST_F(LedgerTest, ExpectedVersionConflict) {
  ok(submit("F1", 1));
  Error e = refused(action("F1", PhotoApproved{}, Version(5)), ErrorCode::conflict);
  EXPECT_EQ(e.field, "expected_version");
  ok(action("F1", PhotoApproved{}, Version(1)));
}

TEST_F(LedgerTest, BadInputIsRefusedNamingTheField) {
  AppendCommand bad_id = submit("bad id!", 1);
  EXPECT_EQ(refused(bad_id, ErrorCode::invalid).field, "filing_id");
  AppendCommand no_site = submit("F1", 1);
  std::get<FilingSubmitted>(no_site.data).websites.clear();
  EXPECT_EQ(refused(no_site, ErrorCode::invalid).field, "data.websites");
  AppendCommand mobile = submit("F1", 1);
  std::get<FilingSubmitted>(mobile.data).websites[0].responsible.mobile = "12345";
  EXPECT_EQ(refused(mobile, ErrorCode::invalid).field, "data.websites[0].responsible.mobile");
  AppendCommand future = submit("F1", 1);
  future.occurred_at = Timestamp{kStart.micros + 6 * 60 * kMicrosPerSecond};
  EXPECT_EQ(refused(future, ErrorCode::invalid).field, "occurred_at");
  AppendCommand no_actor = submit("F1", 1);
  no_actor.actor.clear();
  EXPECT_EQ(refused(no_actor, ErrorCode::invalid).field, "actor");
  EXPECT_EQ(ledger_->head().seq, Seq(0));
}

TEST_F(LedgerTest, CancelAccessSkipsSmsVerification) {
  drive("F1", 1, FilingState::bureau_review);
  ok(approve("F1", "京ICP备2026000001号", {{"site1.cn", "京ICP备2026000001号-1"}}));
  AppendCommand c = submit("F2", 1, FilingType::cancel_access);
  auto& f = std::get<FilingSubmitted>(c.data);
  f.existing_record_number = "京ICP备2026000001号";
  f.websites[0].record_number = "京ICP备2026000001号-1";
  ok(c);
  ok(action("F2", InitialReviewApproved{}));
  ok(action("F2", PhotoApproved{}));
  const AppendResult r = ok(action("F2", SubmittedToBureau{}));
  EXPECT_EQ(r.state, FilingState::bureau_review);
  EXPECT_FALSE(r.sms_deadline);
}

// ---- record numbers (SPEC §1.3) -------------------------------------------------------------

class RecordNumberRules : public LedgerTest {
 protected:
  // F1 approved with 京ICP备2026000001号 and website -1.
  void SetUp() override {
    LedgerTest::SetUp();
    drive("F1", 1, FilingState::bureau_review);
    ok(approve("F1", "京ICP备2026000001号", {{"site1.cn", "京ICP备2026000001号-1"}}));
  }

  // An add_website filing for subject 1 with a new domain, driven to bureau_review.
  void add_website(const std::string& id, int domain_n) {
    AppendCommand c = submit(id, 1, FilingType::add_website);
    auto& f = std::get<FilingSubmitted>(c.data);
    f.existing_record_number = "京ICP备2026000001号";
    f.websites[0].domains = {"new" + std::to_string(domain_n) + ".cn"};
    ok(c);
    ok(action(id, InitialReviewApproved{}));
    ok(action(id, PhotoApproved{}));
    ok(action(id, SubmittedToBureau{}));
    ok(action(id, SmsConfirmed{}));
  }
};

TEST_F(RecordNumberRules, AddWebsiteGetsTheNextSuffix) {
  add_website("F2", 2);
  ok(approve("F2", "", {{"new2.cn", "京ICP备2026000001号-2"}}));
  const FilingStatus s = status("F2");
  EXPECT_EQ(s.subject_record_number, "京ICP备2026000001号");
  EXPECT_EQ(s.websites[0].record_number, "京ICP备2026000001号-2");
  auto subject = ledger_->records_of_subject("京ICP备2026000001号");
  ASSERT_TRUE(subject);
  EXPECT_EQ(subject->size(), 3u);
}

TEST_F(RecordNumberRules, SuffixReuseIsRefused) {
  add_website("F2", 2);
  Error e = refused(approve("F2", "", {{"new2.cn", "京ICP备2026000001号-1"}}), ErrorCode::conflict);
  EXPECT_NE(e.message.find("never reused"), std::string::npos) << e.message;
}

TEST_F(RecordNumberRules, WrongProvinceIsRefused) {
  drive("G1", 2, FilingState::bureau_review);
  Error e = refused(approve("G1", "沪ICP备2026000002号", {{"site2.cn", "沪ICP备2026000002号-1"}}),
                    ErrorCode::invalid);
  EXPECT_EQ(e.field, "data.subject_record_number");
  // At submission, too.
  AppendCommand c = submit("G2", 3, FilingType::new_access);
  auto& f = std::get<FilingSubmitted>(c.data);
  f.existing_record_number = "沪ICP备2020000003号";
  f.websites[0].record_number = "沪ICP备2020000003号-1";
  EXPECT_EQ(refused(c, ErrorCode::invalid).field, "data.existing_record_number");
}

TEST_F(RecordNumberRules, AnIssuedSubjectNumberIsNotIssuedAgain) {
  drive("G1", 2, FilingState::bureau_review);
  refused(approve("G1", "京ICP备2026000001号", {{"site2.cn", "京ICP备2026000001号-5"}}),
          ErrorCode::conflict);
}

TEST_F(RecordNumberRules, AccessKeepsTheNumbers) {
  // A subject filed at another provider: the registry learns its numbers on approval.
  AppendCommand c = submit("A1", 2, FilingType::new_access);
  auto& f = std::get<FilingSubmitted>(c.data);
  f.existing_record_number = "京ICP备2019000002号";
  f.websites[0].record_number = "京ICP备2019000002号-3";
  ok(c);
  ok(action("A1", InitialReviewApproved{}));
  ok(action("A1", PhotoApproved{}));
  ok(action("A1", SubmittedToBureau{}));
  ok(action("A1", SmsConfirmed{}));
  refused(approve("A1", "京ICP备2019000009号", {}), ErrorCode::invalid);
  ok(approve("A1", "", {}));
  const FilingStatus s = status("A1");
  EXPECT_EQ(s.subject_record_number, "京ICP备2019000002号");
  EXPECT_EQ(s.websites[0].record_number, "京ICP备2019000002号-3");
  auto rec = ledger_->record("京ICP备2019000002号-3");
  ASSERT_TRUE(rec && *rec);
  EXPECT_TRUE((*rec)->active);
}

TEST_F(RecordNumberRules, CancelledNumberIsNeverRevived) {
  ok(action("F1", RecordCancelled{"京ICP备2026000001号-1", "网站关闭"}));
  auto rec = ledger_->record("京ICP备2026000001号-1");
  ASSERT_TRUE(rec && *rec);
  EXPECT_FALSE((*rec)->active);
  auto domain = ledger_->record_for_domain("site1.cn");
  ASSERT_TRUE(domain);
  EXPECT_FALSE(*domain) << "a cancelled number no longer holds its domain";
  refused(action("F1", RecordCancelled{"京ICP备2026000001号-1", "again"}), ErrorCode::conflict);

  // An access filing may not bring the cancelled number back.
  AppendCommand c = submit("A1", 1, FilingType::new_access);
  auto& f = std::get<FilingSubmitted>(c.data);
  f.existing_record_number = "京ICP备2026000001号";
  f.websites[0].record_number = "京ICP备2026000001号-1";
  EXPECT_EQ(refused(c, ErrorCode::conflict).field, "data.websites[0].record_number");
  // Nor may the bureau re-issue its suffix.
  add_website("F3", 3);
  refused(approve("F3", "", {{"new3.cn", "京ICP备2026000001号-1"}}), ErrorCode::conflict);
}

TEST_F(RecordNumberRules, CancellingTheSubjectCascadesToItsWebsites) {
  AppendCommand c = submit("C1", 1, FilingType::cancel_subject);
  std::get<FilingSubmitted>(c.data).existing_record_number = "京ICP备2026000001号";
  ok(c);
  ok(action("C1", InitialReviewApproved{}));
  ok(action("C1", PhotoApproved{}));
  ok(action("C1", SubmittedToBureau{}));
  ok(action("C1", SmsConfirmed{}));
  ok(approve("C1", "", {}));
  for (const char* n : {"京ICP备2026000001号", "京ICP备2026000001号-1"}) {
    auto rec = ledger_->record(n);
    ASSERT_TRUE(rec && *rec);
    EXPECT_FALSE((*rec)->active) << n;
  }
}

// ---- restart -------------------------------------------------------------------------------

TEST_F(LedgerTest, ReopenGivesTheSameState) {
  drive("F1", 1, FilingState::sms_pending);
  drive("F2", 2, FilingState::provider_review);
  const LedgerHead head = ledger_->head();
  const FilingStatus before = status("F1");
  reopen();
  EXPECT_EQ(ledger_->head().seq, head.seq);
  EXPECT_EQ(ledger_->head().hash, head.hash);
  EXPECT_EQ(encode_status(status("F1")), encode_status(before));
  const AppendResult next = ok(action("F2", PhotoApproved{}));
  EXPECT_EQ(next.seq, head.seq.next());
  auto events = ledger_->events_after(Seq(0), 100);
  ASSERT_TRUE(events);
  EXPECT_EQ(events->size(), next.seq.value);
  EXPECT_EQ(events->back().prev_hash, head.hash);
}

TEST_F(LedgerTest, ListsAndDeadlines) {
  drive("F1", 1, FilingState::sms_pending);
  drive("F2", 2, FilingState::sms_pending);
  drive("F3", 3, FilingState::provider_review);
  const std::string sms_pending = keys::index_prefix(keys::Index::state, "sms_pending");
  auto pending = ledger_->scan_index(sms_pending, "", 10);
  ASSERT_TRUE(pending);
  EXPECT_EQ(*pending, (std::vector<std::string>{"F1", "F2"}));
  auto page2 = ledger_->scan_index(sms_pending, "F1", 10);
  ASSERT_TRUE(page2);
  EXPECT_EQ(*page2, (std::vector<std::string>{"F2"}));
  page2 = ledger_->scan_index(sms_pending, "F2", 10, /*reverse=*/true);
  ASSERT_TRUE(page2);
  EXPECT_EQ(*page2, (std::vector<std::string>{"F1"}));
  auto deadlines = ledger_->deadlines(std::nullopt, keys::DeadlineKind::sms, 10);
  ASSERT_TRUE(deadlines);
  ASSERT_EQ(deadlines->size(), 2u);
  EXPECT_EQ((*deadlines)[0].filing_id, "F1");
  ok(action("F1", SmsConfirmed{}));
  deadlines = ledger_->deadlines(std::nullopt, std::nullopt, 10);
  ASSERT_TRUE(deadlines);
  ASSERT_EQ(deadlines->size(), 1u);
  EXPECT_EQ((*deadlines)[0].filing_id, "F2");
  auto all = ledger_->scan_index(keys::kStatusPrefix, "", 10);
  ASSERT_TRUE(all);
  EXPECT_EQ(*all, (std::vector<std::string>{"F1", "F2", "F3"}));
  all = ledger_->scan_index(keys::kStatusPrefix, "", 2, /*reverse=*/true);
  ASSERT_TRUE(all);
  EXPECT_EQ(*all, (std::vector<std::string>{"F3", "F2"}));
  auto counts = ledger_->counts();
  ASSERT_TRUE(counts);
  using Counts = std::vector<std::pair<std::string, std::uint64_t>>;
  const auto group = [](std::string_view state) {
    return keys::stats_group(state, "京", "jdcloud", "first_filing");
  };
  EXPECT_EQ(*counts, (Counts{{"deadline:sms", 1},
                             {group("bureau_review"), 1},
                             {group("provider_review"), 1},
                             {group("sms_pending"), 1},
                             {"state:bureau_review", 1},
                             {"state:provider_review", 1},
                             {"state:sms_pending", 1}}));
}

}  // namespace
}  // namespace filingd
