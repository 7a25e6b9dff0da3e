// C2SP signed notes (https://c2sp.org/signed-note) with Ed25519, C2SP checkpoints
// (https://c2sp.org/tlog-checkpoint), and the daemon's signing-key file. Compatible with Go's
// golang.org/x/mod/sumdb/note: the same key ID, verifier-key and private-key strings, and the
// same byte-for-byte signed output (Ed25519 is deterministic).
//
//   key ID        first 4 bytes (big-endian) of SHA-256(name || "\n" || 0x01 || public key)
//   verifier key  <name>+<hex8 key ID>+<base64(0x01 || 32-byte public key)>
//   private key   PRIVATE+KEY+<name>+<hex8 key ID>+<base64(0x01 || 32-byte seed)>
//   signed note   <text ending in \n>\n<signature line>...
//   signature     "— " (U+2014, space) <name> " " base64(key ID || 64-byte signature) "\n"
//
// Key names (and so checkpoint origins that double as key names) must be non-empty UTF-8
// without Unicode spaces or "+".
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "events/result.hpp"
#include "tlog/merkle.hpp"

namespace filingd::tlog {

inline constexpr std::uint8_t kAlgEd25519 = 0x01;
using PublicKey = std::array<std::uint8_t, 32>;

bool is_valid_key_name(std::string_view name);
// The key ID of `key` = signature type byte || public key.
std::uint32_t key_id(std::string_view name, std::span<const std::uint8_t> key);

// Verifies Ed25519 signatures by one key. A plain value: copyable, no OpenSSL state held.
class Verifier {
 public:
  // Parses a verifier key (Go: note.NewVerifier). Refuses a bad name, an ID that is not 8 hex
  // digits or does not match the key, an algorithm other than Ed25519, a key of the wrong size.
  static Result<Verifier> parse(std::string_view vkey);

  const std::string& name() const { return name_; }
  std::uint32_t key_id() const { return id_; }
  const PublicKey& public_key() const { return public_key_; }
  std::string vkey() const;  // the verifier key string
  bool verify(std::string_view message, std::span<const std::uint8_t> signature) const;

 private:
  friend class Signer;
  Verifier() = default;
  std::string name_;
  std::uint32_t id_ = 0;
  PublicKey public_key_{};
};

// Signs with one Ed25519 key. Copies share the (immutable) OpenSSL key; signing is thread-safe.
class Signer {
 public:
  // Parses a private key string (Go: note.NewSigner), checking the ID against the derived
  // public key.
  static Result<Signer> parse(std::string_view skey);
  // A fresh key from the OpenSSL CSPRNG.
  static Result<Signer> generate(std::string_view name);

  const std::string& name() const { return verifier_.name(); }
  std::uint32_t key_id() const { return verifier_.key_id(); }
  const Verifier& verifier() const { return verifier_; }
  std::string vkey() const { return verifier_.vkey(); }
  // The private key string. Secret: only for writing the key file.
  std::string skey() const;

  // The 64-byte Ed25519 signature of `message`.
  Result<std::array<std::uint8_t, 64>> sign(std::string_view message) const;
  // The signed note of `text` (which must end in "\n"; Go: note.Sign with one signer).
  Result<std::string> sign_note(std::string_view text) const;

 private:
  Signer() = default;
  Verifier verifier_;
  std::shared_ptr<void> pkey_;  // EVP_PKEY, kept out of this header
};

// Opens a signed note (Go: note.Open with one known key): checks the syntax, verifies every
// signature by `verifier`'s name and key ID, ignores other signatures, and returns the note
// text (ending in "\n"). Errors: ErrorCode::malformed for a text that is not a signed note,
// ErrorCode::invalid for a failed signature or none by the key.
Result<std::string> open_note(std::string_view note, const Verifier& verifier);

struct Checkpoint {
  std::string origin;
  std::int64_t size = 0;
  Hash root{};
  std::vector<std::string> extensions;  // opaque non-empty lines after the root; filingd has none
  bool operator==(const Checkpoint&) const = default;
};

// The checkpoint note text: "<origin>\n<size>\n<base64 root>\n" and any extension lines.
std::string format_checkpoint(const Checkpoint& checkpoint);
// Parses a checkpoint note text. Refuses fewer than three lines, an empty line, a size that is
// not canonical decimal in [0, kMaxTreeSize], a root that is not base64 of 32 bytes.
Result<Checkpoint> parse_checkpoint(std::string_view text);
// Signs a checkpoint (C2SP: the log's key name SHOULD be its origin; not enforced here).
Result<std::string> sign_checkpoint(const Checkpoint& checkpoint, const Signer& signer);
// Opens a signed checkpoint and parses it; refuses one whose origin is not `origin`.
Result<Checkpoint> open_checkpoint(std::string_view note, const Verifier& verifier,
                                   std::string_view origin);

// The daemon's signing key. The key file holds one line, the private key string above
// (optionally followed by "\n"), so it also names the key and `filingctl`-style tools can
// print the verifier key from it.
//
// If `path` does not exist, a new key named `name` is generated and written: to a temporary
// file "<path>.<pid>.tmp" created O_CREAT|O_EXCL with mode 0600 and fsync'd, then link()ed to
// `path` (so a crash never leaves a half-written key file, and of two concurrent creators the
// first wins and the other loads its key), then the directory is fsync'd. An existing file is
// refused, with an error naming the path, if it is not a regular file (symlinks are not followed),
// has any group or other permission bit, is not exactly one well-formed Ed25519 private key string,
// or names a key other than `name`.
Result<Signer> load_or_create_signing_key(const std::filesystem::path& path, std::string_view name);

}  // namespace filingd::tlog
