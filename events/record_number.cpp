#include "events/record_number.hpp"

#include <algorithm>
#include <utility>

#include "events/provinces.hpp"

namespace filingd {
namespace {

constexpr std::string_view kMarker = "ICP备";
constexpr std::string_view kEnd = "号";

bool is_digit(char c) { return c >= '0' && c <= '9'; }

Error invalid(std::string_view field, std::string message) {
  std::string f(field);
  std::string name = f.empty() ? std::string("record number") : f;
  return make_error(ErrorCode::invalid, name + " " + message, std::move(f));
}

Error bad_format(std::string_view field) {
  return invalid(field, "must look like 京ICP备2024012345号 or 京ICP备2024012345号-3");
}

// Byte length of the UTF-8 sequence a lead byte starts (0 for a continuation or invalid byte).
std::size_t utf8_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xe0) == 0xc0) return 2;
  if ((lead & 0xf0) == 0xe0) return 3;
  if ((lead & 0xf8) == 0xf0) return 4;
  return 0;
}

// The province must be one character: canonical_province() also knows full names (北京),
// which never appear in a number.
std::optional<std::string> province_of(std::string_view prefix) {
  if (prefix.empty() || utf8_length(static_cast<unsigned char>(prefix[0])) != prefix.size()) {
    return std::nullopt;
  }
  return canonical_province(prefix);
}

std::size_t count_digits(std::string_view s) {
  return static_cast<std::size_t>(std::find_if_not(s.begin(), s.end(), is_digit) - s.begin());
}

// "-N": N from 1 to 9999, no leading zero.
std::optional<std::uint32_t> parse_suffix(std::string_view s) {
  if (s.size() < 2 || s.size() > 5 || s[0] != '-' || s[1] == '0') return std::nullopt;
  std::uint32_t n = 0;
  for (char c : s.substr(1)) {
    if (!is_digit(c)) return std::nullopt;
    n = n * 10 + static_cast<std::uint32_t>(c - '0');
  }
  return n;
}

}  // namespace

Result<RecordNumber> parse_record_number(std::string_view text, std::string_view field) {
  if (text.empty()) return invalid(field, "is required");
  auto marker = text.find(kMarker);
  if (marker == std::string_view::npos) return bad_format(field);
  auto province = province_of(text.substr(0, marker));
  if (!province) {
    return invalid(field,
                   "must start with a province abbreviation such as 京 or 粤, "
                   "followed by ICP备");
  }
  auto rest = text.substr(marker + kMarker.size());
  auto digits = count_digits(rest);
  if (digits != 8 && digits != 10) {
    return invalid(field, "must have 8 or 10 digits between ICP备 and 号");
  }
  rest.remove_prefix(digits);
  if (!rest.starts_with(kEnd)) return bad_format(field);
  rest.remove_prefix(kEnd.size());

  RecordNumber rn;
  rn.text = std::string(text);
  rn.province = std::move(*province);
  rn.subject = std::string(text.substr(0, text.size() - rest.size()));
  if (!rest.empty()) {
    auto suffix = parse_suffix(rest);
    if (!suffix) {
      return invalid(field,
                     "has a bad website suffix: after 号 only -N may follow, with N "
                     "from 1 to 9999 and no leading zero");
    }
    rn.suffix = *suffix;
  }
  return rn;
}

}  // namespace filingd
