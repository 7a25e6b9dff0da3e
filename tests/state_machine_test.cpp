#include <gtest/gtest.h>

#include <map>
#include <set>

#include "projections/state_machine.hpp"
#include "tests/samples/samples.hpp"
#include "tests/test_util.hpp"

namespace filingd {
namespace {

using S = FilingState;
using E = EventType;

// SPEC §1.5, written out independently of the table under test.
const std::map<S, std::set<E>> kAllowed = {
    {S::none, {E::filing_submitted}},
    {S::provider_review,
     {E::initial_review_approved, E::initial_review_rejected, E::photo_approved, E::photo_rejected,
      E::filing_withdrawn}},
    {S::ready_for_bureau, {E::submitted_to_bureau, E::filing_withdrawn}},
    {S::sms_pending, {E::sms_confirmed, E::sms_attempt_failed, E::sms_expired}},
    {S::bureau_review, {E::bureau_approved, E::bureau_rejected}},
    {S::returned, {E::filing_submitted, E::filing_withdrawn, E::filing_abandoned}},
    {S::approved, {E::record_cancelled}},
    {S::withdrawn, {}},
    {S::abandoned, {}},
};

FilingStatus in_state(S state) {
  FilingStatus s;
  s.filing_id = "F1";
  s.state = state;
  if (state != S::none) {
    s.subject = samples::submission(1).subject;
    s.websites = samples::submission(1).websites;
  }
  return s;
}

Event event_of(E type) {
  Event e;
  e.filing_id = "F1";
  e.data = make_payload(type);
  if (type == E::filing_submitted) e.data = samples::submission(1);
  if (type == E::sms_attempt_failed) std::get<SmsAttemptFailed>(e.data).attempt = 1;
  return e;
}

TEST(StateMachine, EveryStateAllowsExactlyTheSpecifiedEvents) {
  for (const auto& [state, allowed] : kAllowed) {
    const auto listed = allowed_events(state);
    EXPECT_EQ(std::set<E>(listed.begin(), listed.end()), allowed) << to_string(state);
    for (int t = 0; t < kEventTypeCount; ++t) {
      const auto type = static_cast<E>(t);
      FilingStatus s = in_state(state);
      auto r = apply_event(s, event_of(type));
      // subject_erased is no filing's event: it only counts a subject's erasures, in a stream
      // that holds nothing else (state none).
      const bool expected = type == E::subject_erased ? state == S::none : allowed.count(type) == 1;
      EXPECT_EQ(r.ok(), expected) << to_string(type) << " in " << to_string(state);
      if (!r.ok()) {
        EXPECT_EQ(r.error().code, ErrorCode::transition_not_allowed);
        EXPECT_EQ(s.state, state) << "a refused event must not change the status";
      }
    }
  }
}

TEST(StateMachine, RefusalNamesStateAndAllowedEvents) {
  FilingStatus s = in_state(S::sms_pending);
  auto r = apply_event(s, event_of(E::filing_withdrawn));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("sms_pending"), std::string::npos);
  EXPECT_NE(r.error().message.find("sms_confirmed, sms_attempt_failed, sms_expired"),
            std::string::npos)
      << r.error().message;
  FilingStatus done = in_state(S::withdrawn);
  auto t = apply_event(done, event_of(E::filing_submitted));
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message.find("terminal"), std::string::npos);
}

TEST(StateMachine, BothReviewFlagsInEitherOrderReachReadyForBureau) {
  for (bool photo_first : {false, true}) {
    FilingStatus s = in_state(S::provider_review);
    const E first = photo_first ? E::photo_approved : E::initial_review_approved;
    const E second = photo_first ? E::initial_review_approved : E::photo_approved;
    ASSERT_TRUE(apply_event(s, event_of(first)));
    EXPECT_EQ(s.state, S::provider_review);
    ASSERT_TRUE(apply_event(s, event_of(second)));
    EXPECT_EQ(s.state, S::ready_for_bureau);
    EXPECT_EQ(s.initial_review, ReviewFlag::approved);
    EXPECT_EQ(s.photo, ReviewFlag::approved);
  }
}

TEST(StateMachine, RejectedPhotoCanBeRetakenButBlocksUntilApproved) {
  FilingStatus s = in_state(S::provider_review);
  ASSERT_TRUE(apply_event(s, event_of(E::initial_review_approved)));
  ASSERT_TRUE(apply_event(s, event_of(E::photo_rejected)));
  EXPECT_EQ(s.state, S::provider_review);
  EXPECT_EQ(s.photo, ReviewFlag::rejected);
  ASSERT_TRUE(apply_event(s, event_of(E::photo_approved)));
  EXPECT_EQ(s.state, S::ready_for_bureau);
}

TEST(StateMachine, FifthFailedSmsAttemptReturnsTheFiling) {
  FilingStatus s = in_state(S::sms_pending);
  for (std::uint32_t attempt = 1; attempt <= 5; ++attempt) {
    Event e = event_of(E::sms_attempt_failed);
    std::get<SmsAttemptFailed>(e.data).attempt = attempt;
    ASSERT_TRUE(apply_event(s, e));
    EXPECT_EQ(s.state, attempt < 5 ? S::sms_pending : S::returned) << attempt;
  }
  EXPECT_EQ(s.return_cause, ReturnCause::sms_failed);
}

TEST(StateMachine, CancelAccessSkipsSms) {
  FilingStatus s = in_state(S::ready_for_bureau);
  s.filing_type = FilingType::cancel_access;
  ASSERT_TRUE(apply_event(s, event_of(E::submitted_to_bureau)));
  EXPECT_EQ(s.state, S::bureau_review);
  FilingStatus t = in_state(S::ready_for_bureau);
  ASSERT_TRUE(apply_event(t, event_of(E::submitted_to_bureau)));
  EXPECT_EQ(t.state, S::sms_pending);
}

TEST(StateMachine, ResubmissionIncrementsAttemptAndResetsFlags) {
  FilingStatus s = in_state(S::none);
  ASSERT_TRUE(apply_event(s, event_of(E::filing_submitted)));
  EXPECT_EQ(s.attempt, 1u);
  ASSERT_TRUE(apply_event(s, event_of(E::photo_approved)));
  Event reject = event_of(E::initial_review_rejected);
  std::get<InitialReviewRejected>(reject.data).reason = "网站名称不符合要求";
  ASSERT_TRUE(apply_event(s, reject));
  EXPECT_EQ(s.state, S::returned);
  EXPECT_EQ(s.return_cause, ReturnCause::initial_review_rejected);
  EXPECT_EQ(s.return_reason, "网站名称不符合要求");
  ASSERT_TRUE(s.abandon_at);
  ASSERT_TRUE(apply_event(s, event_of(E::filing_submitted)));
  EXPECT_EQ(s.state, S::provider_review);
  EXPECT_EQ(s.attempt, 2u);
  EXPECT_EQ(s.photo, ReviewFlag::pending);
  EXPECT_EQ(s.return_cause, ReturnCause::none);
  EXPECT_FALSE(s.abandon_at);
}

}  // namespace
}  // namespace filingd
