// The daemon's configuration (SPEC §3.3): one TOML file, flags override it. Loading validates
// every key; a bad value fails with a message naming the key ("sms.policies[1].window_hours").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/addresses.hpp"
#include "config/calendar.hpp"
#include "config/sms_policy.hpp"
#include "events/personal.hpp"
#include "events/result.hpp"

namespace filingd {

enum class Role : std::uint8_t { reader, auditor, operator_, privacy_officer };

struct TokenConfig {
  std::string name;
  Role role = Role::reader;
  std::string sha256_hex;  // lower-case hex SHA-256 of the bearer token
};

// The values of the keys of config_keys.hpp, which holds their defaults and docs: a Config
// comes from parse_config() or default_config(), never from its own initializers.
struct KafkaConfig {
  std::string mode;  // "embedded", "off", or a broker list host:port,...
  std::string events_topic;
  std::string status_topic;
  std::string keys_topic;
  std::string checkpoints_topic;
  PersonalView personal_data = PersonalView::masked;            // SPEC §5.5
  std::vector<std::pair<std::string, std::string>> properties;  // librdkafka pass-through
};

struct LimitsConfig {
  std::size_t max_body_bytes = 0;
  std::size_t max_import_bytes = 0;  // POST /v1/imports: a history is larger than an action
  // Request bodies being received at once, summed (declared lengths; a chunked body counts as
  // max_body_bytes): without it, memory could reach max_connections x max_body_bytes.
  std::size_t max_bodies_in_flight_bytes = 0;
  std::uint32_t header_timeout_ms = 0;
  std::uint32_t read_timeout_ms = 0;
  std::uint32_t idle_timeout_ms = 0;
  std::uint32_t max_connections = 0;
  std::uint32_t http_threads = 0;
};

struct Config {
  std::string listen_host;
  std::uint16_t listen_port = 0;
  std::string data_dir;
  std::string log_level;
  // Computed from data_dir when the file does not set them (resolved_paths()).
  std::optional<std::string> master_key_file;
  std::optional<std::string> signing_key_file;
  std::string origin;                     // of the checkpoints (SPEC §8)
  std::optional<std::string> access_log;  // "": no access log
  std::optional<bool> public_metrics;     // default: true on loopback
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

// The configuration table's defaults; what tests and tools use without a file.
Config default_config();

// The keys whose default depends on another one: privacy.master_key_file,
// ledger.signing_key_file and
// server.access_log beside the data directory (not in it), server.public_metrics on loopback.
std::string master_key_path(const Config& c);
std::string signing_key_path(const Config& c);
std::string access_log_path(const Config& c);
bool metrics_are_public(const Config& c);
// The default master key file of a data directory: filingd.key beside it.
std::string default_master_key_path(const std::string& data_dir);
// The default checkpoint signing key of a data directory: filingd-signing.key beside it.
std::string default_signing_key_path(const std::string& data_dir);

}  // namespace filingd
