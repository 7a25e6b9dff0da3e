// The Chinese working-day calendar (Asia/Shanghai, UTC+8, no DST): weekdays are working days
// except statutory holidays; some weekend days are make-up working days (调休). Both lists are
// configuration data ([calendar] in the TOML), published yearly by the State Council. Past the
// day the lists cover (`until`), every weekday counts as a working day: the daemon warns ahead.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
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

  WorkCalendar();
  WorkCalendar(const WorkCalendar& other);
  WorkCalendar& operator=(const WorkCalendar& other);

  // Building, before the calendar is shared.
  void add_holiday(Day d);
  void add_workday(Day d);
  void set_until(Day d);

  bool is_working_day(Day d) const;
  // The end (24:00 Asia/Shanghai) of the n-th working day after the day of `start`: a step
  // that must be done "within n working days" of `start` is overdue from then on.
  Timestamp due_after(Timestamp start, int working_days) const;

  std::size_t holiday_count() const { return days()->holidays.size(); }
  std::size_t workday_count() const { return days()->workdays.size(); }
  // The last day the lists cover; nullopt for a calendar without any (weekends only).
  std::optional<Day> until() const { return days()->until; }

  // Takes `other`'s days. Thread-safe against readers on other threads (a SIGHUP reload): each
  // call above sees the old days or the new ones, never a mix.
  void replace_with(const WorkCalendar& other);

 private:
  struct Days {
    std::set<Day> holidays;
    std::set<Day> workdays;  // make-up working days on weekends
    std::optional<Day> until;
  };
  std::shared_ptr<const Days> days() const { return days_.load(std::memory_order_acquire); }
  static bool working(const Days& days, Day d);
  template <class Change>
  void edit(Change change);

  std::atomic<std::shared_ptr<const Days>> days_;
};

}  // namespace filingd
