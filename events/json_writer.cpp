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

}  // namespace

JsonWriter& JsonWriter::string(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  comma();
  out_ += '"';
  const char* run = s.data();  // start of the pending run of bytes that need no escape
  const char* const end = s.data() + s.size();
  const char* p = run;
  // Eight bytes at a time while none of them needs an escape (names, addresses and domains
  // rarely do): a byte below 0x20, or equal to '"' or '\'.
  constexpr std::uint64_t kOnes = 0x0101010101010101u;
  constexpr std::uint64_t kHigh = 0x8080808080808080u;
  auto has_zero = [](std::uint64_t v) { return (v - kOnes) & ~v & kHigh; };
  while (end - p >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    const std::uint64_t below_space = (w - 0x20 * kOnes) & ~w & kHigh;
    if (below_space | has_zero(w ^ ('"' * kOnes)) | has_zero(w ^ ('\\' * kOnes))) break;
    p += 8;
  }
  for (; p != end; ++p) {
    const char esc = kEscape[static_cast<unsigned char>(*p)];
    if (esc == 0) continue;
    out_.append(run, p);
    run = p + 1;
    const char seq[6] = {'\\',          esc, '0', '0', kHex[static_cast<unsigned char>(*p) >> 4],
                         kHex[*p & 0xf]};
    out_.append(seq, esc == 'u' ? 6 : 2);
  }
  out_.append(run, end);
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
