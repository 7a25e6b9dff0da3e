#include "events/validation.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <initializer_list>
#include <set>
#include <utility>

#include "events/record_number.hpp"

namespace filingd {
namespace {

Error invalid(std::string field, std::string message) {
  return make_error(ErrorCode::invalid, std::move(message), std::move(field));
}

std::string at(std::string_view base, std::size_t i) {
  return std::string(base) + "[" + std::to_string(i) + "]";
}

std::string dot(std::string_view base, std::string_view name) {
  return std::string(base) + "." + std::string(name);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lower_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z'); }

bool all_digits(std::string_view s) { return std::all_of(s.begin(), s.end(), is_digit); }

// ---- provinces ---------------------------------------------------------------------------

struct Province {
  std::string_view abbr;    // canonical one-character abbreviation, as in record numbers
  std::string_view name;    // short full name (北京)
  std::string_view suffix;  // administrative suffix of the official name (市, 省, 自治区, ...)
  std::string_view alias;   // a second abbreviation in real-world use, or empty
};

// The one table of province names; record numbers resolve their province character here too.
constexpr std::array<Province, 31> kProvinces = {{
    {"京", "北京", "市", ""},           {"津", "天津", "市", ""},
    {"冀", "河北", "省", ""},           {"晋", "山西", "省", ""},
    {"蒙", "内蒙古", "自治区", ""},     {"辽", "辽宁", "省", ""},
    {"吉", "吉林", "省", ""},           {"黑", "黑龙江", "省", ""},
    {"沪", "上海", "市", ""},           {"苏", "江苏", "省", ""},
    {"浙", "浙江", "省", ""},           {"皖", "安徽", "省", ""},
    {"闽", "福建", "省", ""},           {"赣", "江西", "省", ""},
    {"鲁", "山东", "省", ""},           {"豫", "河南", "省", ""},
    {"鄂", "湖北", "省", ""},           {"湘", "湖南", "省", ""},
    {"粤", "广东", "省", ""},           {"桂", "广西", "壮族自治区", ""},
    {"琼", "海南", "省", ""},           {"渝", "重庆", "市", ""},
    {"川", "四川", "省", "蜀"},         {"贵", "贵州", "省", "黔"},
    {"云", "云南", "省", "滇"},         {"藏", "西藏", "自治区", ""},
    {"陕", "陕西", "省", ""},           {"甘", "甘肃", "省", "陇"},
    {"青", "青海", "省", ""},           {"宁", "宁夏", "回族自治区", ""},
    {"新", "新疆", "维吾尔自治区", ""},
}};

bool names_province(const Province& p, std::string_view input) {
  if (input == p.abbr || input == p.name) return true;
  if (!p.alias.empty() && input == p.alias) return true;
  return input.size() == p.name.size() + p.suffix.size() && input.starts_with(p.name) &&
         input.ends_with(p.suffix);
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
  return check_id(s.id_type, s.id_number, std::string(base));
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
  if (f.websites.empty()) return invalid("websites", "a filing needs at least one website");
  if (auto s = check_count(f.websites.size(), kMaxWebsites, "websites", "websites"); !s) {
    return s;
  }
  std::set<std::string> domains;
  std::set<std::string_view> numbers;
  for (std::size_t i = 0; i < f.websites.size(); ++i) {
    auto& w = f.websites[i];
    auto base = at("websites", i);
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
  const std::string field = "existing_record_number";
  const auto type = std::string(to_string(f.filing_type));
  if (!carries_existing_record_number(f.filing_type)) {
    if (f.existing_record_number.empty()) return std::optional<RecordNumber>{};
    return invalid(field, field + " must be empty for a " + type + " filing");
  }
  if (f.existing_record_number.empty()) {
    return invalid(field, field + " is required for a " + type + " filing");
  }
  auto rn = parse_subject_number(f.existing_record_number, field);
  if (!rn) return rn.take_error();
  if (rn->province != f.province) {
    return invalid(field, "record number province " + rn->province +
                              " does not match the filing's province " + f.province);
  }
  return std::optional<RecordNumber>(std::move(rn).value());
}

Status check_province(std::string& province) {
  if (auto s = check_text({province, "province", kMaxShortText, true}); !s) return s;
  auto canonical = canonical_province(province);
  if (!canonical) {
    return invalid("province", "unknown province \"" + province +
                                   "\": use an abbreviation (京), an alias (蜀) or a full name "
                                   "(北京市)");
  }
  province = std::move(*canonical);
  return {};
}

Status check(FilingSubmitted& f) {
  if (to_string(f.filing_type) == "unknown") return invalid("filing_type", "unknown filing_type");
  if (auto s = check_province(f.province); !s) return s;
  if (auto s = check_text({f.provider, "provider", kMaxShortText, true}); !s) return s;
  if (auto s = check_subject(f.subject, "subject"); !s) return s;
  auto existing = check_existing_number(f);
  if (!existing) return existing.take_error();
  return check_websites(f, *existing);
}

// ---- the other payloads ------------------------------------------------------------------

Status check(const ReviewDecision& d) {
  return check_texts({{d.reviewer, "reviewer"},
                      {d.reason_code, "reason_code"},
                      {d.reason, "reason", kMaxLongText}});
}

Status check(const PhotoDecision& d) {
  if (to_string(d.method) == "unknown") return invalid("method", "unknown photo method");
  return check_texts({{d.reviewer, "reviewer"}, {d.reason, "reason", kMaxLongText}});
}

Status check(const SubmittedToBureau& s) { return check_text({s.policy_id, "policy_id"}); }
Status check(const SmsConfirmed& s) { return check_text({s.phone, "phone"}); }
Status check(const SmsAttemptFailed&) { return {}; }
Status check(const SmsExpired&) { return {}; }
Status check(const FilingAbandoned&) { return {}; }

Status check(BureauApproved& b) {
  std::optional<RecordNumber> subject;
  if (!b.subject_record_number.empty()) {
    auto rn = parse_subject_number(b.subject_record_number, "subject_record_number");
    if (!rn) return rn.take_error();
    subject = std::move(rn).value();
  }
  // One entry per domain, so the bound is the most domains a filing can hold.
  if (auto s = check_count(b.websites.size(), kMaxWebsites * kMaxDomainsPerWebsite, "websites",
                           "entries");
      !s) {
    return s;
  }
  std::set<std::string> domains;
  for (std::size_t i = 0; i < b.websites.size(); ++i) {
    auto& w = b.websites[i];
    auto base = at("websites", i);
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
  return check_texts({{b.reason_code, "reason_code"}, {b.reason, "reason", kMaxLongText}});
}

Status check(const FilingWithdrawn& w) {
  return check_texts({{w.reason_code, "reason_code"}, {w.reason, "reason", kMaxLongText}});
}

Status check(const RecordCancelled& r) {
  if (auto s = check_text({r.reason, "reason", kMaxLongText}); !s) return s;
  auto rn = parse_record_number(r.record_number, "record_number");
  if (!rn) return rn.take_error();
  return {};
}

}  // namespace

Status validate_filing_id(std::string_view id, std::string_view field) {
  auto allowed = [](char c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
           c == '_' || c == '-';
  };
  if (id.empty() || id.size() > 64 || !std::all_of(id.begin(), id.end(), allowed)) {
    return invalid(
        std::string(field),
        std::string(field) + " must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-'");
  }
  return {};
}

Status validate_event_id(std::string_view id, std::string_view field) {
  auto printable = [](char c) { return c >= 0x21 && c <= 0x7e; };
  if (id.empty() || id.size() > 128 || !std::all_of(id.begin(), id.end(), printable)) {
    return invalid(
        std::string(field),
        std::string(field) + " must be 1 to 128 printable ASCII characters without spaces");
  }
  return {};
}

namespace {

bool is_real_date(int year, int month, int day) {
  static constexpr std::array<int, 12> kDays = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 || day > kDays[month - 1]) return false;
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month != 2 || day <= 28 || leap;
}

int to_int(std::string_view digits) {
  int n = 0;
  for (char c : digits) n = n * 10 + (c - '0');
  return n;
}

}  // namespace

char resident_id_check_char(std::string_view first17) {
  static constexpr std::array<int, 17> kWeights = {7, 9, 10, 5,  8, 4, 2, 1, 6,
                                                   3, 7, 9,  10, 5, 8, 4, 2};
  int sum = 0;
  for (std::size_t i = 0; i < kWeights.size(); ++i) sum += (first17[i] - '0') * kWeights[i];
  return "10X98765432"[sum % 11];
}

Status validate_resident_id(std::string_view id, std::string_view field) {
  const std::string f(field);
  if (id.size() != 18) {
    return invalid(f, f + " must be 18 characters (17 digits and a check character)");
  }
  if (!all_digits(id.substr(0, 17))) return invalid(f, f + " must start with 17 digits");
  char last = id[17];
  if (last == 'x') return invalid(f, f + " must end with an upper-case X, not x");
  if (!is_digit(last) && last != 'X') {
    return invalid(f, f + " must end with a digit or X");
  }
  int year = to_int(id.substr(6, 4));
  if (year < 1900 || year > 2100 ||
      !is_real_date(year, to_int(id.substr(10, 2)), to_int(id.substr(12, 2)))) {
    return invalid(f, f + " has an impossible birth date " + std::string(id.substr(6, 8)));
  }
  if (resident_id_check_char(id) != last) {
    return invalid(f, f + " is not a valid GB 11643 resident ID (check digit)");
  }
  return {};
}

Status validate_mobile(std::string_view mobile, std::string_view field) {
  const std::string f(field);
  if (mobile.empty()) return invalid(f, f + " is required");
  if (mobile.size() != 11 || !all_digits(mobile)) return invalid(f, f + " must be 11 digits");
  if (mobile[0] != '1' || mobile[1] < '3') {
    return invalid(f, f + " must start with 13 to 19 (a mainland mobile number)");
  }
  return {};
}

namespace {

Status check_label(std::string_view label, const std::string& f) {
  if (label.empty())
    return invalid(f, f + " has an empty label (two dots, or a leading or "
                          "trailing dot)");
  if (label.size() > 63) return invalid(f, f + " has a label longer than 63 characters");
  auto ok = [](char c) { return is_lower_alnum(c) || c == '-'; };
  if (!std::all_of(label.begin(), label.end(), ok)) {
    return invalid(f, f + " may contain only letters, digits, '-' and '.'");
  }
  if (label.front() == '-' || label.back() == '-') {
    return invalid(f, f + " has a label that starts or ends with '-'");
  }
  return {};
}

}  // namespace

Status validate_domain(std::string& domain, std::string_view field) {
  const std::string f(field);
  if (domain.empty()) return invalid(f, f + " is required");
  auto non_ascii = [](char c) { return static_cast<unsigned char>(c) >= 0x80; };
  if (std::any_of(domain.begin(), domain.end(), non_ascii)) {
    return invalid(f, f + " \"" + domain +
                          "\" is not ASCII: give internationalised domain "
                          "names in punycode (xn--...)");
  }
  std::transform(domain.begin(), domain.end(), domain.begin(), [](char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  });
  if (domain.size() > 253) return invalid(f, f + " is longer than 253 characters");
  std::string_view rest = domain;
  std::size_t labels = 0;
  std::string_view last;
  for (;;) {
    auto dot_pos = rest.find('.');
    last = rest.substr(0, dot_pos);
    if (auto s = check_label(last, f); !s) return s;
    ++labels;
    if (dot_pos == std::string_view::npos) break;
    rest.remove_prefix(dot_pos + 1);
  }
  if (labels < 2) return invalid(f, f + " must have at least two labels, like example.cn");
  if (all_digits(last)) {
    return invalid(f, f + " must be a host name, not an IP address (its last label is "
                          "all digits)");
  }
  return {};
}

std::optional<std::string> canonical_province(std::string_view input) {
  for (const auto& p : kProvinces) {
    if (names_province(p, input)) return std::string(p.abbr);
  }
  return std::nullopt;
}

Status validate_payload(Payload& payload) {
  return std::visit([](auto& p) { return check(p); }, payload);
}

}  // namespace filingd
