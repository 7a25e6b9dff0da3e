#include "events/json_writer.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>

namespace filingd {

namespace {

// The escape of each byte: 0 for none (copied as is), 'u' for \u00XX, else the letter after '\'.
constexpr std::array<char, 256> kEscape = [] {
  std::array<char, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = 'u';
  t['"'] = '"';
  t['\\'] = '\\';
  t['\b'] = 'b';
  t['\f'] = 'f';
  t['\n'] = 'n';
  t['\r'] = 'r';
  t['\t'] = 't';
  return t;
}();

// The length of the well-formed UTF-8 sequence (RFC 3629: no overlong forms, no surrogates,
// nothing above U+10FFFF) that starts at p with a byte >= 0x80, or 0 if there is none.
std::size_t utf8_sequence(const unsigned char* p, const unsigned char* end) {
  const auto cont = [&](std::size_t i, unsigned char lo = 0x80, unsigned char hi = 0xbf) {
    return p + i < end && p[i] >= lo && p[i] <= hi;
  };
  const unsigned char c = p[0];
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c == 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c == 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c == 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c == 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

}  // namespace

JsonWriter& JsonWriter::string(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  static constexpr std::string_view kReplacement = "\xef\xbf\xbd";  // U+FFFD
  constexpr std::uint64_t kOnes = 0x0101010101010101u;
  constexpr std::uint64_t kHigh = 0x8080808080808080u;
  auto has_zero = [](std::uint64_t v) { return (v - kOnes) & ~v & kHigh; };
  comma();
  out_ += '"';
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* const end = p + s.size();
  const auto* run = p;  // start of the pending run of bytes copied as they are
  auto flush = [&](const unsigned char* upto) {
    out_.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(upto - run));
  };
  while (p != end) {
    // Eight bytes at a time while they are plain ASCII that needs no escape (most of a domain
    // or an ID): none below 0x20, none >= 0x80, no '"' or '\\'.
    if (end - p >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      const std::uint64_t below_space = (w - 0x20 * kOnes) & ~w & kHigh;
      if (!(below_space | (w & kHigh) | has_zero(w ^ ('"' * kOnes)) |
            has_zero(w ^ ('\\' * kOnes)))) {
        p += 8;
        continue;
      }
    }
    if (*p >= 0x80) {
      // Well-formed UTF-8 is copied; a byte that starts no well-formed sequence (only a
      // corrupt record can hold one) becomes U+FFFD, so the text is always valid JSON.
      if (const std::size_t n = utf8_sequence(p, end); n != 0) {
        p += n;
        continue;
      }
      flush(p);
      out_ += kReplacement;
      run = ++p;
      continue;
    }
    const char esc = kEscape[*p];
    if (esc == 0) {
      ++p;
      continue;
    }
    flush(p);
    const char seq[6] = {'\\', esc, '0', '0', kHex[*p >> 4], kHex[*p & 0xf]};
    out_.append(seq, esc == 'u' ? 6 : 2);
    run = ++p;
  }
  flush(end);
  out_ += '"';
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::number(std::uint64_t n) {
  char buf[24];
  const auto end = std::to_chars(buf, buf + sizeof buf, n).ptr;
  return raw(std::string_view(buf, static_cast<std::size_t>(end - buf)));
}

JsonWriter& JsonWriter::time(Timestamp t) {
  char buf[kRfc3339Max + 2];
  buf[0] = '"';
  char* end = format_rfc3339(t, buf + 1);
  *end++ = '"';
  return raw(std::string_view(buf, static_cast<std::size_t>(end - buf)));
}

}  // namespace filingd
