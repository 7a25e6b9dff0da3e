// The Merkle tree half of `verify` (SPEC §8), run by the log checker as it walks the log:
// the tree column family must hold exactly the leaves' records the events' hashes give, in index
// order (one sequential scan beside the log's, and only the tree's right edge in memory); with
// an auditor's checkpoint, the root at its size must be its root. Internal to replay/.
#pragma once

#include <rocksdb/iterator.h>

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
  TreeCheck(const Reads& reads, std::optional<TreeHead> since)
      : since_(since),
        it_(reads.store.cf(Cf::tree) == nullptr
                ? nullptr
                : reads.store.db()->NewIterator(reads.scan, reads.store.cf(Cf::tree))) {
    if (it_) it_->SeekToFirst();
  }

  // The event at `seq` (in order from 1) has hash `hash`.
  void add(std::uint64_t seq, const Hash& hash) {
    auto stored = tree_.append(hash);
    if (!stored) {
      tree_problems_.add(Seq(seq), "the Merkle tree cannot grow: " + stored.error().message);
      return;
    }
    if (since_ && since_->size == static_cast<std::int64_t>(seq) && tree_.root() != since_->root)
      since_problems_.add(Seq(seq), "the log was rewritten since the checkpoint: the tree of " +
                                        std::to_string(seq) + " events has root " +
                                        tlog::base64_encode(tree_.root()) +
                                        ", the checkpoint says " +
                                        tlog::base64_encode(since_->root));
    if (!tree_problems_.clean()) return;  // one damaged tree is reported once
    compare_next(seq, stored->first_index, tree_record(*stored));
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
    if (!complete || !tree_problems_.clean() || !it_) return;
    if (it_->Valid())
      tree_problems_.add(Seq(0), "the Merkle tree holds records beyond the log's " +
                                     std::to_string(events) + " events (from index " +
                                     index_text(it_->key()) + ")");
  }

  const tlog::Appender& tree() const { return tree_; }
  void take_problems(std::vector<VerifyProblem>& out) {
    for (Check* c : {&tree_problems_, &since_problems_})
      out.insert(out.end(), c->problems.begin(), c->problems.end());
  }

 private:
  static std::string index_text(const rocksdb::Slice& key) {
    if (key.size() != 8) return "a malformed key";
    return std::to_string(keys::parse_seq(key.ToStringView())->value);
  }

  // The next record must be the one at `index` (of event `seq`'s leaf), holding `want`.
  void compare_next(std::uint64_t seq, std::int64_t index, std::string_view want) {
    const auto where = [&] {
      return "the Merkle tree's record at stored hash " + std::to_string(index) + " (for event " +
             std::to_string(seq) + ")";
    };
    if (!it_ || !it_->Valid()) {
      tree_problems_.add(Seq(seq), where() + " is missing (rebuild the projections)");
    } else if (it_->key() != rocksdb::Slice(keys::tree_hash(index))) {
      tree_problems_.add(Seq(seq),
                         where() + " is missing: the next one stored is " + index_text(it_->key()));
    } else if (it_->value() != rocksdb::Slice(want)) {
      tree_problems_.add(Seq(seq), where() + " is not what the log gives");
    } else {
      it_->Next();
    }
  }

  std::optional<TreeHead> since_;
  std::unique_ptr<rocksdb::Iterator> it_;
  tlog::Appender tree_;
  Check tree_problems_;
  Check since_problems_;
};

}  // namespace filingd::verify_detail
