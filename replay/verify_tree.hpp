// The Merkle tree half of `verify` (SPEC §8), run by the log checker as it walks the log:
// the tree column family must hold exactly the blocks' records the events' hashes give, in index
// order (one sequential scan beside the log's, and only the tree's right edge in memory); with
// an auditor's checkpoint, the root at its size must be its root. Internal to replay/.
#pragma once

#include <rocksdb/iterator.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>

#include "ledger/format/keys.hpp"
#include "ledger/tree.hpp"
#include "replay/verify_support.hpp"
#include "tlog/encoding.hpp"

namespace filingd::verify_detail {

class TreeCheck {
 public:
  // Not `compare`: only the checkpoint is checked (the stored tree is of another layout).
  TreeCheck(const Reads& reads, std::optional<TreeHead> since, bool compare)
      : since_(since),
        it_(!compare || reads.store.cf(Cf::tree) == nullptr
                ? nullptr
                : reads.store.db()->NewIterator(reads.scan, reads.store.cf(Cf::tree))) {
    if (it_) it_->SeekToFirst();
  }

  // The event at `seq` (in order from 1) has hash `hash`.
  void add(std::uint64_t seq, const Hash& hash) {
    auto block = tree_.append(hash);
    if (!block) {
      tree_problems_.add(Seq(seq), "the Merkle tree cannot grow: " + block.error().message);
      return;
    }
    const tlog::Appender& tree = tree_.tree();
    if (since_ && since_->size == static_cast<std::int64_t>(seq) && tree.root() != since_->root)
      since_problems_.add(Seq(seq), "the log was rewritten since the checkpoint: the tree of " +
                                        std::to_string(seq) + " events has root " +
                                        tlog::base64_encode(tree.root()) +
                                        ", the checkpoint says " +
                                        tlog::base64_encode(since_->root));
    if (!tree_problems_.clean()) return;  // one damaged tree is reported once
    if (tree_.block_full()) compare_next(*block);
  }

  // After the walk. `complete`: the walk reached the end of the log without a problem.
  void finish(bool complete, std::uint64_t events) {
    if (since_ && since_->size == 0 && since_->root != tlog::empty_tree_hash())
      since_problems_.add(Seq(0), "the checkpoint of the empty tree has root " +
                                      tlog::base64_encode(since_->root) + ", not the empty tree's");
    if (since_ && since_->size > static_cast<std::int64_t>(events) && complete)
      since_problems_.add(Seq(0), "the log holds " + std::to_string(events) +
                                      " events, fewer than the checkpoint's " +
                                      std::to_string(since_->size) + ": it was truncated");
    if (!tree_problems_.clean() || !it_) return;
    // The block being filled; where the walk stopped early, as far as it went.
    if (!tree_.block_full()) compare_next(tree_.tree().size() / kLeavesPerBlock, complete);
    if (!complete || !tree_problems_.clean()) return;
    if (it_->Valid())
      tree_problems_.add(Seq(0), "the Merkle tree holds records beyond the log's " +
                                     std::to_string(events) + " events (from " +
                                     block_text(it_->key()) + ")");
  }

  const tlog::Appender& tree() const { return tree_.tree(); }
  void take_problems(std::vector<VerifyProblem>& out) {
    for (Check* c : {&tree_problems_, &since_problems_})
      out.insert(out.end(), c->problems.begin(), c->problems.end());
  }

 private:
  static std::string block_text(const rocksdb::Slice& key) {
    if (key.size() != 8) return "a malformed key";
    return "block " + std::to_string(keys::get_u64(key.ToStringView()));
  }

  // The next record must be block `block`'s, holding what the log gives (tree_.record()). A
  // problem is named by the events and stored hashes, which is how readers and tiles address the
  // tree: a wrong hash by the event whose append stored it. Not `whole`: only the part of the
  // record the walk reached.
  void compare_next(std::int64_t block, bool whole = true) {
    if (!it_) return;
    const std::int64_t first_leaf = block * kLeavesPerBlock;
    const auto index = tlog::stored_hash_index(0, first_leaf);
    const std::int64_t first = index ? *index : 0;
    const std::string_view want = tree_.record();
    const auto where = [&] {
      return "the Merkle tree's record of events " + std::to_string(first_leaf + 1) + " to " +
             std::to_string(tree_.tree().size()) + " (block " + std::to_string(block) +
             ", stored hashes " + std::to_string(first) + " to " +
             std::to_string(first + static_cast<std::int64_t>(want.size() / tlog::kHashSize) - 1) +
             ")";
    };
    const Seq first_seq(static_cast<std::uint64_t>(first_leaf) + 1);
    if (!it_->Valid()) {
      tree_problems_.add(first_seq, where() + " is missing (rebuild the projections)");
      return;
    }
    if (it_->key() != rocksdb::Slice(keys::tree_block(block))) {
      tree_problems_.add(first_seq,
                         where() + " is missing: the next one stored is " + block_text(it_->key()));
      return;
    }
    std::string_view have = it_->value().ToStringView();
    if (!whole) have = have.substr(0, want.size());
    if (have != want) {
      const auto [in_have, in_want] =
          std::mismatch(have.begin(), have.end(), want.begin(), want.end());
      const std::int64_t hash = first + static_cast<std::int64_t>(in_have - have.begin()) /
                                            static_cast<std::int64_t>(tlog::kHashSize);
      const auto leaf = leaf_storing(hash);
      const std::int64_t event = leaf ? *leaf + 1 : 0;
      const std::string which =
          "stored hash " + std::to_string(hash) + " (of event " + std::to_string(event) + ")";
      tree_problems_.add(
          Seq(static_cast<std::uint64_t>(event)),
          where() + (in_want == want.end()   ? " holds " + which + ", beyond the log"
                     : in_have == have.end() ? " lacks " + which
                                             : ": " + which + " is not what the log gives"));
      return;
    }
    it_->Next();
  }

  std::optional<TreeHead> since_;
  std::unique_ptr<rocksdb::Iterator> it_;
  TreeBlocks tree_;
  Check tree_problems_;
  Check since_problems_;
};

}  // namespace filingd::verify_detail
