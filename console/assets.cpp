#include "console/assets.hpp"

#include <algorithm>

namespace filingd {

const ConsoleAsset* find_console_asset(std::string_view path) {
  const auto all = console_assets();
  const auto it =
      std::find_if(all.begin(), all.end(), [&](const ConsoleAsset& a) { return a.path == path; });
  return it == all.end() ? nullptr : &*it;
}

}  // namespace filingd
