#include "config/config.hpp"
#include "tlog/note.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>

#include "config/addresses.hpp"
#include "config/toml_reader.hpp"
#include "events/provinces.hpp"
#include "events/validation.hpp"

namespace filingd {
namespace {

void read_server(TomlReader& r, const Section& root, Config& c) {
  const Section s = r.table(root, "server");
  std::string listen;
  if (const toml::node* n = r.string(s, "listen", listen)) {
    if (auto problem = split_host_port(listen, true, c.listen_host, c.listen_port))
      r.fail(n, "server.listen", *problem);
  }
  r.string(s, "data_dir", c.data_dir);
  r.one_of(s, "log_level", c.log_level, {"trace", "debug", "info", "warn", "error"});
  r.integer(s, "threads", c.limits.http_threads);
  std::string access_log;
  if (r.string(s, "access_log", access_log)) c.access_log = access_log;
  bool public_metrics = false;
  if (r.boolean(s, "public_metrics", public_metrics)) c.public_metrics = public_metrics;
}

void read_privacy(TomlReader& r, const Section& root, Config& c) {
  const Section s = r.table(root, "privacy");
  std::string path;
  if (r.string(s, "master_key_file", path)) c.master_key_file = path;
}

void read_ledger(TomlReader& r, const Section& root, Config& c) {
  const Section s = r.table(root, "ledger");
  if (const toml::node* n = r.string(s, "origin", c.origin);
      n && !tlog::is_valid_key_name(c.origin))
    r.fail(n, "ledger.origin", "must be non-empty, without spaces or \"+\"");
  std::string path;
  if (r.string(s, "signing_key_file", path)) c.signing_key_file = path;
}

void read_limits(TomlReader& r, const Section& root, LimitsConfig& l) {
  const Section s = r.table(root, "limits");
  r.integer(s, "max_body_bytes", l.max_body_bytes);
  r.integer(s, "max_import_bytes", l.max_import_bytes);
  r.integer(s, "max_bodies_in_flight_bytes", l.max_bodies_in_flight_bytes);
  r.integer(s, "header_timeout_ms", l.header_timeout_ms);
  r.integer(s, "read_timeout_ms", l.read_timeout_ms);
  r.integer(s, "idle_timeout_ms", l.idle_timeout_ms);
  r.integer(s, "max_connections", l.max_connections);
}

// librdkafka property names contain dots; unquoted TOML dotted keys arrive as nested tables,
// so they are flattened back into "linger.ms".
void read_properties(TomlReader& r, const toml::table& t, const std::string& prefix,
                     std::vector<std::pair<std::string, std::string>>& out) {
  for (auto&& [k, v] : t) {
    const std::string name = join_key(prefix, k.str());
    if (const auto* sub = v.as_table()) {
      read_properties(r, *sub, name, out);
      if (!r.ok()) return;
      continue;
    }
    std::string value;
    if (const auto* str = v.as_string()) {
      value = str->get();
    } else if (const auto* i = v.as_integer()) {
      value = std::to_string(i->get());
    } else if (const auto* b = v.as_boolean()) {
      value = b->get() ? "true" : "false";
    } else {
      r.fail(&v, "kafka.properties." + name, "expected a string, an integer or a boolean");
      return;
    }
    // "linger.ms" = "5" and linger.ms = "5" are different TOML keys but the same property.
    for (const auto& [existing, _] : out) {
      if (existing == name) {
        r.fail(&v, "kafka.properties." + name, "set twice");
        return;
      }
    }
    out.emplace_back(name, std::move(value));
  }
}

void read_kafka(TomlReader& r, const Section& root, KafkaConfig& k) {
  const Section s = r.table(root, "kafka");
  if (const toml::node* n = r.string(s, "mode", k.mode)) {
    if (auto problem = normalize_kafka_mode(k.mode)) r.fail(n, "kafka.mode", *problem);
  }
  constexpr std::size_t kTopics = 4;
  const toml::node* nodes[kTopics] = {};
  const std::pair<const char*, std::string*> topics[kTopics] = {
      {"events_topic", &k.events_topic},
      {"status_topic", &k.status_topic},
      {"keys_topic", &k.keys_topic},
      {"checkpoints_topic", &k.checkpoints_topic}};
  for (std::size_t i = 0; i < kTopics; ++i) {
    const auto [key, topic] = topics[i];
    if ((nodes[i] = r.string(s, key, *topic)) && !valid_topic(*topic))
      r.fail(nodes[i], join_key("kafka", key), "a topic name is 1..249 of [A-Za-z0-9._-]");
  }
  for (std::size_t i = 1; i < kTopics && r.ok(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (*topics[i].second == *topics[j].second)
        r.fail(nodes[i] ? nodes[i] : nodes[j], join_key("kafka", topics[i].first),
               "must differ from " + join_key("kafka", topics[j].first));
    }
  }
  std::string personal;
  if (const toml::node* n = r.string(s, "personal_data", personal)) {
    if (personal == "masked")
      k.personal_data = PersonalView::masked;
    else if (personal == "omitted")
      k.personal_data = PersonalView::omitted;
    else if (personal == "clear")
      k.personal_data = PersonalView::clear;
    else
      r.fail(n, "kafka.personal_data",
             "must be masked, omitted or clear (got \"" + personal + "\")");
  }
  if (const Section props = r.table(s, "properties"); props.table)
    read_properties(r, *props.table, "", k.properties);
}

void read_sms(TomlReader& r, const Section& root, Config& c) {
  const Section s = r.table(root, "sms");
  std::vector<SmsPolicy> policies;
  for (const Section& item : r.tables(s, "policies")) {
    SmsPolicy p;
    r.string(item, "id", p.id);
    std::int64_t hours = 0;
    r.integer(item, "window_hours", hours);
    p.window_micros = hours * kMicrosPerHour;
    if (const toml::array* a = r.strings(item, "provinces", p.provinces)) {
      for (std::size_t j = 0; j < p.provinces.size(); ++j) {
        std::optional<std::string> canonical = canonical_province(p.provinces[j]);
        if (!canonical) {
          r.fail(&(*a)[j], join_key(item.path, "provinces") + "[" + std::to_string(j) + "]",
                 "unknown province \"" + p.provinces[j] + "\"");
          break;
        }
        p.provinces[j] = std::move(*canonical);
      }
    }
    r.strings(item, "providers", p.providers);
    r.time(item, "from", p.from);
    r.time(item, "until", p.until);
    policies.push_back(std::move(p));
  }
  if (!r.ok()) return;
  Result<SmsPolicies> made = SmsPolicies::make(std::move(policies));
  if (!made) return r.fail(made.take_error());
  c.sms_policies = std::move(made).value();
}

void read_calendar(TomlReader& r, const Section& root, WorkCalendar& calendar) {
  const Section s = r.table(root, "calendar");
  int last_year = 0;
  for (auto [key, holiday] : {std::pair{"holidays", true}, std::pair{"workdays", false}}) {
    std::vector<std::string> days;
    const toml::array* a = r.strings(s, key, days);
    for (std::size_t i = 0; a && i < days.size(); ++i) {
      const auto day = WorkCalendar::parse_day(days[i]);
      if (!day) {
        r.fail(&(*a)[i], join_key(s.path, key) + "[" + std::to_string(i) + "]",
               "expected a date as \"2026-10-01\"");
        return;
      }
      if (holiday) {
        calendar.add_holiday(*day);
      } else {
        calendar.add_workday(*day);
      }
      last_year = std::max(last_year, std::stoi(days[i].substr(0, 4)));
    }
  }
  std::string until;
  if (const toml::node* n = r.string(s, "until", until)) {
    const auto day = WorkCalendar::parse_day(until);
    if (!day) {
      r.fail(n, join_key(s.path, "until"), "expected a date as \"2026-12-31\"");
      return;
    }
    calendar.set_until(*day);
  } else if (last_year > 0) {
    calendar.set_until(*WorkCalendar::parse_day(std::to_string(last_year) + "-12-31"));
  }
}

void read_auth(TomlReader& r, const Section& root, std::vector<TokenConfig>& tokens) {
  const Section s = r.table(root, "auth");
  std::set<std::string, std::less<>> names;
  std::set<std::string, std::less<>> hashes;
  for (const Section& item : r.tables(s, "tokens")) {
    TokenConfig t;
    if (const toml::node* n = r.string(item, "name", t.name)) {
      if (t.name.size() > kMaxShortText) r.fail(n, join_key(item.path, "name"), "too long");
      if (!names.insert(t.name).second)
        r.fail(n, join_key(item.path, "name"), "duplicate token name \"" + t.name + "\"");
    }
    std::string role;
    r.one_of(item, "role", role, {"operator", "auditor", "reader", "privacy_officer"});
    t.role = role == "operator"          ? Role::operator_
             : role == "auditor"         ? Role::auditor
             : role == "privacy_officer" ? Role::privacy_officer
                                         : Role::reader;
    if (const toml::node* n = r.string(item, "sha256", t.sha256_hex)) {
      bool hex = t.sha256_hex.size() == 64;
      for (char& ch : t.sha256_hex) {
        hex = hex && std::isxdigit(static_cast<unsigned char>(ch));
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      }
      if (!hex) {
        r.fail(n, join_key(item.path, "sha256"), "expected 64 hex digits (SHA-256 of the token)");
      } else if (!hashes.insert(t.sha256_hex).second) {
        r.fail(n, join_key(item.path, "sha256"), "the same token hash is configured twice");
      }
    }
    tokens.push_back(std::move(t));
  }
}

template <class E>
Error parse_failure(const E& e, std::string_view source) {
  return make_error(ErrorCode::invalid, std::string(source) + ":" +
                                            std::to_string(e.source().begin.line) + ":" +
                                            std::to_string(e.source().begin.column) + ": " +
                                            std::string(e.description()));
}

}  // namespace

Result<Config> parse_config(std::string_view toml_text, std::string_view source) {
  toml::table doc;
#if TOML_EXCEPTIONS
  try {
    doc = toml::parse(toml_text, source);
  } catch (const toml::parse_error& e) {
    return parse_failure(e, source);
  }
#else
  toml::parse_result parsed = toml::parse(toml_text, source);
  if (!parsed) return parse_failure(parsed.error(), source);
  doc = std::move(parsed).table();
#endif

  Config c;
  TomlReader r(source, doc);
  const Section root = r.root();
  read_server(r, root, c);
  read_privacy(r, root, c);
  read_ledger(r, root, c);
  read_limits(r, root, c.limits);
  read_kafka(r, root, c.kafka);
  read_sms(r, root, c);
  read_calendar(r, root, c.calendar);
  read_auth(r, root, c.tokens);
  if (!r.ok()) return r.take();
  return c;
}

Result<Config> load_config(const std::string& path) {
  // stdio rather than ifstream: ifstream "opens" a directory and reads it as empty.
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"),
                                                          &std::fclose);
  std::string text;
  if (f) {
    char buf[1 << 14];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f.get())) > 0;) text.append(buf, n);
  }
  if (!f || std::ferror(f.get()))
    return make_error(ErrorCode::io,
                      "cannot read config file " + path + ": " + std::strerror(errno));
  return parse_config(text, path);
}

Config default_config() {
  // The configuration table's defaults, through the same reads as a file.
  auto c = parse_config("", "<defaults>");
  return std::move(c).value();
}

namespace {

// A file next to the data directory, not in it: a copy of the directory alone reveals nobody,
// and the log of accesses is not part of the ledger.
std::string beside_data_dir(const std::string& data_dir, const char* name) {
  std::filesystem::path dir = std::filesystem::absolute(data_dir).lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();  // "data/"
  return (dir.parent_path() / name).string();
}

}  // namespace

std::string default_master_key_path(const std::string& data_dir) {
  return beside_data_dir(data_dir, "filingd.key");
}

std::string master_key_path(const Config& c) {
  return c.master_key_file.value_or(default_master_key_path(c.data_dir));
}

std::string default_signing_key_path(const std::string& data_dir) {
  return beside_data_dir(data_dir, "filingd-signing.key");
}

std::string signing_key_path(const Config& c) {
  return c.signing_key_file.value_or(default_signing_key_path(c.data_dir));
}

std::string access_log_path(const Config& c) {
  return c.access_log.value_or(beside_data_dir(c.data_dir, "access.log"));
}

bool metrics_are_public(const Config& c) {
  return c.public_metrics.value_or(is_loopback(c.listen_host));
}

Status apply_flags(Config& config, const FlagOverrides& flags) {
  if (flags.listen) {
    if (auto problem = split_host_port(*flags.listen, true, config.listen_host, config.listen_port))
      return make_error(ErrorCode::invalid, "--listen: " + *problem, "--listen");
  }
  if (flags.data_dir) {
    if (flags.data_dir->empty())
      return make_error(ErrorCode::invalid, "--data-dir: must not be empty", "--data-dir");
    config.data_dir = *flags.data_dir;
  }
  if (flags.kafka) {
    std::string mode = *flags.kafka;
    if (auto problem = normalize_kafka_mode(mode))
      return make_error(ErrorCode::invalid, "--kafka: " + *problem, "--kafka");
    config.kafka.mode = mode;
  }
  return {};
}

}  // namespace filingd
