// Regression tests for the inputs the fuzzers (tests/fuzz, scripts/fuzz) found: each input goes
// to the function its fuzz target drives and must get a clean error (or the right answer).
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <string_view>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>

#include "config/config.hpp"
#include "daemon/api.hpp"
#include "events/codec.hpp"
#include "events/json.hpp"
#include "tests/test_util.hpp"
#include "ledger/format/event_record.hpp"

namespace filingd {
namespace {

namespace json = boost::json;

// ---- fuzz_http_command ----------------------------------------------------------------------

// {"": ...} was refused as "unknown field " with an empty Error::field: the error named nothing.
TEST(FuzzRegression, UnknownEmptyKeyIsNamedInSubmission) {
  const json::value body = json::parse(R"({"filing_type":"first_filing","province":"京",
      "provider":"jdcloud","subject":{},"websites":[],"":"11900desk-1"})");
  auto r = submission_from_json(body.as_object(), {"filing_id", "event_id", "actor"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::invalid);
  EXPECT_EQ(r.error().field, R"("")");
  EXPECT_EQ(r.error().message, R"(unknown field "")");
}

TEST(FuzzRegression, UnknownEmptyKeyIsNamedInEventData) {
  auto r = payload_from_json(EventType::sms_confirmed, json::parse(R"({"phone":"1","":0})"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::invalid);
  EXPECT_EQ(r.error().field, R"(data."")");
}

// An expected_version above INT64_MAX is a uint64 to Boost.JSON, and api.cpp read_envelope's
// to_number<std::int64_t>() threw on it: the request got no response and its connection was
// never closed.
TEST(FuzzRegression, ExpectedVersionBeyondInt64IsA422) {
  test::TempDir dir;
  ManualClock clock(Timestamp{1'795'334'400'000'000});
  Ledger::Options options;
  options.data_dir = dir.str();
  options.clock = &clock;
  auto ledger = Ledger::open(options);
  ASSERT_TRUE(ledger) << ledger.error().message;
  WorkCalendar calendar;
  Api api(Authenticator({}), calendar, clock);
  api.attach_ledger(**ledger);
  for (const char* big : {"9223372036854775808", "18446744073709551615"}) {
    HttpRequest request{"POST", "/v1/filings/F2026-000001/events", "",
                        std::string(R"({"type":"sms_confirmed","expected_version":)") + big + "}"};
    boost::asio::io_context io;
    auto response =
        boost::asio::co_spawn(io, api.handle(std::move(request)), boost::asio::use_future);
    io.run();
    HttpResponse r;
    ASSERT_NO_THROW(r = response.get()) << big;
    EXPECT_EQ(r.status, 422) << r.body;
    EXPECT_NE(r.body.find("expected_version"), std::string::npos) << r.body;
  }
}

// An offset carried a time out of four-digit years: occurred_at "0000-01-01T00:00:00+01:00" was
// accepted and then served as "-001-12-31T23:00:00Z", which no RFC 3339 reader (nor
// restore --from-kafka) accepts; parse_rfc3339 now refuses results outside years 0000-9999.
TEST(FuzzRegression, TimesOutsideFourDigitYearsAreRefused) {
  EXPECT_FALSE(parse_rfc3339("0000-01-01T00:00:00+01:00"));
  EXPECT_FALSE(parse_rfc3339("9999-12-31T23:59:59-01:00"));
  auto r = payload_from_json(EventType::sms_expired,
                             json::parse(R"({"deadline":"0000-01-01T00:00:00+00:01"})"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "data.deadline");
  // The extremes that remain are written back as they were read.
  for (const char* t : {"0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z"}) {
    auto parsed = parse_rfc3339(t);
    ASSERT_TRUE(parsed) << t;
    EXPECT_EQ(format_rfc3339(*parsed), t);
  }
}

// ---- fuzz_config ----------------------------------------------------------------------------
// toml++ 3.3.0 reaches __builtin_unreachable() in is_non_ascii_horizontal_whitespace() for
// non-ASCII characters where it checks for whitespace (upstream marzer/tomlplusplus#190, #295,
// fixed by #305 after 3.3.0). Debian's compiled library happens to answer "not whitespace", which
// these tests pin down; the fuzz build compiles toml++ in and turns that one UBSan check off.

TEST(FuzzRegression, ConfigNonAsciiInTableHeaderIsACleanError) {
  auto r = parse_config("[kafka\xd2\x96properties]\n", "f.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::invalid);
  EXPECT_EQ(r.error().message.rfind("f.toml:1:", 0), 0u) << r.error().message;
}

TEST(FuzzRegression, ConfigStrayNonAsciiBytesAreACleanError) {
  auto r = parse_config("\xcc\xaa", "f.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::invalid);
}

TEST(FuzzRegression, ConfigNonAsciiAfterLineEndingBackslashIsText) {
  auto r = parse_config("[server]\ndata_dir = \"\"\"\\\n   §data\"\"\"\n", "f.toml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->data_dir, "§data");  // U+00A7
}

// ---- fuzz_stored_event ----------------------------------------------------------------------
// events/serialize.hpp refuses a cereal length or count larger than the bytes left before it is
// allocated, and a bool byte other than 0/1. Before, the first allocated what the corrupt length
// claimed (ASan aborted on it) and the second loaded an invalid bool (UBSan aborted).

std::string submitted_to_bureau_body() {
  Event e;
  e.seq = Seq(1);
  e.filing_id = "F2026-000001";
  e.version = Version(4);
  e.event_id = "e";
  e.schema = 1;
  e.actor = "a";
  e.data = SubmittedToBureau{};  // no sms_deadline, empty policy_id: the body ends flag, size
  return encode_body(e);
}

TEST(FuzzRegression, StoredLengthBeyondTheInputIsCorruptNotAnAllocation) {
  std::string body = submitted_to_bureau_body();
  // format (1 byte), seq (8), then the filing_id's length (8, little-endian): claim 2^62 bytes.
  const std::uint64_t huge = std::uint64_t{1} << 62;
  std::memcpy(body.data() + 9, &huge, sizeof huge);
  auto r = decode_body(body);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::internal);
  EXPECT_NE(r.error().message.find("exceeds"), std::string::npos) << r.error().message;
  // The same inside a record, as fuzz_stored_event found it.
  auto rec = decode_record(make_record(body, Hash{}, Hash{}));
  EXPECT_FALSE(rec.ok());
}

TEST(FuzzRegression, StoredBoolOtherThanZeroOrOneIsCorrupt) {
  std::string body = submitted_to_bureau_body();
  ASSERT_TRUE(decode_body(body).ok());
  body[body.size() - 9] = '\x02';  // std::optional<Timestamp> sms_deadline's "engaged" flag
  auto r = decode_body(body);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::internal);
}

// A stored string need not be UTF-8 (the stored decoder checks lengths, not text): the JSON of
// such an event was not valid JSON, and event_to_json, which parses it back, threw.
TEST(FuzzRegression, StoredBytesThatAreNotUtf8StillMakeValidJson) {
  Event e;
  e.filing_id = "F1";
  e.event_id = "e";
  e.actor = "desk\xff\xc3";                  // a stray byte, then a truncated sequence
  e.data = SmsConfirmed{"138\xed\xa0\x80"};  // an encoded surrogate
  auto decoded = decode_body(encode_body(e));
  ASSERT_TRUE(decoded.ok());
  const json::value v = json::parse(event_json(*decoded));
  EXPECT_EQ(v.at("actor"), "desk\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(v.at("data").at("phone"), "138\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_NO_THROW(event_to_json(*decoded));
}

}  // namespace
}  // namespace filingd
