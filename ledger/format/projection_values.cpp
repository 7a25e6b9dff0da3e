#include "ledger/format/projection_values.hpp"

#include "events/serialize.hpp"

namespace filingd {
namespace {

// 2: + the sealed personal fields and the subject's identity; 3: + record_number_verified,
// name_ref.
constexpr std::uint32_t kStatusLayout = 3;

// The fields of a status, in order. `blank` names the personal fields whose stored places stay
// empty because the status holds them sealed: the clear values a status may hold in memory never
// reach the disk. Saving writes a string view the way cereal writes a std::string (a size tag,
// then the bytes), so no field is copied to be written.
template <class A>
void text(A& ar, std::string_view value) {
  cereal::size_type n = value.size();
  ar(cereal::make_size_tag(n), cereal::binary_data(value.data(), value.size()));
}

void save_status(cereal::PortableBinaryOutputArchive& ar, const FilingStatus& s) {
  const bool sealed = !s.personal.box.empty();
  const bool individual = s.subject.kind == "individual";
  auto personal = [&](const std::string& v, bool is_personal = true) {
    text(ar, sealed && is_personal ? std::string_view() : std::string_view(v));
  };
  ar(s.filing_id, s.filing_type, s.state, s.return_cause, s.return_reason_code, s.return_reason,
     s.initial_review, s.photo, s.attempt, s.sms_failures, s.version.value, s.last_seq.value,
     s.province, s.provider, s.subject.kind);
  personal(s.subject.name, individual);
  ar(s.subject.id_type);
  personal(s.subject.id_number, individual);
  personal(s.subject.address, individual);
  cereal::size_type n = s.websites.size();
  ar(cereal::make_size_tag(n));
  for (const Website& w : s.websites) {
    ar(w.name, w.domains);
    personal(w.responsible.name);
    ar(w.responsible.id_type);
    personal(w.responsible.id_number);
    personal(w.responsible.mobile);
    personal(w.responsible.email);
    ar(w.record_number);
  }
  ar(s.existing_record_number, s.subject_record_number, s.sms_deadline, s.sms_policy_id,
     s.abandon_at, s.submitted_at, s.state_since, s.returned_at, s.updated_at,
     s.personal.subject_ref, s.personal.generation, s.personal.box, s.identity,
     s.record_number_verified, s.name_ref);
}

void load_status(cereal::PortableBinaryInputArchive& ar, FilingStatus& s) {
  ar(s.filing_id, s.filing_type, s.state, s.return_cause, s.return_reason_code, s.return_reason,
     s.initial_review, s.photo, s.attempt, s.sms_failures, s.version.value, s.last_seq.value,
     s.province, s.provider, s.subject.kind, s.subject.name, s.subject.id_type,
     s.subject.id_number, s.subject.address);
  cereal::size_type n = 0;
  ar(cereal::make_size_tag(n));
  s.websites.resize(static_cast<std::size_t>(n));
  for (Website& w : s.websites) {
    ar(w.name, w.domains, w.responsible.name, w.responsible.id_type, w.responsible.id_number,
       w.responsible.mobile, w.responsible.email, w.record_number);
  }
  ar(s.existing_record_number, s.subject_record_number, s.sms_deadline, s.sms_policy_id,
     s.abandon_at, s.submitted_at, s.state_since, s.returned_at, s.updated_at,
     s.personal.subject_ref, s.personal.generation, s.personal.box, s.identity,
     s.record_number_verified, s.name_ref);
}

constexpr std::uint32_t kRecordLayout = 1;

template <class A>
void record_fields(A& ar, RegistryRecord& r) {
  ar(r.record_number, r.website, r.active, r.subject_record_number, r.domains, r.websites,
     r.filing_id, r.subject_key, r.issued_at, r.cancelled_at, r.cancel_reason);
}

}  // namespace

std::string encode_status(const FilingStatus& s) {
  return cereal_encode([&](cereal::PortableBinaryOutputArchive& ar) {
    ar(kStatusLayout);
    save_status(ar, s);
  });
}

Result<FilingStatus> decode_status(std::string_view bytes) {
  return decode_layout<FilingStatus>(
      bytes, kStatusLayout,
      [](cereal::PortableBinaryInputArchive& ar, FilingStatus& v) { load_status(ar, v); },
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
