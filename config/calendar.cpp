#include "config/calendar.hpp"

namespace filingd {
namespace {

constexpr std::int64_t kShanghaiOffset = 8 * kMicrosPerHour;

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - (a % b < 0 ? 1 : 0); }

}  // namespace

WorkCalendar::Day WorkCalendar::day_of(Timestamp t) {
  return floor_div(t.micros + kShanghaiOffset, kMicrosPerDay);
}

Timestamp WorkCalendar::start_of(Day d) { return Timestamp{d * kMicrosPerDay - kShanghaiOffset}; }

std::optional<WorkCalendar::Day> WorkCalendar::parse_day(std::string_view text) {
  if (text.size() != 10) return std::nullopt;
  auto t = parse_rfc3339(std::string(text) + "T00:00:00+08:00");
  if (!t) return std::nullopt;
  return day_of(*t);
}

WorkCalendar::WorkCalendar() : days_(std::make_shared<const Days>()) {}
WorkCalendar::WorkCalendar(const WorkCalendar& other) : days_(other.days()) {}
WorkCalendar& WorkCalendar::operator=(const WorkCalendar& other) {
  replace_with(other);
  return *this;
}

void WorkCalendar::replace_with(const WorkCalendar& other) {
  days_.store(other.days(), std::memory_order_release);
}

template <class Change>
void WorkCalendar::edit(Change change) {
  auto copy = std::make_shared<Days>(*days());
  change(*copy);
  days_.store(std::move(copy), std::memory_order_release);
}

void WorkCalendar::add_holiday(Day d) {
  edit([d](Days& days) { days.holidays.insert(d); });
}
void WorkCalendar::add_workday(Day d) {
  edit([d](Days& days) { days.workdays.insert(d); });
}
void WorkCalendar::set_until(Day d) {
  edit([d](Days& days) { days.until = d; });
}

bool WorkCalendar::working(const Days& days, Day d) {
  if (days.workdays.count(d)) return true;
  if (days.holidays.count(d)) return false;
  const std::int64_t weekday = ((d + 4) % 7 + 7) % 7;  // 1970-01-01 was a Thursday; 0 = Sunday
  return weekday != 0 && weekday != 6;
}

bool WorkCalendar::is_working_day(Day d) const { return working(*days(), d); }

Timestamp WorkCalendar::due_after(Timestamp start, int working_days) const {
  const auto days = this->days();
  Day d = day_of(start);
  for (int counted = 0; counted < working_days;) {
    ++d;
    if (working(*days, d)) ++counted;
  }
  return start_of(d + 1);
}

}  // namespace filingd
