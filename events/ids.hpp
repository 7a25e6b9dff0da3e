// Strong types for ledger positions, so a global seq and a per-filing version never mix.
#pragma once

#include <compare>
#include <cstdint>

namespace filingd {

template <class Tag, class Rep>
struct StrongInt {
  Rep value = 0;
  constexpr StrongInt() = default;
  constexpr explicit StrongInt(Rep v) : value(v) {}
  friend constexpr auto operator<=>(const StrongInt&, const StrongInt&) = default;
  constexpr StrongInt next() const { return StrongInt(value + 1); }
};

// Global, gapless ledger position; the first event is seq 1, 0 means "none yet".
using Seq = StrongInt<struct SeqTag, std::uint64_t>;
// 1-based position of an event in its filing's own stream; 0 means "the filing does not exist".
using Version = StrongInt<struct VersionTag, std::uint32_t>;

}  // namespace filingd
