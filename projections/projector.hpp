// The projector: applies one event to every projection (status, list indexes, the open-filing
// index, the record-number registry, pending deadlines). The append path and the rebuild both
// call it, which is what makes a rebuild byte-identical to the incrementally maintained state.
//
// Cross-filing rules live here because they need the projections to check: one open filing per
// subject, and the registry rules of SPEC §1.3. A rule broken by the event is an Error; the
// caller must then discard every write made on the txn (the ledger stages them in an overlay).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "events/event.hpp"
#include "events/result.hpp"
#include "projections/registry.hpp"
#include "projections/status.hpp"

namespace filingd {

// Read-your-writes access to the projections column family, staged until committed.
class ProjectionTxn {
 public:
  virtual ~ProjectionTxn() = default;
  virtual std::optional<std::string> get(std::string_view key) = 0;
  virtual void put(std::string_view key, std::string value) = 0;
  virtual void del(std::string_view key) = 0;
};

// The status of `filing_id`, or a status with state `none` if it does not exist.
Result<FilingStatus> load_status(ProjectionTxn& txn, std::string_view filing_id);
Result<std::optional<RegistryRecord>> load_record(ProjectionTxn& txn, std::string_view number);

// Checks the cross-filing rules for `e` against `before` (the filing's status before it) and,
// if they hold, writes the event's effects on all projections. Returns the status after.
Result<FilingStatus> project(ProjectionTxn& txn, const FilingStatus& before, const Event& e);
// The same without writing the filing's own status entry (keys::status), which nothing else
// reads: a fold that keeps statuses decoded writes each one once, at the end.
Result<FilingStatus> project_all_but_status(ProjectionTxn& txn, const FilingStatus& before,
                                            const Event& e);
// The derived entries: the list indexes, deadlines and SLA clocks of each filing and the
// counters of filings per state and deadlines per kind. They follow from each filing's status
// alone and the projector never reads them, so a fold may leave them out and write them once,
// from the final statuses (derived_entries), with the same result.
enum class Derived { maintain, leave_out };

// The same, folding the event into `status` itself (no copy of the status). On an error,
// `status` is left partly updated: for folds that stop at the first error.
Status project_in_place(ProjectionTxn& txn, FilingStatus& status, const Event& e,
                        Derived derived = Derived::maintain);
// The derived entries of `statuses` (every filing's status after a fold that left them out), in
// key order.
std::vector<std::pair<std::string, std::string>> derived_entries(
    std::span<const FilingStatus> statuses);

}  // namespace filingd
