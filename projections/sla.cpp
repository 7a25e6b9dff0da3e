#include "projections/sla.hpp"

namespace filingd {

bool sla_zhejiang(std::string_view province) { return province == "浙"; }

int sla_working_days(FilingState state, std::string_view province) {
  switch (state) {
    case FilingState::provider_review:
    case FilingState::ready_for_bureau:
      return 1;
    case FilingState::bureau_review:
      return sla_zhejiang(province) ? 30 : 20;
    default:
      return 0;
  }
}

std::optional<Sla> sla_of(const FilingStatus& s, const WorkCalendar& calendar, Timestamp now) {
  const int days = sla_working_days(s.state, s.province);
  if (days == 0) return std::nullopt;
  std::string_view step;
  switch (s.state) {
    case FilingState::provider_review:
      step = s.initial_review != ReviewFlag::approved ? "initial_review" : "photo_review";
      break;
    case FilingState::ready_for_bureau:
      step = "bureau_handoff";
      break;
    default:
      step = "bureau_review";
  }
  const Timestamp due = calendar.due_after(s.state_since, days);
  return Sla{step, due, now >= due};
}

}  // namespace filingd
