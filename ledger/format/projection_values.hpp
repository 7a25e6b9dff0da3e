// The stored form of the projections' structured values: a filing's status (keys::status) and a
// registry record (keys::record). cereal, led by a layout version. Projections are derived data,
// so a layout change is met by rebuilding them: a decoder refuses any other layout as corrupt
// (ErrorCode::internal) instead of upcasting it.
#pragma once

#include <string>
#include <string_view>

#include "events/result.hpp"
#include "projections/registry.hpp"
#include "projections/status.hpp"

namespace filingd {

// The layout of all projections together; a ledger whose meta kProjectionsLayout holds another
// one rebuilds them before it opens. Bump with any change to a projection key or value (the
// Merkle tree of the tree column family included).
inline constexpr std::uint64_t kProjectionsLayoutVersion = 7;

std::string encode_status(const FilingStatus& s);
Result<FilingStatus> decode_status(std::string_view bytes);

std::string encode_registry_record(const RegistryRecord& r);
Result<RegistryRecord> decode_registry_record(std::string_view bytes);

}  // namespace filingd
