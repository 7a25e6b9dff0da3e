// The projector: applies one event to every projection (status, list indexes, the open-filing
// index, the record-number registry, pending deadlines). The append path and the rebuild both
// call it, which is what makes a rebuild byte-identical to the incrementally maintained state.
//
// Cross-filing rules need the projections to check (registry_rules.hpp). A rule broken by the
// event is an Error; the caller must then discard every write made on the txn (the ledger
// stages them in an overlay).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "events/event.hpp"
#include "events/result.hpp"
#include "ledger/projection_txn.hpp"

namespace filingd {

// Checks the cross-filing rules for `e` against `before` (the filing's status before it) and,
// if they hold, writes the event's effects on all projections. Returns the status after.
Result<FilingStatus> project(ProjectionTxn& txn, const FilingStatus& before, const Event& e);
// The derived entries: the list indexes, deadlines and SLA clocks of each filing and the
// counters of filings per state and deadlines per kind. They follow from each filing's status
// alone and the projector never reads them, so a fold may leave them out and write them once,
// from the final statuses (DerivedEntries), with the same result.
enum class Derived { maintain, leave_out };

// The same, folding the event into `status` itself (no copy of the status). On an error,
// `status` is left partly updated: for folds that stop at the first error.
Status project_in_place(ProjectionTxn& txn, FilingStatus& status, const Event& e,
                        Derived derived = Derived::maintain);
// The derived entries of the statuses given to add() one at a time, in any order (every
// filing's status after a fold that left them out): each status's index entries (valueless) at
// once, the counters once all were given.
class DerivedEntries {
 public:
  // Appends the index keys of `status` to `keys` and counts it.
  void add(const FilingStatus& status, std::vector<std::string>& keys);
  // The counters' entries, in key order.
  std::vector<std::pair<std::string, std::string>> counters() const;

 private:
  std::map<std::string, std::uint64_t> counts_;
};

}  // namespace filingd
