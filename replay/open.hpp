// Opening a ledger's data directory from the tools (filingctl), in the two ways they need.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "events/result.hpp"
#include "ledger/store.hpp"

namespace filingd {

// The block cache of the Stores open_for_reading() and open_offline() open
// (Store::Options::block_cache_bytes): the tools' memory stays the same however large the ledger.
inline constexpr std::size_t kToolBlockCacheBytes = std::size_t{64} << 20;

// A read-only view that is safe while the daemon runs: a RocksDB secondary instance with a
// private directory under the system temp dir, caught up with the daemon's durable writes at
// open. It takes no lock and writes nothing in `data_dir`, so it can neither block nor damage
// the daemon. Errors: not_found (no ledger in data_dir), io.
Result<std::unique_ptr<Store>> open_for_reading(const std::string& data_dir);

// Exclusive read-write access for offline maintenance (rebuild-projections). Refuses with
// ErrorCode::unavailable when another process (normally the daemon) holds the ledger's RocksDB
// LOCK, naming that process when the OS says who it is. Errors also: not_found, io.
Result<std::unique_ptr<Store>> open_offline(const std::string& data_dir);

// `failed`, the error of opening the ledger in `data_dir` read-write, said as open_offline says
// it when another process holds the ledger's LOCK; else `failed` as it is.
Error explain_open_failure(const std::string& data_dir, Error failed);

}  // namespace filingd
