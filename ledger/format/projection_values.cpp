#include "ledger/format/projection_values.hpp"

#include "events/serialize.hpp"

namespace filingd {
namespace {

constexpr std::uint32_t kStatusLayout = 1;

template <class A>
void status_fields(A& ar, FilingStatus& s) {
  ar(s.filing_id, s.filing_type, s.state, s.return_cause, s.return_reason_code, s.return_reason,
     s.initial_review, s.photo, s.attempt, s.sms_failures, s.version.value, s.last_seq.value,
     s.province, s.provider);
  fields(ar, s.subject, kStatusLayout);
  fields(ar, s.websites, kStatusLayout);
  ar(s.existing_record_number, s.subject_record_number, s.sms_deadline, s.sms_policy_id,
     s.abandon_at, s.submitted_at, s.state_since, s.returned_at, s.updated_at);
}

constexpr std::uint32_t kRecordLayout = 1;

template <class A>
void record_fields(A& ar, RegistryRecord& r) {
  ar(r.record_number, r.website, r.active, r.subject_record_number, r.domains, r.websites,
     r.filing_id, r.subject_key, r.issued_at, r.cancelled_at, r.cancel_reason);
}

}  // namespace

std::string encode_status(const FilingStatus& s) {
  return encode_layout(s, kStatusLayout, [](auto& ar, FilingStatus& v) { status_fields(ar, v); });
}

Result<FilingStatus> decode_status(std::string_view bytes) {
  return decode_layout<FilingStatus>(
      bytes, kStatusLayout, [](auto& ar, FilingStatus& v) { status_fields(ar, v); },
      "status projection");
}

std::string encode_registry_record(const RegistryRecord& r) {
  return encode_layout(r, kRecordLayout, [](auto& ar, RegistryRecord& v) { record_fields(ar, v); });
}

Result<RegistryRecord> decode_registry_record(std::string_view bytes) {
  return decode_layout<RegistryRecord>(
      bytes, kRecordLayout, [](auto& ar, RegistryRecord& v) { record_fields(ar, v); },
      "registry record");
}

}  // namespace filingd
