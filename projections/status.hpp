// The status projection: the current state of one filing, folded from its events
// (state_machine.hpp does the folding). Stored by the ledger (ledger/format/projection_values.hpp);
// served as JSON (SPEC §3.4).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "events/event.hpp"
#include "events/json.hpp"
#include "events/result.hpp"

namespace filingd {

struct FilingStatus {
  std::string filing_id;
  FilingType filing_type = FilingType::first_filing;
  FilingState state = FilingState::none;
  ReturnCause return_cause = ReturnCause::none;
  std::string return_reason_code;
  std::string return_reason;
  ReviewFlag initial_review = ReviewFlag::pending;
  ReviewFlag photo = ReviewFlag::pending;
  std::uint32_t attempt = 0;       // 1 on first submission, +1 per resubmission
  std::uint32_t sms_failures = 0;  // failed SMS attempts in the current verification
  Version version;
  Seq last_seq;
  std::string province;
  std::string provider;
  Subject subject;
  std::vector<Website> websites;  // record_number filled in once issued
  SealedPersonal personal;        // of the latest submission: sealed personal fields, its subject
  // The subject in the indexes (subject_identity), fixed by the filing's first submission.
  std::string identity;
  std::string existing_record_number;
  // False for a new_access whose existing_record_number the registry did not know at submission
  // (filed at another provider: SPEC §6.1).
  bool record_number_verified = true;
  std::string name_ref;  // FilingSubmitted::name_ref of the latest submission
  std::string subject_record_number;
  std::optional<Timestamp> sms_deadline;
  std::string sms_policy_id;
  std::optional<Timestamp> abandon_at;  // when a returned filing is abandoned
  Timestamp submitted_at;
  Timestamp state_since;  // when the filing entered its current state (SLA clocks start here)
  Timestamp returned_at;
  Timestamp updated_at;

  bool exists() const { return state != FilingState::none; }
};

// A filing that has not been resubmitted this long after being returned is abandoned.
inline constexpr std::int64_t kAbandonAfterMicros = 45 * kMicrosPerDay;

// The subject's identity in the projections' indexes ("one open filing per subject", the
// registry, the subject's filings): its keyed hash, which every submission has carried since
// personal data is sealed; for a submission stored before, its certificate type and number.
std::string subject_identity(const FilingSubmitted& f);
// A keyed identity (a subject_ref), not a clear one (certificate type and number).
bool is_keyed_identity(std::string_view identity);

// What the registry says of a website's record number now (SPEC §6.7): "active", "cancelled",
// or empty when it does not know the number.
using RecordStatusOf = std::function<std::string(const std::string& record_number)>;

// JSON per SPEC §3.4, personal fields as `view` says (events/json.hpp); with `records`, each
// website with a number shows its record_status. write_json is the encoder; status_to_json
// parses its text back, for callers that compose or inspect it.
struct Sla;
class JsonWriter;
void write_json(JsonWriter& w, const FilingStatus& s, PersonalView view, const Sla* sla = nullptr,
                const RecordStatusOf* records = nullptr);
std::string status_json(const FilingStatus& s, PersonalView view, const Sla* sla = nullptr);
boost::json::object status_to_json(const FilingStatus& s, PersonalView view,
                                   const Sla* sla = nullptr);

}  // namespace filingd
