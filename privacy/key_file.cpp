#include "privacy/key_file.hpp"

#include "events/encoding.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <utility>

namespace filingd::privacy {

namespace {

constexpr std::size_t kKeyHex = 2 * kKeySize;
constexpr std::size_t kCheckBytes = 4;
constexpr std::size_t kCheckHex = 2 * kCheckBytes;
constexpr std::size_t kLineSize = kMasterKeyFileMagic.size() + 1 + kKeyHex + 1 + kCheckHex;
// Far more than a valid file, so an over-long file is reported rather than read whole.
constexpr std::size_t kMaxRead = 4096;

// Closes on scope exit: every early return below would otherwise need its own close().
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  int release() { return std::exchange(fd, -1); }
};

Error io_error(const char* what, const std::string& path, int err) {
  return make_error(ErrorCode::io,
                    std::string(what) + " master key file " + path + ": " + std::strerror(err));
}

Error bad_file(const std::string& path, const std::string& problem) {
  return make_error(ErrorCode::invalid, "master key file " + path + " " + problem);
}

// The check value's hex digits for `key` (see key_file.hpp).
Result<std::string> check_hex(const Key& key) {
  Result<Key> check = derive_key(key, kKeyCheckInfo);
  if (!check) return check.take_error();
  return to_hex(check->view().substr(0, kCheckBytes));
}

// "readable by group", "readable and writable by group and others", ... for the 077 bits.
std::string describe_access(mode_t mode) {
  const auto perms = [](mode_t bits) {
    std::string s;
    for (auto [bit, word] : {std::pair{4u, "readable"}, {2u, "writable"}, {1u, "executable"}}) {
      if ((bits & bit) == 0) continue;
      if (!s.empty()) s += " and ";
      s += word;
    }
    return s;
  };
  const std::string group = perms((mode >> 3) & 7), other = perms(mode & 7);
  if (group == other) return group + " by group and others";
  if (other.empty()) return group + " by group";
  if (group.empty()) return other + " by others";
  return group + " by group, " + other + " by others";
}

// Parses the file's text (see key_file.hpp). Reports where the text stops matching the format,
// never the characters found there.
Result<Key> parse(std::string_view text, const std::string& path) {
  if (text.empty()) return bad_file(path, "is empty");
  if (text.ends_with("\r\n")) {
    text.remove_suffix(2);
  } else if (text.ends_with('\n')) {
    text.remove_suffix(1);
  }
  const std::string expected = std::string("expected one line '") +
                               std::string(kMasterKeyFileMagic) +
                               " <64 hex digits> <8 hex digits>'";
  const std::size_t key_at = kMasterKeyFileMagic.size() + 1;
  const std::size_t check_at = key_at + kKeyHex + 1;
  for (std::size_t i = 0; i < text.size() && i < kLineSize; ++i) {
    bool ok = false;
    if (i < kMasterKeyFileMagic.size()) {
      ok = text[i] == kMasterKeyFileMagic[i];
    } else if (i == key_at - 1 || i == check_at - 1) {
      ok = text[i] == ' ';
    } else {
      ok = is_hex_digit(text[i]);
    }
    if (!ok) {
      return bad_file(path, "is malformed at column " + std::to_string(i + 1) + ": " + expected);
    }
  }
  if (text.size() < kLineSize) {
    return bad_file(path, "is truncated (" + std::to_string(text.size()) + " of " +
                              std::to_string(kLineSize) + " characters): " + expected);
  }
  if (text.size() > kLineSize)
    return bad_file(path, "is malformed: extra characters after the check value; " + expected);

  std::string raw = from_hex(text.substr(key_at, kKeyHex)).value_or(std::string());
  Result<Key> key = Key::from_bytes(raw);
  cleanse(raw);
  if (!key) return key.take_error();
  Result<std::string> check = check_hex(*key);
  if (!check) return check.take_error();
  std::string found(text.substr(check_at, kCheckHex));
  for (char& c : found) c = static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
  if (!constant_time_equal(found, *check)) {
    return bad_file(path,
                    "fails its check value: the key was altered or mistyped (restore it "
                    "from the backup)");
  }
  return key;
}

// Validates and reads an open file descriptor.
Result<Key> load_fd(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return io_error("cannot stat", path, errno);
  if (S_ISDIR(st.st_mode)) return bad_file(path, "is a directory");
  if (!S_ISREG(st.st_mode)) return bad_file(path, "is not a regular file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return make_error(ErrorCode::invalid, "master key file " + path + ": mode " + mode + " is " +
                                              describe_access(st.st_mode) + ": chmod 600 " + path);
  }
  std::string text(kMaxRead + 1, '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      cleanse(text);
      return io_error("cannot read", path, err);
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  Result<Key> key = got > kMaxRead ? Result<Key>(bad_file(path,
                                                          "is malformed: too large; one "
                                                          "line expected"))
                                   : parse(std::string_view(text).substr(0, got), path);
  cleanse(text);
  return key;
}

Status write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error(ErrorCode::io, std::strerror(errno));
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

// Makes the new directory entry durable: fsync of the file alone does not persist its name.
Status fsync_directory_of(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.fd < 0 || ::fsync(d.fd) != 0)
    return make_error(ErrorCode::io, "cannot fsync directory " + dir + ": " + std::strerror(errno));
  return {};
}

// Creates the file with a fresh key. EEXIST is returned as errno_out so the caller can load the
// file another process created in the meantime.
Result<Key> create(const std::string& path, int* errno_out) {
  *errno_out = 0;
  Result<Key> key = Key::random();
  if (!key) return key.take_error();
  Result<std::string> check = check_hex(*key);
  if (!check) return check.take_error();
  std::string line(kMasterKeyFileMagic);
  line.reserve(kLineSize + 1);
  line += ' ';
  line += to_hex(key->view());
  line += ' ';
  line += *check;
  line += '\n';

  Fd f(::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOCTTY, 0600));
  if (f.fd < 0) {
    *errno_out = errno;
    cleanse(line);
    return io_error("cannot create", path, *errno_out);
  }
  // fchmod: the umask may have narrowed 0600; the contract is exactly 0600.
  Status s;
  if (::fchmod(f.fd, 0600) != 0) {
    s = make_error(ErrorCode::io, std::strerror(errno));
  } else if (s = write_all(f.fd, line); s && ::fsync(f.fd) != 0) {
    s = make_error(ErrorCode::io, std::strerror(errno));
  }
  cleanse(line);
  if (s && ::close(f.release()) != 0) s = make_error(ErrorCode::io, std::strerror(errno));
  if (s) s = fsync_directory_of(path);
  if (!s) {
    // A half-written key file would be refused at every later start; no data can have been
    // sealed under this key yet, so removing it loses nothing.
    ::unlink(path.c_str());
    return make_error(ErrorCode::io,
                      "cannot create master key file " + path + ": " + s.error().message);
  }
  return key;
}

int open_for_read(const std::string& path) {
  // O_NONBLOCK: opening a FIFO placed at the path must not hang the start; fstat rejects it.
  return ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
}

}  // namespace

Result<LoadedKey> load_or_create_master_key(const std::string& path) {
  // Two rounds: if another process creates the file between our open and our O_EXCL create,
  // the second round loads what it wrote.
  for (int round = 0; round < 2; ++round) {
    const Fd f(open_for_read(path));
    if (f.fd >= 0) {
      Result<Key> key = load_fd(f.fd, path);
      if (!key) return key.take_error();
      return LoadedKey{std::move(*key), false};
    }
    if (errno != ENOENT) return io_error("cannot open", path, errno);
    int err = 0;
    Result<Key> key = create(path, &err);
    if (key) return LoadedKey{std::move(*key), true};
    if (err != EEXIST || round == 1) return key.take_error();
  }
  return make_error(ErrorCode::internal, "unreachable");
}

Result<Key> load_master_key(const std::string& path) {
  const Fd f(open_for_read(path));
  if (f.fd < 0) return io_error("cannot open", path, errno);
  return load_fd(f.fd, path);
}

}  // namespace filingd::privacy
