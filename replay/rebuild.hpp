// Rebuilding projections from the log, and the digest that proves a rebuild equals the
// incrementally maintained state (SPEC §2.1).
//
// Concurrency: rebuild_projections() drops the projections column family, so it needs the
// ledger closed (no writer). projections_digest() is a read and may run at any time; it sees
// one RocksDB snapshot.
#pragma once

#include <cstdint>

#include "events/event.hpp"
#include "events/result.hpp"
#include "ledger/store.hpp"

namespace filingd {

struct RebuildStats {
  std::uint64_t events = 0;
  Seq head;
};

// Drops all projections and re-folds every event of the log, in seq order, through the same
// projector the append path uses. Fails on an event the projector refuses (a corrupt log).
Result<RebuildStats> rebuild_projections(Store& store);

// True if a rebuild started and did not finish (the ledger refuses to open until one does).
Result<bool> rebuild_interrupted(const Store& store);

// SHA-256 over every key and value of the projections column family, in key order.
Result<Hash> projections_digest(const Store& store);

}  // namespace filingd
