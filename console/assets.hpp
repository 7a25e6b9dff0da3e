// The operator console's files (SPEC §7), compiled in by console/embed.cmake.
#pragma once

#include <span>
#include <string_view>

namespace filingd {

struct ConsoleAsset {
  std::string_view path;  // below /console/, e.g. "js/main.js"; the page itself is "index.html"
  std::string_view content_type;
  std::string_view body;
  std::string_view etag;  // a strong validator, quoted: it changes whenever the body does
};

// Every file, in the order console/CMakeLists.txt lists them. Static storage; thread-safe.
std::span<const ConsoleAsset> console_assets();

// The file at `path`, or nullptr.
const ConsoleAsset* find_console_asset(std::string_view path);

}  // namespace filingd
