// Rebuilding projections from the log, and the digest that proves a rebuild equals the
// incrementally maintained state (SPEC §2.1).
//
// Concurrency: rebuild_projections() drops the projections column family, so it needs the
// ledger closed (no writer). projections_digest() is a read and may run at any time; it sees
// one RocksDB snapshot.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "events/event.hpp"
#include "events/hash.hpp"
#include "events/result.hpp"
#include "ledger/store.hpp"
#include "ledger/tree.hpp"
#include "replay/projection_fold.hpp"
#include "replay/sorted_runs.hpp"
#include "tlog/merkle.hpp"

namespace filingd {

struct RebuildStats {
  std::uint64_t events = 0;
  Seq head;
  // projections_digest() of the rebuilt projections, taken from the entries as they were copied
  // into the ledger (rebuild_projections only).
  Hash digest{};
};

struct RebuildOptions {
  // What the fold and its scratch store's block cache may hold in memory (BudgetShares), beyond
  // the ledger's Store and RocksDB's own buffers.
  std::size_t memory_budget = kDefaultFoldBudget;
  // Where the fold's scratch store is made (and removed): empty, the system temp dir. It needs
  // about the projections' disk space.
  std::string scratch_dir;
};

// Drops all projections and the Merkle tree and rebuilds both in one pass over the log: every
// event re-folded, in seq order, through the same projector the append path uses, and its hash
// made a leaf of the tree. Fails on an event the projector refuses (a corrupt log).
Result<RebuildStats> rebuild_projections(Store& store, const RebuildOptions& options = {});

// Drops the Merkle tree (ledger/tree.hpp) and rebuilds it from the log's event hashes (as
// rebuild_projections does in its own pass over the log). Returns the number of leaves.
Result<std::uint64_t> rebuild_tree(Store& store);

// Builds the Merkle tree of an emptied Cf::tree from its leaves, the event hashes in seq order.
// The blocks' records come in index order, which is key order: they are written straight into
// table files (RunFile), with no memtable, no WAL and no sort. Only the tree's right edge and the
// block being filled are held in memory.
class TreeRebuild {
 public:
  explicit TreeRebuild(Store& store) : store_(store) {}

  Status add(const Hash& leaf);
  // Ingests what is still written; the number of leaves. Errors: io.
  Result<std::uint64_t> finish();

 private:
  Status ingest();
  Store& store_;
  TreeBlocks tree_;
  std::optional<RunFile> run_;  // the table being written
  std::uint64_t leaves_ = 0;
};

// True if the projections must be rebuilt before the ledger opens: a rebuild started and did not
// finish, or they were built in another layout (a ledger written by another version).
Result<bool> rebuild_needed(const Store& store);

// The projections digest, the one definition every copy of the projections is compared by:
// SHA-256 over  u32 key size, u32 value size (big-endian), key, value  of every entry, fed in
// bytewise key order (RocksDB's order). Length-prefixed, so ("ab","c") and ("a","bc") differ.
class ProjectionDigest {
 public:
  void add(std::string_view key, std::string_view value);
  Hash finish() { return sha_.finish(); }

 private:
  Sha256 sha_;
};

// The digest of the projections column family (one RocksDB snapshot).
Result<Hash> projections_digest(const Store& store);
// The same digest of any column family (the Merkle tree's: Cf::tree).
Result<Hash> column_digest(const Store& store, Cf which);

}  // namespace filingd
