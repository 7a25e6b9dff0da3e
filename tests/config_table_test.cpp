// The configuration table (config/config_keys.hpp) is the one declaration of every key: the
// README's table, the shipped config/filingd.toml and the defaults the parser applies must all
// agree with it.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "config/config.hpp"
#include "config/config_keys.hpp"

#ifndef FILINGD_SOURCE_DIR
#define FILINGD_SOURCE_DIR "."
#endif

namespace filingd {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.pop_back();
  while (!s.empty() && s.front() == ' ') s.erase(0, 1);
  return s;
}

TEST(ConfigTable, TheReadmeShowsTheTable) {
  const std::string readme = read_file(FILINGD_SOURCE_DIR "/README.md");
  const std::string begin = "<!-- config-table -->\n";
  const std::string end = "<!-- /config-table -->";
  const auto a = readme.find(begin);
  const auto b = readme.find(end);
  ASSERT_NE(a, std::string::npos) << "README.md has no " << begin;
  ASSERT_NE(b, std::string::npos);
  EXPECT_EQ(readme.substr(a + begin.size(), b - a - begin.size()), config_reference_markdown())
      << "README.md's configuration table differs from config/config_keys.cpp; it should read:\n"
      << config_reference_markdown();
}

// Every key line of the shipped file, set ("key = v") or shown commented out ("# key = v"), by
// its full name ("server.listen", "auth.tokens[].role"), with its value text and whether set.
struct Line {
  std::string value;
  bool set = false;
};
std::map<std::string, Line> shipped_keys(const std::string& text) {
  std::map<std::string, Line> out;
  std::istringstream in(text);
  std::string section;
  for (std::string raw; std::getline(in, raw);) {
    std::string line = trim(raw);
    bool set = true;
    if (line.starts_with("# ")) {
      line = line.substr(2);
      set = false;
    }
    if (line.starts_with("[[") && line.find("]]") != std::string::npos) {
      section = line.substr(2, line.find("]]") - 2) + "[]";
      continue;
    }
    if (line.starts_with("[") && line.find(']') != std::string::npos) {
      section = line.substr(1, line.find(']') - 1);
      continue;
    }
    const auto eq = line.find(" = ");
    if (eq == std::string::npos || line.starts_with("\"") || section == "kafka.properties")
      continue;
    const std::string key = line.substr(0, eq);
    if (key.find(' ') != std::string::npos || key.empty()) continue;
    std::string value = line.substr(eq + 3);
    if (const auto hash = value.find("  #"); hash != std::string::npos) value.resize(hash);
    Line& l = out[section + "." + key];
    l.value = trim(value);
    l.set = l.set || set;
  }
  return out;
}

TEST(ConfigTable, TheShippedFileShowsEveryKeyAndOnlyKnownOnes) {
  const auto keys = shipped_keys(read_file(FILINGD_SOURCE_DIR "/config/filingd.toml"));
  for (const auto& [name, line] : keys) {
    EXPECT_NE(find_config_key(name), nullptr) << "config/filingd.toml has an unknown key " << name;
  }
  for (const ConfigKey& k : config_keys()) {
    if (k.type == KeyType::table || k.type == KeyType::tables) continue;
    const auto it = keys.find(std::string(k.name));
    ASSERT_NE(it, keys.end()) << "config/filingd.toml does not show " << k.name;
    // Where the shipped file sets a key to a plain value, it is the default: the file documents
    // the defaults. (The policies, calendar and tokens are data, not defaults.)
    const bool data = k.name.starts_with("sms.") || k.name.starts_with("calendar.") ||
                      k.name.starts_with("auth.");
    if (!data && !k.default_value.empty()) {
      EXPECT_EQ(it->second.value, k.default_value) << k.name;
    }
  }
}

TEST(ConfigTable, DefaultsParseAndRespectTheirBounds) {
  const Config c = default_config();
  EXPECT_EQ(c.listen_host, "127.0.0.1");
  EXPECT_EQ(c.limits.max_body_bytes, 1048576u);
  for (const ConfigKey& k : config_keys()) {
    if (k.type != KeyType::integer || k.default_value.empty()) continue;
    const long long v = std::stoll(std::string(k.default_value));
    EXPECT_GE(v, k.min) << k.name;
    EXPECT_LE(v, k.max) << k.name;
  }
}

TEST(ConfigTable, AnUnknownKeyIsNamedWithTheKnownOnes) {
  auto c = parse_config("[limits]\nmax_body = 5\n");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().field, "limits.max_body");
  EXPECT_NE(c.error().message.find("max_body_bytes"), std::string::npos) << c.error().message;
}

TEST(ConfigTable, LocalhostIsALoopbackListenHost) {
  auto c = parse_config("[server]\nlisten = \"localhost:0\"\n");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->listen_host, "localhost");
  EXPECT_TRUE(is_loopback(c->listen_host));
}

}  // namespace
}  // namespace filingd
