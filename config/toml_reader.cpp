#include "config/toml_reader.hpp"

#include <algorithm>
#include <map>
#include <sstream>

#include "config/config_keys.hpp"

namespace filingd {
namespace {

std::string type_text(const toml::node& n) {
  std::ostringstream os;
  os << n.type();
  return os.str();
}

std::string indexed(std::string_view path, std::size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

// The configuration table's defaults as TOML nodes, by key name, parsed once.
const toml::node* default_of(std::string_view name) {
  static const std::map<std::string, toml::table, std::less<>> defaults = [] {
    std::map<std::string, toml::table, std::less<>> out;
    for (const ConfigKey& k : config_keys()) {
      if (k.default_value.empty()) continue;
      const std::string text = "v = " + std::string(k.default_value);
#if TOML_EXCEPTIONS
      out.emplace(std::string(k.name), toml::parse(text));
#else
      out.emplace(std::string(k.name), std::move(toml::parse(text)).table());
#endif
    }
    return out;
  }();
  const auto it = defaults.find(name);
  return it == defaults.end() ? nullptr : it->second.get("v");
}

// The names of the keys directly under `spec` in the configuration table ("server" ->
// listen, data_dir, ...); empty for a pass-through table.
std::vector<std::string_view> children(std::string_view spec) {
  std::vector<std::string_view> out;
  for (const ConfigKey& k : config_keys()) {
    std::string_view name = k.name;
    if (spec.empty()) {
      out.push_back(name.substr(0, name.find('.')));
      continue;
    }
    if (!name.starts_with(spec) || name.size() <= spec.size() || name[spec.size()] != '.') continue;
    const std::string_view rest = name.substr(spec.size() + 1);
    if (rest.find('.') == std::string_view::npos) out.push_back(rest);
  }
  return out;
}

std::string list(const std::vector<std::string_view>& keys) {
  std::string out;
  for (std::string_view k : keys) {
    if (out.find(std::string(k)) != std::string::npos) continue;
    out += (out.empty() ? "" : ", ") + std::string(k);
  }
  return out;
}

}  // namespace

std::string join_key(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : std::string(path) + "." + std::string(key);
}

std::nullptr_t TomlReader::fail(const toml::source_region* at, const std::string& key,
                                std::string_view what) {
  if (!error_)
    error_ = make_error(ErrorCode::invalid, where(at) + key + ": " + std::string(what), key);
  return nullptr;
}

void TomlReader::fail(Error e) {
  if (error_) return;
  const toml::node* at = root_.at_path(e.field).node();
  e.message = where(at ? &at->source() : nullptr) + e.message;
  error_ = std::move(e);
}

Section TomlReader::root() {
  check_keys(root_, "", "");
  return Section{&root_, "", ""};
}

const toml::node* TomlReader::get(const Section& s, std::string_view key) {
  if (!ok()) return nullptr;
  if (s.table) {
    if (const toml::node* n = s.table->get(key)) return n;
  }
  return default_of(join_key(s.spec, key));
}

Section TomlReader::table(const Section& s, std::string_view key) {
  const std::string path = join_key(s.path, key);
  const std::string spec = join_key(s.spec, key);
  const toml::node* n = get(s, key);
  if (!n) return Section{nullptr, path, spec};
  const toml::table* t = n->as_table();
  if (!t) return Section{wrong_type(n, path, "a table"), path, spec};
  check_keys(*t, path, spec);
  return Section{t, path, spec};
}

std::vector<Section> TomlReader::tables(const Section& s, std::string_view key) {
  std::vector<Section> out;
  const toml::node* n = get(s, key);
  if (!n) return out;
  const std::string path = join_key(s.path, key);
  const std::string spec = join_key(s.spec, key) + "[]";
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
    check_keys(*t, indexed(path, i), spec);
    out.push_back(Section{t, indexed(path, i), spec});
  }
  return out;
}

const toml::node* TomlReader::integer(const Section& s, std::string_view key, std::int64_t& out) {
  const toml::node* n = get(s, key);
  if (!n) return nullptr;
  const std::string name = join_key(s.path, key);
  const auto* v = n->as_integer();
  if (!v) return wrong_type(n, name, "an integer");
  const ConfigKey* spec = find_config_key(join_key(s.spec, key));
  if (spec && (v->get() < spec->min || v->get() > spec->max)) {
    return fail(
        n, name,
        "must be between " + std::to_string(spec->min) + " and " + std::to_string(spec->max));
  }
  out = v->get();
  return n;
}

const toml::node* TomlReader::string(const Section& s, std::string_view key, std::string& out) {
  const toml::node* n = get(s, key);
  const std::string name = join_key(s.path, key);
  if (!n) {
    if (ok() && s.table) {
      const ConfigKey* spec = find_config_key(join_key(s.spec, key));
      if (spec && spec->default_value.empty() && !spec->optional)
        fail(&s.table->source(), name, "required");
    }
    return nullptr;
  }
  const auto* v = n->as_string();
  if (!v) return wrong_type(n, name, "a string");
  const ConfigKey* spec = find_config_key(join_key(s.spec, key));
  if (v->get().empty() && !(spec && spec->empty_ok)) return fail(n, name, "must not be empty");
  out = v->get();
  return n;
}

const toml::node* TomlReader::boolean(const Section& s, std::string_view key, bool& out) {
  const toml::node* n = get(s, key);
  if (!n) return nullptr;
  const auto* v = n->as_boolean();
  if (!v) return wrong_type(n, join_key(s.path, key), "a boolean");
  out = v->get();
  return n;
}

const toml::node* TomlReader::one_of(const Section& s, std::string_view key, std::string& out,
                                     std::initializer_list<std::string_view> allowed) {
  std::string value;
  const toml::node* n = string(s, key, value);
  if (!n) return nullptr;
  for (std::string_view a : allowed) {
    if (value == a) {
      out = value;
      return n;
    }
  }
  return fail(n, join_key(s.path, key),
              "must be one of " + list(std::vector<std::string_view>(allowed)));
}

const toml::array* TomlReader::strings(const Section& s, std::string_view key,
                                       std::vector<std::string>& out) {
  const toml::node* n = get(s, key);
  if (!n) return nullptr;
  const toml::array* a = n->as_array();
  if (!a) return wrong_type(n, join_key(s.path, key), "an array of strings");
  for (std::size_t i = 0; i < a->size(); ++i) {
    const auto* v = (*a)[i].as_string();
    if (!v || v->get().empty())
      return fail(&(*a)[i], indexed(join_key(s.path, key), i), "expected a non-empty string");
    out.push_back(v->get());
  }
  return a;
}

const toml::node* TomlReader::time(const Section& s, std::string_view key,
                                   std::optional<Timestamp>& out) {
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
  if (!t)
    return fail(n, join_key(s.path, key),
                "expected an RFC 3339 time with a UTC offset, as \"2017-12-15T00:00:00+08:00\"");
  out = t;
  return n;
}

std::nullptr_t TomlReader::wrong_type(const toml::node* n, const std::string& key,
                                      std::string_view want) {
  return fail(n, key, "expected " + std::string(want) + ", got " + type_text(*n));
}

// Unknown keys are errors so that a typo does not silently fall back to a default. A table the
// configuration table lists no keys under is a pass-through (kafka.properties).
void TomlReader::check_keys(const toml::table& t, const std::string& path,
                            const std::string& spec) {
  const std::vector<std::string_view> known = children(spec);
  if (known.empty() && !spec.empty()) return;
  for (auto&& [k, v] : t) {
    if (std::find(known.begin(), known.end(), k.str()) != known.end()) continue;
    fail(&k.source(), join_key(path, k.str()), "unknown key (expected one of " + list(known) + ")");
    return;
  }
}

std::string TomlReader::where(const toml::source_region* at) const {
  std::string out(source_);
  if (at && at->begin.line != 0)
    out += ":" + std::to_string(at->begin.line) + ":" + std::to_string(at->begin.column);
  return out + ": ";
}

}  // namespace filingd
