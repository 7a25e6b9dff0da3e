#include "events/json.hpp"
#include "events/json_writer.hpp"
#include "events/encoding.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace filingd {
// Field-wise equality for the test only (internal linkage, so other test files may define their
// own). Found by ADL, which std::vector's operator== needs.
static auto fields(const Person& p) {
  return std::tie(p.name, p.id_type, p.id_number, p.mobile, p.email);
}
static auto fields(const Subject& s) {
  return std::tie(s.kind, s.name, s.id_type, s.id_number, s.address);
}
static bool operator==(const Person& a, const Person& b) { return fields(a) == fields(b); }
static auto fields(const Website& w) {
  return std::tie(w.name, w.domains, w.responsible, w.record_number);
}
static auto fields(const WebsiteNumber& w) { return std::tie(w.domain, w.record_number); }
static bool operator==(const Website& a, const Website& b) { return fields(a) == fields(b); }
static bool operator==(const WebsiteNumber& a, const WebsiteNumber& b) {
  return fields(a) == fields(b);
}
static bool operator==(const Subject& a, const Subject& b) { return fields(a) == fields(b); }
static auto fields(const FilingSubmitted& f) {
  return std::tie(f.filing_type, f.province, f.provider, f.subject, f.websites,
                  f.existing_record_number, f.personal.subject_ref);
}
static auto fields(const ReviewDecision& d) {
  return std::tie(d.reviewer, d.reason_code, d.reason);
}
static auto fields(const PhotoDecision& d) { return std::tie(d.reviewer, d.method, d.reason); }
static auto fields(const SubmittedToBureau& s) { return std::tie(s.sms_deadline, s.policy_id); }
static auto fields(const SmsConfirmed& s) { return std::tie(s.phone, s.personal.subject_ref); }
static auto fields(const SmsAttemptFailed& s) { return std::tie(s.attempt); }
static auto fields(const SmsExpired& s) { return std::tie(s.deadline); }
static auto fields(const BureauApproved& b) {
  return std::tie(b.subject_record_number, b.websites);
}
static auto fields(const BureauRejected& b) { return std::tie(b.reason_code, b.reason); }
static auto fields(const FilingWithdrawn& w) { return std::tie(w.reason); }
static auto fields(const FilingAbandoned&) { return std::tie(); }
static auto fields(const RecordCancelled& r) { return std::tie(r.record_number, r.reason); }
static auto fields(const SubjectErased& e) { return std::tie(e.subject_ref, e.reason); }

namespace {

namespace json = boost::json;

bool same_fields(const Payload& a, const Payload& b) {
  return std::visit(
      [](const auto& x, const auto& y) {
        if constexpr (std::is_same_v<decltype(x), decltype(y)>) {
          return fields(x) == fields(y);
        } else {
          return false;
        }
      },
      a, b);
}

Timestamp ts(std::string_view s) {
  auto t = parse_rfc3339(s);
  EXPECT_TRUE(t.has_value()) << s;
  return t.value_or(Timestamp{});
}

json::value parse(std::string_view text) { return json::parse(text); }

FilingSubmitted sample_submission() {
  FilingSubmitted f;
  f.filing_type = FilingType::continued_access;
  f.province = "京";
  f.provider = "jdcloud";
  f.subject = {"enterprise", "某某科技有限公司", "uscc", "91110108MA01XXXX0H", "北京市海淀区"};
  f.websites.push_back(
      {"公司官网",
       {"example.cn", "www.example.cn"},
       {"张三", "resident_id", "110101199003074514", "13800138000", "zs@example.cn"},
       "京ICP备2024012345号-1"});
  f.existing_record_number = "京ICP备2024012345号";
  return f;
}

template <class T, class Base>
T decision(Base b) {
  T t;
  static_cast<Base&>(t) = b;
  return t;
}

// One fully populated payload per event type and its expected `data` JSON (SPEC §1.4, §3.4).
struct Case {
  Payload payload;
  const char* json;
};
void PrintTo(const Case& c, std::ostream* os) { *os << to_string(type_of(c.payload)); }

std::vector<Case> cases() {
  return {
      {sample_submission(),
       R"({"filing_type":"continued_access","province":"京","provider":"jdcloud",
           "subject":{"kind":"enterprise","name":"某某科技有限公司","id_type":"uscc",
                      "id_number":"91110108MA01XXXX0H","address":"北京市海淀区"},
           "websites":[{"name":"公司官网","domains":["example.cn","www.example.cn"],
                        "responsible":{"name":"张三","id_type":"resident_id",
                                       "id_number":"110101199003074514",
                                       "mobile":"13800138000","email":"zs@example.cn"},
                        "record_number":"京ICP备2024012345号-1"}],
           "existing_record_number":"京ICP备2024012345号"})"},
      {decision<InitialReviewApproved>(ReviewDecision{"rev-1", "ok", "资料齐全"}),
       R"({"reviewer":"rev-1","reason_code":"ok","reason":"资料齐全"})"},
      {decision<InitialReviewRejected>(
           ReviewDecision{"rev-2", "website_name", "网站名称不符合要求"}),
       R"({"reviewer":"rev-2","reason_code":"website_name","reason":"网站名称不符合要求"})"},
      {decision<PhotoApproved>(PhotoDecision{"rev-3", PhotoMethod::video, "clear"}),
       R"({"reviewer":"rev-3","method":"video","reason":"clear"})"},
      {decision<PhotoRejected>(PhotoDecision{"rev-4", PhotoMethod::sh_app, "blurred"}),
       R"({"reviewer":"rev-4","method":"sh_app","reason":"blurred"})"},
      {SubmittedToBureau{ts("2026-11-23T08:00:00Z"), "default-24h"},
       R"({"sms_deadline":"2026-11-23T08:00:00Z","policy_id":"default-24h"})"},
      {SmsConfirmed{"138****8000"}, R"({"phone":"138****8000"})"},
      {SmsAttemptFailed{3}, R"({"attempt":3})"},
      {SmsExpired{ts("2026-11-23T08:00:00.5Z")}, R"({"deadline":"2026-11-23T08:00:00.500000Z"})"},
      {BureauApproved{"京ICP备2026000123号", {{"zhangsan.cn", "京ICP备2026000123号-1"}}},
       R"({"subject_record_number":"京ICP备2026000123号",
           "websites":[{"domain":"zhangsan.cn","record_number":"京ICP备2026000123号-1"}]})"},
      {BureauRejected{"subject_name", "主体名称不符"},
       R"({"reason_code":"subject_name","reason":"主体名称不符"})"},
      {FilingWithdrawn{"不再需要"}, R"({"reason":"不再需要"})"},
      {FilingAbandoned{}, R"({})"},
      {RecordCancelled{"京ICP备2026000123号-1", "网站关闭"},
       R"({"record_number":"京ICP备2026000123号-1","reason":"网站关闭"})"},
      {SubjectErased{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "用户申请删除"},
       R"({"subject_ref":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
           "reason":"用户申请删除"})"},
  };
}

class PayloadJson : public testing::TestWithParam<Case> {};

TEST_P(PayloadJson, EncodesToSpecFieldNames) {
  EXPECT_EQ(json::value(payload_to_json(GetParam().payload)), parse(GetParam().json))
      << json::serialize(payload_to_json(GetParam().payload));
}

TEST_P(PayloadJson, RoundTripsWithEqualFields) {
  const Payload& original = GetParam().payload;
  auto decoded = payload_from_json(type_of(original), json::value(payload_to_json(original)));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(type_of(*decoded), type_of(original));
  EXPECT_TRUE(same_fields(*decoded, original));
}

INSTANTIATE_TEST_SUITE_P(AllTypes, PayloadJson, testing::ValuesIn(cases()),
                         [](const testing::TestParamInfo<Case>& info) {
                           return std::string(to_string(type_of(info.param.payload)));
                         });

TEST(PayloadJsonCases, CoverEveryEventTypeOnce) {
  std::vector<int> seen(kEventTypeCount, 0);
  for (const Case& c : cases()) ++seen[c.payload.index()];
  for (int i = 0; i < kEventTypeCount; ++i) {
    EXPECT_EQ(seen[i], 1) << to_string(static_cast<EventType>(i));
  }
}

TEST(PayloadJson, SameFieldsDetectsADifference) {
  // Guards the round-trip test: the comparison must not be vacuous.
  FilingSubmitted a = sample_submission(), b = sample_submission();
  b.websites[0].responsible.email = "other@example.cn";
  EXPECT_FALSE(same_fields(a, b));
  EXPECT_FALSE(same_fields(a, FilingAbandoned{}));
}

TEST(PayloadJson, EmptyRecordNumbersAreOmitted) {
  FilingSubmitted f = sample_submission();
  f.existing_record_number.clear();
  f.websites[0].record_number.clear();
  json::object o = payload_to_json(f);
  EXPECT_FALSE(o.contains("existing_record_number"));
  EXPECT_FALSE(o.at("websites").at(0).as_object().contains("record_number"));
}

TEST(PayloadJson, MissingSmsDeadlineIsNull) {
  json::object o = payload_to_json(SubmittedToBureau{std::nullopt, "none"});
  EXPECT_TRUE(o.at("sms_deadline").is_null());
  auto back = payload_from_json(EventType::submitted_to_bureau, json::value(o));
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(std::get<SubmittedToBureau>(*back).sms_deadline.has_value());
}

TEST(EventJson, EnvelopeHasSpecFieldsInOrder) {
  Event e;
  e.seq = Seq(1042);
  e.filing_id = "F2026-000123";
  e.version = Version(4);
  e.event_id = "5f0c7c0e-1";
  e.schema = 2;
  e.occurred_at = ts("2026-11-22T08:00:00Z");
  e.recorded_at = ts("2026-11-22T08:00:00.123456Z");
  e.actor = "ops-7";
  e.data = SmsConfirmed{"138****8000"};
  e.prev_hash.fill(0xab);
  e.hash.fill(0x01);

  json::object o = event_to_json(e);
  std::vector<std::string> keys;
  for (const auto& m : o) keys.emplace_back(m.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"seq", "filing_id", "version", "event_id", "type",
                                            "schema", "occurred_at", "recorded_at", "actor",
                                            "principal", "data", "prev_hash", "hash"}));
  EXPECT_EQ(o.at("seq").to_number<std::uint64_t>(), 1042u);
  EXPECT_EQ(o.at("version").to_number<std::uint32_t>(), 4u);
  EXPECT_EQ(o.at("schema").to_number<std::uint32_t>(), 2u);
  EXPECT_EQ(o.at("filing_id"), "F2026-000123");
  EXPECT_EQ(o.at("event_id"), "5f0c7c0e-1");
  EXPECT_EQ(o.at("type"), "sms_confirmed");
  EXPECT_EQ(o.at("occurred_at"), "2026-11-22T08:00:00Z");
  EXPECT_EQ(o.at("recorded_at"), "2026-11-22T08:00:00.123456Z");
  EXPECT_EQ(o.at("actor"), "ops-7");
  EXPECT_EQ(o.at("data"), parse(R"({"phone":"138****8000"})"));
  std::string ab, zero_one;
  for (int i = 0; i < 32; ++i) ab += "ab", zero_one += "01";
  EXPECT_EQ(o.at("prev_hash"), json::value(ab));
  EXPECT_EQ(o.at("hash"), json::value(zero_one));
}

// The writer's text is what boost::json::serialize would print for the same value: parsing and
// re-serializing it changes nothing, whatever bytes the strings hold.
TEST(JsonWriter, TextIsCanonical) {
  // Every ASCII byte; beyond ASCII only valid UTF-8 reaches the writer (through the JSON parser
  // or validation), and it is copied as is.
  std::string all_bytes;
  for (int c = 1; c < 0x80; ++c) all_bytes += static_cast<char>(c);
  const std::string strings[] = {"", "plain", "quote\" back\\slash /", "\b\f\n\r\t",
                                 std::string("nul\0inside", 11), all_bytes, "张三 的博客 ✓",
                                 // escapes after whole words without one, at every offset
                                 "0123456789abcdef\"01234567\\0123456\n012345\x1f"};
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("strings").begin_array();
  for (const auto& str : strings) w.string(str);
  w.end_array();
  w.key("numbers").begin_array().number(0).number(18446744073709551615u).end_array();
  w.key("t").time(ts("2026-11-22T08:00:00.000001Z"));
  w.key("flags").begin_array().boolean(true).boolean(false).null().end_array();
  w.key("nested").begin_object().key("empty").begin_object().end_object().end_object();
  w.end_object();

  const json::value v = parse(out);
  EXPECT_EQ(json::serialize(v), out);
  const json::array& got = v.at("strings").as_array();
  ASSERT_EQ(got.size(), std::size(strings));
  for (std::size_t i = 0; i < got.size(); ++i)
    EXPECT_EQ(std::string_view(got[i].as_string()), strings[i]) << i;
  EXPECT_EQ(v.at("numbers").at(1).as_uint64(), 18446744073709551615u);
  EXPECT_EQ(v.at("t"), "2026-11-22T08:00:00.000001Z");
}

// Bytes that are not well-formed UTF-8 become U+FFFD, one per byte that starts no sequence; the
// text stays valid (and canonical) JSON.
TEST(JsonWriter, IllFormedUtf8BecomesReplacementCharacters) {
  const std::string fffd = "\xef\xbf\xbd";
  const std::pair<std::string, std::string> cases[] = {
      {"\xff", fffd},
      {"ab\xc3", "ab" + fffd},                          // truncated
      {"\xc0\xaf", fffd + fffd},                        // overlong '/'
      {"\xed\xa0\x80", fffd + fffd + fffd},             // a surrogate
      {"\xf4\x90\x80\x80", fffd + fffd + fffd + fffd},  // above U+10FFFF
      {"\xf0\x9f\x98\x80 \xe4\xb8\xad \xc3\xa9", "\xf0\x9f\x98\x80 \xe4\xb8\xad \xc3\xa9"},  // kept
      {"0123456789\x80"
       "abcdefgh",
       "0123456789" + fffd + "abcdefgh"},
  };
  for (const auto& [in, want] : cases) {
    std::string out;
    JsonWriter(out).string(in);
    const json::value v = parse(out);
    EXPECT_EQ(std::string_view(v.as_string()), want) << out;
    EXPECT_EQ(json::serialize(v), out);
  }
}

TEST(EventJson, TextIsTheParsedObjectSerialized) {
  Event e;
  e.seq = Seq(7);
  e.filing_id = "F\"1";
  e.version = Version(1);
  e.event_id = "id\n";
  e.data = FilingSubmitted{};
  EXPECT_EQ(event_json(e), json::serialize(event_to_json(e)));
  EXPECT_EQ(payload_json(e.data), json::serialize(payload_to_json(e.data)));
}

// ---- submissions ------------------------------------------------------------------------------

constexpr const char* kSpecSubmission = R"({
  "filing_id": "F2026-000001", "filing_type": "first_filing", "province": "京", "provider": "jdcloud",
  "subject":  {"kind": "individual", "name": "张三", "id_type": "resident_id",
               "id_number": "110101199003074514", "address": "北京市海淀区中关村大街1号"},
  "websites": [{"name": "张三的博客", "domains": ["zhangsan.cn", "www.zhangsan.cn"],
                "responsible": {"name": "张三", "id_type": "resident_id",
                                "id_number": "110101199003074514", "mobile": "13800138000",
                                "email": "zs@zhangsan.cn"}}],
  "actor": "desk-1"})";

Result<FilingSubmitted> submit(const json::value& body) {
  return submission_from_json(body.as_object(), {"filing_id", "event_id", "actor", "occurred_at"});
}

template <class T>
Error error_of(const Result<T>& r) {
  EXPECT_FALSE(r.ok());
  return r.ok() ? Error{} : r.error();
}
Error decode_error(EventType type, const json::value& data) {
  return error_of(payload_from_json(type, data));
}
Error decode_error(EventType type, const char* data) { return decode_error(type, parse(data)); }

void expect_error(const Error& e, ErrorCode code, std::string_view field,
                  std::string_view message) {
  EXPECT_EQ(e.code, code) << e.message;
  EXPECT_EQ(e.field, field);
  EXPECT_EQ(e.message, message);
}
Error submit_error(const json::value& body) { return error_of(submit(body)); }

TEST(SubmissionJson, DecodesTheSpecExample) {
  auto r = submit(parse(kSpecSubmission));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->filing_type, FilingType::first_filing);
  EXPECT_EQ(r->province, "京");
  EXPECT_EQ(r->provider, "jdcloud");
  EXPECT_EQ(r->subject, (Subject{"individual", "张三", "resident_id", "110101199003074514",
                                 "北京市海淀区中关村大街1号"}));
  ASSERT_EQ(r->websites.size(), 1u);
  EXPECT_EQ(r->websites[0].name, "张三的博客");
  EXPECT_EQ(r->websites[0].domains, (std::vector<std::string>{"zhangsan.cn", "www.zhangsan.cn"}));
  EXPECT_EQ(r->websites[0].responsible,
            (Person{"张三", "resident_id", "110101199003074514", "13800138000", "zs@zhangsan.cn"}));
  EXPECT_EQ(r->websites[0].record_number, "");
  EXPECT_EQ(r->existing_record_number, "");
}

TEST(SubmissionJson, KeysOutsideTheEnvelopeListAreRefused) {
  json::value body = parse(kSpecSubmission);
  body.as_object()["filng_id"] = "typo";
  expect_error(submit_error(body), ErrorCode::invalid, "filng_id", "unknown field filng_id");
}

TEST(SubmissionJson, TopLevelPathsAreUnprefixed) {
  json::value body = parse(kSpecSubmission);
  body.at("websites").at(0).as_object()["name"] = 42;
  expect_error(submit_error(body), ErrorCode::malformed, "websites[0].name",
               "websites[0].name must be a string");
}

TEST(SubmissionJson, MissingFilingFieldIsInvalid) {
  json::value body = parse(kSpecSubmission);
  body.as_object().erase("websites");
  expect_error(submit_error(body), ErrorCode::invalid, "websites", "websites is required");
}

TEST(SubmissionJson, ResubmissionDecodesThroughPayloadWithDataPrefix) {
  json::value data = parse(kSpecSubmission);
  // In an event's data the envelope keys are not allowed.
  EXPECT_EQ(decode_error(EventType::filing_submitted, data).field, "data.filing_id");
  data.as_object().erase("filing_id");
  data.as_object().erase("actor");
  auto r = payload_from_json(EventType::filing_submitted, data);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(same_fields(*r, *submit(parse(kSpecSubmission))));
}

// ---- decoding errors --------------------------------------------------------------------------

TEST(PayloadJsonErrors, WrongTypeIsMalformedAndNamesTheField) {
  expect_error(decode_error(EventType::initial_review_rejected, R"({"reason": 5})"),
               ErrorCode::malformed, "data.reason", "data.reason must be a string");
}

TEST(PayloadJsonErrors, UnknownFieldIsInvalidAndNamesTheField) {
  expect_error(decode_error(EventType::filing_withdrawn, R"({"reason": "x", "foo": 1})"),
               ErrorCode::invalid, "data.foo", "unknown field data.foo");
}

TEST(PayloadJsonErrors, UnknownPhotoMethodListsTheAllowedOnes) {
  expect_error(decode_error(EventType::photo_approved, R"({"method": "selfie"})"),
               ErrorCode::invalid, "data.method",
               R"(data.method must be one of photo, video, sh_app (got "selfie"))");
}

TEST(PayloadJsonErrors, UnknownFilingTypeIsInvalid) {
  json::value data = parse(kSpecSubmission);
  data.as_object()["filing_type"] = "second_filing";
  Error e = submit_error(data);
  EXPECT_EQ(e.code, ErrorCode::invalid);
  EXPECT_EQ(e.field, "filing_type");
  EXPECT_NE(e.message.find("first_filing, new_access"), std::string::npos) << e.message;
}

TEST(PayloadJsonErrors, NestedPathsNameArrayIndexesAndMembers) {
  json::value data = parse(kSpecSubmission);
  data.as_object().erase("filing_id");
  data.as_object().erase("actor");

  json::value bad_domain = data;
  bad_domain.at("websites").at(0).at("domains").as_array()[1] = 7;
  Error e = decode_error(EventType::filing_submitted, bad_domain);
  EXPECT_EQ(e.code, ErrorCode::malformed);
  EXPECT_EQ(e.field, "data.websites[0].domains[1]");

  json::value bad_id = data;
  bad_id.at("subject").as_object()["id_number"] = true;
  e = decode_error(EventType::filing_submitted, bad_id);
  EXPECT_EQ(e.field, "data.subject.id_number");

  json::value extra = data;
  extra.at("websites").at(0).at("responsible").as_object()["wechat"] = "zs";
  e = decode_error(EventType::filing_submitted, extra);
  EXPECT_EQ(e.code, ErrorCode::invalid);
  EXPECT_EQ(e.field, "data.websites[0].responsible.wechat");

  json::value not_array = data;
  not_array.as_object()["websites"] = json::object();
  e = decode_error(EventType::filing_submitted, not_array);
  EXPECT_EQ(e.code, ErrorCode::malformed);
  EXPECT_EQ(e.message, "data.websites must be an array");
}

TEST(PayloadJsonErrors, DataMustBeAnObject) {
  Error e = decode_error(EventType::sms_confirmed, R"(["138"])");
  EXPECT_EQ(e.code, ErrorCode::malformed);
  EXPECT_EQ(e.message, "data must be an object");
  EXPECT_EQ(e.field, "data");
}

TEST(PayloadJsonErrors, NullDataMeansDefaultsOrMissingRequiredFields) {
  auto ok = payload_from_json(EventType::submitted_to_bureau, json::value(nullptr));
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(same_fields(*ok, SubmittedToBureau{}));
  EXPECT_TRUE(payload_from_json(EventType::filing_abandoned, json::value(nullptr)).ok());

  auto missing = payload_from_json(EventType::record_cancelled, json::value(nullptr));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::invalid);
  EXPECT_EQ(missing.error().field, "data.record_number");
}

TEST(PayloadJsonErrors, AttemptMustBeASmallNonNegativeInteger) {
  EXPECT_EQ(decode_error(EventType::sms_attempt_failed, R"({"attempt": 2.0})").code,
            ErrorCode::malformed);
  EXPECT_EQ(decode_error(EventType::sms_attempt_failed, R"({"attempt": "2"})").code,
            ErrorCode::malformed);
  EXPECT_EQ(decode_error(EventType::sms_attempt_failed, R"({"attempt": -1})").code,
            ErrorCode::invalid);
  EXPECT_EQ(decode_error(EventType::sms_attempt_failed, R"({"attempt": 1001})").code,
            ErrorCode::invalid);
  EXPECT_EQ(
      decode_error(EventType::sms_attempt_failed, R"({"attempt": 18446744073709551615})").code,
      ErrorCode::invalid);
  auto ok = payload_from_json(EventType::sms_attempt_failed, parse(R"({"attempt": 1000})"));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(std::get<SmsAttemptFailed>(*ok).attempt, 1000u);
}

TEST(PayloadJsonErrors, TimesAreRfc3339) {
  Error e = decode_error(EventType::sms_expired, R"({"deadline": "tomorrow"})");
  EXPECT_EQ(e.code, ErrorCode::invalid);
  EXPECT_EQ(e.field, "data.deadline");
  EXPECT_EQ(decode_error(EventType::sms_expired, R"({"deadline": 1700000000})").code,
            ErrorCode::malformed);
  auto ok = payload_from_json(EventType::sms_expired,
                              parse(R"({"deadline": "2026-11-23T16:00:00+08:00"})"));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(std::get<SmsExpired>(*ok).deadline, ts("2026-11-23T08:00:00Z"));
}

TEST(PayloadJsonErrors, NullIsNotAString) {
  Error e = decode_error(EventType::bureau_rejected, R"({"reason": null})");
  EXPECT_EQ(e.code, ErrorCode::malformed);
  EXPECT_EQ(e.field, "data.reason");
}

// ---- hashes -----------------------------------------------------------------------------------

TEST(HexJson, RoundTripsLowercase) {
  Hash h;
  for (std::size_t i = 0; i < h.size(); ++i) h[i] = static_cast<std::uint8_t>(i * 8 + 1);
  std::string hex = to_hex(h);
  EXPECT_EQ(hex.substr(0, 8), "01091119");
  EXPECT_EQ(hex.substr(56), "e1e9f1f9");
  Hash back{};
  ASSERT_TRUE(from_hex(hex, back));
  EXPECT_EQ(back, h);
}

TEST(HexJson, RefusesWrongLengthOrDigitsAndLeavesOutputAlone) {
  Hash h;
  h.fill(0x5a);
  const Hash before = h;
  EXPECT_FALSE(from_hex(std::string(63, 'a'), h));
  EXPECT_FALSE(from_hex(std::string(65, 'a'), h));
  EXPECT_FALSE(from_hex(std::string(62, 'a') + "ag", h));
  EXPECT_FALSE(from_hex("", h));
  EXPECT_EQ(h, before);
  ASSERT_TRUE(from_hex(std::string(64, 'F'), h));
  EXPECT_EQ(h[0], 0xff);
}

}  // namespace
}  // namespace filingd
