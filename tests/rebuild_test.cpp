#include <gtest/gtest.h>
#include <rocksdb/metadata.h>
#include <rocksdb/perf_context.h>
#include <rocksdb/perf_level.h>

#include <algorithm>
#include <filesystem>

#include "ledger/format/keys.hpp"
#include "replay/rebuild.hpp"
#include "tests/test_util.hpp"

namespace filingd {
namespace {

using test::action;
using test::submit;

// A mixed history: approvals, returns, resubmissions (one with a new domain), withdrawals,
// record numbers, a new_access naming a number the registry does not know.
void write_history(Ledger& ledger, int filings) {
  for (int n = 0; n < filings; ++n) {
    const std::string id = "F" + std::to_string(n);
    auto must = [&](AppendCommand c) {
      auto r = ledger.append(std::move(c));
      ASSERT_TRUE(r) << r.error().message;
    };
    must(submit(id, n));
    switch (n % 4) {
      case 0:
        must(action(id, InitialReviewRejected{{"rev", "name", "名称不符"}}));
        if (n % 8 == 0) {
          AppendCommand again = submit(id, n);
          std::get<FilingSubmitted>(again.data).websites[0].domains = {"again" + std::to_string(n) +
                                                                       ".cn"};
          must(std::move(again));
        } else {
          must(submit(id, n));
        }
        break;
      case 1:
        must(action(id, FilingWithdrawn{"撤回"}));
        if (n % 8 == 5) {
          AppendCommand access = submit(id + "A", n, FilingType::new_access);
          auto& f = std::get<FilingSubmitted>(access.data);
          f.existing_record_number = "京ICP备2019" + std::to_string(100000 + n) + "号";
          f.websites[0].record_number = f.existing_record_number + "-1";
          must(std::move(access));
        }
        break;
      default: {
        must(action(id, InitialReviewApproved{}));
        must(action(id, PhotoApproved{}));
        must(action(id, SubmittedToBureau{}));
        if (n % 4 == 3) break;
        must(action(id, SmsConfirmed{}));
        const std::string number = "京ICP备" + std::to_string(20260000 + n) + "号";
        const std::string domain = "site" + std::to_string(n) + ".cn";
        must(action(id, BureauApproved{number, {{domain, number + "-1"}}}));
      }
    }
  }
}

class RebuildOf : public testing::TestWithParam<int> {};

TEST_P(RebuildOf, EqualsTheIncrementalStateByteForByte) {
  const int filings = GetParam();
  test::TempDir dir;
  {
    auto ledger = Ledger::open({.data_dir = dir.str()});
    ASSERT_TRUE(ledger);
    write_history(**ledger, filings);
  }
  auto store = Store::open({.path = dir.str()});
  ASSERT_TRUE(store);
  auto incremental = projections_digest(**store);
  ASSERT_TRUE(incremental);
  auto incremental_tree = column_digest(**store, Cf::tree);
  ASSERT_TRUE(incremental_tree);
  auto stats = rebuild_projections(**store);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_GT(stats->events, static_cast<std::uint64_t>(filings));
  auto rebuilt = projections_digest(**store);
  ASSERT_TRUE(rebuilt);
  EXPECT_EQ(*rebuilt, *incremental);
  EXPECT_EQ(stats->digest, *incremental);  // taken as the entries were copied
  // The Merkle tree (SPEC §8), rebuilt from the log's hashes: the same stored hashes.
  EXPECT_EQ(*column_digest(**store, Cf::tree), *incremental_tree);
  EXPECT_NE(*incremental_tree, *column_digest(**store, Cf::meta));  // the digest sees the tree

  // Twice in a row: deterministic.
  ASSERT_TRUE(rebuild_projections(**store));
  EXPECT_EQ(*projections_digest(**store), *incremental);

  // A fold with no memory to spare writes to its scratch store after every event and reads
  // back what it wrote, with the same result.
  test::TempDir scratch;
  auto streamed = rebuild_projections(**store, {.memory_budget = 1, .scratch_dir = scratch.str()});
  ASSERT_TRUE(streamed) << streamed.error().message;
  EXPECT_EQ(streamed->events, stats->events);
  EXPECT_EQ(*projections_digest(**store), *incremental);
  EXPECT_EQ(streamed->digest, *incremental);
  EXPECT_TRUE(std::filesystem::is_empty(scratch.str()));
  // A scratch directory that cannot be used is refused, naming it, before anything is dropped.
  const std::string missing = scratch.str() + "/missing";
  auto refused = rebuild_projections(**store, {.scratch_dir = missing});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find(missing), std::string::npos) << refused.error().message;
  EXPECT_EQ(*projections_digest(**store), *incremental);
  auto marker = (*store)->get(Cf::meta, keys::kRebuildMarker);
  ASSERT_TRUE(marker);
  EXPECT_FALSE(marker->has_value());
  // Copied from the scratch store in key order: files in one level, for no compaction to merge.
  rocksdb::ColumnFamilyMetaData layout;
  (*store)->db()->GetColumnFamilyMetaData((*store)->cf(Cf::projections), &layout);
  EXPECT_EQ(std::count_if(layout.levels.begin(), layout.levels.end(),
                          [](const auto& level) { return !level.files.empty(); }),
            1);
  // Durable: flushed out of the memtable, which the writes reached without a WAL.
  std::uint64_t in_memtable = 1;
  ASSERT_TRUE((*store)->db()->GetIntProperty((*store)->cf(Cf::projections),
                                             "rocksdb.num-entries-active-mem-table", &in_memtable));
  EXPECT_EQ(in_memtable, 0u);
  // The list indexes are written once, from the final statuses: a list scan steps over no
  // deleted entry.
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
  rocksdb::get_perf_context()->Reset();
  rocksdb::ReadOptions ro;
  const rocksdb::Slice end("J");
  ro.iterate_upper_bound = &end;
  std::unique_ptr<rocksdb::Iterator> it(
      (*store)->db()->NewIterator(ro, (*store)->cf(Cf::projections)));
  std::size_t listed = 0;
  for (it->Seek("I"); it->Valid(); it->Next()) ++listed;
  EXPECT_GT(listed, static_cast<std::size_t>(filings));
  EXPECT_EQ(rocksdb::get_perf_context()->internal_delete_skipped_count, 0u);
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
}

INSTANTIATE_TEST_SUITE_P(Rebuild, RebuildOf, testing::Values(40, 250));

TEST(Rebuild, AnInterruptedRebuildKeepsTheLedgerClosedUntilFinished) {
  test::TempDir dir;
  {
    auto ledger = Ledger::open({.data_dir = dir.str()});
    ASSERT_TRUE(ledger);
    write_history(**ledger, 4);
  }
  {
    // What a crash between the marker and the end of the rebuild leaves behind.
    auto store = Store::open({.path = dir.str()});
    ASSERT_TRUE(store);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    ASSERT_TRUE((*store)->db()->Put(wo, (*store)->cf(Cf::meta), keys::kRebuildMarker, "").ok());
    ASSERT_TRUE((*store)->recreate(Cf::projections));
    EXPECT_TRUE(*rebuild_needed(**store));
  }
  auto refused = Ledger::open({.data_dir = dir.str()});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::unavailable);
  {
    auto store = Store::open({.path = dir.str()});
    ASSERT_TRUE(store);
    ASSERT_TRUE(rebuild_projections(**store));
    EXPECT_FALSE(*rebuild_needed(**store));
  }
  auto ledger = Ledger::open({.data_dir = dir.str()});
  ASSERT_TRUE(ledger);
  auto s = (*ledger)->status("F0");
  ASSERT_TRUE(s && *s);
  EXPECT_EQ((*s)->state, FilingState::provider_review);
}

TEST(Rebuild, DigestSeesAnyChange) {
  test::TempDir dir;
  {
    auto ledger = Ledger::open({.data_dir = dir.str()});
    ASSERT_TRUE(ledger);
    write_history(**ledger, 4);
  }
  auto store = Store::open({.path = dir.str()});
  ASSERT_TRUE(store);
  auto before = projections_digest(**store);
  ASSERT_TRUE(before);
  ASSERT_TRUE(
      (*store)->db()->Put(rocksdb::WriteOptions(), (*store)->cf(Cf::projections), "Sx", "y").ok());
  EXPECT_NE(*projections_digest(**store), *before);
  // The rebuild removes what the log does not justify.
  ASSERT_TRUE(rebuild_projections(**store));
  EXPECT_EQ(*projections_digest(**store), *before);
}

// Never a false "absent" (a fold would miss a spilled entry); few false "maybe"s at the size a
// fold gives it (an eighth of its budget) for the keys it holds.
TEST(SpilledKeys, KnowsEveryKeyAddedAndFewOthers) {
  SpilledKeys keys(std::size_t{64} << 10);  // 64 KiB: 524,288 bits
  for (int i = 0; i < 30'000; ++i) keys.add("Sfiling-" + std::to_string(i));
  for (int i = 0; i < 30'000; ++i) ASSERT_TRUE(keys.may_contain("Sfiling-" + std::to_string(i)));
  int false_positives = 0;
  for (int i = 30'000; i < 130'000; ++i)
    false_positives += keys.may_contain("Sfiling-" + std::to_string(i));
  EXPECT_LT(false_positives, 2'000);  // under 2 % at 17 bits a key
  SpilledKeys tiny(1);                // one block: a filter that admits nearly everything
  tiny.add("a");
  EXPECT_TRUE(tiny.may_contain("a"));
}

}  // namespace
}  // namespace filingd
