// Schema evolution (SPEC §2.2): events stored by older code are read (upcast) by newer code.
//
// filing_withdrawn went from schema 1 { reason } to schema 2 { reason, reason_code }. The bytes of
// test::v1_withdrawn_record() were written by the schema 1 encoder (encode_body + make_record,
// before the change) and must keep decoding, hashing and rendering exactly as they did.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "events/codec.hpp"
#include "events/hash.hpp"
#include "events/json.hpp"
#include "events/validation.hpp"
#include "tests/test_util.hpp"
#include "ledger/format/event_record.hpp"

namespace filingd {
namespace {

namespace json = boost::json;

// Its JSON envelope as the v1 code rendered it.
constexpr std::string_view kV1Json =
    R"({"seq":7,"filing_id":"F2026-000123","version":2,)"
    R"("event_id":"5f0c7c0e-0000-4000-8000-00000000000a","type":"filing_withdrawn","schema":1,)"
    R"("occurred_at":"2026-11-22T08:00:00Z","recorded_at":"2026-11-22T08:00:00.123456Z",)"
    R"("actor":"desk-1","data":{"reason":"申请人不再需要备案"},)"
    R"("prev_hash":"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",)"
    R"("hash":"978e425a63cba76629e7ac20baa94e01a57e490920b01ff856ed5db4b864deb2"})";

TEST(SchemaEvolution, FilingWithdrawnIsAtSchema2) {
  EXPECT_EQ(current_schema(EventType::filing_withdrawn), 2u);
  EXPECT_EQ(current_schema(EventType::bureau_rejected), 1u);
}

TEST(SchemaEvolution, AV1EventStillDecodesWithTheNewFieldDefaulted) {
  const std::string record = test::v1_withdrawn_record();
  ASSERT_EQ(record.size(), 219u);
  auto e = decode_record(record);
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->schema, 1u);
  EXPECT_EQ(e->seq, Seq(7));
  EXPECT_EQ(e->filing_id, "F2026-000123");
  EXPECT_EQ(e->version, Version(2));
  EXPECT_EQ(e->actor, "desk-1");
  ASSERT_EQ(e->type(), EventType::filing_withdrawn);
  const auto& w = std::get<FilingWithdrawn>(e->data);
  EXPECT_EQ(w.reason, "申请人不再需要备案");
  EXPECT_EQ(w.reason_code, "");  // upcast: absent in schema 1
}

TEST(SchemaEvolution, TheChainHashOverTheStoredV1BytesStillVerifies) {
  const std::string record = test::v1_withdrawn_record();
  auto parts = split_record(record);
  ASSERT_TRUE(parts);
  EXPECT_EQ(chain_hash(parts->body, parts->prev_hash), parts->hash);
  // Re-encoding the upcast event writes schema 2 bytes: that is why the chain is verified over
  // the stored bytes, never over a re-encoding.
  auto e = decode_record(record);
  ASSERT_TRUE(e);
  EXPECT_NE(encode_body(*e), parts->body);
}

TEST(SchemaEvolution, AV1EventRendersTheSameJsonEnvelope) {
  auto e = decode_record(test::v1_withdrawn_record());
  ASSERT_TRUE(e);
  const json::object o = event_to_json(*e);
  EXPECT_EQ(json::value(o), json::parse(kV1Json));
  EXPECT_EQ(o.at("schema").to_number<std::uint32_t>(), 1u);
  EXPECT_FALSE(o.at("data").as_object().contains("reason_code"));
  // Back through the JSON decoder: the same payload.
  auto p = payload_from_json(EventType::filing_withdrawn, o.at("data"));
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(std::get<FilingWithdrawn>(*p).reason, "申请人不再需要备案");
}

TEST(SchemaEvolution, V2EventsCarryTheReasonCode) {
  Event e;
  e.seq = Seq(8);
  e.filing_id = "F2026-000124";
  e.version = Version(3);
  e.event_id = "id-8";
  e.schema = current_schema(EventType::filing_withdrawn);
  e.actor = "desk-1";
  e.data = FilingWithdrawn{"主体信息有误", "subject_error"};
  auto back = decode_body(encode_body(e));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->schema, 2u);
  EXPECT_EQ(std::get<FilingWithdrawn>(back->data).reason_code, "subject_error");
  EXPECT_EQ(encode_body(*back), encode_body(e));  // canonical

  const json::object data = payload_to_json(e.data);
  EXPECT_EQ(json::value(data),
            json::parse(R"({"reason_code":"subject_error","reason":"主体信息有误"})"));
  auto p = payload_from_json(EventType::filing_withdrawn, json::parse(R"({"reason_code":"x"})"));
  ASSERT_TRUE(p);
  EXPECT_EQ(std::get<FilingWithdrawn>(*p).reason_code, "x");

  Payload too_long = FilingWithdrawn{"r", std::string(kMaxShortText + 1, 'c')};
  auto s = validate_payload(too_long);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().field, "data.reason_code");
}

}  // namespace
}  // namespace filingd
