// Working-day SLAs (SPEC §1.6): initial review, photo review and bureau hand-off within 1
// working day, bureau review within 20 (30 in Zhejiang). They emit no events: the status shows
// the step, its due time and an overdue flag. The due time is computed when read, from the
// time the filing entered its state and today's calendar, so projections (and their rebuild)
// never depend on the calendar configuration.
#pragma once

#include <array>
#include <optional>
#include <string_view>

#include "config/calendar.hpp"
#include "projections/status.hpp"

namespace filingd {

struct Sla {
  std::string_view step;
  Timestamp due;
  bool overdue = false;
};

// The states with an SLA clock, in the order listings walk them.
inline constexpr std::array<FilingState, 3> kSlaStates = {
    FilingState::provider_review, FilingState::ready_for_bureau, FilingState::bureau_review};

// Working days allowed in `state` (0: no SLA).
int sla_working_days(FilingState state, std::string_view province);
bool sla_zhejiang(std::string_view province);

std::optional<Sla> sla_of(const FilingStatus& s, const WorkCalendar& calendar, Timestamp now);

}  // namespace filingd
