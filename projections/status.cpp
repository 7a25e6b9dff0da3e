#include "projections/status.hpp"

#include <boost/json/array.hpp>

#include "events/serialize.hpp"
#include "projections/sla.hpp"

namespace filingd {
namespace {

// Stored layout version of FilingStatus. Projections are derived data: a layout change is
// handled by rebuilding them, so this is checked, not upcast.
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

boost::json::value opt_time(const std::optional<Timestamp>& t) {
  if (!t) return nullptr;
  return boost::json::value(format_rfc3339(*t));
}

std::string maybe_mask(const std::string& s, bool mask) { return mask ? mask_tail(s) : s; }

}  // namespace

std::string subject_key(const Subject& s) { return s.id_type + ':' + s.id_number; }

std::string mask_tail(std::string_view s) {
  if (s.size() <= 4) return std::string(s);
  return std::string(s.size() - 4, '*') + std::string(s.substr(s.size() - 4));
}

std::string encode_status(const FilingStatus& s) {
  return cereal_encode([&](auto& ar) {
    std::uint32_t layout = kStatusLayout;
    ar(layout);
    status_fields(ar, const_cast<FilingStatus&>(s));
  });
}

Result<FilingStatus> decode_status(std::string_view bytes) {
  FilingStatus s;
  std::string error;
  const bool ok = cereal_decode(
      bytes,
      [&](auto& ar) {
        std::uint32_t layout = 0;
        ar(layout);
        if (layout != kStatusLayout) throw std::runtime_error("unknown status layout");
        status_fields(ar, s);
      },
      &error);
  if (!ok) return make_error(ErrorCode::internal, "corrupt status projection: " + error);
  return s;
}

boost::json::object status_to_json(const FilingStatus& s, bool mask, const Sla* sla) {
  namespace json = boost::json;
  json::object o;
  o["filing_id"] = s.filing_id;
  o["filing_type"] = to_string(s.filing_type);
  o["state"] = to_string(s.state);
  if (s.state == FilingState::returned) {
    o["returned"] = json::object{{"cause", to_string(s.return_cause)},
                                 {"reason_code", s.return_reason_code},
                                 {"reason", s.return_reason}};
  } else {
    o["returned"] = nullptr;
  }
  o["initial_review"] = to_string(s.initial_review);
  o["photo"] = to_string(s.photo);
  o["attempt"] = s.attempt;
  o["sms_failures"] = s.sms_failures;
  o["version"] = s.version.value;
  o["seq"] = s.last_seq.value;
  o["province"] = s.province;
  o["provider"] = s.provider;
  o["subject"] = json::object{{"kind", s.subject.kind},
                              {"name", s.subject.name},
                              {"id_type", s.subject.id_type},
                              {"id_number", maybe_mask(s.subject.id_number, mask)},
                              {"address", s.subject.address}};
  json::array websites;
  for (const auto& w : s.websites) {
    json::array domains;
    for (const auto& d : w.domains) domains.emplace_back(d);
    const auto& r = w.responsible;
    websites.emplace_back(
        json::object{{"name", w.name},
                     {"domains", std::move(domains)},
                     {"responsible", json::object{{"name", r.name},
                                                  {"id_type", r.id_type},
                                                  {"id_number", maybe_mask(r.id_number, mask)},
                                                  {"mobile", maybe_mask(r.mobile, mask)},
                                                  {"email", r.email}}},
                     {"record_number", w.record_number.empty() ? json::value(nullptr)
                                                               : json::value(w.record_number)}});
  }
  o["websites"] = std::move(websites);
  o["existing_record_number"] = s.existing_record_number.empty()
                                    ? json::value(nullptr)
                                    : json::value(s.existing_record_number);
  o["subject_record_number"] =
      s.subject_record_number.empty() ? json::value(nullptr) : json::value(s.subject_record_number);
  o["sms_deadline"] = opt_time(s.sms_deadline);
  o["sms_policy"] = s.sms_policy_id.empty() ? json::value(nullptr) : json::value(s.sms_policy_id);
  o["abandon_at"] = opt_time(s.abandon_at);
  if (sla) {
    o["sla"] = json::object{
        {"step", sla->step}, {"due_at", format_rfc3339(sla->due)}, {"overdue", sla->overdue}};
  } else {
    o["sla"] = nullptr;
  }
  o["submitted_at"] = format_rfc3339(s.submitted_at);
  o["state_since"] = format_rfc3339(s.state_since);
  o["updated_at"] = format_rfc3339(s.updated_at);
  return o;
}

}  // namespace filingd
