#include "projections/registry.hpp"

#include <boost/json/array.hpp>

#include "events/serialize.hpp"

namespace filingd {
namespace {

constexpr std::uint32_t kRecordLayout = 1;

template <class A>
void record_fields(A& ar, RegistryRecord& r) {
  ar(r.record_number, r.website, r.active, r.subject_record_number, r.domains, r.websites,
     r.filing_id, r.subject_key, r.issued_at, r.cancelled_at, r.cancel_reason);
}

}  // namespace

std::string encode_registry_record(const RegistryRecord& r) {
  return encode_layout(r, kRecordLayout, [](auto& ar, RegistryRecord& v) { record_fields(ar, v); });
}

Result<RegistryRecord> decode_registry_record(std::string_view bytes) {
  return decode_layout<RegistryRecord>(
      bytes, kRecordLayout, [](auto& ar, RegistryRecord& v) { record_fields(ar, v); },
      "registry record");
}

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
