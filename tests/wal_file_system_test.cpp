// The zero-ahead WAL (ledger/wal_file_system.hpp) on a real RocksDB: the live WAL file is
// zero-filled past RocksDB's writes and RocksDB writes over those zeros, and neither recovery
// from a crash image nor a secondary opened next to the writer loses a record written there.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>

#include "ledger/store.hpp"
#include "tests/test_util.hpp"

namespace filingd {
namespace {

namespace fs = std::filesystem;

constexpr std::uintmax_t kMiB = 1 << 20;
constexpr std::size_t kBlock = 32768;  // RocksDB's WAL block

std::string key(int i) { return "record-" + std::to_string(1000000 + i); }
// 1,000 bytes, distinct per record, so that a record can be found in the WAL file.
std::string value(int i) {
  std::string v = "value-" + std::to_string(1000000 + i) + ":";
  v.resize(1000, static_cast<char>('a' + i % 26));
  return v;
}

// A write acknowledged as the ledger's are: after the WAL's fdatasync.
bool synced_put(Store& store, Cf cf, const std::string& k, const std::string& v) {
  rocksdb::WriteOptions sync;
  sync.sync = true;
  return store.db()->Put(sync, store.cf(cf), k, v).ok();
}

void put_records(Store& store, int from, int to) {
  for (int i = from; i < to; ++i) ASSERT_TRUE(synced_put(store, Cf::log, key(i), value(i)));
}

void expect_records(const Store& store, int n) {
  for (int i = 0; i < n; ++i) {
    auto got = store.get(Cf::log, key(i));
    ASSERT_TRUE(got && *got) << "record " << i << " of " << n << " is missing";
    ASSERT_EQ(**got, value(i));
  }
  auto past = store.get(Cf::log, key(n));
  ASSERT_TRUE(past);
  EXPECT_FALSE(*past);
}

// The newest WAL file in `dir`.
fs::path wal_file(const fs::path& dir) {
  fs::path newest;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".log" && entry.path().filename() > newest.filename())
      newest = entry.path();
  }
  return newest;
}

std::string read_file(const fs::path& f) {
  std::ifstream in(f, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& f, const std::string& bytes) {
  std::ofstream(f, std::ios::binary | std::ios::trunc) << bytes;
}

// The directory as a crash would leave it, if the store in it is open and idle.
void copy_while_open(const fs::path& from, const fs::path& to) {
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

// Waits (bounded) until the zeroer, a background thread, has filled `at_least` bytes.
std::string wal_of_at_least(const fs::path& dir, std::uintmax_t at_least) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    const fs::path wal = wal_file(dir);
    if (!wal.empty() && fs::file_size(wal) >= at_least) return read_file(wal);
    if (std::chrono::steady_clock::now() > give_up) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

bool all_zero(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; });
}

TEST(ZeroAheadWal, RocksDbWritesOverZerosFilledAheadOfIt) {
  test::TempDir dir;
  auto store = Store::open({.path = dir.str()});
  ASSERT_TRUE(store) << store.error().message;
  put_records(**store, 0, 10);
  // Zeros a few megabytes ahead of the ten records...
  std::string wal = wal_of_at_least(dir.path(), 4 * kMiB);
  ASSERT_FALSE(wal.empty()) << "the WAL was not zero-filled ahead";
  EXPECT_TRUE(all_zero(std::string_view(wal).substr(wal.size() - kMiB)));
  // ...which the next 2,000 records overwrite, from where the ten ended, instead of following.
  put_records(**store, 10, 2010);
  wal = read_file(wal_file(dir.path()));
  const auto last = wal.find(value(2009));
  ASSERT_NE(last, std::string::npos);
  EXPECT_LT(last, 3 * kMiB);
  EXPECT_TRUE(all_zero(std::string_view(wal).substr(last + 1000, kMiB)));
}

TEST(ZeroAheadWal, RecoveryFromACrashImageReadsEveryRecordBeforeTheZeros) {
  test::TempDir dir;
  test::TempDir crashed;
  {
    auto store = Store::open({.path = dir.str()});
    ASSERT_TRUE(store) << store.error().message;
    put_records(**store, 0, 500);
    ASSERT_FALSE(wal_of_at_least(dir.path(), 4 * kMiB).empty());
    // The directory as a crash would leave it: synced records, then zeros, never closed.
    copy_while_open(dir.path(), crashed.path());
    const std::string wal = read_file(wal_file(crashed.path()));
    ASSERT_GE(wal.size(), 4 * kMiB);
    ASSERT_TRUE(all_zero(std::string_view(wal).substr(wal.size() - kMiB)));
  }
  auto recovered = Store::open({.path = crashed.str()});
  ASSERT_TRUE(recovered) << recovered.error().message;
  expect_records(**recovered, 500);
  put_records(**recovered, 500, 600);  // and it goes on from there
  expect_records(**recovered, 600);
}

// A secondary that read the WAL's first block while it held ten records and then zeros, and the
// rest of the file after 2,000 more had been written over the zeros: it must see the ten and
// nothing after them (RocksDB alone skips the zeros and takes up the later records, or fails).
// Recovery from such a file is the same read.
TEST(ZeroAheadWal, AReaderStopsAtTheZerosEvenIfRecordsFollowThem) {
  test::TempDir dir;
  test::TempDir early;
  std::string late_wal;
  {
    auto store = Store::open({.path = dir.str()});
    ASSERT_TRUE(store) << store.error().message;
    put_records(**store, 0, 10);
    ASSERT_FALSE(wal_of_at_least(dir.path(), 4 * kMiB).empty());
    copy_while_open(dir.path(), early.path());
    put_records(**store, 10, 2010);
    late_wal = read_file(wal_file(dir.path()));
  }
  // (The store above closed cleanly: its WAL is trimmed, but holds every record.)
  const fs::path wal = wal_file(early.path());
  std::string spliced = read_file(wal);
  ASSERT_GT(late_wal.size(), 2 * kBlock);
  ASSERT_NE(spliced.substr(0, kBlock), late_wal.substr(0, kBlock));
  spliced.replace(kBlock, std::string::npos, late_wal.substr(kBlock));
  ASSERT_NE(spliced.find(value(1500)), std::string::npos);
  write_file(wal, spliced);

  auto secondary = Store::open({.path = early.str(), .secondary = true});
  ASSERT_TRUE(secondary) << secondary.error().message;
  expect_records(**secondary, 10);
  secondary->reset();
  auto recovered = Store::open({.path = early.str()});
  ASSERT_TRUE(recovered) << recovered.error().message;
  expect_records(**recovered, 10);
}

// Damage other than zeros stays RocksDB's to judge in recovery: its point-in-time rule stops at
// a corrupt record and replays no later WAL file. (Were the first file cut there, it would end
// cleanly, and the second would be replayed on top: the records after the damage missing, later
// ones present.)
TEST(ZeroAheadWal, RecoveryStopsAtACorruptRecordAndReplaysNoLaterWal) {
  test::TempDir dir;
  test::TempDir crashed;
  fs::path first_wal;
  {
    auto store = Store::open({.path = dir.str()});
    ASSERT_TRUE(store) << store.error().message;
    ASSERT_TRUE(synced_put(**store, Cf::streams, "k", "v"));
    put_records(**store, 0, 100);
    first_wal = wal_file(dir.path()).filename();
    // A flush of one column family starts a new WAL; the first stays, the log's records in it.
    ASSERT_TRUE((*store)->db()->Flush(rocksdb::FlushOptions(), (*store)->cf(Cf::streams)).ok());
    put_records(**store, 100, 200);
    ASSERT_NE(wal_file(dir.path()).filename(), first_wal);
    copy_while_open(dir.path(), crashed.path());
  }
  const fs::path wal = crashed.path() / first_wal;
  std::string bytes = read_file(wal);
  const auto at = bytes.find(value(50));
  ASSERT_NE(at, std::string::npos);
  bytes[at + 500] ^= 0x20;
  write_file(wal, bytes);

  // RocksDB 7.8 refuses to open: the flushed column family is ahead of the damaged WAL. A later
  // RocksDB might recover the records before the damage instead; never more.
  auto recovered = Store::open({.path = crashed.str()});
  if (!recovered) {
    EXPECT_NE(recovered.error().message.find("Corruption"), std::string::npos)
        << recovered.error().message;
    return;
  }
  expect_records(**recovered, 50);
  for (int i = 100; i < 200; i += 33) {
    auto later = (*recovered)->get(Cf::log, key(i));
    ASSERT_TRUE(later);
    EXPECT_FALSE(*later) << "record " << i << " replayed past the damage";
  }
}

// What filingctl does next to a running daemon: each command opens its own secondary.
TEST(ZeroAheadWal, ASecondarySeesEveryRecordBeforeTheZeros) {
  test::TempDir dir;
  auto primary = Store::open({.path = dir.str()});
  ASSERT_TRUE(primary) << primary.error().message;
  put_records(**primary, 0, 10);
  ASSERT_FALSE(wal_of_at_least(dir.path(), 4 * kMiB).empty());
  auto first = Store::open({.path = dir.str(), .secondary = true});
  ASSERT_TRUE(first) << first.error().message;
  expect_records(**first, 10);
  put_records(**primary, 10, 2010);  // over the zeros the first secondary has read
  auto second = Store::open({.path = dir.str(), .secondary = true});
  ASSERT_TRUE(second) << second.error().message;
  expect_records(**second, 2010);
  expect_records(**first, 10);  // its view stays where it was opened
}

}  // namespace
}  // namespace filingd
