#include <gtest/gtest.h>

#include "events/codec.hpp"
#include "events/hash.hpp"
#include "events/serialize.hpp"
#include "ledger/format/event_record.hpp"
#include "tests/samples/samples.hpp"
#include "tests/test_util.hpp"

namespace filingd {
namespace {

Event sample_event() {
  Event e;
  e.seq = Seq(42);
  e.filing_id = "F2026-000001";
  e.version = Version(3);
  e.event_id = "5f0c7c0e-0000-4000-8000-000000000001";
  e.schema = 1;
  e.occurred_at = Timestamp{1'795'852'800'000'000};
  e.recorded_at = Timestamp{1'795'852'800'123'456};
  e.actor = "ops-7";
  e.data = samples::submission(1);
  return e;
}

TEST(Codec, BodyRoundTripsEveryField) {
  const Event e = sample_event();
  auto back = decode_body(encode_body(e));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->seq, e.seq);
  EXPECT_EQ(back->filing_id, e.filing_id);
  EXPECT_EQ(back->version, e.version);
  EXPECT_EQ(back->event_id, e.event_id);
  EXPECT_EQ(back->occurred_at, e.occurred_at);
  EXPECT_EQ(back->recorded_at, e.recorded_at);
  EXPECT_EQ(back->actor, e.actor);
  const auto& f = std::get<FilingSubmitted>(back->data);
  const auto& g = std::get<FilingSubmitted>(e.data);
  EXPECT_EQ(f.subject.name, g.subject.name);
  EXPECT_EQ(f.websites.at(0).domains, g.websites.at(0).domains);
  EXPECT_EQ(f.websites.at(0).responsible.id_number, g.websites.at(0).responsible.id_number);
  // Canonical: encoding the decoded event gives the same bytes.
  EXPECT_EQ(encode_body(*back), encode_body(e));
}

TEST(Codec, EveryEventTypeRoundTrips) {
  for (int t = 0; t < kEventTypeCount; ++t) {
    Event e = sample_event();
    e.data = make_payload(static_cast<EventType>(t));
    auto back = decode_body(encode_body(e));
    ASSERT_TRUE(back) << t;
    EXPECT_EQ(back->type(), static_cast<EventType>(t));
    // At schema 2: filing_withdrawn (+ reason_code; see schema_evolution_test.cpp) and
    // sms_confirmed (+ its sealed personal data); at 3, filing_submitted (+ sealed, + name_ref).
    const auto type = static_cast<EventType>(t);
    const bool second = type == EventType::filing_withdrawn || type == EventType::sms_confirmed;
    EXPECT_EQ(current_schema(type), type == EventType::filing_submitted ? 3u : second ? 2u : 1u);
  }
}

TEST(Codec, RefusesTruncatedAndTrailingBytes) {
  const std::string body = encode_body(sample_event());
  EXPECT_FALSE(decode_body(body.substr(0, body.size() - 1)));
  EXPECT_FALSE(decode_body(body + "x"));
  EXPECT_FALSE(decode_body(""));
}

// cereal_decode lends the thread's stream to the outermost decode: a decode inside a decode gets
// a stream of its own (sharing it would leave the outer one reading from nothing), and a decode
// after a failed one starts clean.
TEST(Codec, NestedAndFailedDecodesDoNotDisturbEachOther) {
  const std::string inner =
      cereal_encode([](auto& ar) { ar(std::uint32_t{7}, std::string("inner")); });
  const std::string outer = cereal_encode([&](auto& ar) { ar(inner, std::uint32_t{9}); });
  std::string error;
  std::uint32_t seven = 0;
  std::uint32_t nine = 0;
  std::string word;
  const bool decoded = cereal_decode(
      outer,
      [&](auto& ar) {
        std::string bytes;
        ar(bytes);
        EXPECT_TRUE(cereal_decode(
            bytes, [&](auto& in) { in(seven, word); }, &error))
            << error;
        ar(nine);
      },
      &error);
  ASSERT_TRUE(decoded) << error;
  EXPECT_EQ(seven, 7u);
  EXPECT_EQ(word, "inner");
  EXPECT_EQ(nine, 9u);

  std::uint64_t too_long = 0;
  EXPECT_FALSE(cereal_decode(
      std::string_view(inner).substr(0, 3), [&](auto& ar) { ar(too_long); }, &error));
  seven = 0;
  word.clear();
  EXPECT_TRUE(cereal_decode(
      inner, [&](auto& ar) { ar(seven, word); }, &error))
      << error;
  EXPECT_EQ(seven, 7u);
  EXPECT_EQ(word, "inner");
}

TEST(Codec, RecordCarriesTheChainLink) {
  const std::string body = encode_body(sample_event());
  Hash prev{};
  prev[0] = 0xab;
  const Hash h = chain_hash(body, prev);
  auto e = decode_record(make_record(body, prev, h));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->prev_hash, prev);
  EXPECT_EQ(e->hash, h);
  EXPECT_NE(chain_hash(body, Hash{}), h);  // the link depends on the previous hash
}

TEST(Hash, MatchesKnownSha256) {
  // SHA-256("abc"), FIPS 180-2 appendix B.1.
  const Hash h = sha256("abc");
  EXPECT_EQ(h[0], 0xba);
  EXPECT_EQ(h[1], 0x78);
  EXPECT_EQ(h[31], 0xad);
}

}  // namespace
}  // namespace filingd
