#include "imports/import_json.hpp"

#include <algorithm>
#include <array>

#include "events/json.hpp"

namespace filingd {
namespace {

namespace json = boost::json;

Error at_event(Error e, std::size_t i) {
  e.index = i;
  e.field = "events[" + std::to_string(i) + "]" + (e.field.empty() ? "" : "." + e.field);
  e.message = "event " + std::to_string(i) + ": " + e.message;
  return e;
}

Result<ImportedEvent> event_from_json(const json::object& o) {
  static constexpr std::array<std::string_view, 5> kKeys = {"type", "data", "occurred_at", "actor",
                                                            "event_id"};
  for (const auto& [key, value] : o) {
    if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) {
      const std::string field = key.empty() ? R"("")" : std::string(key);
      return make_error(ErrorCode::invalid, "unknown field " + field, field);
    }
  }
  auto payload = action_from_json(o);
  if (!payload) return payload.take_error();
  auto env = envelope_from_json(o);
  if (!env) return env.take_error();
  if (!env->occurred_at)
    return make_error(ErrorCode::invalid, "occurred_at is required: the time the action happened",
                      "occurred_at");
  return ImportedEvent{.data = std::move(*payload),
                       .occurred_at = *env->occurred_at,
                       .actor = std::move(env->actor),
                       .event_id = std::move(env->event_id)};
}

}  // namespace

Result<ImportCommand> import_from_json(const json::object& body) {
  for (const auto& [key, value] : body) {
    if (key != "filing_id" && key != "events") {
      const std::string field = key.empty() ? R"("")" : std::string(key);
      return make_error(ErrorCode::invalid, "unknown field " + field, field);
    }
  }
  ImportCommand cmd;
  const json::value* id = body.if_contains("filing_id");
  if (!id) return make_error(ErrorCode::invalid, "filing_id is required", "filing_id");
  if (!id->is_string())
    return make_error(ErrorCode::malformed, "filing_id must be a string", "filing_id");
  cmd.filing_id = std::string(id->get_string());
  const json::value* events = body.if_contains("events");
  if (!events) return make_error(ErrorCode::invalid, "events is required", "events");
  if (!events->is_array())
    return make_error(ErrorCode::malformed, "events must be an array", "events");
  const json::array& list = events->get_array();
  // Refused before decoding any: the count alone decides.
  if (auto ok = check_import_size(list.size()); !ok) return ok.take_error();
  cmd.events.reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_object())
      return at_event(make_error(ErrorCode::malformed, "an event must be a JSON object"), i);
    auto e = event_from_json(list[i].get_object());
    if (!e) return at_event(e.take_error(), i);
    cmd.events.push_back(std::move(*e));
  }
  return cmd;
}

}  // namespace filingd
