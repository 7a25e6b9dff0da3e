#include "events/mask.hpp"

#include <cstdint>

namespace filingd {

namespace {

// Length of the well-formed UTF-8 sequence starting at s[i] (Unicode Table 3-7), or 0 when
// s[i] does not start one. Strict on the second byte's range so that overlong forms, UTF-16
// surrogates and code points above U+10FFFF are rejected rather than passed through.
std::size_t sequence_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) -> std::uint8_t {
    return i + k < s.size() ? static_cast<std::uint8_t>(s[i + k]) : 0;
  };
  const auto in = [](std::uint8_t b, std::uint8_t lo, std::uint8_t hi) {
    return b >= lo && b <= hi;
  };
  const std::uint8_t b0 = byte(0);
  if (b0 <= 0x7F) return 1;
  std::uint8_t lo = 0x80, hi = 0xBF;  // range of the second byte
  std::size_t n = 0;
  if (in(b0, 0xC2, 0xDF)) {
    n = 2;
  } else if (in(b0, 0xE0, 0xEF)) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (in(b0, 0xF0, 0xF4)) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size() || !in(byte(1), lo, hi)) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if (!in(byte(k), 0x80, 0xBF)) return 0;
  return n;
}

// Advances past one character: a well-formed sequence, or a single invalid byte.
std::size_t next(std::string_view s, std::size_t i, bool* valid) {
  const std::size_t n = sequence_length(s, i);
  *valid = n != 0;
  return i + (n != 0 ? n : 1);
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace

std::string mask_tail(std::string_view utf8) {
  std::size_t chars = 0;
  bool valid = false;
  for (std::size_t i = 0; i < utf8.size(); i = next(utf8, i, &valid)) ++chars;
  if (chars <= kMaskKeepChars) return std::string(chars, '*');

  const std::size_t masked = chars - kMaskKeepChars;
  std::string out(masked, '*');
  std::size_t i = 0;
  for (std::size_t c = 0; c < masked; ++c) i = next(utf8, i, &valid);
  while (i < utf8.size()) {
    const std::size_t end = next(utf8, i, &valid);
    out.append(valid ? utf8.substr(i, end - i) : kReplacement);
    i = end;
  }
  return out;
}

}  // namespace filingd
