#include "projections/registry.hpp"

#include <boost/json/array.hpp>


namespace filingd {

boost::json::object record_to_json(const RegistryRecord& r) {
  namespace json = boost::json;
  json::array domains(r.domains.begin(), r.domains.end());
  json::object o{{"record_number", r.record_number},
                 {"kind", r.website ? "website" : "subject"},
                 {"status", r.active ? "active" : "cancelled"},
                 {"subject_record_number", r.subject_record_number},
                 {"domains", std::move(domains)},
                 {"filing_id", r.filing_id},
                 {"issued_at", format_rfc3339(r.issued_at)}};
  if (!r.website) o["websites"] = json::array(r.websites.begin(), r.websites.end());
  if (r.cancelled_at) {
    o["cancelled_at"] = format_rfc3339(*r.cancelled_at);
    o["cancel_reason"] = r.cancel_reason;
  }
  return o;
}

}  // namespace filingd
