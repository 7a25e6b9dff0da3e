#include "ledger/format/column_families.hpp"

#include <array>

namespace filingd {

std::string_view cf_name(Cf cf) {
  static constexpr std::array<std::string_view, kCfCount> kNames = {
      "log", "streams", "idempotency", "projections", "meta", "keys", "tree"};
  return kNames[static_cast<std::size_t>(cf)];
}

}  // namespace filingd
