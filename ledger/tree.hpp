// The ledger's Merkle tree (SPEC §8) in RocksDB: the stored hashes of tlog/merkle.hpp in the tree
// column family, one record per block of kLeavesPerBlock leaves: key = keys::tree_block(block),
// value = the hashes the appends of its leaves stored (each leaf's, then those of the subtrees it
// completed), 32 bytes each, in stored-hash-index order. A block being filled is written again
// by each batch that adds to it, the record growing; the staging keeps one write per block and
// batch, so a group commit of some 25 appends writes 2 or 3 of the tree's keys rather than 25
// (its hashing shows no measurable cost; its writes are where any shows: docs/PERFORMANCE.md).
// Leaf i is event seq i + 1 with leaf data the event's hash; the tree's size is always the
// ledger head's seq.
// Written in the append's batch (decide), rebuilt with the projections (replay/rebuild.hpp),
// checked by verify.
#pragma once

#include <rocksdb/db.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>

#include "events/event.hpp"
#include "events/result.hpp"
#include "ledger/store.hpp"
#include "tlog/merkle.hpp"

namespace filingd {

// Reads stored hashes from `store` (at `snapshot`, if given). A missing or malformed hash is
// ErrorCode::internal: the tree is damaged, rebuild the projections.
tlog::HashReader tree_reader(const Store& store, const rocksdb::Snapshot* snapshot = nullptr);

// Stored hashes a live ledger's readers (proofs, tiles, receipts) have read, kept in memory: a
// proof reads about 2 log2(n) stored hashes, a point read each in RocksDB's skiplists, and most
// of them (the upper levels of the tree) are the same for every proof. A stored hash never
// changes once written, so nothing is ever invalidated. Bounded: a 2-way set-associative table
// of kSets x 2 entries (about 6 MiB, allocated at its first use); of two hashes competing for a
// place the one of the higher subtree level stays, so the levels every proof reads stay while
// those near the leaves come and go. Thread-safe.
class TreeCache {
 public:
  TreeCache();
  ~TreeCache();
  // The hash stored at `index`, if cached: into `out`. Takes no lock (see Set).
  bool find(std::int64_t index, tlog::Hash& out) const;
  void insert(std::int64_t index, const tlog::Hash& hash);

 private:
  static constexpr std::size_t kSets = std::size_t{1} << 16;
  static constexpr std::size_t kStripes = 64;  // writers' locks: each guards every kStripes-th set
  static constexpr std::size_t kWords = tlog::kHashSize / 8;
  // A seqlock: a writer (holding its stripe's lock) makes `version` odd, writes, makes it even
  // again; a reader copies what it needs and retries if `version` moved. Every proof reads ~20
  // sets, and a mutex for each cost as much as the proof's own hashing. The words are atomics
  // (relaxed) so that a reader racing a writer reads torn values, which it discards, rather
  // than a data race.
  struct Entry {
    std::atomic<std::int64_t> index{-1};  // -1: empty
    std::array<std::atomic<std::uint64_t>, kWords> hash{};
    int level = 0;  // read by writers only
  };
  struct Set {
    std::atomic<std::uint32_t> version{0};
    std::array<Entry, 2> entries;
  };
  Set* sets() const;  // allocated at the first use
  mutable std::once_flag allocated_;
  mutable std::unique_ptr<Set[]> sets_;
  mutable std::array<std::mutex, kStripes> stripes_;
};

// Reads through `cache`: only the hashes it lacks are read from `store`, and then kept in it.
tlog::HashReader tree_reader(const Store& store, TreeCache& cache);

inline constexpr std::int64_t kLeavesPerBlock = 16;

// The leaf whose append stored hash `index`: the last leaf of the subtree it is the hash of.
Result<std::int64_t> leaf_storing(std::int64_t index);
// Builds the records of a tree appended to leaf by leaf: the tree's right edge and the record of
// the block being filled. A plain value, copied and restored as tlog::Appender is (ledger.hpp).
class TreeBlocks {
 public:
  TreeBlocks() = default;  // the empty tree
  // The tree of the first `size` events, resumed from the stored hashes.
  static Result<TreeBlocks> resume(const Store& store, Seq size);

  const tlog::Appender& tree() const { return tree_; }
  // Appends the leaf of an event with hash `event_hash`. Returns the block it went to.
  Result<std::int64_t> append(const Hash& event_hash);
  // The record of the block being filled (or just filled, after the append of its last leaf).
  std::string_view record() const { return record_; }
  // Whether the tree ends at a block's end (the last append filled its block, or none was made).
  bool block_full() const { return tree_.size() % kLeavesPerBlock == 0; }

 private:
  tlog::Appender tree_;
  std::string record_;
};

// Appends the leaf of an event with hash `event_hash` to `tree` and stages its block's record.
Status stage_leaf(Staging& txn, TreeBlocks& tree, const Hash& event_hash);

// A tree head: its size (the head seq) and root hash.
struct TreeHead {
  std::int64_t size = 0;
  tlog::Hash root{};
};

}  // namespace filingd
