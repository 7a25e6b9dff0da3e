// The Chinese working-day calendar (Asia/Shanghai, UTC+8, no DST): weekdays are working days
// except statutory holidays; some weekend days are make-up working days (调休). Both lists are
// configuration data ([calendar] in the TOML), published yearly by the State Council.
#pragma once

#include <cstdint>
#include <set>
#include <string_view>

#include "events/result.hpp"
#include "events/time.hpp"

namespace filingd {

class WorkCalendar {
 public:
  // Days are counted since 1970-01-01 in Asia/Shanghai.
  using Day = std::int64_t;

  static Day day_of(Timestamp t);
  static Timestamp start_of(Day d);  // 00:00 Asia/Shanghai
  // "YYYY-MM-DD" -> Day, or nullopt.
  static std::optional<Day> parse_day(std::string_view text);

  void add_holiday(Day d) { holidays_.insert(d); }
  void add_workday(Day d) { workdays_.insert(d); }

  bool is_working_day(Day d) const;
  // The end (24:00 Asia/Shanghai) of the n-th working day after the day of `start`: a step
  // that must be done "within n working days" of `start` is overdue from then on.
  Timestamp due_after(Timestamp start, int working_days) const;

  std::size_t holiday_count() const { return holidays_.size(); }
  std::size_t workday_count() const { return workdays_.size(); }

 private:
  std::set<Day> holidays_;
  std::set<Day> workdays_;  // make-up working days on weekends
};

}  // namespace filingd
