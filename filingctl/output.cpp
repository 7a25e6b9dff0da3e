#include "filingctl/output.hpp"

#include <boost/json/serialize.hpp>

#include <cstdio>
#include <iostream>

#include "events/time.hpp"

namespace filingd::ctl {
namespace json = boost::json;

int fail(const std::string& message, int code) {
  std::fprintf(stderr, "filingctl: %s\n", message.c_str());
  return code;
}

int fail(const Error& e) { return fail(e.message, kUsage); }

void print_json(const json::value& v) { std::cout << json::serialize(v) << '\n'; }

std::string returned_text(const FilingStatus& s) {
  if (s.state != FilingState::returned) return {};
  std::string out = std::string(to_string(s.return_cause));
  if (!s.return_reason_code.empty()) out += " " + s.return_reason_code;
  if (!s.return_reason.empty()) out += ": " + s.return_reason;
  return out;
}

void print_status(const FilingStatus& s) {
  auto line = [](const char* label, const std::string& value) {
    if (!value.empty()) std::printf("  %-22s %s\n", label, value.c_str());
  };
  std::printf("filing %s\n", s.filing_id.c_str());
  line("state", std::string(to_string(s.state)));
  line("returned", returned_text(s));
  line("filing_type", std::string(to_string(s.filing_type)));
  line("province / provider", s.province + " / " + s.provider);
  line("version / last seq",
       std::to_string(s.version.value) + " / " + std::to_string(s.last_seq.value));
  line("attempt", std::to_string(s.attempt));
  line("initial review / photo",
       std::string(to_string(s.initial_review)) + " / " + std::string(to_string(s.photo)));
  line("subject", s.subject.name + " (" + s.subject.id_type + " " + s.subject.id_number + ")");
  for (const auto& w : s.websites) {
    std::string domains;
    for (const auto& d : w.domains) domains += (domains.empty() ? "" : ", ") + d;
    line("website",
         w.name + " [" + domains + "]" + (w.record_number.empty() ? "" : " " + w.record_number));
  }
  line("existing record number", s.existing_record_number);
  line("subject record number", s.subject_record_number);
  if (s.sms_deadline) line("sms deadline", format_rfc3339(*s.sms_deadline));
  if (s.abandon_at) line("abandon deadline", format_rfc3339(*s.abandon_at));
  line("submitted at", format_rfc3339(s.submitted_at));
  line("updated at", format_rfc3339(s.updated_at));
}

std::string status_line(const FilingStatus& s) {
  std::string out = s.filing_id + "  " + std::string(to_string(s.state)) + "  v" +
                    std::to_string(s.version.value) + "  seq " + std::to_string(s.last_seq.value) +
                    "  " + format_rfc3339(s.updated_at);
  if (const std::string r = returned_text(s); !r.empty()) out += "  (" + r + ")";
  if (!s.subject_record_number.empty()) out += "  " + s.subject_record_number;
  return out;
}

std::string point_text(const ReplayPoint& p) {
  std::string out;
  if (p.until) out += "as of " + format_rfc3339(*p.until);
  if (p.until_seq)
    out += std::string(out.empty() ? "" : ", ") + "up to seq " + std::to_string(p.until_seq->value);
  return out.empty() ? "at the head" : out;
}

json::object point_json(const ReplayPoint& p) {
  json::object o;
  o["as_of"] = p.until ? json::value(format_rfc3339(*p.until)) : json::value(nullptr);
  o["until_seq"] = p.until_seq ? json::value(p.until_seq->value) : json::value(nullptr);
  return o;
}

}  // namespace filingd::ctl
