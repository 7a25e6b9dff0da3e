#include "config/config.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/sms_policy.hpp"
#include "events/time.hpp"

#ifndef FILINGD_SOURCE_DIR
#define FILINGD_SOURCE_DIR "."
#endif

namespace filingd {
namespace {

Timestamp at(const char* rfc3339) {
  const std::optional<Timestamp> t = parse_rfc3339(rfc3339);
  EXPECT_TRUE(t.has_value()) << rfc3339;
  return t.value_or(Timestamp{});
}

Config parse_ok(const std::string& text) {
  Result<Config> c = parse_config(text, "test.toml");
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
  return c.ok() ? std::move(c).value() : default_config();
}

const std::string kHash(64, 'a');

SmsPolicy policy(std::string id, std::vector<std::string> provinces = {},
                 std::vector<std::string> providers = {}, std::optional<Timestamp> from = {},
                 std::optional<Timestamp> until = {}, std::int64_t window = 24 * kMicrosPerHour) {
  SmsPolicy p;
  p.id = std::move(id);
  p.window_micros = window;
  p.provinces = std::move(provinces);
  p.providers = std::move(providers);
  p.from = from;
  p.until = until;
  return p;
}

// ---- the shipped file ----------------------------------------------------------------------

class ShippedConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<Config> c = load_config(FILINGD_SOURCE_DIR "/config/filingd.toml");
    ASSERT_TRUE(c.ok()) << c.error().message;
    config_ = std::move(c).value();
  }
  SmsPolicy select(const char* province, const char* when) const {
    return config_.sms_policies.select(province, "any-provider", at(when));
  }
  Config config_;
};

TEST_F(ShippedConfig, RunsOnLoopbackWithEmbeddedKafkaAndNoTokens) {
  EXPECT_EQ(config_.listen_host, "127.0.0.1");
  EXPECT_EQ(config_.listen_port, 8080);
  EXPECT_EQ(config_.data_dir, "./data");
  EXPECT_EQ(config_.log_level, "info");
  EXPECT_EQ(config_.kafka.mode, "embedded");
  EXPECT_EQ(config_.kafka.events_topic, "filing.events");
  EXPECT_EQ(config_.kafka.status_topic, "filing.status");
  EXPECT_TRUE(config_.kafka.properties.empty());
  EXPECT_TRUE(config_.tokens.empty());
  EXPECT_EQ(config_.limits.http_threads, 2u);
  EXPECT_EQ(config_.limits.max_body_bytes, 1u << 20);
}

TEST_F(ShippedConfig, HoldsThePilotThenTheDefault) {
  const auto& all = config_.sms_policies.all();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, "pilot-48h-2017");
  EXPECT_EQ(all[0].window_micros, 48 * kMicrosPerHour);
  EXPECT_EQ(all[0].provinces, (std::vector<std::string>{"津", "甘", "藏", "宁", "琼", "新", "青"}));
  EXPECT_TRUE(all[0].providers.empty());
  EXPECT_EQ(all[0].from, at("2017-12-14T16:00:00Z"));
  EXPECT_EQ(all[0].until, at("2020-08-16T16:00:00Z"));
  EXPECT_EQ(all[1].id, "default-24h");
  EXPECT_EQ(all[1].window_micros, 24 * kMicrosPerHour);
}

TEST_F(ShippedConfig, PilotAppliesToGansuIn2019Only) {
  EXPECT_EQ(select("甘", "2019-06-01T10:00:00+08:00").id, "pilot-48h-2017");
  EXPECT_EQ(select("甘", "2021-06-01T10:00:00+08:00").id, "default-24h");
  EXPECT_EQ(select("京", "2019-06-01T10:00:00+08:00").id, "default-24h");
}

TEST_F(ShippedConfig, PilotBoundsAreShanghaiMidnightFromInclusiveUntilExclusive) {
  EXPECT_EQ(select("琼", "2017-12-14T23:59:59+08:00").id, "default-24h");
  EXPECT_EQ(select("琼", "2017-12-15T00:00:00+08:00").id, "pilot-48h-2017");
  EXPECT_EQ(select("琼", "2020-08-16T23:59:59+08:00").id, "pilot-48h-2017");
  EXPECT_EQ(select("琼", "2020-08-17T00:00:00+08:00").id, "default-24h");
}

// ---- parsing -------------------------------------------------------------------------------

TEST(Config, DefaultConfigHasTheBuiltInDefaults) {
  const Config c = default_config();
  EXPECT_EQ(c.listen_host, "127.0.0.1");
  EXPECT_EQ(c.listen_port, 8080);
  EXPECT_EQ(c.kafka.mode, "embedded");
  ASSERT_EQ(c.sms_policies.all().size(), 1u);
  EXPECT_EQ(c.sms_policies.all()[0].id, "default-24h");
  EXPECT_EQ(c.sms_policies.select("甘", "", at("2019-01-01T00:00:00Z")).window_micros,
            24 * kMicrosPerHour);
}

TEST(Config, EmptyFileGivesTheDefaults) {
  const Config c = parse_ok("");
  const Config d = default_config();
  EXPECT_EQ(c.listen_host, d.listen_host);
  EXPECT_EQ(c.listen_port, d.listen_port);
  EXPECT_EQ(c.data_dir, d.data_dir);
  EXPECT_EQ(c.limits.read_timeout_ms, d.limits.read_timeout_ms);
  ASSERT_EQ(c.sms_policies.all().size(), 1u);
  EXPECT_EQ(c.sms_policies.all()[0].id, "default-24h");
}

TEST(Config, ReadsEveryKey) {
  const Config c = parse_ok(R"(
[server]
listen = "[::1]:0"
data_dir = "/var/lib/filingd"
log_level = "debug"
threads = 8
[limits]
max_body_bytes = 4096
header_timeout_ms = 1
read_timeout_ms = 2
idle_timeout_ms = 3
max_connections = 4
[kafka]
mode = "k1:9092, k2:9093"
events_topic = "ev"
status_topic = "st"
[kafka.properties]
"security.protocol" = "SASL_SSL"
linger.ms = 5
enable.idempotence = true
[[sms.policies]]
id = "p"
window_hours = 72
provinces = ["陇", "天津市"]
providers = ["acme"]
from = 2017-12-15T00:00:00+08:00
[[sms.policies]]
id = "rest"
[[auth.tokens]]
name = "desk-1"
role = "operator"
sha256 = "ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789"
[[auth.tokens]]
name = "audit"
role = "auditor"
sha256 = ")" + kHash + R"("
[[auth.tokens]]
name = "viewer"
sha256 = ")" + std::string(64, 'b') +
                            R"("
)");
  EXPECT_EQ(c.listen_host, "::1");
  EXPECT_EQ(c.listen_port, 0);
  EXPECT_EQ(c.data_dir, "/var/lib/filingd");
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.limits.http_threads, 8u);
  EXPECT_EQ(c.limits.max_body_bytes, 4096u);
  EXPECT_EQ(c.limits.header_timeout_ms, 1u);
  EXPECT_EQ(c.limits.read_timeout_ms, 2u);
  EXPECT_EQ(c.limits.idle_timeout_ms, 3u);
  EXPECT_EQ(c.limits.max_connections, 4u);
  EXPECT_EQ(c.kafka.mode, "k1:9092,k2:9093");
  EXPECT_EQ(c.kafka.events_topic, "ev");
  EXPECT_EQ(c.kafka.status_topic, "st");
  using Props = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(c.kafka.properties, (Props{{"enable.idempotence", "true"},
                                       {"linger.ms", "5"},
                                       {"security.protocol", "SASL_SSL"}}));

  const auto& p = c.sms_policies.all();
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].window_micros, 72 * kMicrosPerHour);
  EXPECT_EQ(p[0].provinces, (std::vector<std::string>{"甘", "津"}));  // aliases canonicalised
  EXPECT_EQ(p[0].providers, std::vector<std::string>{"acme"});
  EXPECT_EQ(p[0].from, at("2017-12-14T16:00:00Z"));  // native TOML offset date-time
  EXPECT_FALSE(p[0].until.has_value());
  EXPECT_EQ(c.sms_policies.select("甘", "acme", at("2019-01-01T00:00:00Z")).id, "p");
  EXPECT_EQ(c.sms_policies.select("甘", "other", at("2019-01-01T00:00:00Z")).id, "rest");

  ASSERT_EQ(c.tokens.size(), 3u);
  EXPECT_EQ(c.tokens[0].name, "desk-1");
  EXPECT_EQ(c.tokens[0].role, Role::operator_);
  EXPECT_EQ(c.tokens[0].sha256_hex,
            "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
  EXPECT_EQ(c.tokens[1].role, Role::auditor);
  EXPECT_EQ(c.tokens[2].role, Role::reader);  // role defaults to the least privilege
}

TEST(Config, AliasLongIsAcceptedForGansu) {
  const Config c = parse_ok(R"(
[[sms.policies]]
id = "pilot"
window_hours = 48
provinces = ["陇"]
[[sms.policies]]
id = "default"
)");
  EXPECT_EQ(c.sms_policies.all()[0].provinces, std::vector<std::string>{"甘"});
  EXPECT_EQ(c.sms_policies.select("甘", "", at("2030-01-01T00:00:00Z")).id, "pilot");
}

TEST(Config, ListenWithPortZeroAndPlainHost) {
  const Config c = parse_ok("[server]\nlisten = \"localhost:0\"\n");
  EXPECT_EQ(c.listen_host, "localhost");
  EXPECT_EQ(c.listen_port, 0);
}

TEST(Config, KafkaOff) { EXPECT_EQ(parse_ok("[kafka]\nmode = \"off\"\n").kafka.mode, "off"); }

// ---- errors: each names its key ------------------------------------------------------------

struct BadCase {
  const char* name;
  std::string toml;
  std::string key;
};

std::ostream& operator<<(std::ostream& os, const BadCase& c) { return os << c.name; }

class BadConfig : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadConfig, FailsNamingTheKey) {
  const BadCase& bad = GetParam();
  Result<Config> c = parse_config(bad.toml, "bad.toml");
  ASSERT_FALSE(c.ok()) << bad.toml;
  EXPECT_EQ(c.error().code, ErrorCode::invalid);
  EXPECT_EQ(c.error().field, bad.key) << c.error().message;
  EXPECT_NE(c.error().message.find(bad.key + ": "), std::string::npos) << c.error().message;
  EXPECT_EQ(c.error().message.rfind("bad.toml", 0), 0u) << c.error().message;
}

const std::string kPolicyTail = "[[sms.policies]]\nid = \"rest\"\n";
std::string token(const std::string& name, const std::string& role, const std::string& hash) {
  return "[[auth.tokens]]\nname = \"" + name + "\"\nrole = \"" + role + "\"\nsha256 = \"" + hash +
         "\"\n";
}

INSTANTIATE_TEST_SUITE_P(
    Config, BadConfig,
    ::testing::Values(
        BadCase{"UnknownTable", "[serverr]\nlisten = \"127.0.0.1:1\"\n", "serverr"},
        BadCase{"UnknownKey", "[server]\nlisten_addr = \"127.0.0.1:1\"\n", "server.listen_addr"},
        BadCase{"TableIsArray", "[[server]]\nthreads = 1\n", "server"},
        BadCase{"WrongType", "[server]\nthreads = \"2\"\n", "server.threads"},
        BadCase{"FloatForInteger", "[limits]\nmax_connections = 1.5\n", "limits.max_connections"},
        BadCase{"PortTooLarge", "[server]\nlisten = \"127.0.0.1:65536\"\n", "server.listen"},
        BadCase{"PortNotNumber", "[server]\nlisten = \"127.0.0.1:http\"\n", "server.listen"},
        BadCase{"NoPort", "[server]\nlisten = \"127.0.0.1\"\n", "server.listen"},
        BadCase{"UnbracketedIpv6", "[server]\nlisten = \"::1:8080\"\n", "server.listen"},
        BadCase{"EmptyDataDir", "[server]\ndata_dir = \"\"\n", "server.data_dir"},
        BadCase{"BadLogLevel", "[server]\nlog_level = \"verbose\"\n", "server.log_level"},
        BadCase{"ZeroThreads", "[server]\nthreads = 0\n", "server.threads"},
        BadCase{"ZeroTimeout", "[limits]\nread_timeout_ms = 0\n", "limits.read_timeout_ms"},
        BadCase{"NegativeTimeout", "[limits]\nidle_timeout_ms = -5\n", "limits.idle_timeout_ms"},
        BadCase{"TimeoutOverflow", "[limits]\nheader_timeout_ms = 4294967296\n",
                "limits.header_timeout_ms"},
        BadCase{"ZeroBody", "[limits]\nmax_body_bytes = 0\n", "limits.max_body_bytes"},
        BadCase{"KafkaModeWord", "[kafka]\nmode = \"embeded\"\n", "kafka.mode"},
        BadCase{"KafkaBrokerPortZero", "[kafka]\nmode = \"k1:9092,k2:0\"\n", "kafka.mode"},
        BadCase{"KafkaModeEmptyEntry", "[kafka]\nmode = \"k1:9092,\"\n", "kafka.mode"},
        BadCase{"KafkaModeType", "[kafka]\nmode = true\n", "kafka.mode"},
        BadCase{"KafkaTopic", "[kafka]\nevents_topic = \"filing events\"\n", "kafka.events_topic"},
        BadCase{"KafkaSameTopics", "[kafka]\nevents_topic = \"x\"\nstatus_topic = \"x\"\n",
                "kafka.status_topic"},
        BadCase{"KafkaPropertyType", "[kafka.properties]\n\"linger.ms\" = 1.5\n",
                "kafka.properties.linger.ms"},
        BadCase{"KafkaPropertyTwice",
                "[kafka.properties]\n\"linger.ms\" = \"5\"\nlinger.ms = \"6\"\n",
                "kafka.properties.linger.ms"},
        BadCase{"KafkaUnknownKey", "[kafka]\ntopic = \"x\"\n", "kafka.topic"},
        BadCase{"PoliciesEmpty", "sms.policies = []\n", "sms.policies"},
        BadCase{"PoliciesNotTables", "[sms]\npolicies = [1]\n", "sms.policies[0]"},
        BadCase{"PolicyUnknownKey", "[[sms.policies]]\nid = \"a\"\nwindow = 24\n",
                "sms.policies[0].window"},
        BadCase{"PolicyMissingId", "[[sms.policies]]\nwindow_hours = 24\n", "sms.policies[0].id"},
        BadCase{"PolicyEmptyId", "[[sms.policies]]\nid = \"\"\n", "sms.policies[0].id"},
        BadCase{"PolicyDuplicateId", "[[sms.policies]]\nid = \"a\"\n[[sms.policies]]\nid = \"a\"\n",
                "sms.policies[1].id"},
        BadCase{"PolicyZeroWindow", "[[sms.policies]]\nid = \"a\"\nwindow_hours = 0\n",
                "sms.policies[0].window_hours"},
        BadCase{"PolicyUnknownProvince",
                "[[sms.policies]]\nid = \"a\"\nprovinces = [\"甘\", \"火星\"]\n" + kPolicyTail,
                "sms.policies[0].provinces[1]"},
        BadCase{"PolicyProvinceNotString",
                "[[sms.policies]]\nid = \"a\"\nprovinces = [1]\n" + kPolicyTail,
                "sms.policies[0].provinces[0]"},
        BadCase{"PolicyProvidersNotArray",
                "[[sms.policies]]\nid = \"a\"\nproviders = \"acme\"\n" + kPolicyTail,
                "sms.policies[0].providers"},
        BadCase{"PolicyBadTime",
                "[[sms.policies]]\nid = \"a\"\nfrom = \"2017-13-01T00:00:00Z\"\n" + kPolicyTail,
                "sms.policies[0].from"},
        BadCase{"PolicyLocalTime",
                "[[sms.policies]]\nid = \"a\"\nuntil = 2020-08-17T00:00:00\n" + kPolicyTail,
                "sms.policies[0].until"},
        BadCase{"PolicyFromNotBeforeUntil",
                "[[sms.policies]]\nid = \"a\"\nfrom = \"2020-01-01T00:00:00Z\"\n"
                "until = \"2020-01-01T00:00:00Z\"\n" +
                    kPolicyTail,
                "sms.policies[0].until"},
        BadCase{"LastPolicyRestricted", "[[sms.policies]]\nid = \"a\"\nprovinces = [\"甘\"]\n",
                "sms.policies[0]"},
        BadCase{"TokenBadRole", token("a", "admin", kHash), "auth.tokens[0].role"},
        BadCase{"TokenShortHash", token("a", "reader", std::string(63, 'a')),
                "auth.tokens[0].sha256"},
        BadCase{"TokenNonHexHash", token("a", "reader", std::string(63, 'a') + "g"),
                "auth.tokens[0].sha256"},
        BadCase{"TokenMissingHash", "[[auth.tokens]]\nname = \"a\"\n", "auth.tokens[0].sha256"},
        BadCase{"TokenMissingName", "[[auth.tokens]]\nsha256 = \"" + kHash + "\"\n",
                "auth.tokens[0].name"},
        BadCase{"TokenDuplicateName",
                token("a", "reader", kHash) + token("a", "reader", std::string(64, 'b')),
                "auth.tokens[1].name"},
        BadCase{"TokenDuplicateHash",
                token("a", "reader", kHash) + token("b", "reader", std::string(64, 'A')),
                "auth.tokens[1].sha256"},
        BadCase{"TokenUnknownKey", token("a", "reader", kHash) + "roles = \"x\"\n",
                "auth.tokens[0].roles"}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return std::string(info.param.name); });

TEST(Config, SyntaxErrorGivesSourceLineAndColumn) {
  Result<Config> c = parse_config("[server]\nlisten = \n", "my.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::invalid);
  EXPECT_EQ(c.error().message.rfind("my.toml:2:", 0), 0u) << c.error().message;
}

TEST(Config, ValueErrorsCarryTheLine) {
  Result<Config> c = parse_config("[server]\nthreads = 1\n\n[kafka]\nmode = \"nope\"\n", "x.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message.rfind("x.toml:5:", 0), 0u) << c.error().message;
}

TEST(Config, LoadConfigNamesAnUnreadablePath) {
  const std::string missing = "/nonexistent/dir/filingd.toml";
  Result<Config> c = load_config(missing);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find(missing), std::string::npos) << c.error().message;

  Result<Config> dir = load_config("/");  // opens, but is not a file
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.error().message.find("/"), std::string::npos);
}

// ---- SmsPolicies directly ------------------------------------------------------------------

TEST(SmsPolicies, DefaultIsOne24HourPolicy) {
  const SmsPolicies p;
  ASSERT_EQ(p.all().size(), 1u);
  EXPECT_EQ(p.all()[0].id, "default-24h");
  EXPECT_EQ(p.all()[0].window_micros, 24 * kMicrosPerHour);
  EXPECT_EQ(p.select("京", "x", Timestamp{}).id, "default-24h");
}

// A SIGHUP reload replaces the policies while appends select from them on other threads.
TEST(SmsPolicies, ReplaceWithTakesTheOtherPolicies) {
  SmsPolicies p;
  SmsPolicy pilot;
  pilot.id = "pilot-48h";
  pilot.window_micros = 48 * kMicrosPerHour;
  auto other = SmsPolicies::make({pilot});
  ASSERT_TRUE(other) << other.error().message;
  p.replace_with(*other);
  EXPECT_EQ(p.select("京", "x", Timestamp{}).id, "pilot-48h");
  EXPECT_EQ(p.all().size(), 1u);
}

TEST(Calendar, CoverageIsConfiguredOrTheEndOfTheLatestYearListed) {
  EXPECT_EQ(parse_ok("[calendar]\nholidays = [\"2025-10-01\"]\nuntil = \"2026-06-30\"\n")
                .calendar.until(),
            WorkCalendar::parse_day("2026-06-30"));
  EXPECT_EQ(parse_ok("[calendar]\nholidays = [\"2025-10-01\"]\nworkdays = [\"2026-02-14\"]\n")
                .calendar.until(),
            WorkCalendar::parse_day("2026-12-31"));
  EXPECT_FALSE(parse_ok("").calendar.until().has_value());
  Result<Config> bad = parse_config("[calendar]\nuntil = \"soon\"\n", "bad.toml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field, "calendar.until");
  // The shipped calendar says how far its lists go.
  auto shipped = load_config(FILINGD_SOURCE_DIR "/config/filingd.toml");
  ASSERT_TRUE(shipped) << shipped.error().message;
  EXPECT_EQ(shipped->calendar.until(), WorkCalendar::parse_day("2026-12-31"));
}

TEST(Calendar, ReplaceWithTakesTheOtherDays) {
  WorkCalendar c;
  const auto day = *WorkCalendar::parse_day("2026-10-01");  // a Thursday
  EXPECT_TRUE(c.is_working_day(day));
  WorkCalendar holidays;
  holidays.add_holiday(day);
  holidays.set_until(day);
  c.replace_with(holidays);
  EXPECT_FALSE(c.is_working_day(day));
  EXPECT_EQ(c.until(), day);
}

TEST(SmsPolicies, FirstMatchWins) {
  Result<SmsPolicies> p =
      SmsPolicies::make({policy("narrow", {"甘"}), policy("wide", {"甘", "京"}), policy("rest")});
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->select("甘", "", Timestamp{}).id, "narrow");
  EXPECT_EQ(p->select("京", "", Timestamp{}).id, "wide");
  EXPECT_EQ(p->select("沪", "", Timestamp{}).id, "rest");
}

TEST(SmsPolicies, MatchesChecksEveryRestriction) {
  const SmsPolicy p = policy("p", {}, {"acme"}, Timestamp{100}, Timestamp{200});
  EXPECT_TRUE(p.matches("甘", "acme", Timestamp{100}));
  EXPECT_TRUE(p.matches("京", "acme", Timestamp{199}));
  EXPECT_FALSE(p.matches("甘", "acme", Timestamp{99}));
  EXPECT_FALSE(p.matches("甘", "acme", Timestamp{200}));
  EXPECT_FALSE(p.matches("甘", "other", Timestamp{150}));
}

TEST(SmsPolicies, MakeRejectsBadSets) {
  const SmsPolicy rest = policy("rest");
  struct Case {
    std::vector<SmsPolicy> policies;
    std::string field;
  };
  const std::vector<Case> cases = {
      {{}, "sms.policies"},
      {{policy("")}, "sms.policies[0].id"},
      {{rest, rest}, "sms.policies[1].id"},
      {{policy("a", {}, {}, {}, {}, 0), rest}, "sms.policies[0].window_hours"},
      {{policy("a", {}, {}, Timestamp{5}, Timestamp{5}), rest}, "sms.policies[0].until"},
      {{rest, policy("last", {}, {}, {}, Timestamp{5})}, "sms.policies[1]"},
      {{rest, policy("last", {}, {"acme"})}, "sms.policies[1]"},
      {{rest, policy("last", {"甘"})}, "sms.policies[1]"},
  };
  for (const Case& c : cases) {
    Result<SmsPolicies> p = SmsPolicies::make(c.policies);
    ASSERT_FALSE(p.ok()) << c.field;
    EXPECT_EQ(p.error().code, ErrorCode::invalid);
    EXPECT_EQ(p.error().field, c.field) << p.error().message;
    EXPECT_EQ(p.error().message.rfind(c.field + ": ", 0), 0u) << p.error().message;
  }
}

}  // namespace
}  // namespace filingd
