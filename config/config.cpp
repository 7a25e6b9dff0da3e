#include "config/config.hpp"

#include <toml++/toml.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <memory>
#include <set>
#include <sstream>

#include "events/validation.hpp"

namespace filingd {
namespace {

using Keys = std::initializer_list<std::string_view>;
constexpr std::int64_t kU32Max = std::numeric_limits<std::uint32_t>::max();

std::string join(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : std::string(path) + "." + std::string(key);
}

std::string indexed(std::string_view path, std::size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

std::string type_name(const toml::node& n) {
  std::ostringstream os;
  os << n.type();
  return os.str();
}

std::string list(Keys keys) {
  std::string out;
  for (std::string_view k : keys) out += (out.empty() ? "" : ", ") + std::string(k);
  return out;
}

// "host:port" or "[v6]:port"; the host comes back without brackets, as resolvers want it.
// Returns the problem, if any.
std::optional<std::string> split_host_port(std::string_view text, bool allow_port_zero,
                                           std::string& host, std::uint16_t& port) {
  std::string_view h;
  std::string_view p;
  if (text.starts_with('[')) {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return "expected [ipv6]:port";
    }
    h = text.substr(1, close - 1);
    p = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return "expected host:port";
    h = text.substr(0, colon);
    p = text.substr(colon + 1);
    if (h.find(':') != std::string_view::npos) {
      return "an IPv6 address must be bracketed, as [::1]:8080";
    }
  }
  if (h.empty()) return "missing host";
  for (const char c : h) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == ',' || c == '[' || c == ']' ||
        c == '/') {
      return "invalid character in host";
    }
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (p.empty() || ec != std::errc() || end != p.data() + p.size() || value > 65535 ||
      (value == 0 && !allow_port_zero)) {
    return allow_port_zero ? "port must be 0..65535" : "port must be 1..65535";
  }
  host = h;
  port = static_cast<std::uint16_t>(value);
  return std::nullopt;
}

// "embedded", "off" or a broker list; a broker list is validated entry by entry now rather
// than at the first connection attempt, and normalised (spaces dropped).
std::optional<std::string> normalize_kafka_mode(std::string& mode) {
  if (mode == "embedded" || mode == "off") return std::nullopt;
  std::string normalized;
  std::string_view rest = mode;
  for (;;) {
    const std::size_t comma = rest.find(',');
    std::string_view entry = rest.substr(0, comma);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
    std::string host;
    std::uint16_t port = 0;
    if (auto problem = split_host_port(entry, false, host, port)) {
      return "expected embedded, off or a broker list host:port,... (\"" + std::string(entry) +
             "\": " + *problem + ")";
    }
    normalized += (normalized.empty() ? "" : ",") + std::string(entry);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  mode = normalized;
  return std::nullopt;
}

bool valid_topic(std::string_view t) {
  if (t.empty() || t.size() > 249 || t == "." || t == "..") return false;
  for (const char c : t) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

struct Section {
  const toml::table* table = nullptr;  // nullptr: absent, so every read keeps its default
  std::string path;
};

// Typed reads out of the parsed document. The first failure is kept and later reads become
// no-ops, so each section reads straight through instead of checking after every key. A read
// returns the node when the key was present and valid, nullptr otherwise.
class Reader {
 public:
  Reader(std::string_view source, const toml::table& root) : source_(source), root_(root) {}

  bool ok() const { return !error_; }
  Error take() { return std::move(*error_); }

  std::nullptr_t fail(const toml::source_region* at, const std::string& key,
                      std::string_view what) {
    if (!error_) {
      error_ = make_error(ErrorCode::invalid, where(at) + key + ": " + std::string(what), key);
    }
    return nullptr;
  }
  std::nullptr_t fail(const toml::node* at, const std::string& key, std::string_view what) {
    return fail(at ? &at->source() : nullptr, key, what);
  }
  // Adopts an error whose message already names its key (SmsPolicies::make), adding the place.
  void fail(Error e) {
    if (error_) return;
    const toml::node* at = root_.at_path(e.field).node();
    e.message = where(at ? &at->source() : nullptr) + e.message;
    error_ = std::move(e);
  }

  Section root(Keys known) {
    check_keys(root_, "", known);
    return Section{&root_, ""};
  }

  // `known` empty: any key is allowed (pass-through tables).
  Section table(const Section& s, std::string_view key, Keys known) {
    const std::string path = join(s.path, key);
    const toml::node* n = get(s, key);
    if (!n) return Section{nullptr, path};
    const toml::table* t = n->as_table();
    if (!t) return Section{wrong_type(n, path, "a table"), path};
    if (known.size() != 0) check_keys(*t, path, known);
    return Section{t, path};
  }

  std::vector<Section> table_array(const Section& s, std::string_view key, Keys known,
                                   const toml::array** array = nullptr) {
    std::vector<Section> out;
    const toml::node* n = get(s, key);
    if (!n) return out;
    const std::string path = join(s.path, key);
    const toml::array* a = n->as_array();
    if (!a) {
      wrong_type(n, path, "an array of tables");
      return out;
    }
    for (std::size_t i = 0; i < a->size() && ok(); ++i) {
      const toml::table* t = (*a)[i].as_table();
      if (!t) {
        wrong_type(&(*a)[i], indexed(path, i), "a table");
        return out;
      }
      check_keys(*t, indexed(path, i), known);
      out.push_back(Section{t, indexed(path, i)});
    }
    if (array) *array = a;
    return out;
  }

  template <class T>
  const toml::node* integer(const Section& s, std::string_view key, T& out, std::int64_t min,
                            std::int64_t max) {
    const toml::node* n = get(s, key);
    if (!n) return nullptr;
    const auto* v = n->as_integer();
    if (!v) return wrong_type(n, join(s.path, key), "an integer");
    if (v->get() < min || v->get() > max) {
      return fail(n, join(s.path, key),
                  "must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    out = static_cast<T>(v->get());
    return n;
  }

  // Strings are never allowed empty: no key here has a meaningful empty value.
  const toml::node* string(const Section& s, std::string_view key, std::string& out,
                           bool required = false) {
    const toml::node* n = get(s, key);
    if (!n) {
      if (required && ok() && s.table) fail(&s.table->source(), join(s.path, key), "required");
      return nullptr;
    }
    const auto* v = n->as_string();
    if (!v) return wrong_type(n, join(s.path, key), "a string");
    if (v->get().empty()) return fail(n, join(s.path, key), "must not be empty");
    out = v->get();
    return n;
  }

  const toml::node* one_of(const Section& s, std::string_view key, std::string& out, Keys allowed) {
    std::string value;
    const toml::node* n = string(s, key, value);
    if (!n) return nullptr;
    for (std::string_view a : allowed) {
      if (value == a) {
        out = value;
        return n;
      }
    }
    return fail(n, join(s.path, key), "must be one of " + list(allowed));
  }

  const toml::array* string_array(const Section& s, std::string_view key,
                                  std::vector<std::string>& out) {
    const toml::node* n = get(s, key);
    if (!n) return nullptr;
    const toml::array* a = n->as_array();
    if (!a) return wrong_type(n, join(s.path, key), "an array of strings");
    for (std::size_t i = 0; i < a->size(); ++i) {
      const auto* v = (*a)[i].as_string();
      if (!v || v->get().empty()) {
        return fail(&(*a)[i], indexed(join(s.path, key), i), "expected a non-empty string");
      }
      out.push_back(v->get());
    }
    return a;
  }

  // RFC 3339 with an offset, as a string or a native TOML offset date-time; a local time
  // would be ambiguous.
  const toml::node* time(const Section& s, std::string_view key, std::optional<Timestamp>& out) {
    const toml::node* n = get(s, key);
    if (!n) return nullptr;
    std::string text;
    if (const auto* str = n->as_string()) {
      text = str->get();
    } else if (const auto* dt = n->as_date_time(); dt && dt->get().offset) {
      std::ostringstream os;
      os << dt->get();
      text = os.str();
    }
    const std::optional<Timestamp> t = parse_rfc3339(text);
    if (!t) {
      return fail(n, join(s.path, key),
                  "expected an RFC 3339 time with a UTC offset, as \"2017-12-15T00:00:00+08:00\"");
    }
    out = t;
    return n;
  }

 private:
  const toml::node* get(const Section& s, std::string_view key) const {
    return ok() && s.table ? s.table->get(key) : nullptr;
  }

  std::nullptr_t wrong_type(const toml::node* n, const std::string& key, std::string_view want) {
    return fail(n, key, "expected " + std::string(want) + ", got " + type_name(*n));
  }

  // Unknown keys are errors so that a typo does not silently fall back to a default.
  void check_keys(const toml::table& t, std::string_view path, Keys known) {
    for (auto&& [k, v] : t) {
      bool found = false;
      for (std::string_view name : known) found = found || k.str() == name;
      if (!found) {
        fail(&k.source(), join(path, k.str()), "unknown key (expected one of " + list(known) + ")");
        return;
      }
    }
  }

  std::string where(const toml::source_region* at) const {
    std::string out(source_);
    if (at && at->begin.line != 0) {
      out += ":" + std::to_string(at->begin.line) + ":" + std::to_string(at->begin.column);
    }
    return out + ": ";
  }

  std::string source_;
  const toml::table& root_;
  std::optional<Error> error_;
};

void read_server(Reader& r, const Section& root, Config& c) {
  const Section s = r.table(root, "server", {"listen", "data_dir", "log_level", "threads"});
  std::string listen;
  if (const toml::node* n = r.string(s, "listen", listen)) {
    if (auto problem = split_host_port(listen, true, c.listen_host, c.listen_port)) {
      r.fail(n, "server.listen", *problem);
    }
  }
  r.string(s, "data_dir", c.data_dir);
  r.one_of(s, "log_level", c.log_level, {"trace", "debug", "info", "warn", "error"});
  r.integer(s, "threads", c.limits.http_threads, 1, 256);
}

void read_limits(Reader& r, const Section& root, LimitsConfig& l) {
  const Section s = r.table(root, "limits",
                            {"max_body_bytes", "max_bodies_in_flight_bytes", "header_timeout_ms",
                             "read_timeout_ms", "idle_timeout_ms", "max_connections"});
  r.integer(s, "max_body_bytes", l.max_body_bytes, 1, std::int64_t{1} << 30);
  r.integer(s, "max_bodies_in_flight_bytes", l.max_bodies_in_flight_bytes, 1,
            std::int64_t{1} << 40);
  r.integer(s, "header_timeout_ms", l.header_timeout_ms, 1, kU32Max);
  r.integer(s, "read_timeout_ms", l.read_timeout_ms, 1, kU32Max);
  r.integer(s, "idle_timeout_ms", l.idle_timeout_ms, 1, kU32Max);
  r.integer(s, "max_connections", l.max_connections, 1, kU32Max);
}

// librdkafka property names contain dots; unquoted TOML dotted keys arrive as nested tables,
// so they are flattened back into "linger.ms".
void read_properties(Reader& r, const toml::table& t, const std::string& prefix,
                     std::vector<std::pair<std::string, std::string>>& out) {
  for (auto&& [k, v] : t) {
    const std::string name = join(prefix, k.str());
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
      r.fail(&v, "kafka.properties." + name, "expected a string, got " + type_name(v));
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

void read_kafka(Reader& r, const Section& root, KafkaConfig& k) {
  const Section s = r.table(root, "kafka", {"mode", "events_topic", "status_topic", "properties"});
  if (const toml::node* n = r.string(s, "mode", k.mode)) {
    if (auto problem = normalize_kafka_mode(k.mode)) r.fail(n, "kafka.mode", *problem);
  }
  const toml::node* topic_node = nullptr;
  for (auto [key, topic] :
       {std::pair{"events_topic", &k.events_topic}, std::pair{"status_topic", &k.status_topic}}) {
    if (const toml::node* n = r.string(s, key, *topic)) {
      topic_node = n;
      if (!valid_topic(*topic)) {
        r.fail(n, join("kafka", key), "a topic name is 1..249 of [A-Za-z0-9._-]");
      }
    }
  }
  if (r.ok() && k.events_topic == k.status_topic) {
    r.fail(topic_node, "kafka.status_topic", "must differ from kafka.events_topic");
  }
  if (const Section props = r.table(s, "properties", {}); props.table) {
    read_properties(r, *props.table, "", k.properties);
  }
}

void read_sms(Reader& r, const Section& root, Config& c) {
  const Section s = r.table(root, "sms", {"policies"});
  const toml::array* array = nullptr;
  const std::vector<Section> items = r.table_array(
      s, "policies", {"id", "window_hours", "provinces", "providers", "from", "until"}, &array);
  if (!r.ok() || !array) return;
  std::vector<SmsPolicy> policies;
  for (const Section& item : items) {
    SmsPolicy p;
    r.string(item, "id", p.id, true);
    std::int64_t hours = 24;
    r.integer(item, "window_hours", hours, 1, 24 * 366);
    p.window_micros = hours * kMicrosPerHour;
    if (const toml::array* a = r.string_array(item, "provinces", p.provinces)) {
      for (std::size_t j = 0; j < p.provinces.size(); ++j) {
        std::optional<std::string> canonical = canonical_province(p.provinces[j]);
        if (!canonical) {
          r.fail(&(*a)[j], indexed(join(item.path, "provinces"), j),
                 "unknown province \"" + p.provinces[j] + "\"");
          break;
        }
        p.provinces[j] = std::move(*canonical);
      }
    }
    r.string_array(item, "providers", p.providers);
    r.time(item, "from", p.from);
    r.time(item, "until", p.until);
    policies.push_back(std::move(p));
  }
  if (!r.ok()) return;
  Result<SmsPolicies> made = SmsPolicies::make(std::move(policies));
  if (!made) return r.fail(made.take_error());
  c.sms_policies = std::move(made).value();
}

void read_calendar(Reader& r, const Section& root, WorkCalendar& calendar) {
  const Section s = r.table(root, "calendar", {"holidays", "workdays"});
  for (auto [key, holiday] : {std::pair{"holidays", true}, std::pair{"workdays", false}}) {
    std::vector<std::string> days;
    const toml::array* a = r.string_array(s, key, days);
    for (std::size_t i = 0; a && i < days.size(); ++i) {
      const auto day = WorkCalendar::parse_day(days[i]);
      if (!day) {
        r.fail(&(*a)[i], indexed(join(s.path, key), i), "expected a date as \"2026-10-01\"");
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

void read_auth(Reader& r, const Section& root, std::vector<TokenConfig>& tokens) {
  const Section s = r.table(root, "auth", {"tokens"});
  std::set<std::string, std::less<>> names;
  std::set<std::string, std::less<>> hashes;
  for (const Section& item : r.table_array(s, "tokens", {"name", "role", "sha256"})) {
    TokenConfig t;
    if (const toml::node* n = r.string(item, "name", t.name, true)) {
      if (t.name.size() > kMaxShortText) r.fail(n, join(item.path, "name"), "too long");
      if (!names.insert(t.name).second) {
        r.fail(n, join(item.path, "name"), "duplicate token name \"" + t.name + "\"");
      }
    }
    std::string role = "reader";
    r.one_of(item, "role", role, {"operator", "auditor", "reader"});
    t.role = role == "operator"  ? Role::operator_
             : role == "auditor" ? Role::auditor
                                 : Role::reader;
    if (const toml::node* n = r.string(item, "sha256", t.sha256_hex, true)) {
      bool hex = t.sha256_hex.size() == 64;
      for (char& ch : t.sha256_hex) {
        hex = hex && std::isxdigit(static_cast<unsigned char>(ch));
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      }
      if (!hex) {
        r.fail(n, join(item.path, "sha256"), "expected 64 hex digits (SHA-256 of the token)");
      } else if (!hashes.insert(t.sha256_hex).second) {
        r.fail(n, join(item.path, "sha256"), "the same token hash is configured twice");
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

  Config c = default_config();
  Reader r(source, doc);
  const Section root = r.root({"server", "limits", "kafka", "sms", "calendar", "auth"});
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
  if (!f || std::ferror(f.get())) {
    return make_error(ErrorCode::io,
                      "cannot read config file " + path + ": " + std::strerror(errno));
  }
  return parse_config(text, path);
}

Config default_config() { return Config{}; }

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

bool is_loopback(std::string_view host) {
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

}  // namespace filingd
