// The working-day calendar runs out each year until the State Council's next notice is added
// (SPEC §6.7): its coverage is logged at start and shown in /readyz, and from kWarnDays before
// its end a warning is logged daily and filingd_calendar_days_left exported.
#pragma once

#include <optional>
#include <string>

#include "config/calendar.hpp"
#include "events/time.hpp"

namespace filingd {

inline constexpr int kCalendarWarnDays = 60;

// Days from today (Asia/Shanghai) to the last day the calendar covers; negative once past it;
// nullopt for a calendar without lists.
std::optional<std::int64_t> calendar_days_left(const WorkCalendar& calendar, Timestamp now);
// "2026-12-31", or empty.
std::string calendar_until(const WorkCalendar& calendar);
// Logs the coverage: info, or a warning within kCalendarWarnDays of its end and past it.
void log_calendar_coverage(const WorkCalendar& calendar, Timestamp now);

}  // namespace filingd
