#include "events/validation.hpp"

#include <algorithm>
#include <array>

namespace filingd {
namespace {

Error invalid(std::string field, std::string message) {
  return make_error(ErrorCode::invalid, std::move(message), std::move(field));
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lower_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z'); }
bool all_digits(std::string_view s) { return std::all_of(s.begin(), s.end(), is_digit); }

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
  // GET /v1/filings/export is the desk's export: a filing of that id could never be read.
  if (id == "export") return invalid(std::string(field), std::string(field) + " export is reserved");
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
    // The date itself is personal data: named by position, never quoted.
    return invalid(f, f + " has an impossible birth date (characters 7 to 14)");
  }
  if (resident_id_check_char(id) != last) {
    return invalid(f, f + " is not a valid GB 11643 resident ID (check digit)");
  }
  return {};
}

namespace {
// GB 32100-2015 §4: the 31 characters of a USCC (no I, O, S, V, Z) and the weights 3^i mod 31.
constexpr std::string_view kUsccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
constexpr std::array<int, 17> kUsccWeights = {1,  3,  9,  27, 19, 26, 16, 17, 20,
                                              29, 25, 13, 8,  24, 10, 30, 28};
}  // namespace

char uscc_check_char(std::string_view first17) {
  int sum = 0;
  for (std::size_t i = 0; i < kUsccWeights.size(); ++i) {
    const auto v = kUsccAlphabet.find(first17[i]);
    if (v == std::string_view::npos) return '\0';
    sum += static_cast<int>(v) * kUsccWeights[i];
  }
  return kUsccAlphabet[(31 - sum % 31) % 31];
}

Status validate_uscc(std::string_view code, std::string_view field) {
  const std::string f(field);
  if (code.size() != 18) return invalid(f, f + " must be 18 characters (a USCC)");
  for (std::size_t i = 0; i < code.size(); ++i) {
    if (kUsccAlphabet.find(code[i]) == std::string_view::npos)
      return invalid(f, f + " has a character outside 0-9 A-H J-N P-R T U W-Y at position " +
                            std::to_string(i + 1));
  }
  if (uscc_check_char(code) != code[17])
    return invalid(f, f + " is not a valid GB 32100 USCC (check character)");
  return {};
}

bool is_subject_kind(std::string_view kind) {
  for (std::string_view k : {"individual", "enterprise", "government", "public_institution",
                             "social_organization", "other"})
    if (kind == k) return true;
  return false;
}

bool is_personal_certificate(std::string_view id_type) {
  for (std::string_view t : {"resident_id", "passport", "hk_macao_permit", "taiwan_permit",
                             "foreign_permanent_residence"})
    if (id_type == t) return true;
  return false;
}

bool is_organisation_certificate(std::string_view id_type) {
  return id_type == "uscc" || id_type == "other_org";
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

}  // namespace filingd
