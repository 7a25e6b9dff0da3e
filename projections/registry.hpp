// The record-number registry (SPEC §1.3): every number the bureau issued or an access filing
// brought in, active or cancelled. A cancelled number stays, so it is never issued or revived
// again; a subject record lists its website numbers so cancelling the subject cascades.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "events/result.hpp"
#include "events/time.hpp"

namespace filingd {

struct RegistryRecord {
  std::string record_number;
  bool website = false;
  bool active = true;
  std::string subject_record_number;
  std::vector<std::string> domains;   // website records
  std::vector<std::string> websites;  // subject records: their website numbers
  std::string filing_id;              // the filing that issued (or last changed) it
  std::string subject_key;
  Timestamp issued_at;
  std::optional<Timestamp> cancelled_at;
  std::string cancel_reason;
};

boost::json::object record_to_json(const RegistryRecord& r);

}  // namespace filingd
