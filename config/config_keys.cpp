#include "config/config_keys.hpp"

#include <algorithm>
#include <limits>

namespace filingd {
namespace {

constexpr std::int64_t kU32Max = std::numeric_limits<std::uint32_t>::max();

using K = KeyType;

constexpr ConfigKey kKeys[] = {
    {"server.listen", K::string, R"("127.0.0.1:8080")",
     "host:port to listen on; port 0 picks a free port (logged); IPv6 as \"[::1]:8080\"; "
     "localhost is loopback; a non-loopback address requires [[auth.tokens]]"},
    {"server.data_dir", K::string, R"("./data")",
     "the ledger's RocksDB directory, created if missing"},
    {"server.log_level", K::string, R"("info")", "trace, debug, info, warn or error"},
    {"server.threads", K::integer, "2", "HTTP I/O threads", 1, 256},
    {"server.access_log", K::string, "",
     "JSON-lines access log (time, request id, principal, address, route, filing, status, bytes, "
     "µs; no bodies, no personal data); absent: access.log beside the data directory; \"\": off",
     0, 0, true, true},
    {"server.public_metrics", K::boolean, "",
     "whether /metrics and /readyz answer without a token; absent: true on a loopback address", 0,
     0, true},
    {"limits.max_body_bytes", K::integer, "1048576", "a larger request body gets 413", 1,
     std::int64_t{1} << 30},
    {"limits.max_import_bytes", K::integer, "4194304",
     "a larger POST /v1/imports body (a filing's whole history) gets 413", 1,
     std::int64_t{1} << 30},
    {"limits.max_bodies_in_flight_bytes", K::integer, "67108864",
     "request bodies being received at once, summed by declared length; beyond it 503 with "
     "Retry-After",
     1, std::int64_t{1} << 40},
    {"limits.header_timeout_ms", K::integer, "10000",
     "a request's headers must arrive within this (slow clients get 408)", 1, kU32Max},
    {"limits.read_timeout_ms", K::integer, "30000", "time to receive a body and send a response", 1,
     kU32Max},
    {"limits.idle_timeout_ms", K::integer, "60000",
     "a keep-alive connection idle longer than this is closed", 1, kU32Max},
    {"limits.max_connections", K::integer, "10000",
     "cap on open connections, lowered at start to fit the open-files limit (see Operations)", 1,
     kU32Max},
    {"kafka.mode", K::string, R"("embedded")",
     "embedded (an in-process cluster on loopback), off, or a broker list \"host:port,...\""},
    {"kafka.events_topic", K::string, R"("filing.events")", "every event, keyed by filing_id"},
    {"kafka.status_topic", K::string, R"("filing.status")",
     "each filing's latest status (compacted), keyed by filing_id"},
    {"kafka.keys_topic", K::string, R"("filing.keys")",
     "each subject's wrapped data key (compacted), keyed by subject_ref; a tombstone on erasure"},
    {"kafka.checkpoints_topic", K::string, R"("filing.checkpoints")",
     "the ledger's signed checkpoint after each published batch (compacted), keyed by origin"},
    {"kafka.personal_data", K::string, R"("masked")",
     "personal fields on Kafka: masked (as a reader sees them), omitted, or clear (a trusted "
     "cluster)"},
    {"kafka.properties", K::table, "{}",
     "librdkafka properties passed through (TLS, SASL, linger.ms, ...)"},
    {"sms.policies", K::tables, R"([{ id = "default-24h" }])",
     "SMS-verification windows; the first matching submitted_to_bureau wins, the last must match "
     "everything"},
    {"sms.policies[].id", K::string, "", "the policy's name, pinned in each submitted_to_bureau"},
    {"sms.policies[].window_hours", K::integer, "24", "hours to confirm the SMS code", 1, 24 * 366},
    {"sms.policies[].provinces", K::strings, "[]",
     "provinces it applies to (abbreviation, alias or full name); empty: all"},
    {"sms.policies[].providers", K::strings, "[]", "providers it applies to; empty: all"},
    {"sms.policies[].from", K::time, "",
     "from (inclusive) this RFC 3339 time with an offset; absent: always", 0, 0, true},
    {"sms.policies[].until", K::time, "",
     "until (exclusive) this RFC 3339 time with an offset; absent: always", 0, 0, true},
    {"calendar.holidays", K::strings, "[]",
     "statutory holidays, \"YYYY-MM-DD\" in Asia/Shanghai: not working days"},
    {"calendar.workdays", K::strings, "[]", "weekend days that are make-up working days (调休)"},
    {"calendar.until", K::string, "",
     "the last day the lists cover, \"YYYY-MM-DD\"; absent: 31 December of the latest year "
     "they name",
     0, 0, true},
    {"privacy.master_key_file", K::string, "",
     "the master key of personal data (created 0600 if missing; refused if group or others can "
     "read it); absent: filingd.key beside the data directory",
     0, 0, true},
    {"ledger.origin", K::string, R"("filingd.local/ledger")",
     "the checkpoints' origin (SPEC §8) and the signing key's name: no spaces, no \"+\""},
    {"ledger.signing_key_file", K::string, "",
     "the Ed25519 key checkpoints are signed with (created 0600 if missing; refused if group or "
     "others can read it); absent: filingd-signing.key beside the data directory",
     0, 0, true},
    {"auth.tokens", K::tables, "[]",
     "bearer tokens; none: loopback only, every request has full access"},
    {"auth.tokens[].name", K::string, "", "the token's name, shown as who acted"},
    {"auth.tokens[].role", K::string, R"("reader")",
     "operator, auditor, reader or privacy_officer"},
    {"auth.tokens[].sha256", K::string, "", "hex SHA-256 of the token"},
};

}  // namespace

std::span<const ConfigKey> config_keys() { return kKeys; }

const ConfigKey* find_config_key(std::string_view name) {
  const auto it = std::find_if(std::begin(kKeys), std::end(kKeys),
                               [&](const ConfigKey& k) { return k.name == name; });
  return it == std::end(kKeys) ? nullptr : it;
}

std::string_view type_name(KeyType type) {
  switch (type) {
    case KeyType::string:
      return "string";
    case KeyType::integer:
      return "integer";
    case KeyType::boolean:
      return "boolean";
    case KeyType::strings:
      return "array of strings";
    case KeyType::time:
      return "time";
    case KeyType::table:
      return "table";
    case KeyType::tables:
      return "array of tables";
  }
  return "?";
}

std::string config_reference_markdown() {
  std::string out = "| key | type | default | meaning |\n|---|---|---|---|\n";
  for (const ConfigKey& k : kKeys) {
    std::string def = k.default_value.empty() ? (k.optional ? "(none)" : "(required)")
                                              : "`" + std::string(k.default_value) + "`";
    std::string range;
    if (k.type == KeyType::integer)
      range = " (" + std::to_string(k.min) + " to " + std::to_string(k.max) + ")";
    out += "| `" + std::string(k.name) + "` | " + std::string(type_name(k.type)) + range + " | " +
           def + " | " + std::string(k.doc) + " |\n";
  }
  return out;
}

}  // namespace filingd
