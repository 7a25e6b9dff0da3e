// Every configuration key, declared once: its name, type, default, bounds and a one-line doc.
// The parser takes the known keys of each section, integer bounds and absent keys' defaults
// from this table; a test checks the README's configuration table and the shipped
// config/filingd.toml against it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace filingd {

enum class KeyType { string, integer, boolean, strings, time, table, tables };

struct ConfigKey {
  // "server.listen"; keys of each table of an array of tables as "sms.policies[].window_hours".
  std::string_view name;
  KeyType type;
  // The default as a TOML value ("\"127.0.0.1:8080\"", "2", "[]"); empty: required, unless
  // `optional` (absent means what the doc says).
  std::string_view default_value;
  std::string_view doc;
  std::int64_t min = 0;  // integers: the bounds, inclusive
  std::int64_t max = 0;
  bool optional = false;
  bool empty_ok = false;  // strings: "" is a meaningful value (e.g. "off")
};

std::span<const ConfigKey> config_keys();
// nullptr for an unknown name.
const ConfigKey* find_config_key(std::string_view name);
std::string_view type_name(KeyType type);

// The configuration table of the README, one Markdown row per key, generated from this table.
std::string config_reference_markdown();

}  // namespace filingd
