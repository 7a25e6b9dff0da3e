// Text encodings shared by the transparency-log formats: standard base64 (RFC 4648 §4, padded),
// as in checkpoints, signed notes and the proof JSON, and lowercase hex, as in key IDs.
//
// Decoding is strict: only the canonical encoding of some byte string is accepted (no
// whitespace, exact padding, zero trailing bits), so one value has exactly one accepted text.
// That keeps signed text unambiguous; every encoder (Go's included) produces canonical text.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace filingd::tlog {

std::string base64_encode(std::span<const std::uint8_t> bytes);
// nullopt if `text` is not canonical padded standard base64.
std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text);

// Lowercase, two digits a byte.
std::string hex_encode(std::span<const std::uint8_t> bytes);

}  // namespace filingd::tlog
