// The cross-filing rules of SPEC §1.2-§1.3 that need the projections to check, and the registry
// updates that follow from an event: one open filing per subject, record numbers issued, moved in
// by an access filing, changed or cancelled, never reused or revived, one active website number
// per domain. Called by the projector; a broken rule is an Error naming the field under `data`,
// and the caller must then discard every write made on the txn.
#pragma once

#include <optional>
#include <string>

#include "events/event.hpp"
#include "events/result.hpp"
#include "ledger/projection_txn.hpp"

namespace filingd {

// What a filing was before a resubmission.
struct Resubmitted {
  FilingType filing_type;
  std::string identity;  // FilingStatus::identity
};

// A filing_submitted (a resubmission when `before` is set): the subject has no other open
// filing, and the record numbers it names are the subject's and active.
Status check_submission(ProjectionTxn& txn, const std::optional<Resubmitted>& before,
                        const Event& e, const FilingSubmitted& f);
// The desk's rules of SPEC §6.1 that came after filings were first recorded, checked when the
// ledger decides a submission (not by a fold: a ledger written before them still replays): a
// continued_access names a number the registry knows; no domain has an active record of another
// subject or stands in another subject's open filing.
Status check_desk_rules(ProjectionTxn& txn, const Event& e, const FilingSubmitted& f);
// A bureau_approved of filing `s` (its status after the event): issues, records, changes or
// cancels numbers as the filing type says.
Status apply_approval(ProjectionTxn& txn, const FilingStatus& s, const Event& e,
                      const BureauApproved& b);
// A record_cancelled of one of the filing's numbers (a subject number cascades to its websites).
Status apply_cancellation(ProjectionTxn& txn, const FilingStatus& s, const Event& e,
                          const RecordCancelled& c);

}  // namespace filingd
