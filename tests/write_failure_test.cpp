// The WAL under the ledger, made to fail or to wait. A failed WAL write: no caller of the failed
// group commit, nor of one decided on top of it while it was being written (the writer pipelines
// batches), is told its append succeeded, and after a restart the ledger holds exactly what was
// acknowledged. A failed or held WAL sync: nobody sees or is told of what it did not cover.
#include <gtest/gtest.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "daemon/api.hpp"
#include "ledger/personal_data.hpp"
#include "test_util.hpp"

namespace filingd {
namespace {

using test::TempDir;

// What the WAL files of a ledger do: fail writes, fail syncs, or hold syncs until released.
// (A failed fsync is not a failed write: the record may still reach the disk, so such an
// append's outcome is unknown; a client learns it by retrying with the same event_id.)
struct WalControl {
  std::atomic<bool> fail_writes{false};
  std::atomic<bool> fail_syncs{false};

  void hold_syncs() {
    std::lock_guard lock(mu);
    holding = true;
  }
  void release_syncs() {
    {
      std::lock_guard lock(mu);
      holding = false;
    }
    cv.notify_all();
  }
  // Until a sync is being held, or the timeout.
  bool wait_for_held_sync(std::chrono::seconds timeout) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, [&] { return held > 0; });
  }
  rocksdb::IOStatus on_sync() {
    if (fail_syncs) return rocksdb::IOStatus::IOError("injected WAL sync failure");
    std::unique_lock lock(mu);
    ++held;
    cv.notify_all();
    cv.wait(lock, [&] { return !holding; });
    --held;
    return rocksdb::IOStatus::OK();
  }

  std::mutex mu;
  std::condition_variable cv;
  bool holding = false;  // guarded by mu
  int held = 0;          // guarded by mu: syncs waiting for release_syncs()
};

class ControlledWal final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  ControlledWal(std::unique_ptr<rocksdb::FSWritableFile> file, WalControl& control)
      : FSWritableFileOwnerWrapper(std::move(file)), control_(control) {}
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* d) override {
    if (control_.fail_writes) return rocksdb::IOStatus::IOError("injected WAL write failure");
    return FSWritableFileOwnerWrapper::Append(data, o, d);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           const rocksdb::DataVerificationInfo& v,
                           rocksdb::IODebugContext* d) override {
    if (control_.fail_writes) return rocksdb::IOStatus::IOError("injected WAL write failure");
    return FSWritableFileOwnerWrapper::Append(data, o, v, d);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* d) override {
    if (auto s = control_.on_sync(); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::Sync(o, d);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* d) override {
    if (auto s = control_.on_sync(); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::Fsync(o, d);
  }

 private:
  WalControl& control_;
};

class ControlledFs final : public rocksdb::FileSystemWrapper {
 public:
  ControlledFs() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "ControlledFs"; }
  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* file,
                                    rocksdb::IODebugContext* d) override {
    auto s = FileSystemWrapper::NewWritableFile(name, o, file, d);
    if (s.ok() && name.ends_with(".log"))
      *file = std::make_unique<ControlledWal>(std::move(*file), wal);
    return s;
  }
  WalControl wal;
};

// A ledger directory on a file system whose WAL the test controls (fs->wal).
struct ControlledDisk {
  TempDir dir;
  std::shared_ptr<ControlledFs> fs = std::make_shared<ControlledFs>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  Ledger::Options options() const { return {.data_dir = dir.str(), .env = env.get()}; }
};

// /readyz says 503 while the ledger cannot be written: a load balancer stops sending appends to
// a daemon whose disk failed, instead of every append failing behind a 200.
TEST(LedgerWriteFailure, ReadinessFailsWhileTheLedgerCannotBeWritten) {
  ControlledDisk disk;
  auto ledger = Ledger::open(disk.options());
  ASSERT_TRUE(ledger) << ledger.error().message;
  SystemClock clock;
  WorkCalendar calendar;
  Api api(Authenticator({}), calendar, clock);
  api.attach_ledger(**ledger);
  api.context().readiness.set(Readiness::Phase::serving);
  ASSERT_TRUE((*ledger)->append(test::submit("F-ok", 0)));
  EXPECT_TRUE((*ledger)->writable());
  EXPECT_EQ(test::call_api(api, {"GET", "/readyz"}).status, 200);

  disk.fs->wal.fail_writes = true;
  EXPECT_FALSE((*ledger)->append(test::submit("F-bad", 1)));
  EXPECT_FALSE((*ledger)->writable());
  const HttpResponse r = test::call_api(api, {"GET", "/readyz"});
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_NE(r.body.find("cannot be written"), std::string::npos) << r.body;
}

TEST(LedgerWriteFailure, NoAppendOfAFailedOrDependentBatchIsAcknowledged) {
  ControlledDisk disk;
  constexpr int kAppends = 200;
  {
    auto ledger = Ledger::open(disk.options());
    ASSERT_TRUE(ledger) << ledger.error().message;
    ASSERT_TRUE((*ledger)->append(test::submit("F-ok", 0)));

    disk.fs->wal.fail_writes = true;
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
  disk.fs->wal.fail_writes = false;
  auto reopened = Ledger::open({.data_dir = disk.dir.str()});
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

// A data key made in a group commit whose write failed was never stored: it must not stay in the
// keyring's cache, where the subject's next filing (here through the same keyring, in a ledger
// opened again) would take it and be sealed under a key that no restart can find.
TEST(LedgerWriteFailure, ADataKeyOfAFailedWriteIsNotUsedAfterIt) {
  ControlledDisk disk;
  const privacy::Key master = *privacy::Key::random();
  Ledger::Options options = disk.options();
  options.keyring = test::keyring_of(master);
  {
    auto ledger = Ledger::open(options);
    ASSERT_TRUE(ledger) << ledger.error().message;
    disk.fs->wal.fail_writes = true;
    ASSERT_FALSE((*ledger)->append(test::individual("F1", 1)));
  }
  disk.fs->wal.fail_writes = false;
  {
    auto ledger = Ledger::open(options);
    ASSERT_TRUE(ledger) << ledger.error().message;
    ASSERT_TRUE((*ledger)->append(test::individual("F1", 1)));
  }
  options.keyring = test::keyring_of(master);  // nothing cached
  auto ledger = Ledger::open(options);
  ASSERT_TRUE(ledger) << ledger.error().message;
  auto s = (*ledger)->status("F1");
  ASSERT_TRUE(s && *s);
  FilingStatus status = **s;
  PersonalData((*ledger)->store(), (*ledger)->keyring()).open(status);
  EXPECT_EQ(status.subject.name, test::person(1).name);
}

// Until the fsync of a batch's WAL record returns, no reader sees the batch and its caller has
// no answer: a reader never sees what a power failure could take back.
TEST(LedgerDurability, ReadersSeeABatchOnlyOnceItsWalIsSynced) {
  ControlledDisk disk;
  auto ledger = Ledger::open(disk.options());
  ASSERT_TRUE(ledger) << ledger.error().message;
  ASSERT_TRUE((*ledger)->append(test::submit("F-1", 1)));

  disk.fs->wal.hold_syncs();
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Result<AppendResult>> answer;
  (*ledger)->append_async(test::submit("F-2", 2), [&](Result<AppendResult> r) {
    std::lock_guard lock(mu);
    answer = std::move(r);
    cv.notify_one();
  });
  ASSERT_TRUE(disk.fs->wal.wait_for_held_sync(std::chrono::seconds(30)));
  {
    std::lock_guard lock(mu);
    EXPECT_FALSE(answer) << "answered before the WAL sync";
  }
  auto before = (*ledger)->status("F-2");
  ASSERT_TRUE(before);
  EXPECT_FALSE(*before) << "a reader saw a batch whose WAL sync has not returned";
  EXPECT_EQ((*ledger)->head().seq, Seq(1));
  auto events = (*ledger)->events_after(Seq(0), 10);
  ASSERT_TRUE(events);
  EXPECT_EQ(events->size(), 1u);

  disk.fs->wal.release_syncs();
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return answer.has_value(); }));
  ASSERT_TRUE(*answer) << answer->error().message;
  EXPECT_EQ((**answer).seq, Seq(2));
  auto after = (*ledger)->status("F-2");
  ASSERT_TRUE(after && *after);
  EXPECT_EQ((*ledger)->head().seq, Seq(2));
}

// After a failed WAL sync, the record it did not cover may or may not be on disk. Deciding on
// from the last durable head would give its seq to another event, and a restart could then
// replay both: RocksDB stops writing after a failed sync, so no append is acknowledged until a
// restart, and the restarted ledger is whole (a gapless chain with or without the unknown one).
TEST(LedgerWriteFailure, AfterAFailedWalSyncNothingIsAcknowledgedUntilRestart) {
  ControlledDisk disk;
  {
    auto ledger = Ledger::open(disk.options());
    ASSERT_TRUE(ledger) << ledger.error().message;
    ASSERT_TRUE((*ledger)->append(test::submit("F-ok", 0)));
    disk.fs->wal.fail_syncs = true;
    auto unknown = (*ledger)->append(test::submit("F-unknown", 1));
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().code, ErrorCode::io) << unknown.error().message;
    disk.fs->wal.fail_syncs = false;
    auto refused = (*ledger)->append(test::submit("F-refused", 2));
    ASSERT_FALSE(refused) << "acknowledged after a failed WAL sync";
    EXPECT_EQ(refused.error().code, ErrorCode::io) << refused.error().message;
    EXPECT_EQ((*ledger)->head().seq, Seq(1));
  }
  auto reopened = Ledger::open({.data_dir = disk.dir.str()});
  ASSERT_TRUE(reopened) << reopened.error().message;
  const Seq head = (*reopened)->head().seq;
  EXPECT_TRUE(head == Seq(1) || head == Seq(2)) << head.value;
  auto refused = (*reopened)->status("F-refused");
  ASSERT_TRUE(refused);
  EXPECT_FALSE(*refused) << "written although it was refused";
  auto events = (*reopened)->events_after(Seq(0), 10);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), head.value);
  for (std::size_t i = 0; i < events->size(); ++i)
    EXPECT_EQ((*events)[i].seq, Seq(i + 1)) << "the log is not gapless";
  EXPECT_TRUE((*reopened)->append(test::submit("F-after", 3)));
}

}  // namespace
}  // namespace filingd
