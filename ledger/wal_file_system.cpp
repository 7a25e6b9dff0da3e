#include "ledger/wal_file_system.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <boost/crc.hpp>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace filingd {
namespace {

using rocksdb::FileOptions;
using rocksdb::FSSequentialFile;
using rocksdb::FSWritableFile;
using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

// Zeros are written a chunk at a time, each followed by its own fdatasync (which commits the
// new file size once per chunk instead of once per append), and kept this far ahead of RocksDB.
constexpr std::uint64_t kChunk = 256 << 10;
constexpr std::uint64_t kAhead = 4 << 20;
// Never written. Not const, so that it is in .bss rather than 256 KiB of the binary.
alignas(4096) char zeros[kChunk];

// RocksDB names its WAL files <number>.log.
bool is_wal(std::string_view fname) {
  const auto slash = fname.find_last_of('/');
  std::string_view base = slash == std::string_view::npos ? fname : fname.substr(slash + 1);
  if (!base.ends_with(".log") || base.size() == 4) return false;
  base.remove_suffix(4);
  return std::all_of(base.begin(), base.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// ---- reading: a prefix of the log ------------------------------------------------------------

// RocksDB's WAL format (db/log_format.h, log_writer.cc): 32 KiB blocks of records, each with a
// 7-byte header: masked CRC32C of type and payload (4, little-endian), payload length (2),
// type (1); a block's last bytes, when fewer than a header, are zero padding.
constexpr std::size_t kBlockSize = 32768;
constexpr std::size_t kHeaderSize = 7;
constexpr std::uint32_t kCrcMaskDelta = 0xa282ead8u;
using Crc32c = boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true>;

// How a WAL is read. A live reader (a secondary instance next to the writer) may catch a record
// half written, so it stops at any damage: it sees a prefix of the log. Recovery stops at a zero
// header only and leaves any other damage to RocksDB's own point-in-time rules, which also stop
// the replay of later WAL files after a corruption (a cut would look like a clean end).
enum class WalReads { recovery, live };

// How many bytes at the start of `block` (one block of a WAL, read from its block boundary) a
// reader gets, and whether it may go on after the block.
std::pair<std::size_t, bool> readable_prefix(std::string_view block, WalReads reads) {
  const auto* b = reinterpret_cast<const unsigned char*>(block.data());
  std::size_t at = 0;
  while (block.size() - at >= kHeaderSize) {
    const unsigned char* h = b + at;
    const std::uint32_t stored = h[0] | h[1] << 8 | h[2] << 16 | std::uint32_t{h[3]} << 24;
    const std::size_t length = h[4] | h[5] << 8;
    if (stored == 0 && length == 0 && h[6] == 0) return {at, false};  // zeros: nothing written
    bool intact = at + kHeaderSize + length <= block.size();
    if (intact) {
      Crc32c crc;
      crc.process_bytes(h + 6, 1 + length);
      const std::uint32_t c = crc.checksum();
      intact = ((c >> 15) | (c << 17)) + kCrcMaskDelta == stored;
    }
    if (!intact) {
      if (reads == WalReads::live) return {at, false};
      break;  // RocksDB's reader judges the rest of the block
    }
    at += kHeaderSize + length;
  }
  return {block.size(), block.size() == kBlockSize};
}

// A WAL file as RocksDB reads it, ended at its first zero header (and, for a live reader, at its
// first torn or unfinished record). Past RocksDB's writes a live (or crashed) WAL holds zeros,
// which RocksDB's reader skips a block at a time, taking up whatever follows them: a secondary
// could read a block while it was half written and then the next one after it was written, and
// so see a later group commit without an earlier one (or fail with "missing start of
// fragmented record"); a recovery could take up a record written back to disk after a crash
// past one that was not.
class PrefixWalReader final : public rocksdb::FSSequentialFileOwnerWrapper {
 public:
  PrefixWalReader(std::unique_ptr<FSSequentialFile> file, WalReads reads)
      : FSSequentialFileOwnerWrapper(std::move(file)), reads_(reads) {}

  IOStatus Read(size_t n, const IOOptions& options, Slice* result, char* scratch,
                IODebugContext* dbg) override {
    std::size_t out = 0;
    while (out < n) {
      if (at_ == block_.size()) {
        if (ended_) break;
        if (IOStatus s = next_block(options, dbg); !s.ok()) return s;
        continue;
      }
      const std::size_t k = std::min(n - out, block_.size() - at_);
      std::memcpy(scratch + out, block_.data() + at_, k);
      at_ += k;
      out += k;
    }
    *result = Slice(scratch, out);
    return IOStatus::OK();
  }

  IOStatus Skip(uint64_t n) override {
    std::string discard(kBlockSize, '\0');
    while (n > 0) {
      Slice got;
      const std::size_t k = static_cast<std::size_t>(std::min<uint64_t>(n, kBlockSize));
      if (IOStatus s = Read(k, IOOptions(), &got, discard.data(), nullptr); !s.ok()) return s;
      if (got.empty()) break;
      n -= got.size();
    }
    return IOStatus::OK();
  }

 private:
  IOStatus next_block(const IOOptions& options, IODebugContext* dbg) {
    block_.resize(kBlockSize);
    std::size_t got = 0;
    while (got < kBlockSize) {
      Slice r;
      IOStatus s = target()->Read(kBlockSize - got, options, &r, block_.data() + got, dbg);
      if (!s.ok()) return s;
      if (r.empty()) break;
      if (r.data() != block_.data() + got) std::memmove(block_.data() + got, r.data(), r.size());
      got += r.size();
    }
    block_.resize(got);
    const auto [readable, more] = readable_prefix(block_, reads_);
    block_.resize(readable);
    ended_ = !more;
    at_ = 0;
    return IOStatus::OK();
  }

  const WalReads reads_;
  std::string block_;   // the current block, cut to what is read of it
  std::size_t at_ = 0;  // read up to here
  bool ended_ = false;  // no block after this one is read
};

// ---- writing: zeros ahead ---------------------------------------------------------------------

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
// mu_ too, so neither overwrites the other. (Files with direct I/O, the only ones RocksDB
// writes at positions, are not wrapped.) If zeroing fails (a full disk), the file goes on as
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
      bool ok = pwrite_all(fd_, zeros, kChunk, at);
      lock.unlock();
      ok = ok && ::fdatasync(fd_) == 0;
      const int error = errno;
      lock.lock();
      if (!ok) {
        spdlog::warn("{}: no longer zero-filled ahead ({}); appends fsync as usual", path_,
                     std::strerror(error));
        return;
      }
      zeroed_ = std::max(zeroed_, at + kChunk);
    }
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
  WalFileSystem(std::shared_ptr<rocksdb::FileSystem> base, WalReads reads)
      : FileSystemWrapper(std::move(base)), reads_(reads) {}
  static const char* kClassName() { return "FilingdWalFileSystem"; }
  const char* Name() const override { return kClassName(); }

  IOStatus NewSequentialFile(const std::string& fname, const FileOptions& options,
                             std::unique_ptr<FSSequentialFile>* result,
                             IODebugContext* dbg) override {
    IOStatus s = target()->NewSequentialFile(fname, options, result, dbg);
    if (s.ok() && is_wal(fname) && !options.use_direct_reads)
      *result = std::make_unique<PrefixWalReader>(std::move(*result), reads_);
    return s;
  }

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

 private:
  const WalReads reads_;
};

}  // namespace

std::shared_ptr<rocksdb::FileSystem> wal_file_system(std::shared_ptr<rocksdb::FileSystem> base,
                                                     bool live_reader) {
  return std::make_shared<WalFileSystem>(std::move(base),
                                         live_reader ? WalReads::live : WalReads::recovery);
}

}  // namespace filingd
