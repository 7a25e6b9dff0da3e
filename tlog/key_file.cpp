// load_or_create_signing_key (declared in note.hpp): the daemon's Ed25519 key file.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "tlog/note.hpp"

namespace filingd::tlog {
namespace {

constexpr std::size_t kMaxKeyFileSize = 4096;  // a key string is about 100 bytes

Error file_error(ErrorCode code, const std::filesystem::path& path, const std::string& why) {
  return make_error(code, "signing key file " + path.string() + ": " + why);
}

Error errno_error(const std::filesystem::path& path, const char* what) {
  return file_error(ErrorCode::io, path, std::string(what) + ": " + std::strerror(errno));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

Status write_all(int fd, std::string_view bytes, const std::filesystem::path& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(path, "write");
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

Result<Signer> load(int raw_fd, const std::filesystem::path& path, std::string_view name) {
  Fd fd(raw_fd);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error(path, "fstat");
  if (!S_ISREG(st.st_mode)) return file_error(ErrorCode::invalid, path, "not a regular file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return file_error(ErrorCode::invalid, path,
                      std::string("has mode ") + mode +
                          ", which lets group or others at the private key; chmod 600 it");
  }
  std::string text(kMaxKeyFileSize + 1, '\0');
  std::size_t size = 0;
  while (size < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + size, text.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(path, "read");
    if (n == 0) break;
    size += static_cast<std::size_t>(n);
  }
  text.resize(size);
  Result<Signer> signer = make_error(ErrorCode::internal, "unset");
  if (size > kMaxKeyFileSize) {
    signer = file_error(ErrorCode::invalid, path, "too large for a key file");
  } else {
    std::string_view line = text;
    if (line.ends_with('\n')) line.remove_suffix(1);
    signer = Signer::parse(line);
    if (!signer)
      signer = file_error(ErrorCode::invalid, path,
                          "not an Ed25519 note private key (PRIVATE+KEY+<name>+<id>+<key>): " +
                              signer.error().message);
    else if (signer->name() != name)
      signer = file_error(
          ErrorCode::invalid, path,
          "holds the key named \"" + signer->name() + "\", not \"" + std::string(name) + "\"");
  }
  OPENSSL_cleanse(text.data(), text.size());
  return signer;
}

Status sync_directory(const std::filesystem::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) return errno_error(dir, "fsync of the directory");
  return {};
}

}  // namespace

Result<Signer> load_or_create_signing_key(const std::filesystem::path& path,
                                          std::string_view name) {
  if (!is_valid_key_name(name))
    return file_error(ErrorCode::invalid, path, "invalid key name \"" + std::string(name) + "\"");
  if (int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC); fd >= 0)
    return load(fd, path, name);
  if (errno == ELOOP) return file_error(ErrorCode::invalid, path, "is a symbolic link");
  if (errno != ENOENT) return errno_error(path, "open");

  auto signer = Signer::generate(name);
  if (!signer) return signer.take_error();
  std::string skey = signer->skey() + "\n";
  // Per-process name, so concurrent creators never touch each other's file. A crash may leave
  // one behind (an unused key, mode 0600); it is never read.
  const std::filesystem::path tmp = path.string() + "." + std::to_string(::getpid()) + ".tmp";
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) return errno_error(tmp, "create");
  Status st = write_all(fd.get(), skey, tmp);
  OPENSSL_cleanse(skey.data(), skey.size());
  // fchmod: the umask may have taken bits away (0600 is exact, whatever the umask).
  if (st && ::fchmod(fd.get(), 0600) != 0) st = errno_error(tmp, "fchmod");
  if (st && ::fsync(fd.get()) != 0) st = errno_error(tmp, "fsync");
  if (st && ::close(fd.release()) != 0) st = errno_error(tmp, "close");
  if (!st) {
    ::unlink(tmp.c_str());
    return st.take_error();
  }
  // link() never replaces: if another process created the key meanwhile, use that one.
  const bool linked = ::link(tmp.c_str(), path.c_str()) == 0;
  const int link_errno = errno;
  ::unlink(tmp.c_str());
  if (!linked) {
    if (link_errno != EEXIST) {
      errno = link_errno;
      return errno_error(path, "link");
    }
    if (int existing = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC); existing >= 0)
      return load(existing, path, name);
    return errno_error(path, "open");
  }
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  if (auto synced = sync_directory(dir); !synced) return synced.take_error();
  return signer;
}

}  // namespace filingd::tlog
