#include "config/config.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
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
}

void read_limits(TomlReader& r, const Section& root, LimitsConfig& l) {
  const Section s = r.table(root, "limits");
  r.integer(s, "max_body_bytes", l.max_body_bytes);
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
  const toml::node* topic_node = nullptr;
  for (auto [key, topic] :
       {std::pair{"events_topic", &k.events_topic}, std::pair{"status_topic", &k.status_topic}}) {
    if (const toml::node* n = r.string(s, key, *topic)) {
      topic_node = n;
      if (!valid_topic(*topic))
        r.fail(n, join_key("kafka", key), "a topic name is 1..249 of [A-Za-z0-9._-]");
    }
  }
  if (r.ok() && k.events_topic == k.status_topic)
    r.fail(topic_node, "kafka.status_topic", "must differ from kafka.events_topic");
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
    }
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
    r.one_of(item, "role", role, {"operator", "auditor", "reader"});
    t.role = role == "operator"  ? Role::operator_
             : role == "auditor" ? Role::auditor
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
