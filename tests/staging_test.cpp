// Staging (ledger/store.hpp): the writes a batch hands RocksDB. A delete of a key the same batch
// put, which nothing below the batch holds, must reach RocksDB as nothing at all; every other
// delete as a tombstone.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <rocksdb/write_batch.h>

#include "ledger/store.hpp"
#include "test_util.hpp"

namespace filingd {
namespace {

// The batch's operations as "put key" / "del key".
class Ops : public rocksdb::WriteBatch::Handler {
 public:
  std::vector<std::string> ops;
  rocksdb::Status PutCF(uint32_t, const rocksdb::Slice& k, const rocksdb::Slice&) override {
    ops.push_back("put " + k.ToString());
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteCF(uint32_t, const rocksdb::Slice& k) override {
    ops.push_back("del " + k.ToString());
    return rocksdb::Status::OK();
  }
};

class StagingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Store::open({.path = dir_.str()});
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
  }
  std::vector<std::string> ops(const Staging& s) {
    rocksdb::WriteBatch b;
    s.write_to(b);
    Ops h;
    EXPECT_TRUE(b.Iterate(&h).ok());
    return h.ops;
  }
  void commit(const Staging& s) {
    rocksdb::WriteBatch b;
    s.write_to(b);
    ASSERT_TRUE(store_->db()->Write(rocksdb::WriteOptions(), &b).ok());
  }
  std::optional<std::string> read(const Staging& s, std::string_view key) {
    auto r = s.get(Cf::projections, key);
    EXPECT_TRUE(r);
    return r ? *r : std::nullopt;
  }
  using V = std::vector<std::string>;
  test::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(StagingTest, APutDeletedInItsBatchWritesNothing) {
  Staging batch(*store_);
  batch.put(Cf::projections, "a", "1");
  batch.del(Cf::projections, "a");
  EXPECT_EQ(read(batch, "a"), std::nullopt);
  EXPECT_EQ(ops(batch), V{});
  batch.put(Cf::projections, "a", "2");  // and put again: a put
  EXPECT_EQ(ops(batch), V{"put a"});
}

TEST_F(StagingTest, APutDeletedInASavepointOfItsBatchWritesNothing) {
  Staging batch(*store_);
  batch.put(Cf::projections, "a", "1");
  {
    Staging savepoint(batch, Staging::Over::savepoint);
    savepoint.del(Cf::projections, "a");
    EXPECT_EQ(read(savepoint, "a"), std::nullopt);
    savepoint.merge_into_parent();
  }
  EXPECT_EQ(read(batch, "a"), std::nullopt);
  EXPECT_EQ(ops(batch), V{});
}

TEST_F(StagingTest, ADroppedSavepointLeavesTheBatchsPut) {
  Staging batch(*store_);
  batch.put(Cf::projections, "a", "1");
  {
    Staging savepoint(batch, Staging::Over::savepoint);
    savepoint.del(Cf::projections, "a");
  }
  EXPECT_EQ(read(batch, "a"), "1");
  EXPECT_EQ(ops(batch), V{"put a"});
}

TEST_F(StagingTest, AKeyTheDatabaseHoldsIsDeletedByATombstone) {
  {
    Staging first(*store_);
    first.put(Cf::projections, "a", "1");
    commit(first);
  }
  Staging batch(*store_);
  batch.put(Cf::projections, "a", "2");
  batch.del(Cf::projections, "a");
  EXPECT_EQ(ops(batch), V{"del a"});
  Staging other(*store_);
  other.del(Cf::projections, "a");  // not staged at all
  EXPECT_EQ(ops(other), V{"del a"});
}

// Appended writes: kept by a merged savepoint, dropped with a dropped one, written in key order
// after the overlay's (each column family's keys in order), and never read back.
TEST_F(StagingTest, AppendedWritesFollowTheirSavepointAndReachTheBatchInKeyOrder) {
  Staging batch(*store_);
  EXPECT_TRUE(batch.empty());
  batch.append(Cf::log, "3", "c");
  EXPECT_FALSE(batch.empty());
  {
    Staging kept(batch, Staging::Over::savepoint);
    kept.append(Cf::log, "1", "a");
    kept.put(Cf::projections, "p", "1");
    kept.merge_into_parent();
  }
  {
    Staging dropped(batch, Staging::Over::savepoint);
    dropped.append(Cf::log, "2", "b");
  }
  batch.append(Cf::projections, "o", "2");
  EXPECT_EQ(read(batch, "o"), std::nullopt);  // not read back
  EXPECT_EQ(ops(batch), (V{"put p", "put 1", "put 3", "put o"}));
  commit(batch);
  auto stored = store_->get(Cf::log, "1");
  ASSERT_TRUE(stored);
  EXPECT_EQ(*stored, "a");
  auto absent = store_->get(Cf::log, "2");
  ASSERT_TRUE(absent);
  EXPECT_EQ(*absent, std::nullopt);
  batch.clear();
  EXPECT_TRUE(batch.empty());
}

// The batch below is written to the database before this one: its put needs the tombstone.
TEST_F(StagingTest, AKeyTheBatchBelowPutIsDeletedByATombstone) {
  Staging in_flight(*store_);
  in_flight.put(Cf::projections, "a", "1");
  Staging next(in_flight, Staging::Over::later_batch);
  next.put(Cf::projections, "a", "2");
  next.del(Cf::projections, "a");
  EXPECT_EQ(read(next, "a"), std::nullopt);
  EXPECT_EQ(ops(next), V{"del a"});
  commit(in_flight);
  next.detach();
  commit(next);
  Staging after(*store_);
  EXPECT_EQ(read(after, "a"), std::nullopt);
}

}  // namespace
}  // namespace filingd
