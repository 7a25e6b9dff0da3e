// What the projector reads and writes through: read-your-writes access to the projections
// column family, staged until committed (ledger/store.hpp's Staging over RocksDB for appends and
// rebuilds; replay/memory_projections.hpp in memory for verify).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "events/result.hpp"
#include "projections/registry.hpp"
#include "projections/status.hpp"

namespace filingd {

class ProjectionTxn {
 public:
  virtual ~ProjectionTxn() = default;
  virtual std::optional<std::string> get(std::string_view key) = 0;
  virtual void put(std::string_view key, std::string value) = 0;
  virtual void del(std::string_view key) = 0;
};

// The status of `filing_id`, or a status with state `none` if it does not exist.
Result<FilingStatus> load_status(ProjectionTxn& txn, std::string_view filing_id);
Result<std::optional<RegistryRecord>> load_record(ProjectionTxn& txn, std::string_view number);

}  // namespace filingd
