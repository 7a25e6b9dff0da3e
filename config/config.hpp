// The daemon's configuration (SPEC §3.3): one TOML file, flags override it. Loading validates
// every key; a bad value fails with a message naming the key ("sms.policies[1].window_hours").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/calendar.hpp"
#include "config/sms_policy.hpp"
#include "events/result.hpp"

namespace filingd {

enum class Role : std::uint8_t { reader, auditor, operator_ };

struct TokenConfig {
  std::string name;
  Role role = Role::reader;
  std::string sha256_hex;  // lower-case hex SHA-256 of the bearer token
};

struct KafkaConfig {
  std::string mode = "embedded";  // "embedded", "off", or a broker list host:port,...
  std::string events_topic = "filing.events";
  std::string status_topic = "filing.status";
  std::vector<std::pair<std::string, std::string>> properties;  // librdkafka pass-through
};

struct LimitsConfig {
  std::size_t max_body_bytes = 1 << 20;
  // Request bodies being received at once, summed (declared lengths; a chunked body counts as
  // max_body_bytes): without it, memory could reach max_connections x max_body_bytes.
  std::size_t max_bodies_in_flight_bytes = 64 << 20;
  std::uint32_t header_timeout_ms = 10'000;
  std::uint32_t read_timeout_ms = 30'000;
  std::uint32_t idle_timeout_ms = 60'000;
  std::uint32_t max_connections = 10'000;
  std::uint32_t http_threads = 2;
};

struct Config {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  std::string data_dir = "./data";
  std::string log_level = "info";
  KafkaConfig kafka;
  SmsPolicies sms_policies;
  WorkCalendar calendar;  // empty: weekends only
  std::vector<TokenConfig> tokens;
  LimitsConfig limits;
};

// Parses TOML text. `source` names the file in error messages. Relative paths (data_dir) are
// kept as written; the caller resolves them.
Result<Config> parse_config(std::string_view toml_text, std::string_view source = "<config>");
Result<Config> load_config(const std::string& path);

// Command-line flags that override the file (SPEC §3.2).
struct FlagOverrides {
  std::optional<std::string> listen;    // --listen HOST:PORT
  std::optional<std::string> data_dir;  // --data-dir DIR
  std::optional<std::string> kafka;     // --kafka embedded|off|BROKERS
};
Status apply_flags(Config& config, const FlagOverrides& flags);

// 127.0.0.0/8, ::1 and "localhost": where the daemon may run without tokens.
bool is_loopback(std::string_view host);

// Built-in defaults with the default 24 h SMS policy; what tests and tools use without a file.
Config default_config();

}  // namespace filingd
