// Fuzz target: one POST body, decoded as the API decodes it for both append endpoints
// (daemon/api.cpp post_filing and post_event) and validated as the ledger validates a command
// (ledger/ledger.cpp validate_command).
//
// Never crash; every refusal is a 400/422 naming a field. Oracles on success:
//  - round trip: payload -> payload_to_json -> payload_from_json decodes again, to the same JSON
//    and the same stored encoding;
//  - validation is idempotent: a validated (normalised) payload re-encoded as JSON decodes and
//    validates again, unchanged;
//  - occurred_at: the RFC 3339 form of an accepted time parses back to the same time.
//
// The envelope is decoded by envelope_from_json, as api.cpp does; the key checks of post_event
// and parse_body's few lines are restated here (api.cpp keeps them next to its handlers).

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "events/codec.hpp"
#include "events/json.hpp"
#include "events/validation.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace filingd {
namespace {

namespace json = boost::json;
using fuzz::check_client_error;
using fuzz::oracle_failure;

// ledger/ledger.cpp validate_command, minus what needs a ledger.
Status validate_command(const std::string& filing_id, const Envelope& env, Payload& data) {
  if (auto ok = validate_filing_id(filing_id); !ok) return ok;
  if (!env.event_id.empty()) {
    if (auto ok = validate_event_id(env.event_id); !ok) return ok;
  }
  if (env.actor.size() > kMaxShortText)
    return make_error(ErrorCode::invalid, "actor is too long", "actor");
  return validate_payload(data);
}

void check_envelope(const Envelope& env) {
  if (env.occurred_at) {
    const std::string text = format_rfc3339(*env.occurred_at);
    const auto again = parse_rfc3339(text);
    if (!again || *again != *env.occurred_at) {
      oracle_failure("occurred_at does not survive format_rfc3339 -> parse_rfc3339", text);
    }
  }
}

// payload -> JSON -> payload gives the same JSON and the same stored bytes. With `validated`,
// the payload was normalised by validate_payload, which must then be a fixed point.
void check_round_trip(const Payload& p, bool validated) {
  const EventType type = type_of(p);
  const json::value j1 = payload_to_json(p);
  auto p2 = payload_from_json(type, j1);
  if (!p2) {
    oracle_failure(validated ? "validated payload re-encoded as JSON does not decode"
                             : "decoded payload re-encoded as JSON does not decode",
                   json::serialize(j1), p2.error().field + ": " + p2.error().message);
  }
  if (validated) {
    if (auto ok = validate_payload(*p2); !ok) {
      oracle_failure("validated payload fails validation after a JSON round trip",
                     json::serialize(j1), ok.error().field + ": " + ok.error().message);
    }
  }
  const json::value j2 = payload_to_json(*p2);
  if (j1 != j2) {
    oracle_failure("JSON round trip changed the payload", json::serialize(j1), json::serialize(j2));
  }
  if (encode_payload(p) != encode_payload(*p2)) {
    oracle_failure("JSON round trip changed the stored encoding", json::serialize(j1));
  }
}

// Validation of a decoded payload: a clean refusal, or a normalised payload that round-trips.
void validate_and_check(Payload p) {
  if (auto ok = validate_payload(p); !ok) {
    check_client_error(ok.error());
    return;
  }
  check_round_trip(p, true);
}

// POST /v1/filings
void post_filing(const json::object& body) {
  auto filing = submission_from_json(body, {"filing_id", "event_id", "actor", "occurred_at"});
  if (!filing) return check_client_error(filing.error());
  Payload payload = std::move(*filing);
  check_round_trip(payload, false);
  // The same fields given as the data of a filing_submitted event (a resubmission) decode alike.
  json::object as_data = payload_to_json(payload);
  auto via_submission = submission_from_json(as_data, {});
  FUZZ_CHECK(via_submission.ok());
  FUZZ_CHECK(encode_payload(Payload(*via_submission)) == encode_payload(payload));
  validate_and_check(payload);

  auto decoded = envelope_from_json(body);
  if (!decoded) return check_client_error(decoded.error());
  const Envelope& env = *decoded;
  check_envelope(env);
  std::string filing_id = "F-0123456789abcdef";  // new_filing_id() when none is given
  if (const json::value* id = body.if_contains("filing_id")) {
    if (!id->is_string()) return;  // 400 "filing_id must be a string"
    filing_id = std::string(id->as_string());
  }
  if (auto ok = validate_command(filing_id, env, payload); !ok) check_client_error(ok.error());
}

// POST /v1/filings/{id}/events
void post_event(const json::object& body) {
  for (const auto& member : body) {
    static constexpr std::array<std::string_view, 6> kKeys = {
        "type", "data", "expected_version", "event_id", "actor", "occurred_at"};
    if (std::find(kKeys.begin(), kKeys.end(), member.key()) == kKeys.end()) return;  // 422
  }
  const json::value* type = body.if_contains("type");
  if (!type || !type->is_string()) return;  // 422 / 400
  auto event_type = parse_event_type(type->as_string());
  if (!event_type) return;  // 422 unknown event type
  const json::value* data = body.if_contains("data");
  auto payload = payload_from_json(*event_type, data ? *data : json::value(nullptr));
  if (!payload) return check_client_error(payload.error());
  FUZZ_CHECK(type_of(*payload) == *event_type);
  check_round_trip(*payload, false);
  validate_and_check(*payload);

  auto decoded = envelope_from_json(body);
  if (!decoded) return check_client_error(decoded.error());
  const Envelope& env = *decoded;
  check_envelope(env);
  if (auto ok = validate_command("F2026-000001", env, *payload); !ok) {
    check_client_error(ok.error());
  }
}

}  // namespace
}  // namespace filingd

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace json = boost::json;
  // daemon/api.cpp parse_body
  boost::system::error_code ec;
  json::value v = json::parse(std::string_view(reinterpret_cast<const char*>(data), size), ec);
  if (ec || !v.is_object()) return 0;  // 400
  filingd::post_filing(v.as_object());
  filingd::post_event(v.as_object());
  return 0;
}
