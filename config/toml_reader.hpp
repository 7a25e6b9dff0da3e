// Typed reads out of a parsed TOML document, by the configuration table (config_keys.hpp): the
// known keys of each table, integer bounds, and the default of a key that is absent. Internal
// to the config module.
//
// The first failure is kept and later reads become no-ops, so each section reads straight
// through instead of checking after every key. A read returns the node read (from the document,
// or the key's default) when there is one and it is valid, nullptr otherwise.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/result.hpp"
#include "events/time.hpp"

namespace filingd {

struct Section {
  const toml::table* table = nullptr;  // nullptr: absent, so every read gives its default
  std::string path;                    // for messages: "sms.policies[1]"
  std::string spec;                    // in the configuration table: "sms.policies[]"
};

class TomlReader {
 public:
  TomlReader(std::string_view source, const toml::table& root) : source_(source), root_(root) {}

  bool ok() const { return !error_; }
  Error take() { return std::move(*error_); }

  std::nullptr_t fail(const toml::node* at, const std::string& key, std::string_view what) {
    return fail(at ? &at->source() : nullptr, key, what);
  }
  std::nullptr_t fail(const toml::source_region* at, const std::string& key, std::string_view what);
  // Adopts an error whose message already names its key, adding the place.
  void fail(Error e);

  Section root();
  Section table(const Section& s, std::string_view key);
  std::vector<Section> tables(const Section& s, std::string_view key);

  const toml::node* integer(const Section& s, std::string_view key, std::int64_t& out);
  template <class T>
  const toml::node* integer(const Section& s, std::string_view key, T& out) {
    std::int64_t v = 0;
    const toml::node* n = integer(s, key, v);
    if (n) out = static_cast<T>(v);
    return n;
  }
  // Strings are refused empty, unless the key's `empty_ok` says "" means something.
  const toml::node* string(const Section& s, std::string_view key, std::string& out);
  const toml::node* boolean(const Section& s, std::string_view key, bool& out);
  const toml::node* one_of(const Section& s, std::string_view key, std::string& out,
                           std::initializer_list<std::string_view> allowed);
  const toml::array* strings(const Section& s, std::string_view key, std::vector<std::string>& out);
  // RFC 3339 with an offset, as a string or a native TOML offset date-time; a local time would
  // be ambiguous.
  const toml::node* time(const Section& s, std::string_view key, std::optional<Timestamp>& out);

 private:
  const toml::node* get(const Section& s, std::string_view key);
  std::nullptr_t wrong_type(const toml::node* n, const std::string& key, std::string_view want);
  void check_keys(const toml::table& t, const std::string& path, const std::string& spec);
  std::string where(const toml::source_region* at) const;

  std::string source_;
  const toml::table& root_;
  std::optional<Error> error_;
};

std::string join_key(std::string_view path, std::string_view key);

}  // namespace filingd
