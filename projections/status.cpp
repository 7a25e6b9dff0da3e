#include "projections/status.hpp"

#include <boost/json/parse.hpp>

#include "events/json_writer.hpp"
#include "projections/sla.hpp"

namespace filingd {
namespace {

void opt_string(JsonWriter& w, const std::string& s) {
  if (s.empty())
    w.null();
  else
    w.string(s);
}

// A personal field as `view` shows it; `personal` false: a field that is public for this subject.
void field(JsonWriter& w, std::string_view key, const std::string& value, PersonalView view,
           bool personal = true) {
  if (!personal || view == PersonalView::clear) {
    w.key(key).string(value);
  } else if (view == PersonalView::masked) {
    w.key(key).string(mask_personal(value));
  }
}

}  // namespace

bool is_keyed_identity(std::string_view identity) {
  return identity.find(':') == std::string_view::npos;
}

std::string subject_identity(const FilingSubmitted& f) {
  if (!f.personal.subject_ref.empty()) return f.personal.subject_ref;
  return f.subject.id_type + ':' + f.subject.id_number;
}

void write_json(JsonWriter& w, const FilingStatus& s, PersonalView view, const Sla* sla,
                const RecordStatusOf* records) {
  w.begin_object();
  w.key("filing_id").string(s.filing_id);
  w.key("filing_type").string(to_string(s.filing_type));
  w.key("state").string(to_string(s.state));
  w.key("returned");
  if (s.state == FilingState::returned) {
    w.begin_object();
    w.key("cause").string(to_string(s.return_cause));
    w.key("reason_code").string(s.return_reason_code);
    w.key("reason").string(s.return_reason);
    w.end_object();
  } else {
    w.null();
  }
  w.key("initial_review").string(to_string(s.initial_review));
  w.key("photo").string(to_string(s.photo));
  w.key("attempt").number(s.attempt);
  w.key("sms_failures").number(s.sms_failures);
  w.key("version").number(s.version.value);
  w.key("seq").number(s.last_seq.value);
  w.key("province").string(s.province);
  w.key("provider").string(s.provider);
  w.key("subject").begin_object();
  const bool individual = s.subject.kind == "individual";
  w.key("kind").string(s.subject.kind);
  field(w, "name", s.subject.name, view, individual);
  w.key("id_type").string(s.subject.id_type);
  field(w, "id_number", s.subject.id_number, view, individual);
  field(w, "address", s.subject.address, view, individual);
  if (!s.personal.subject_ref.empty()) w.key("subject_ref").string(s.personal.subject_ref);
  w.end_object();
  w.key("websites").begin_array();
  for (const auto& site : s.websites) {
    w.begin_object();
    w.key("name").string(site.name);
    w.key("domains").begin_array();
    for (const auto& d : site.domains) w.string(d);
    w.end_array();
    const auto& r = site.responsible;
    w.key("responsible").begin_object();
    field(w, "name", r.name, view);
    w.key("id_type").string(r.id_type);
    field(w, "id_number", r.id_number, view);
    field(w, "mobile", r.mobile, view);
    field(w, "email", r.email, view);
    w.end_object();
    w.key("record_number");
    opt_string(w, site.record_number);
    if (records != nullptr && !site.record_number.empty()) {
      w.key("record_status");
      opt_string(w, (*records)(site.record_number));
    }
    w.end_object();
  }
  w.end_array();
  w.key("existing_record_number");
  opt_string(w, s.existing_record_number);
  if (!s.existing_record_number.empty())
    w.key("record_number_verified").boolean(s.record_number_verified);
  w.key("subject_record_number");
  opt_string(w, s.subject_record_number);
  w.key("sms_deadline").time(s.sms_deadline);
  w.key("sms_policy");
  opt_string(w, s.sms_policy_id);
  w.key("abandon_at").time(s.abandon_at);
  w.key("sla");
  if (sla) {
    w.begin_object();
    w.key("step").string(sla->step);
    w.key("due_at").time(sla->due);
    w.key("overdue").boolean(sla->overdue);
    w.end_object();
  } else {
    w.null();
  }
  w.key("submitted_at").time(s.submitted_at);
  w.key("state_since").time(s.state_since);
  w.key("updated_at").time(s.updated_at);
  w.end_object();
}

std::string status_json(const FilingStatus& s, PersonalView view, const Sla* sla) {
  std::string out;
  out.reserve(1024);
  JsonWriter w(out);
  write_json(w, s, view, sla);
  return out;
}

boost::json::object status_to_json(const FilingStatus& s, PersonalView view, const Sla* sla) {
  return boost::json::parse(status_json(s, view, sla)).as_object();
}

}  // namespace filingd
