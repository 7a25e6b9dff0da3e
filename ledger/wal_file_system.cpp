#include "ledger/wal_file_system.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string_view>
#include <thread>

namespace filingd {
namespace {

using rocksdb::FileOptions;
using rocksdb::FSWritableFile;
using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

// Zeros are written a chunk at a time, each followed by its own fdatasync (which commits the
// new file size once per chunk instead of once per append), and kept this far ahead of RocksDB.
constexpr std::uint64_t kChunk = 256 << 10;
constexpr std::uint64_t kAhead = 4 << 20;
alignas(4096) const char kZeros[kChunk] = {};

// RocksDB names its WAL files <number>.log.
bool is_wal(std::string_view fname) {
  const auto slash = fname.find_last_of('/');
  std::string_view base = slash == std::string_view::npos ? fname : fname.substr(slash + 1);
  if (!base.ends_with(".log") || base.size() == 4) return false;
  base.remove_suffix(4);
  return std::all_of(base.begin(), base.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool pwrite_all(int fd, const char* data, std::size_t size, std::uint64_t offset) {
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return true;
}

// A WAL file with a thread that keeps it zero-filled ahead of RocksDB's writes. The zeros are
// only ever written at or past RocksDB's end of file, with mu_ held, and RocksDB's writes hold
// mu_ too, so neither overwrites the other. If zeroing fails (a full disk), the file goes on as
// a plain WAL: zeros ahead are a speed-up, never needed for correctness.
class ZeroAheadWal final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  ZeroAheadWal(std::unique_ptr<FSWritableFile> file, std::string path, int fd)
      : FSWritableFileOwnerWrapper(std::move(file)), path_(std::move(path)), fd_(fd) {
    zeroer_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "ledger-walzero");
      zero_ahead();
    });
  }
  ~ZeroAheadWal() override {
    stop();
    ::close(fd_);
  }

  IOStatus Append(const Slice& data, const IOOptions& options, IODebugContext* dbg) override {
    std::unique_lock lock(mu_);
    IOStatus s = target()->Append(data, options, dbg);
    return appended(lock, data.size(), s);
  }
  IOStatus Append(const Slice& data, const IOOptions& options,
                  const rocksdb::DataVerificationInfo& info, IODebugContext* dbg) override {
    std::unique_lock lock(mu_);
    IOStatus s = target()->Append(data, options, info, dbg);
    return appended(lock, data.size(), s);
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& options,
                            IODebugContext* dbg) override {
    std::lock_guard lock(mu_);
    written_ = std::max(written_, offset + data.size());
    return target()->PositionedAppend(data, offset, options, dbg);
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& options,
                            const rocksdb::DataVerificationInfo& info,
                            IODebugContext* dbg) override {
    std::lock_guard lock(mu_);
    written_ = std::max(written_, offset + data.size());
    return target()->PositionedAppend(data, offset, options, info, dbg);
  }
  IOStatus Truncate(uint64_t size, const IOOptions& options, IODebugContext* dbg) override {
    std::lock_guard lock(mu_);
    written_ = size;
    zeroed_ = std::min(zeroed_, size);
    return target()->Truncate(size, options, dbg);
  }
  // Trims the zeros past RocksDB's end, whether or not RocksDB preallocated (and so trims).
  IOStatus Close(const IOOptions& options, IODebugContext* dbg) override {
    stop();
    const std::uint64_t size = target()->GetFileSize(options, dbg);
    IOStatus s = target()->Close(options, dbg);
    if (s.ok() && ::ftruncate(fd_, static_cast<off_t>(size)) != 0)
      spdlog::warn("cannot trim the zero tail of {}: {}", path_, std::strerror(errno));
    return s;
  }

 private:
  IOStatus appended(std::unique_lock<std::mutex>& lock, std::size_t n, const IOStatus& s) {
    written_ += n;
    const bool behind = zeroed_ < written_ + kAhead;
    lock.unlock();
    if (behind) cv_.notify_one();
    return s;
  }

  void zero_ahead() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stopping_ || zeroed_ < written_ + kAhead; });
      if (stopping_) return;
      const std::uint64_t at = std::max(zeroed_, written_);
      if (!pwrite_all(fd_, kZeros, kChunk, at)) break;
      lock.unlock();
      const bool synced = ::fdatasync(fd_) == 0;
      lock.lock();
      if (!synced) break;
      zeroed_ = std::max(zeroed_, at + kChunk);
    }
    spdlog::warn("{}: no longer zero-filled ahead ({}); appends fsync as usual", path_,
                 std::strerror(errno));
  }

  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    if (zeroer_.joinable()) zeroer_.join();
  }

  const std::string path_;
  const int fd_;  // the zeroer's own descriptor for the file
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t written_ = 0;  // guarded by mu_: RocksDB's end of file
  std::uint64_t zeroed_ = 0;   // guarded by mu_: zero-filled and synced up to here
  bool stopping_ = false;      // guarded by mu_
  std::thread zeroer_;
};

class WalFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  using FileSystemWrapper::FileSystemWrapper;
  static const char* kClassName() { return "FilingdWalFileSystem"; }
  const char* Name() const override { return kClassName(); }

  IOStatus NewWritableFile(const std::string& fname, const FileOptions& options,
                           std::unique_ptr<FSWritableFile>* result, IODebugContext* dbg) override {
    IOStatus s = target()->NewWritableFile(fname, options, result, dbg);
    if (!s.ok() || !is_wal(fname) || options.use_direct_writes) return s;
    const int fd = ::open(fname.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      spdlog::warn("{}: cannot open to zero-fill ({}); appends fsync as usual", fname,
                   std::strerror(errno));
      return s;
    }
    *result = std::make_unique<ZeroAheadWal>(std::move(*result), fname, fd);
    return s;
  }
};

}  // namespace

std::shared_ptr<rocksdb::FileSystem> zero_ahead_wal_file_system(
    std::shared_ptr<rocksdb::FileSystem> base) {
  return std::make_shared<WalFileSystem>(std::move(base));
}

}  // namespace filingd
