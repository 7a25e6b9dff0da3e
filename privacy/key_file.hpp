// The master key file (SPEC §5: privacy.master_key_file, default filingd.key beside the data
// directory).
//
// Format: one line of 95 ASCII characters and a newline,
//   filingd-master-key-v1 <key: 64 hex digits> <check: 8 hex digits>\n
// e.g. "filingd-master-key-v1 9f86d0…0a08 1c2e3b4a\n". The check value is the first 4 bytes of
// HKDF-SHA-256(key, info kKeyCheckInfo): a key restored from a paper or offline backup is then
// checked on load, so a mistyped digit is reported as such and not later as "wrong master key".
// Hex digits may be upper or lower case on load (written lower case); the final newline may be
// missing or "\r\n". Nothing else is accepted.
//
// The file must be a regular file (a symlink to one is followed) with no group or other
// permission bits. These functions do not log; the daemon logs LoadedKey::created. Error messages
// name the path and the problem, never the file's contents. Thread-safe, but two processes
// creating the same path at once is resolved by O_EXCL: one creates, the other loads.
#pragma once

#include <string>
#include <string_view>

#include "events/result.hpp"
#include "privacy/crypto.hpp"

namespace filingd::privacy {

inline constexpr std::string_view kMasterKeyFileMagic = "filingd-master-key-v1";

struct LoadedKey {
  Key key;
  bool created = false;  // true: the file did not exist and was created by this call
};

// Loads the master key from `path`, or, if nothing exists there, creates the file with a fresh
// random key: open(O_CREAT|O_EXCL|O_WRONLY|O_CLOEXEC, 0600), chmod 0600 whatever the umask,
// write, fsync the file, fsync its directory. A creation that fails part-way unlinks the file.
// Failures (path is always named):
//   ErrorCode::io       cannot open/read the file (e.g. unreadable: Permission denied), cannot
//                       create it (e.g. its directory is missing), or a write/fsync failed;
//   ErrorCode::invalid  a directory or other non-regular file; a mode with group/other bits
//                       ("mode 0640 is readable by group: chmod 600 <path>"); an empty,
//                       truncated, over-long or malformed file; a check value that does not
//                       match the key.
Result<LoadedKey> load_or_create_master_key(const std::string& path);

// As load_or_create_master_key, but never creates: a missing file is ErrorCode::io
// "cannot open master key file <path>: No such file or directory". For tools (filingctl
// --key-file) that must not invent a key that no data was written under.
Result<Key> load_master_key(const std::string& path);

}  // namespace filingd::privacy
