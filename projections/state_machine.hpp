// The filing state machine (SPEC §1.5) as data: one row per (state, event) pair that is allowed,
// with an optional guard that picks between rows of the same pair (e.g. the second approval of
// the provider review moves on to ready_for_bureau, the first stays). The append path, the
// rebuild and the error messages ("allowed events here are …") all read this table.
#pragma once

#include <vector>

#include "events/event.hpp"
#include "events/result.hpp"
#include "projections/status.hpp"

namespace filingd {

struct Transition {
  FilingState from;
  EventType event;
  FilingState to;
  // Rows of the same (from, event) are tried in table order; nullptr matches always.
  bool (*guard)(const FilingStatus& before, const Event& e);
};

// Distinct event types allowed in `state`, in table order.
std::vector<EventType> allowed_events(FilingState state);

// The row that applies, or ErrorCode::transition_not_allowed naming the state and the allowed
// events.
Result<const Transition*> find_transition(const FilingStatus& before, const Event& e);

// Folds one event into a status: the transition's target state plus the event's effects on the
// sub-flags, attempt, return cause, deadlines and timestamps. Fails like find_transition.
Status apply_event(FilingStatus& status, const Event& e);

}  // namespace filingd
