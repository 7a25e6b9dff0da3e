// Bytes as text: lower-case hex (hashes in JSON, cursors, token digests) and standard padded
// base64 (RFC 4648 §4: the Kafka `body` header, Merkle hashes in proofs). The one place either
// is written or read.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "events/event.hpp"

namespace filingd {

bool is_hex_digit(char c);
std::string to_hex(std::string_view bytes);
std::string to_hex(const Hash& h);
void to_hex(const Hash& h, char* out);  // 2 * kHashSize chars, no terminator
// Upper or lower case; nullopt for an odd length or a non-hex character.
std::optional<std::string> from_hex(std::string_view hex);
// Exactly 2 * kHashSize hex digits.
bool from_hex(std::string_view hex, Hash& out);

std::string base64(std::string_view bytes);
inline std::string base64(const Hash& h) {
  return base64(std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
}
// Canonical padded base64 only (what base64() writes); nullopt otherwise.
std::optional<std::string> unbase64(std::string_view text);

}  // namespace filingd
