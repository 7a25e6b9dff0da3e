// A failed WAL write: no caller of the failed group commit, nor of one decided on top of it
// while it was being written (the writer pipelines batches), is told its append succeeded, and
// after a restart the ledger holds exactly what was acknowledged.
#include <gtest/gtest.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "test_util.hpp"

namespace filingd {
namespace {

using test::TempDir;

// Fails every WAL write while `failing` is set, writing nothing. (A failed fsync would not do:
// the record may still reach the disk, so such an append's outcome is unknown, not failed;
// a client learns it by retrying with the same event_id.)
class FailingWal final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FailingWal(std::unique_ptr<rocksdb::FSWritableFile> file, const std::atomic<bool>& failing)
      : FSWritableFileOwnerWrapper(std::move(file)), failing_(failing) {}
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* d) override {
    if (failing_) return rocksdb::IOStatus::IOError("injected WAL write failure");
    return FSWritableFileOwnerWrapper::Append(data, o, d);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           const rocksdb::DataVerificationInfo& v,
                           rocksdb::IODebugContext* d) override {
    if (failing_) return rocksdb::IOStatus::IOError("injected WAL write failure");
    return FSWritableFileOwnerWrapper::Append(data, o, v, d);
  }

 private:
  const std::atomic<bool>& failing_;
};

class FailingFs final : public rocksdb::FileSystemWrapper {
 public:
  FailingFs() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "FailingFs"; }
  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* file,
                                    rocksdb::IODebugContext* d) override {
    auto s = FileSystemWrapper::NewWritableFile(name, o, file, d);
    if (s.ok() && name.ends_with(".log"))
      *file = std::make_unique<FailingWal>(std::move(*file), failing);
    return s;
  }
  std::atomic<bool> failing{false};
};

TEST(LedgerWriteFailure, NoAppendOfAFailedOrDependentBatchIsAcknowledged) {
  TempDir dir;
  auto fs = std::make_shared<FailingFs>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  constexpr int kAppends = 200;
  {
    auto ledger = Ledger::open({.data_dir = dir.str(), .env = env.get()});
    ASSERT_TRUE(ledger) << ledger.error().message;
    ASSERT_TRUE((*ledger)->append(test::submit("F-ok", 0)));

    fs->failing = true;
    std::mutex mu;
    std::condition_variable cv;
    int answered = 0;
    std::vector<Result<AppendResult>> results(kAppends, make_error(ErrorCode::internal, "unset"));
    for (int i = 0; i < kAppends; ++i) {
      (*ledger)->append_async(test::submit("F-" + std::to_string(i), i + 1),
                              [&, i](Result<AppendResult> r) {
                                std::lock_guard lock(mu);
                                results[static_cast<std::size_t>(i)] = std::move(r);
                                ++answered;
                                cv.notify_one();
                              });
    }
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return answered == kAppends; }));
    for (int i = 0; i < kAppends; ++i) {
      const auto& r = results[static_cast<std::size_t>(i)];
      ASSERT_FALSE(r) << "append " << i << " was acknowledged although no write succeeded";
      EXPECT_EQ(r.error().code, ErrorCode::io) << r.error().message;
    }
    EXPECT_EQ((*ledger)->head().seq, Seq(1));
    EXPECT_GE((*ledger)->group_commits(), 1u);
  }
  fs->failing = false;
  auto reopened = Ledger::open({.data_dir = dir.str()});
  ASSERT_TRUE(reopened) << reopened.error().message;
  EXPECT_EQ((*reopened)->head().seq, Seq(1));
  auto ok = (*reopened)->status("F-ok");
  ASSERT_TRUE(ok && *ok);
  for (int i = 0; i < kAppends; ++i) {
    auto s = (*reopened)->status("F-" + std::to_string(i));
    ASSERT_TRUE(s);
    EXPECT_FALSE(*s) << "F-" << i << " was written although its append failed";
  }
  // The ledger is usable again once the disk is.
  EXPECT_TRUE((*reopened)->append(test::submit("F-after", kAppends + 1)));
}

}  // namespace
}  // namespace filingd
