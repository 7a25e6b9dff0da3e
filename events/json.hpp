// The JSON form of events (SPEC §2.2, §3.4), produced from the same typed structs as the stored
// encoding. Boost.JSON is the project's one JSON library.
//
// Decoding is strict: a field of the wrong JSON type is ErrorCode::malformed (HTTP 400); an
// unknown field, a missing required field or a bad enum value is ErrorCode::invalid (422).
// Error::field carries the dotted path ("data.websites[0].domains[1]").
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "events/event.hpp"
#include "events/personal.hpp"
#include "events/result.hpp"

namespace filingd {

// The masked form of a personal value; markers stay as they are.
std::string mask_personal(std::string_view value);

// The JSON text of an event (the envelope with its `data`) and of a payload alone. These are the
// encoders; the *_to_json forms parse that text back, for callers that compose or inspect it.
class JsonWriter;
void write_json(JsonWriter& w, const Event& e, PersonalView view = PersonalView::clear);
void write_json(JsonWriter& w, const Payload& p, PersonalView view = PersonalView::clear);
std::string event_json(const Event& e, PersonalView view = PersonalView::clear);
std::string payload_json(const Payload& p, PersonalView view = PersonalView::clear);
boost::json::object payload_to_json(const Payload& p);
boost::json::object event_to_json(const Event& e);

// The inverse of event_json: the envelope fields and payload_from_json(type, data), hashes
// included. Unknown envelope fields are ignored (the payload is decoded strictly). Errors:
// malformed / invalid naming the field.
Result<Event> event_from_json(const boost::json::value& envelope);

// Decodes the `data` object of an event of `type`. `path` prefixes field names in errors.
Result<Payload> payload_from_json(EventType type, const boost::json::value& data,
                                  std::string_view path = "data");

// The envelope fields of an append request (SPEC §3.3), read by both append endpoints. Each is
// optional: an empty actor means the caller's own name. A field of the wrong JSON type is
// ErrorCode::malformed, an unparsable time or an out-of-range version ErrorCode::invalid.
struct Envelope {
  std::string event_id;
  std::string actor;
  std::optional<Timestamp> occurred_at;
  std::optional<Version> expected_version;
};
Result<Envelope> envelope_from_json(const boost::json::object& body);

// The action of an append request (SPEC §3.4): the payload its `type` (required) names, from its
// `data` (absent: the type's defaults). Errors: a missing or unknown type is
// ErrorCode::invalid, a type that is not a string malformed, subject_erased (only
// POST /v1/subjects/erase appends it) invalid; then payload_from_json's.
Result<Payload> action_from_json(const boost::json::object& body);

// Decodes the filing fields of a submission from `body` (POST /v1/filings puts them at the top
// level, next to the envelope keys listed in `envelope_keys`, which are skipped, not refused).
Result<FilingSubmitted> submission_from_json(const boost::json::object& body,
                                             std::initializer_list<std::string_view> envelope_keys,
                                             std::string_view path = "");

// The first key that appears twice in one object of the JSON text, with the keys of its
// enclosing objects ("websites.name"), or nothing. Text that is not JSON has none (the parse that
// follows reports it).
std::optional<std::string> find_duplicate_key(std::string_view text);

}  // namespace filingd
