// The ledger's Merkle tree (SPEC §8): kept in each append's batch, equal to a rebuild from the
// log, proving every event's inclusion and every pair of sizes consistent, resumed after a
// restart, and checked by verify (a damaged tree, a checkpoint the log no longer extends).
#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <thread>

#include "ledger/format/keys.hpp"
#include "ledger/tree.hpp"
#include "replay/open.hpp"
#include "replay/rebuild.hpp"
#include "replay/verify.hpp"
#include "tests/audit_util.hpp"
#include "tlog/merkle.hpp"

namespace filingd {
namespace {

// Appends `n` submissions through append_async, all in flight at once: several group commits.
void append_concurrently(Ledger& ledger, int first, int n) {
  std::latch done(n);
  for (int i = first; i < first + n; ++i)
    ledger.append_async(test::submit("T-" + std::to_string(i), i), [&](Result<AppendResult> r) {
      EXPECT_TRUE(r) << r.error().message;
      done.count_down();
    });
  done.wait();
}

// Every event of the tree of `size`: its inclusion proof checks against the root.
void expect_every_event_included(Ledger& ledger, const tlog::Hash& root, std::int64_t size) {
  auto reader = ledger.tree_reader();
  auto events = ledger.events_after(Seq(0), static_cast<std::size_t>(size));
  ASSERT_TRUE(events);
  ASSERT_EQ(static_cast<std::int64_t>(events->size()), size);
  for (const Event& e : *events) {
    const std::int64_t index = static_cast<std::int64_t>(e.seq.value) - 1;
    auto proof = tlog::prove_record(size, index, reader);
    ASSERT_TRUE(proof) << proof.error().message;
    EXPECT_TRUE(tlog::check_record(*proof, size, root, index, tlog::record_hash(e.hash)))
        << "seq " << e.seq.value;
    // The proof is bound to the event: another event's leaf does not check.
    EXPECT_FALSE(tlog::check_record(*proof, size, root, index, tlog::record_hash(Hash{})));
  }
}

TEST(MerkleTree, EachAppendAddsItsEventAsTheNextLeaf) {
  test::TempDir dir;
  auto ledger = Ledger::open({.data_dir = dir.str()});
  ASSERT_TRUE(ledger);
  EXPECT_EQ((*ledger)->tree_head().size, 0);
  EXPECT_EQ((*ledger)->tree_head().root, tlog::empty_tree_hash());

  std::vector<TreeHead> heads;
  for (int round = 0; round < 4; ++round) {
    append_concurrently(**ledger, round * 50, 50);
    heads.push_back((*ledger)->tree_head());
    EXPECT_EQ(heads.back().size, static_cast<std::int64_t>((*ledger)->head().seq.value));
    auto stored = tlog::tree_hash(heads.back().size, (*ledger)->tree_reader());
    ASSERT_TRUE(stored) << stored.error().message;
    EXPECT_EQ(*stored, heads.back().root) << "the root in memory is not the stored tree's";
  }
  expect_every_event_included(**ledger, heads.back().root, heads.back().size);
  // Every later tree extends every earlier one.
  for (std::size_t a = 0; a < heads.size(); ++a)
    for (std::size_t b = a; b < heads.size(); ++b) {
      auto proof = tlog::prove_tree(heads[b].size, heads[a].size, (*ledger)->tree_reader());
      ASSERT_TRUE(proof);
      EXPECT_TRUE(
          tlog::check_tree(*proof, heads[b].size, heads[b].root, heads[a].size, heads[a].root));
    }
}

TEST(MerkleTree, ARefusedAppendAddsNoLeaf) {
  test::TempDir dir;
  auto ledger = Ledger::open({.data_dir = dir.str()});
  ASSERT_TRUE(ledger);
  ASSERT_TRUE((*ledger)->append(test::submit("R-1", 1)));
  const TreeHead before = (*ledger)->tree_head();
  EXPECT_FALSE((*ledger)->append(test::submit("R-1", 1)));  // exists: refused
  EXPECT_FALSE((*ledger)->append(test::action("R-9", PhotoApproved{})));
  ASSERT_TRUE((*ledger)->append(test::action("R-1", InitialReviewApproved{})));
  const TreeHead after = (*ledger)->tree_head();
  EXPECT_EQ(after.size, before.size + 1);
  auto stored = tlog::tree_hash(after.size, (*ledger)->tree_reader());
  ASSERT_TRUE(stored);
  EXPECT_EQ(*stored, after.root);
}

// A hash derived from its index, so a reader can tell a torn or misplaced one.
tlog::Hash hash_of(std::int64_t index) {
  tlog::Hash h;
  for (std::size_t i = 0; i < h.size(); ++i)
    h[i] = static_cast<std::uint8_t>((index * 131 + static_cast<std::int64_t>(i) * 7) & 0xff);
  return h;
}

TEST(TreeCache, KeepsTheHigherLevelOfTwoCompetingHashes) {
  TreeCache cache;
  // More hashes than the cache holds, of every level: after them, the top levels are all there.
  std::vector<std::int64_t> high;
  for (std::int64_t n = 0; n < 300'000; ++n) {
    for (int level = 0; level < 20; ++level) {
      if ((n >> level) << level != n) break;
      auto index = tlog::stored_hash_index(level, n >> level);
      ASSERT_TRUE(index);
      cache.insert(*index, hash_of(*index));
      if (level >= 8) high.push_back(*index);
    }
  }
  tlog::Hash got;
  for (std::int64_t index : high) {
    ASSERT_TRUE(cache.find(index, got)) << index;
    EXPECT_EQ(got, hash_of(index));
  }
  EXPECT_FALSE(cache.find(-5, got));
}

TEST(TreeCache, ReadersRacingWritersNeverSeeATornOrWrongHash) {
  TreeCache cache;
  constexpr std::int64_t kIndexes = 1 << 18;  // twice the cache: writers keep evicting
  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> hits{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w)
    threads.emplace_back([&, w] {
      for (std::int64_t i = w; !stop.load(); i = (i + 2) % kIndexes) cache.insert(i, hash_of(i));
    });
  std::atomic<int> bad{0};
  for (int r = 0; r < 2; ++r)
    threads.emplace_back([&, r] {
      tlog::Hash got;
      for (std::int64_t round = 0; round < 2'000'000; ++round) {
        const std::int64_t i = (round * 7919 + r) % kIndexes;
        if (!cache.find(i, got)) continue;
        ++hits;
        if (got != hash_of(i)) ++bad;
      }
    });
  for (std::size_t t = 2; t < threads.size(); ++t) threads[t].join();
  stop = true;
  threads[0].join();
  threads[1].join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(hits.load(), 0);
}

TEST(MerkleTree, ResumesAfterARestartAndEqualsARebuild) {
  test::TempDir dir;
  {
    auto ledger = Ledger::open({.data_dir = dir.str()});
    ASSERT_TRUE(ledger);
    append_concurrently(**ledger, 0, 77);  // an odd size: a ragged right edge
  }
  TreeHead head;
  {
    auto ledger = Ledger::open({.data_dir = dir.str()});
    ASSERT_TRUE(ledger);
    EXPECT_EQ((*ledger)->tree_head().size, 77);
    append_concurrently(**ledger, 77, 60);
    head = (*ledger)->tree_head();
    expect_every_event_included(**ledger, head.root, head.size);
  }
  auto store = Store::open({.path = dir.str()});
  ASSERT_TRUE(store);
  auto incremental = column_digest(**store, Cf::tree);
  ASSERT_TRUE(incremental);
  auto leaves = rebuild_tree(**store);
  ASSERT_TRUE(leaves) << leaves.error().message;
  EXPECT_EQ(*leaves, 137u);
  EXPECT_EQ(*column_digest(**store, Cf::tree), *incremental);
  auto rebuilt_root = tlog::tree_hash(137, tree_reader(**store));
  ASSERT_TRUE(rebuilt_root);
  EXPECT_EQ(*rebuilt_root, head.root);
}

// A block being filled is written again by each batch that adds to it: reopened at 21 events, the
// ledger goes on from the record of events 17 to 21, and one that lost a hash refuses to open.
TEST(MerkleTree, ABlockBeingFilledIsResumedAndADamagedOneRefusesTheOpen) {
  test::TempDir dir;
  {
    auto ledger = Ledger::open({.data_dir = dir.str()});
    ASSERT_TRUE(ledger);
    append_concurrently(**ledger, 0, 21);
  }
  std::string record;
  {
    auto store = test::open_raw(dir);
    record = test::raw_get(*store, Cf::tree, keys::tree_block(1));
    const auto hashes = *tlog::stored_hash_index(0, 21) - *tlog::stored_hash_index(0, 16);
    ASSERT_EQ(record.size(), static_cast<std::size_t>(hashes) * tlog::kHashSize);
    test::raw_put(*store, Cf::tree, keys::tree_block(1), record.substr(tlog::kHashSize));
  }
  auto refused = Ledger::open({.data_dir = dir.str()});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("Merkle tree is damaged"), std::string::npos)
      << refused.error().message;
  {
    auto store = test::open_raw(dir);
    test::raw_put(*store, Cf::tree, keys::tree_block(1), record);
  }
  auto ledger = Ledger::open({.data_dir = dir.str()});
  ASSERT_TRUE(ledger) << ledger.error().message;
  append_concurrently(**ledger, 21, 30);
  const TreeHead head = (*ledger)->tree_head();
  ASSERT_EQ(head.size, 51);
  expect_every_event_included(**ledger, head.root, head.size);
}

class TreeVerify : public testing::Test {
 protected:
  void SetUp() override { head_ = test::make_audit_ledger(dir_, 12); }

  VerifyReport verify(VerifyOptions options = {}) { return test::verify_dir(dir_, options); }
  TreeHead tree_at(std::int64_t size) {
    auto store = open_for_reading(dir_.str());
    auto root = tlog::tree_hash(size, tree_reader(**store));
    EXPECT_TRUE(root);
    return TreeHead{size, root ? *root : tlog::Hash{}};
  }
  static bool mentions(const VerifyReport& r, std::string_view what) {
    for (const auto& p : r.problems)
      if (p.what.find(what) != std::string::npos) return true;
    return false;
  }

  test::TempDir dir_;
  LedgerHead head_;
};

TEST_F(TreeVerify, TheRootIsReportedAndAStoredHashChangeIsNamed) {
  const VerifyReport clean = verify();
  ASSERT_TRUE(clean.ok());
  EXPECT_EQ(clean.tree_root, tree_at(static_cast<std::int64_t>(head_.seq.value)).root);
  {
    auto store = test::open_raw(dir_);
    // Block 0 holds the 31 stored hashes of events 1 to 16; stored hash 10 is its 11th.
    std::string block = test::raw_get(*store, Cf::tree, keys::tree_block(0));
    ASSERT_EQ(block.size(), 31 * tlog::kHashSize);
    block[10 * tlog::kHashSize] = static_cast<char>(block[10 * tlog::kHashSize] ^ 1);
    test::raw_put(*store, Cf::tree, keys::tree_block(0), block);
  }
  const VerifyReport r = verify();
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(mentions(r,
                       "events 1 to 16 (block 0, stored hashes 0 to 30): stored hash 10 (of event "
                       "7) is not what the log gives"))
      << r.problems.front().what;
}

TEST_F(TreeVerify, AMissingOrExtraStoredHashIsNamed) {
  {
    auto store = test::open_raw(dir_);
    test::raw_del(*store, Cf::tree, keys::tree_block(0));
  }
  EXPECT_TRUE(mentions(verify(), "(block 0, stored hashes 0 to 30) is missing"));
  {
    auto store = test::open_raw(dir_);
    ASSERT_TRUE(rebuild_tree(*store));
    test::raw_put(*store, Cf::tree, keys::tree_block(1'000'000), std::string(32, 'x'));
  }
  EXPECT_TRUE(mentions(verify(), "beyond the log's"));
  EXPECT_TRUE(mentions(verify(), "(from block 1000000)"));
}

// Leaf 7 completes three subtrees: its append stored four hashes (stored indexes 11 to 14). Block
// 0's record cut after the second, a reader of the third is told the tree is damaged there, and
// verify names the record.
TEST_F(TreeVerify, ATruncatedRecordIsDamageNotAShorterHash) {
  {
    auto store = test::open_raw(dir_);
    const std::string record = test::raw_get(*store, Cf::tree, keys::tree_block(0));
    ASSERT_EQ(record.size(), 31 * tlog::kHashSize);
    test::raw_put(*store, Cf::tree, keys::tree_block(0), record.substr(0, 13 * tlog::kHashSize));
    tlog::Hash h;
    const std::int64_t level_1 = 12, level_2 = 13;
    EXPECT_TRUE(tree_reader(*store)(std::span(&level_1, 1), std::span(&h, 1)));
    const Status read = tree_reader(*store)(std::span(&level_2, 1), std::span(&h, 1));
    ASSERT_FALSE(read);
    EXPECT_NE(read.error().message.find("damaged at stored hash 13"), std::string::npos)
        << read.error().message;
  }
  EXPECT_TRUE(
      mentions(verify(), "(block 0, stored hashes 0 to 30) lacks stored hash 13 (of event 8)"));
}

// An auditor's checkpoint: the log extends it; a forger who rewrites an event and recomputes
// every hash, the head and the tree leaves a self-consistent ledger, and only the checkpoint
// shows it.
TEST_F(TreeVerify, ACheckpointProvesTheLogWasNotRewrittenSince) {
  const TreeHead saved = tree_at(30);
  EXPECT_TRUE(verify({.since = saved}).ok());
  const TreeHead beyond{static_cast<std::int64_t>(head_.seq.value) + 1, saved.root};
  EXPECT_TRUE(mentions(verify({.since = beyond}), "truncated"));
  {
    auto store = test::open_raw(dir_);
    const Hash last = test::rechain(*store, head_.seq.value, [](std::uint64_t s, Event& e) {
      if (s == 7) e.actor = "mallory";
    });
    test::put_head(*store, head_.seq, last);
    ASSERT_TRUE(rebuild_tree(*store));
  }
  EXPECT_TRUE(verify().ok());
  const VerifyReport r = verify({.since = saved});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.problems.front().seq, Seq(30)) << r.problems.front().what;
  EXPECT_TRUE(mentions(r, "rewritten since the checkpoint"));
}

}  // namespace
}  // namespace filingd
