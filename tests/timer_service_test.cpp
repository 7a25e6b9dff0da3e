// The timer service on a manual clock: no sleeps, time moves only when the test says so.
#include <gtest/gtest.h>

#include "daemon/timer_service.hpp"
#include "tests/test_util.hpp"

namespace filingd {
namespace {

using test::action;
using test::submit;

const Timestamp kStart = *parse_rfc3339("2026-11-22T08:00:00Z");

class TimerServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }

  void open() {
    timers_.reset();
    ledger_.reset();
    Ledger::Options o;
    o.data_dir = dir_.str();
    o.clock = &clock_;
    auto l = Ledger::open(o);
    ASSERT_TRUE(l) << l.error().message;
    ledger_ = std::move(*l);
    timers_ = std::make_unique<TimerService>(*ledger_, clock_);
  }

  void must(AppendCommand c) {
    auto r = ledger_->append(std::move(c));
    ASSERT_TRUE(r) << r.error().message;
  }

  // A filing waiting for SMS verification, submitted to the bureau at the clock's time.
  void sms_pending(const std::string& id, int n) {
    must(submit(id, n));
    must(action(id, InitialReviewApproved{}));
    must(action(id, PhotoApproved{}));
    must(action(id, SubmittedToBureau{}));
  }

  FilingStatus status(const std::string& id) { return **ledger_->status(id); }

  test::TempDir dir_;
  ManualClock clock_{kStart};
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<TimerService> timers_;
};

TEST_F(TimerServiceTest, FiresOnlyOnceTheDeadlinePasses) {
  sms_pending("F1", 1);
  const Timestamp deadline = *status("F1").sms_deadline;
  clock_.set(Timestamp{deadline.micros - 1});
  EXPECT_EQ(timers_->fire_due().fired, 0u);
  EXPECT_EQ(status("F1").state, FilingState::sms_pending);

  clock_.set(Timestamp{deadline.micros + 3 * kMicrosPerSecond});
  EXPECT_EQ(timers_->fire_due().fired, 1u);
  const FilingStatus s = status("F1");
  EXPECT_EQ(s.state, FilingState::returned);
  EXPECT_EQ(s.return_cause, ReturnCause::sms_expired);
  auto events = ledger_->stream("F1");
  ASSERT_TRUE(events);
  const Event& expiry = events->back();
  EXPECT_EQ(expiry.type(), EventType::sms_expired);
  EXPECT_EQ(expiry.occurred_at, deadline) << "occurred_at is the deadline, not the firing time";
  EXPECT_EQ(expiry.actor, "system");
  // Nothing left to fire.
  EXPECT_EQ(timers_->fire_due().fired, 0u);
}

TEST_F(TimerServiceTest, AConfirmationBeforeTheDeadlineWins) {
  sms_pending("F1", 1);
  must(action("F1", SmsConfirmed{}));
  clock_.advance(48 * kMicrosPerHour);
  EXPECT_EQ(timers_->fire_due().fired, 0u);
  EXPECT_EQ(status("F1").state, FilingState::bureau_review);
}

TEST_F(TimerServiceTest, ExpiryWithAStaleVersionLosesTheRace) {
  // What the timer sends, had it read the status just before the confirmation committed.
  sms_pending("F1", 1);
  const FilingStatus seen = status("F1");
  must(action("F1", SmsConfirmed{}));
  clock_.set(Timestamp{seen.sms_deadline->micros + 1});
  AppendCommand expiry = action("F1", SmsExpired{*seen.sms_deadline}, seen.version);
  expiry.occurred_at = *seen.sms_deadline;
  auto r = ledger_->append(expiry);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::conflict);
  EXPECT_EQ(status("F1").state, FilingState::bureau_review);
}

TEST_F(TimerServiceTest, BacklogFiresInDueOrderAfterARestart) {
  for (int i = 0; i < 30; ++i) {
    sms_pending("F" + std::to_string(i), i);
    clock_.advance(kMicrosPerSecond);  // distinct, increasing deadlines
  }
  const Seq before = ledger_->head().seq;
  // The daemon is down while every deadline passes.
  ledger_.reset();
  clock_.advance(3 * kMicrosPerDay);
  open();
  EXPECT_EQ(timers_->fire_due().fired, 30u);
  auto events = ledger_->events_after(before, 100);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 30u);
  for (std::size_t i = 1; i < events->size(); ++i) {
    EXPECT_LT((*events)[i - 1].occurred_at, (*events)[i].occurred_at) << "fired in due order";
  }
  auto pending = ledger_->deadlines(std::nullopt, keys::DeadlineKind::sms, 10);
  ASSERT_TRUE(pending);
  EXPECT_TRUE(pending->empty());
}

TEST_F(TimerServiceTest, AbandonsAReturnedFilingAfter45Days) {
  must(submit("F1", 1));
  must(action("F1", InitialReviewRejected{}));
  clock_.advance(45 * kMicrosPerDay - 1);
  EXPECT_EQ(timers_->fire_due().fired, 0u);
  clock_.advance(1);
  EXPECT_EQ(timers_->fire_due().fired, 1u);
  EXPECT_EQ(status("F1").state, FilingState::abandoned);
  // The subject is free again.
  must(submit("F2", 1));
}

TEST_F(TimerServiceTest, ExpiredFilingCanBeResubmittedAndExpireAgain) {
  sms_pending("F1", 1);
  clock_.advance(25 * kMicrosPerHour);
  EXPECT_EQ(timers_->fire_due().fired, 1u);
  must(submit("F1", 1));
  must(action("F1", InitialReviewApproved{}));
  must(action("F1", PhotoApproved{}));
  must(action("F1", SubmittedToBureau{}));
  clock_.advance(25 * kMicrosPerHour);
  EXPECT_EQ(timers_->fire_due().fired, 1u);
  EXPECT_EQ(status("F1").attempt, 2u);
  EXPECT_EQ(status("F1").return_cause, ReturnCause::sms_expired);
}

}  // namespace
}  // namespace filingd
