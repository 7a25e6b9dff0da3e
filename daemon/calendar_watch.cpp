#include "daemon/calendar_watch.hpp"

#include <spdlog/spdlog.h>

namespace filingd {

std::optional<std::int64_t> calendar_days_left(const WorkCalendar& calendar, Timestamp now) {
  const auto until = calendar.until();
  if (!until) return std::nullopt;
  return *until - WorkCalendar::day_of(now);
}

std::string calendar_until(const WorkCalendar& calendar) {
  const auto until = calendar.until();
  if (!until) return {};
  // The day's midnight in Asia/Shanghai, moved to the same wall time in UTC to print its date.
  const Timestamp midnight_utc{WorkCalendar::start_of(*until).micros + 8 * kMicrosPerHour};
  return format_rfc3339(midnight_utc).substr(0, 10);
}

void log_calendar_coverage(const WorkCalendar& calendar, Timestamp now) {
  const auto left = calendar_days_left(calendar, now);
  if (!left) {
    spdlog::warn("the working-day calendar has no holidays: SLA due dates count every weekday");
    return;
  }
  const std::string until = calendar_until(calendar);
  if (*left < 0) {
    spdlog::warn(
        "the working-day calendar ended on {} ({} days ago): SLA due dates count every weekday "
        "as a working day; add the State Council's holiday notice to [calendar] and send SIGHUP",
        until, -*left);
  } else if (*left <= kCalendarWarnDays) {
    spdlog::warn(
        "the working-day calendar ends on {} ({} days left): add the next year's holidays from "
        "the State Council's notice to [calendar] and send SIGHUP",
        until, *left);
  } else {
    spdlog::info("the working-day calendar covers until {} ({} days left)", until, *left);
  }
}

}  // namespace filingd
