// Reading the past (SPEC §3.2 `filingctl history` / `replay`): a filing's events, its status as
// of a point, and the status of every filing as of a point. States are folded with
// apply_event (projections/state_machine.hpp), the code the live status projection uses, so a
// replay to the head equals the live statuses.
//
// All functions only read; give them a Store opened by open_for_reading() to use them while
// the daemon runs.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/event.hpp"
#include "events/result.hpp"
#include "ledger/store.hpp"
#include "projections/status.hpp"

namespace filingd {

// A point in the past. Both bounds may be set; an event is included when it meets both.
// Without bounds: the head. `until` is business time (occurred_at), like GET /v1/filings/{id}
// ?as_of=; a filing's occurred_at never decreases, so the included events of one filing are
// always a prefix of its stream.
struct ReplayPoint {
  std::optional<Timestamp> until;  // occurred_at <= until
  std::optional<Seq> until_seq;    // seq <= until_seq

  bool includes(const Event& e) const {
    return (!until || e.occurred_at <= *until) && (!until_seq || e.seq <= *until_seq);
  }
};

// The filing's events in version order, through the streams index; empty for an unknown
// filing. Errors: io, internal (an index entry pointing at a missing or corrupt event).
Result<std::vector<Event>> filing_events(const Store& store, std::string_view filing_id);

// Folds one filing's events (version order) up to `point`. nullopt: the filing did not exist
// then. Errors: internal, naming the seq of an event that does not replay.
Result<std::optional<FilingStatus>> fold_filing(const std::vector<Event>& events,
                                                const ReplayPoint& point);

// Every filing's status as of `point`, by filing id; with `filing`, only that one (read through
// its stream). Filings that did not exist yet are absent. Errors: io, internal.
Result<std::map<std::string, FilingStatus>> replay_log(
    const Store& store, const ReplayPoint& point,
    std::optional<std::string_view> filing = std::nullopt);

// One readable line of a timeline:
//   "#12  v3  2026-11-22T08:00:00Z  initial_review_rejected  rev-2  reason_code=name
//   reason=名称不符"
// with " (recorded <recorded_at>)" after occurred_at where the two differ by more than a minute
// (a back-filled or imported event).
std::string history_line(const Event& e);
// The key data of a payload, `key=value` pairs (text as stored, Chinese intact).
std::string payload_summary(const Payload& p);

}  // namespace filingd
