#include <gtest/gtest.h>
#include <rocksdb/iterator.h>
#include <rocksdb/table_properties.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "replay/sorted_runs.hpp"
#include "tests/test_util.hpp"

namespace filingd {
namespace {

std::map<std::string, std::string> contents(const Store& store, Cf cf) {
  std::map<std::string, std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(rocksdb::ReadOptions(), store.cf(cf)));
  for (it->SeekToFirst(); it->Valid(); it->Next())
    out.emplace(it->key().ToString(), it->value().ToString());
  return out;
}

// Entries in any order, over many runs (a small buffer): the column family ends up holding the
// last value put for each key, and no run file is left behind.
TEST(SortedRuns, TheLastPutOfAKeyWinsWithinAndAcrossRuns) {
  test::TempDir dir;
  auto store = Store::open({.path = dir.str()});
  ASSERT_TRUE(store) << store.error().message;
  SortedRuns runs(**store, Cf::streams, 200);  // a run every few entries
  std::map<std::string, std::string> expected;
  for (int i = 0; i < 300; ++i) {
    const std::string key = "k" + std::to_string((i * 37) % 101);  // keys repeat, out of order
    const std::string value = "v" + std::to_string(i);
    runs.put(key, value);
    expected[key] = value;
  }
  runs.put("k5", "again");  // twice in one run
  runs.put("k5", "last");
  expected["k5"] = "last";
  ASSERT_TRUE(runs.flush());
  EXPECT_EQ(contents(**store, Cf::streams), expected);
  for (const auto& entry : std::filesystem::directory_iterator(dir.str()))
    EXPECT_FALSE(entry.path().filename().string().starts_with("run-")) << entry.path();
}

// One run large enough to be sorted on two threads: a key put in both halves keeps the value
// put last.
TEST(SortedRuns, TheLastPutWinsAcrossTheHalvesOfALargeSort) {
  test::TempDir dir;
  auto store = Store::open({.path = dir.str()});
  ASSERT_TRUE(store) << store.error().message;
  SortedRuns runs(**store, Cf::streams, std::size_t{64} << 20);
  std::map<std::string, std::string> expected;
  for (int i = 0; i < 30'000; ++i) {
    const std::string key = "k" + std::to_string((i * 7919) % 10'007);  // each key ~3 times
    const std::string value = "v" + std::to_string(i);
    runs.put(key, value);
    expected[key] = value;
  }
  ASSERT_TRUE(runs.flush());
  EXPECT_EQ(contents(**store, Cf::streams), expected);
}

TEST(RunFile, WritesPutsAndDeletionsOverWhatIsThere) {
  test::TempDir dir;
  auto store = Store::open({.path = dir.str()});
  ASSERT_TRUE(store) << store.error().message;
  {
    RunFile first(**store, Cf::streams);
    first.put("a", "1");
    first.put("b", "2");
    ASSERT_TRUE(first.ingest());
  }
  RunFile second(**store, Cf::streams);
  second.del("a");
  second.put("c", "3");
  ASSERT_TRUE(second.ingest());
  EXPECT_EQ(contents(**store, Cf::streams),
            (std::map<std::string, std::string>{{"b", "2"}, {"c", "3"}}));
  RunFile unordered(**store, Cf::streams);
  unordered.put("z", "1");
  unordered.put("y", "2");  // out of order: refused by the table writer
  auto refused = unordered.ingest();
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("sorted run"), std::string::npos);
  EXPECT_EQ(contents(**store, Cf::streams).count("z"), 0u);  // nothing of it ingested
}

// verify's scratch store: its tables' index and filters live in its block cache, a few KiB at a
// time, so that what it holds outside the cache does not grow with what it stores.
TEST(RunFile, APartitionedStoreKeepsItsTablesMetadataInItsCache) {
  const auto readers_memory = [](const Store::Options& options) {
    auto store = Store::open(options);
    EXPECT_TRUE(store) << store.error().message;
    RunFile run(**store, Cf::projections);
    for (int i = 0; i < 50000; ++i) {
      char key[16];
      std::snprintf(key, sizeof key, "k%09d", i);
      run.put(key, "value");
    }
    EXPECT_TRUE(run.ingest());
    rocksdb::TablePropertiesCollection tables;
    EXPECT_TRUE(
        (*store)->db()->GetPropertiesOfAllTables((*store)->cf(Cf::projections), &tables).ok());
    EXPECT_EQ(tables.size(), 1u);
    for (const auto& [name, props] : tables) {
      EXPECT_EQ(props->index_partitions > 1, options.partitioned) << name;
      EXPECT_GT(props->filter_size, 0u) << name;
    }
    std::uint64_t bytes = 0;
    EXPECT_TRUE((*store)->db()->GetIntProperty((*store)->cf(Cf::projections),
                                               "rocksdb.estimate-table-readers-mem", &bytes));
    return bytes;
  };
  test::TempDir dir;
  const std::uint64_t apart = readers_memory({.path = dir.str(), .temporary = true});
  const std::uint64_t cached = readers_memory(
      {.path = dir.str(), .temporary = true, .block_cache_bytes = 1 << 20, .partitioned = true});
  EXPECT_GT(apart, 50000u);  // an index and a filter for 50,000 keys
  EXPECT_LT(cached * 10, apart);
}

}  // namespace
}  // namespace filingd
