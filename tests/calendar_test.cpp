// The working-day calendar and the SLA clocks built on it.
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "projections/sla.hpp"
#include "tests/test_util.hpp"

namespace filingd {
namespace {

#ifndef FILINGD_SOURCE_DIR
#define FILINGD_SOURCE_DIR "."
#endif

Timestamp at(const char* rfc3339) { return *parse_rfc3339(rfc3339); }

class ShippedCalendar : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = load_config(std::string(FILINGD_SOURCE_DIR) + "/config/filingd.toml");
    ASSERT_TRUE(c) << c.error().message;
    calendar_ = c->calendar;
  }
  bool working(const char* day) const {
    return calendar_.is_working_day(*WorkCalendar::parse_day(day));
  }
  WorkCalendar calendar_;
};

TEST_F(ShippedCalendar, KnowsHolidaysAndMakeUpDays) {
  EXPECT_GT(calendar_.holiday_count(), 80u);
  EXPECT_FALSE(working("2026-10-01"));  // National Day
  EXPECT_FALSE(working("2026-10-05"));  // a Monday inside the holiday
  EXPECT_TRUE(working("2026-10-10"));   // a Saturday made a working day
  EXPECT_TRUE(working("2026-10-09"));   // an ordinary Friday
  EXPECT_FALSE(working("2026-11-22"));  // an ordinary Sunday
  EXPECT_FALSE(working("2025-01-29"));  // Spring Festival 2025
  EXPECT_TRUE(working("2024-02-04"));   // make-up Sunday 2024
}

TEST_F(ShippedCalendar, OneWorkingDaySkipsTheGoldenWeek) {
  // Submitted on the Wednesday before National Day: the next working day is Thursday 10-08,
  // so the step is overdue from its end, 10-09 00:00 Beijing time.
  EXPECT_EQ(calendar_.due_after(at("2026-09-30T10:00:00+08:00"), 1),
            at("2026-10-09T00:00:00+08:00"));
  // An ordinary Friday afternoon: due at the end of Monday.
  EXPECT_EQ(calendar_.due_after(at("2026-11-20T15:00:00+08:00"), 1),
            at("2026-11-24T00:00:00+08:00"));
  // The day boundary is Beijing midnight, not UTC midnight: 2026-11-19T17:00Z is Friday 01:00.
  EXPECT_EQ(calendar_.due_after(at("2026-11-19T17:00:00Z"), 1), at("2026-11-24T00:00:00+08:00"));
}

TEST_F(ShippedCalendar, BureauReviewIsTwentyWorkingDaysAndThirtyInZhejiang) {
  FilingStatus s;
  s.state = FilingState::bureau_review;
  s.state_since = at("2026-11-02T09:00:00+08:00");  // a Monday
  s.province = "京";
  auto beijing = sla_of(s, calendar_, at("2026-11-03T00:00:00Z"));
  ASSERT_TRUE(beijing);
  EXPECT_EQ(beijing->step, "bureau_review");
  // 20 working days from Tuesday 11-03: four full weeks end on Monday 11-30.
  EXPECT_EQ(beijing->due, at("2026-12-01T00:00:00+08:00"));
  EXPECT_FALSE(beijing->overdue);
  s.province = "浙";
  auto zhejiang = sla_of(s, calendar_, at("2026-12-02T00:00:00Z"));
  ASSERT_TRUE(zhejiang);
  EXPECT_EQ(zhejiang->due, at("2026-12-15T00:00:00+08:00"));
  EXPECT_FALSE(zhejiang->overdue);
  EXPECT_TRUE(sla_of(s, calendar_, at("2026-12-15T00:00:00+08:00"))->overdue);
}

TEST(Sla, StepFollowsTheStateAndFlags) {
  WorkCalendar weekends_only;
  FilingStatus s;
  s.state = FilingState::provider_review;
  EXPECT_EQ(sla_of(s, weekends_only, Timestamp{})->step, "initial_review");
  s.initial_review = ReviewFlag::approved;
  EXPECT_EQ(sla_of(s, weekends_only, Timestamp{})->step, "photo_review");
  s.state = FilingState::ready_for_bureau;
  EXPECT_EQ(sla_of(s, weekends_only, Timestamp{})->step, "bureau_handoff");
  for (FilingState none :
       {FilingState::sms_pending, FilingState::returned, FilingState::approved}) {
    s.state = none;
    EXPECT_FALSE(sla_of(s, weekends_only, Timestamp{})) << to_string(none);
  }
}

TEST(Sla, ClockIndexIsOrderedByStartAndFollowsTheState) {
  test::TempDir dir;
  ManualClock clock(at("2026-11-23T09:00:00+08:00"));
  auto ledger = Ledger::open({.data_dir = dir.str(), .clock = &clock});
  ASSERT_TRUE(ledger);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE((*ledger)->append(test::submit("F" + std::to_string(i), i)));
    clock.advance(kMicrosPerHour);
  }
  auto clock_index = (*ledger)->sla_clock(FilingState::provider_review, false, "", 10);
  ASSERT_TRUE(clock_index);
  ASSERT_EQ(clock_index->size(), 3u);
  EXPECT_EQ((*clock_index)[0].filing_id, "F0");
  EXPECT_LT((*clock_index)[0].since, (*clock_index)[1].since);
  // Paging resumes after a position.
  auto rest =
      (*ledger)->sla_clock(FilingState::provider_review, false, (*clock_index)[0].position, 10);
  ASSERT_TRUE(rest);
  EXPECT_EQ(rest->size(), 2u);
  // Moving on to ready_for_bureau moves the filing to that clock.
  ASSERT_TRUE((*ledger)->append(test::action("F0", InitialReviewApproved{})));
  ASSERT_TRUE((*ledger)->append(test::action("F0", PhotoApproved{})));
  auto ready = (*ledger)->sla_clock(FilingState::ready_for_bureau, false, "", 10);
  ASSERT_TRUE(ready);
  ASSERT_EQ(ready->size(), 1u);
  EXPECT_EQ((*ready)[0].since, clock.now());
  EXPECT_EQ((*ledger)->sla_clock(FilingState::provider_review, false, "", 10)->size(), 2u);
}

}  // namespace
}  // namespace filingd
