// Checks of each event payload's fields (SPEC §1.7, §1.3). Field paths in errors are those of the
// payload under an event's `data` ("data.websites[0].domains[1]").
#include <algorithm>
#include <initializer_list>
#include <set>
#include <utility>

#include "events/encoding.hpp"
#include "events/provinces.hpp"
#include "events/record_number.hpp"
#include "events/validation.hpp"

namespace filingd {
namespace {

Error invalid(std::string field, std::string message) {
  return make_error(ErrorCode::invalid, std::move(message), std::move(field));
}

std::string data_field(std::string_view name) { return "data." + std::string(name); }

std::string at(std::string_view base, std::size_t i) {
  return std::string(base) + "[" + std::to_string(i) + "]";
}

std::string dot(std::string_view base, std::string_view name) {
  return std::string(base) + "." + std::string(name);
}

// ---- generic field checks ----------------------------------------------------------------

struct TextRule {
  std::string_view value;
  std::string field;
  std::size_t max = kMaxShortText;
  bool required = false;
};

Status check_text(const TextRule& r) {
  if (r.required && r.value.empty()) return invalid(r.field, r.field + " is required");
  if (r.value.size() > r.max) {
    return invalid(r.field, r.field + " is too long (at most " + std::to_string(r.max) + " bytes)");
  }
  return {};
}

Status check_texts(std::initializer_list<TextRule> rules) {
  for (const auto& r : rules) {
    if (auto s = check_text(r); !s) return s;
  }
  return {};
}

Status check_count(std::size_t n, std::size_t max, const std::string& field,
                   std::string_view what) {
  if (n > max) {
    return invalid(field, field + " has too many " + std::string(what) + " (at most " +
                              std::to_string(max) + ")");
  }
  return {};
}

Status check_email(std::string_view email, const std::string& field) {
  if (email.empty()) return {};
  if (auto s = check_text({email, field}); !s) return s;
  auto at_sign = email.find('@');
  bool one_at = at_sign != std::string_view::npos && email.find('@', at_sign + 1) == email.npos;
  if (!one_at || at_sign == 0 || at_sign + 1 == email.size()) {
    return invalid(field, field +
                              " is not an e-mail address (expected exactly one '@' "
                              "with text on both sides)");
  }
  return {};
}

// An ID number is checked beyond its length only for the ID types whose format we know.
Status check_id(std::string_view id_type, std::string_view id_number, const std::string& base) {
  if (id_type == "resident_id") return validate_resident_id(id_number, dot(base, "id_number"));
  if (id_type == "uscc") return validate_uscc(id_number, dot(base, "id_number"));
  return {};
}

constexpr std::string_view kPersonalCertificates =
    "resident_id, passport, hk_macao_permit, taiwan_permit, foreign_permanent_residence";

// A person holds a personal certificate; a subject the kind of certificate its kind needs.
Status check_certificate_type(std::string_view id_type, bool personal, const std::string& base) {
  const auto field = dot(base, "id_type");
  if (!is_personal_certificate(id_type) && !is_organisation_certificate(id_type))
    return invalid(field, field + " must be one of " + std::string(kPersonalCertificates) +
                              ", uscc, other_org");
  if (personal && !is_personal_certificate(id_type))
    return invalid(field, field + " " + std::string(id_type) +
                              " is an organisation's certificate; a person needs one of " +
                              std::string(kPersonalCertificates));
  if (!personal && !is_organisation_certificate(id_type))
    return invalid(field, field + " " + std::string(id_type) +
                              " is a personal certificate; an organisation needs uscc or "
                              "other_org");
  return {};
}

// ---- record numbers ----------------------------------------------------------------------

// The part after the province character, so 蜀ICP备… and 川ICP备… compare equal.
std::string_view number_part(const RecordNumber& r) {
  std::string_view s = r.subject;
  return s.substr(std::min(s.find("ICP"), s.size()));
}

bool same_subject(const RecordNumber& a, const RecordNumber& b) {
  return a.province == b.province && number_part(a) == number_part(b);
}

Result<RecordNumber> parse_subject_number(std::string_view text, const std::string& field) {
  auto rn = parse_record_number(text, field);
  if (rn.ok() && rn->is_website()) {
    return invalid(field, field +
                              " must be a subject number (without a -N website suffix), "
                              "got " +
                              std::string(text));
  }
  return rn;
}

// A website number; when `subject` is given, the number must belong to it.
Status check_website_number(std::string_view text, const std::string& field,
                            const RecordNumber* subject) {
  auto rn = parse_record_number(text, field);
  if (!rn) return rn.take_error();
  if (!rn->is_website()) {
    return invalid(field,
                   field + " must be a website number (ending in 号-N), got " + std::string(text));
  }
  if (subject != nullptr && !same_subject(*rn, *subject)) {
    return invalid(field, field + " " + std::string(text) +
                              " does not belong to the subject number " + subject->text);
  }
  return {};
}

// ---- filing_submitted --------------------------------------------------------------------

Status check_person(Person& p, const std::string& base) {
  if (auto s = check_texts({{p.name, dot(base, "name"), kMaxShortText, true},
                            {p.id_type, dot(base, "id_type")},
                            {p.id_number, dot(base, "id_number")}});
      !s) {
    return s;
  }
  // An ID is only useful as a pair: a number without its type cannot be checked, and the reverse.
  if (p.id_type.empty() != p.id_number.empty()) {
    auto missing = dot(base, p.id_type.empty() ? "id_type" : "id_number");
    return invalid(missing, missing + " is required when " +
                                dot(base, p.id_type.empty() ? "id_number" : "id_type") +
                                " is given");
  }
  if (!p.id_type.empty()) {
    if (auto s = check_certificate_type(p.id_type, true, base); !s) return s;
  }
  if (auto s = check_id(p.id_type, p.id_number, base); !s) return s;
  if (auto s = validate_mobile(p.mobile, dot(base, "mobile")); !s) return s;
  return check_email(p.email, dot(base, "email"));
}

Status check_subject(const Subject& s, std::string_view base) {
  if (auto st = check_texts({{s.kind, dot(base, "kind"), kMaxShortText, true},
                             {s.name, dot(base, "name"), kMaxShortText, true},
                             {s.id_type, dot(base, "id_type"), kMaxShortText, true},
                             {s.id_number, dot(base, "id_number"), kMaxShortText, true},
                             {s.address, dot(base, "address"), kMaxLongText}});
      !st) {
    return st;
  }
  const std::string b(base);
  if (!is_subject_kind(s.kind))
    return invalid(dot(b, "kind"), dot(b, "kind") +
                                       " must be one of individual, enterprise, government, "
                                       "public_institution, social_organization, other");
  if (auto st = check_certificate_type(s.id_type, s.kind == "individual", b); !st) return st;
  return check_id(s.id_type, s.id_number, b);
}

// Domains are lowercased by validate_domain before `seen` compares them, so case never hides
// a duplicate.
Status check_domains(Website& w, const std::string& base, std::set<std::string>& seen) {
  auto field = dot(base, "domains");
  if (w.domains.empty()) return invalid(field, field + " is empty: a website needs a domain");
  if (auto s = check_count(w.domains.size(), kMaxDomainsPerWebsite, field, "domains"); !s) {
    return s;
  }
  for (std::size_t i = 0; i < w.domains.size(); ++i) {
    auto f = at(field, i);
    if (auto s = validate_domain(w.domains[i], f); !s) return s;
    if (!seen.insert(w.domains[i]).second) {
      return invalid(f, f + " " + w.domains[i] + " appears more than once in the filing");
    }
  }
  return {};
}

bool issues_website_numbers(FilingType t) {
  return t == FilingType::first_filing || t == FilingType::add_website;
}

// Access filings move existing websites, and cancel_website names the ones it ends.
bool needs_website_numbers(FilingType t) {
  return t == FilingType::new_access || t == FilingType::continued_access ||
         t == FilingType::cancel_website;
}

Status check_website_record_number(const Website& w, const std::string& base, FilingType type,
                                   const std::optional<RecordNumber>& subject) {
  auto field = dot(base, "record_number");
  if (issues_website_numbers(type)) {
    if (w.record_number.empty()) return {};
    return invalid(field, field + " must be empty for a " + std::string(to_string(type)) +
                              " filing: the bureau issues the number");
  }
  if (w.record_number.empty()) {
    if (!needs_website_numbers(type)) return {};
    return invalid(field, field + " is required for a " + std::string(to_string(type)) + " filing");
  }
  return check_website_number(w.record_number, field, subject ? &*subject : nullptr);
}

Status check_websites(FilingSubmitted& f, const std::optional<RecordNumber>& subject) {
  if (f.websites.empty())
    return invalid(data_field("websites"), "a filing needs at least one website");
  if (auto s = check_count(f.websites.size(), kMaxWebsites, data_field("websites"), "websites");
      !s) {
    return s;
  }
  std::set<std::string> domains;
  std::set<std::string_view> numbers;
  for (std::size_t i = 0; i < f.websites.size(); ++i) {
    auto& w = f.websites[i];
    auto base = at(data_field("websites"), i);
    if (auto s = check_text({w.name, dot(base, "name"), kMaxShortText, true}); !s) return s;
    if (auto s = check_domains(w, base, domains); !s) return s;
    if (auto s = check_person(w.responsible, dot(base, "responsible")); !s) return s;
    if (auto s = check_website_record_number(w, base, f.filing_type, subject); !s) return s;
    if (!w.record_number.empty() && !numbers.insert(w.record_number).second) {
      auto field = dot(base, "record_number");
      return invalid(field, field + " " + w.record_number + " is given for two websites");
    }
  }
  return {};
}

// Parses the subject's existing number when the filing type carries one.
Result<std::optional<RecordNumber>> check_existing_number(const FilingSubmitted& f) {
  const std::string name = data_field("existing_record_number");
  const auto type = std::string(to_string(f.filing_type));
  if (!carries_existing_record_number(f.filing_type)) {
    if (f.existing_record_number.empty()) return std::optional<RecordNumber>{};
    return invalid(name, name + " must be empty for a " + type + " filing");
  }
  if (f.existing_record_number.empty()) {
    return invalid(name, name + " is required for a " + type + " filing");
  }
  auto rn = parse_subject_number(f.existing_record_number, name);
  if (!rn) return rn.take_error();
  if (rn->province != f.province) {
    return invalid(name, "record number province " + rn->province +
                             " does not match the filing's province " + f.province);
  }
  return std::optional<RecordNumber>(std::move(rn).value());
}

Status check_province(std::string& province) {
  if (auto s = check_text({province, data_field("province"), kMaxShortText, true}); !s) return s;
  auto canonical = canonical_province(province);
  if (!canonical) {
    return invalid(data_field("province"),
                   "unknown province \"" + province +
                       "\": use an abbreviation (京), an alias (蜀) or a full name "
                       "(北京市)");
  }
  province = std::move(*canonical);
  return {};
}

Status check(FilingSubmitted& f) {
  if (to_string(f.filing_type) == "unknown")
    return invalid(data_field("filing_type"), "unknown filing_type");
  if (auto s = check_province(f.province); !s) return s;
  if (auto s = check_text({f.provider, data_field("provider"), kMaxShortText, true}); !s) return s;
  // A provider names a group in the counters (ledger/format/keys.hpp stats_group).
  if (std::any_of(f.provider.begin(), f.provider.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
    return invalid(data_field("provider"),
                   data_field("provider") + " must not contain control characters");
  if (auto s = check_subject(f.subject, data_field("subject")); !s) return s;
  auto existing = check_existing_number(f);
  if (!existing) return existing.take_error();
  return check_websites(f, *existing);
}

// ---- the other payloads ------------------------------------------------------------------

Status check(const ReviewDecision& d) {
  return check_texts({{d.reviewer, data_field("reviewer")},
                      {d.reason_code, data_field("reason_code")},
                      {d.reason, data_field("reason"), kMaxLongText}});
}

Status check(const PhotoDecision& d) {
  if (to_string(d.method) == "unknown")
    return invalid(data_field("method"), "unknown photo method");
  return check_texts(
      {{d.reviewer, data_field("reviewer")}, {d.reason, data_field("reason"), kMaxLongText}});
}

Status check(const SubmittedToBureau& s) {
  return check_text({s.policy_id, data_field("policy_id")});
}
Status check(const SmsConfirmed& s) { return check_text({s.phone, data_field("phone")}); }
Status check(const SmsAttemptFailed&) { return {}; }
Status check(const SmsExpired&) { return {}; }
Status check(const FilingAbandoned&) { return {}; }

Status check(BureauApproved& b) {
  std::optional<RecordNumber> subject;
  if (!b.subject_record_number.empty()) {
    auto rn = parse_subject_number(b.subject_record_number, data_field("subject_record_number"));
    if (!rn) return rn.take_error();
    subject = std::move(rn).value();
  }
  // One entry per domain, so the bound is the most domains a filing can hold.
  if (auto s = check_count(b.websites.size(), kMaxWebsites * kMaxDomainsPerWebsite,
                           data_field("websites"), "entries");
      !s) {
    return s;
  }
  std::set<std::string> domains;
  for (std::size_t i = 0; i < b.websites.size(); ++i) {
    auto& w = b.websites[i];
    auto base = at(data_field("websites"), i);
    auto domain_field = dot(base, "domain");
    if (auto s = validate_domain(w.domain, domain_field); !s) return s;
    if (!domains.insert(w.domain).second) {
      return invalid(domain_field, domain_field + " " + w.domain + " is given twice");
    }
    auto number_field = dot(base, "record_number");
    if (auto s = check_website_number(w.record_number, number_field, subject ? &*subject : nullptr);
        !s) {
      return s;
    }
  }
  return {};
}

Status check(const BureauRejected& b) {
  return check_texts(
      {{b.reason_code, data_field("reason_code")}, {b.reason, data_field("reason"), kMaxLongText}});
}

Status check(const FilingWithdrawn& w) {
  return check_texts(
      {{w.reason_code, data_field("reason_code")}, {w.reason, data_field("reason"), kMaxLongText}});
}

Status check(const RecordCancelled& r) {
  if (auto s = check_text({r.reason, data_field("reason"), kMaxLongText}); !s) return s;
  auto rn = parse_record_number(r.record_number, data_field("record_number"));
  if (!rn) return rn.take_error();
  return {};
}

Status check(const SubjectErased& e) {
  if (e.subject_ref.size() != 64 ||
      !std::all_of(e.subject_ref.begin(), e.subject_ref.end(), is_hex_digit))
    return invalid(data_field("subject_ref"), "data.subject_ref must be 64 hex digits");
  return check_text({e.reason, data_field("reason"), kMaxLongText});
}

}  // namespace

Status validate_payload(Payload& payload) {
  return std::visit([](auto& p) { return check(p); }, payload);
}

}  // namespace filingd
