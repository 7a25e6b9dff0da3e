// The ledger's RocksDB column families (their keys and values: keys.hpp, values.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace filingd {

enum class Cf : std::uint8_t { log, streams, idempotency, projections, meta, keys, tree };
inline constexpr std::size_t kCfCount = 7;
std::string_view cf_name(Cf cf);

}  // namespace filingd
