// Cryptographic primitives for personal data at rest (SPEC §5): random bytes, a self-wiping
// 256-bit key, AES-256-GCM sealing, HMAC-SHA-256, HKDF-SHA-256 subkeys and constant-time compare.
//
// OpenSSL 3 underneath; its headers stay in crypto.cpp and mac.cpp (HMAC, KeyedHasher, HKDF) so
// that includers do not inherit them.
// Every function here is safe to call from any thread at the same time: the EVP contexts they
// reuse (for speed on the append path) are per thread. No error message ever contains key
// bytes, plaintext or AAD, because callers pass personal data through these functions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "events/result.hpp"

namespace filingd::privacy {

inline constexpr std::size_t kKeySize = 32;    // AES-256 / HMAC-SHA-256 key, in bytes
inline constexpr std::size_t kNonceSize = 12;  // GCM nonce (96 bits: no GHASH of the IV)
inline constexpr std::size_t kTagSize = 16;    // GCM tag, full length
inline constexpr std::size_t kSealOverhead = kNonceSize + kTagSize;
inline constexpr std::size_t kDigestSize = 32;  // HMAC-SHA-256 output

// HKDF "info" labels: one subkey per purpose, so that a key used for the keyed-hash index can
// never double as the key that wraps data keys. Changing a label changes every derived key, so a
// new label (v2) goes with a migration, never an edit.
inline constexpr std::string_view kIndexKeyInfo = "filingd/v1/index";
inline constexpr std::string_view kWrapKeyInfo = "filingd/v1/wrap";
inline constexpr std::string_view kKeyCheckInfo = "filingd/v1/key-check";

using Digest = std::array<std::uint8_t, kDigestSize>;

// A 256-bit secret key. Its bytes are wiped (OPENSSL_cleanse) when it is destroyed or moved
// from, and it cannot be streamed or formatted: operator<< is deleted, and GoogleTest prints it
// as "Key(redacted)" rather than dumping its bytes. Copies are allowed (each wipes itself).
// A moved-from Key is all zero bytes and must not be used. Not synchronised: share a const Key
// between threads freely, but do not assign to one that another thread is reading.
class Key {
 public:
  // A fresh key from the OpenSSL CSPRNG. Fails (ErrorCode::internal) only if RAND_bytes does.
  static Result<Key> random();
  // Exactly kKeySize bytes, else ErrorCode::invalid (the message gives the length, not bytes).
  static Result<Key> from_bytes(std::string_view bytes);

  Key(const Key& other) = default;
  Key(Key&& other) noexcept;
  Key& operator=(const Key& other);
  Key& operator=(Key&& other) noexcept;
  ~Key();

  std::span<const std::uint8_t, kKeySize> bytes() const { return bytes_; }
  std::string_view view() const {
    return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
  }

  // Constant time, so that a comparison never reveals where two keys differ.
  friend bool operator==(const Key& a, const Key& b);

  friend std::ostream& operator<<(std::ostream& os, const Key& key) = delete;
  friend void PrintTo(const Key& key, std::ostream* os);  // GoogleTest's printer hook

 private:
  Key() = default;
  std::array<std::uint8_t, kKeySize> bytes_{};
};

// n bytes from the OpenSSL CSPRNG. Fails with ErrorCode::internal if RAND_bytes fails (no entropy
// source), ErrorCode::invalid if n exceeds INT_MAX.
Result<std::string> random_bytes(std::size_t n);

// AES-256-GCM under `key` with a fresh random 96-bit nonce. Returns nonce(12) ‖ ciphertext ‖
// tag(16), i.e. plaintext.size() + kSealOverhead bytes. `aad` is authenticated, not stored: the
// same aad must be given to open(). Fails (ErrorCode::internal) only if RAND_bytes or OpenSSL
// fails. Random nonces are safe for up to 2^32 seals under one key (NIST SP 800-38D §8.3); a
// data key seals a handful of fields per filing, far below that.
Result<std::string> seal(const Key& key, std::string_view plaintext, std::string_view aad);

// Reverses seal(). Fails with ErrorCode::invalid "sealed value is truncated" when `sealed` is
// shorter than kSealOverhead, and with ErrorCode::io "sealed value failed authentication" when the
// tag does not verify (wrong key, wrong aad, or altered bytes); nothing of the plaintext is
// returned then. ErrorCode::internal if OpenSSL fails otherwise.
Result<std::string> open(const Key& key, std::string_view sealed, std::string_view aad);

// HMAC-SHA-256. The Key overload is the keyed-hash index (key = derive_key(master,
// kIndexKeyInfo)); the string_view overload takes a key of any length (RFC 4231 vectors).
// Fails (ErrorCode::internal) only if OpenSSL does.
Result<Digest> hmac_sha256(const Key& key, std::string_view data);
Result<Digest> hmac_sha256(std::string_view key, std::string_view data);

// HMAC-SHA-256 under one fixed key, keyed once: the keyed-hash index (key = derive_key(master,
// kIndexKeyInfo)). hash() equals hmac_sha256(key, data) at about a third of the cost, because the
// key's padded blocks are hashed once here rather than on every call. hash() is thread-safe:
// each thread works on its own copy of the keyed context (kept for the hasher it used last), so
// a copy of the key stays in a thread's memory until that thread ends, uses another hasher, or
// destroys this one. Move-only; a moved-from hasher must not be used.
class KeyedHasher {
 public:
  // ErrorCode::internal if OpenSSL fails.
  static Result<KeyedHasher> create(const Key& key);
  KeyedHasher(KeyedHasher&& other) noexcept;
  KeyedHasher& operator=(KeyedHasher&& other) noexcept;
  ~KeyedHasher();

  // ErrorCode::internal if OpenSSL fails.
  Result<Digest> hash(std::string_view data) const;

 private:
  struct State;
  explicit KeyedHasher(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// HKDF-SHA-256 (RFC 5869) extract-and-expand: `length` bytes (1..8160). ErrorCode::invalid for a
// length out of range, ErrorCode::internal if OpenSSL fails. The result is key material: wipe it
// with cleanse() when done, or use derive_key(), which never puts it in a std::string.
Result<std::string> hkdf_sha256(std::string_view ikm, std::string_view salt, std::string_view info,
                                std::size_t length);

// The purpose-specific subkey HKDF-SHA-256(ikm = master, salt = empty, info) — one of the k*Info
// labels above. No salt: the master key is already uniformly random (RFC 5869 §3.1).
// ErrorCode::internal if OpenSSL fails.
Result<Key> derive_key(const Key& master, std::string_view info);

// Equal length and equal bytes, in time that depends only on the length (CRYPTO_memcmp).
bool constant_time_equal(std::string_view a, std::string_view b);

// Overwrites s with zeros (in a way the compiler cannot elide), then clears it. For strings that
// held key material or plaintext.
void cleanse(std::string& s);

namespace testing {

// seal() with a caller-chosen nonce, for known-answer tests only: reusing a nonce under one key
// reveals the XOR of the plaintexts and lets the tag be forged. Returns ciphertext ‖ tag (no
// nonce prefix, as the published vectors list them). ErrorCode::invalid unless nonce is
// kNonceSize bytes.
Result<std::string> seal_with_nonce(const Key& key, std::string_view nonce,
                                    std::string_view plaintext, std::string_view aad);

}  // namespace testing

}  // namespace filingd::privacy
