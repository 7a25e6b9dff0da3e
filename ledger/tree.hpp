// The ledger's Merkle tree (SPEC §8) in RocksDB: the stored hashes of tlog/merkle.hpp in the tree
// column family, key = keys::tree_hash(index), value = the 32-byte hash. Leaf i is event seq
// i + 1 with leaf data the event's hash; the tree's size is always the ledger head's seq.
// Written in the append's batch (decide), rebuilt with the projections (replay/rebuild.hpp),
// checked by verify.
#pragma once

#include <rocksdb/db.h>

#include <cstdint>

#include "events/event.hpp"
#include "events/result.hpp"
#include "ledger/store.hpp"
#include "tlog/merkle.hpp"

namespace filingd {

// Reads stored hashes from `store` (at `snapshot`, if given). A missing or malformed hash is
// ErrorCode::internal: the tree is damaged, rebuild the projections.
tlog::HashReader tree_reader(const Store& store, const rocksdb::Snapshot* snapshot = nullptr);

// Appends the leaf of event `e` to `tree` and stages the hashes it stores.
Status stage_leaf(Staging& txn, tlog::Appender& tree, const Hash& event_hash);

// The tree of the first `size` events, resumed from the stored hashes.
Result<tlog::Appender> resume_tree(const Store& store, Seq size);

// A tree head: its size (the head seq) and root hash.
struct TreeHead {
  std::int64_t size = 0;
  tlog::Hash root{};
};

}  // namespace filingd
