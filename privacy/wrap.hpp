// Wrapping a subject's data key under the master key's wrap subkey (SPEC §5).
//
// Byte format, version 1 (kWrappedKeySize = 61 bytes):
//   0x01 ‖ nonce(12) ‖ AES-256-GCM(data key, 32 bytes) ‖ tag(16)
// with AAD = 0x01 ‖ subject_ref. The version byte is authenticated, so it cannot be swapped for
// another, and subject_ref binds the wrapped key to its subject: copied onto another subject's
// record it fails authentication instead of decrypting that subject's fields.
//
// One wrap key seals every subject's data key with a random nonce, which NIST SP 800-38D §8.3
// allows for 2^32 wraps: four billion subjects per master key.
//
// Both functions are thread-safe (see crypto.hpp). Error messages never contain key bytes or the
// subject reference.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "events/result.hpp"
#include "privacy/crypto.hpp"

namespace filingd::privacy {

inline constexpr std::uint8_t kWrapVersion1 = 0x01;
inline constexpr std::size_t kWrappedKeySize = 1 + kSealOverhead + kKeySize;

// `wrap_key` is derive_key(master, kWrapKeyInfo). `subject_ref` is the subject's stable,
// non-secret reference in the store (e.g. its keyed-hash index value); the same bytes must be
// given to unwrap_data_key. Returns kWrappedKeySize bytes. Fails (ErrorCode::internal) only if
// the random source or OpenSSL fails.
Result<std::string> wrap_data_key(const Key& wrap_key, const Key& data_key,
                                  std::string_view subject_ref);

// Reverses wrap_data_key. Failures, each distinct:
//   ErrorCode::invalid "wrapped key is truncated (N of 61 bytes)": shorter than the format
//     (including empty);
//   ErrorCode::invalid "wrapped key has unknown format version V": first byte is not 0x01;
//   ErrorCode::invalid "wrapped key is too long (N bytes, expected 61)";
//   ErrorCode::io "wrong master key, or the wrapped key was altered": authentication failed
//     (also for a wrapped key presented under another subject_ref);
//   ErrorCode::internal: OpenSSL failed.
Result<Key> unwrap_data_key(const Key& wrap_key, std::string_view wrapped,
                            std::string_view subject_ref);

}  // namespace filingd::privacy
