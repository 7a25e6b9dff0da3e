// Routes of one filing: submit, append an action, its status (now or as of a point), its events.
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

#include <array>
#include <chrono>

#include "daemon/api.hpp"
#include "daemon/handlers.hpp"
#include "events/encoding.hpp"
#include "events/hash.hpp"
#include "events/json.hpp"
#include "events/validation.hpp"
#include "ledger/ledger.hpp"
#include "projections/state_machine.hpp"

namespace filingd {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

// Envelope fields shared by both append endpoints.
Status read_envelope(const json::object& body, const Principal& who, AppendCommand& cmd) {
  auto env = envelope_from_json(body);
  if (!env) return env.take_error();
  cmd.event_id = std::move(env->event_id);
  cmd.actor = env->actor.empty() ? who.name : std::move(env->actor);
  cmd.principal = who.name;
  cmd.occurred_at = env->occurred_at;
  cmd.expected_version = env->expected_version;
  return {};
}

// Appends and answers 201 (or 200 for an idempotent retry).
Task<Reply> append(Call& call, AppendCommand cmd) {
  auto with_receipt = wants_receipt(call);
  if (!with_receipt) co_return with_receipt.take_error();
  auto r = co_await append_command(call, std::move(cmd));
  if (!r) co_return r.take_error();
  json::object o{{"filing_id", r->filing_id},
                 {"event_id", r->event_id},
                 {"seq", r->seq.value},
                 {"version", r->version.value},
                 {"state", to_string(r->state)}};
  if (r->sms_deadline) o["sms_deadline"] = format_rfc3339(*r->sms_deadline);
  std::string body = json::serialize(o);
  if (*with_receipt) {
    auto receipt = receipt_json(call, r->seq);
    if (!receipt) co_return receipt.take_error();
    body.insert(body.size() - 1, ",\"receipt\":" + *receipt);
  }
  co_return json_response(r->duplicate ? 200 : 201, std::move(body));
}

// A filing id for a submission that names none. Derived from the event_id when there is one,
// so that a client retrying a lost response gets the same filing (an idempotent retry).
std::string new_filing_id(const std::string& event_id) {
  if (!event_id.empty()) return "F-" + to_hex(sha256(event_id)).substr(0, 16);
  thread_local boost::uuids::random_generator_mt19937 gen;  // seeded once (no syscall per id)
  std::string id = boost::uuids::to_string(gen());
  return "F-" + id.substr(0, 8) + id.substr(9, 4) + id.substr(14, 4);
}

// POST /v1/filings carries the filing's fields at the top level of its body, where an event
// carries them under `data`: its errors name the fields where this body has them.
Error at_top_level(Error e) {
  constexpr std::string_view kData = "data.";
  if (!e.field.starts_with(kData)) return e;
  const std::string from = e.field;
  e.field.erase(0, kData.size());
  for (std::size_t at; (at = e.message.find(from)) != std::string::npos;)
    e.message.replace(at, from.size(), e.field);
  return e;
}

Task<Reply> post_filing(Call& call) {
  auto body = parse_body(call.request);
  if (!body) co_return body.take_error();
  auto filing = submission_from_json(*body, {"filing_id", "event_id", "actor", "occurred_at"});
  if (!filing) co_return filing.take_error();
  AppendCommand cmd;
  if (auto ok = read_envelope(*body, call.who, cmd); !ok) co_return ok.take_error();
  if (const json::value* id = body->if_contains("filing_id")) {
    if (!id->is_string()) co_return malformed("filing_id must be a string", "filing_id");
    cmd.filing_id = std::string(id->as_string());
  } else {
    cmd.filing_id = new_filing_id(cmd.event_id);
  }
  cmd.data = std::move(*filing);
  cmd.must_create = true;
  const std::string filing_id = cmd.filing_id;
  auto reply = co_await append(call, std::move(cmd));
  if (!reply) co_return at_top_level(reply.take_error());
  reply->filing_id = filing_id;  // for the access log: the path names none
  co_return reply;
}

Task<Reply> post_event(Call& call) {
  auto body = parse_body(call.request);
  if (!body) co_return body.take_error();
  for (const auto& [key, value] : *body) {
    static constexpr std::array<std::string_view, 6> kKeys = {
        "type", "data", "expected_version", "event_id", "actor", "occurred_at"};
    if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) {
      // An empty key is named "", as the payload decoder does, so the error names a field.
      const std::string field = key.empty() ? R"("")" : std::string(key);
      co_return make_error(ErrorCode::invalid, "unknown field " + field, field);
    }
  }
  auto payload = action_from_json(*body);
  if (!payload) co_return payload.take_error();
  AppendCommand cmd;
  cmd.filing_id = call.path.at(0);
  if (auto ok = read_envelope(*body, call.who, cmd); !ok) co_return ok.take_error();
  cmd.data = std::move(*payload);
  cmd.must_exist = true;  // a new filing is POST /v1/filings
  co_return co_await append(call, std::move(cmd));
}

Task<Reply> get_filing(Call& call) {
  const std::string& id = call.path.at(0);
  if (call.query.empty()) {
    if (!validate_filing_id(id)) co_return unknown_filing(id);
    auto s = call.ledger->status(id);
    if (!s) co_return s.take_error();
    if (!*s) co_return unknown_filing(id);
    co_return json_response(200, status_text(call, **s));
  }
  // As of a past point: fold the filing's events up to it with the live projection's code.
  // as_of is business time; as_known_at is what the ledger had recorded by then (an imported
  // history was recorded long after it occurred). Each bound keeps a prefix of the stream: the
  // first event past it ends the fold.
  auto as_of = call.query.time("as_of");
  if (!as_of) co_return as_of.take_error();
  auto as_of_seq = call.query.uint("as_of_seq");
  if (!as_of_seq) co_return as_of_seq.take_error();
  auto known_at = call.query.time("as_known_at");
  if (!known_at) co_return known_at.take_error();
  auto events = filing_stream(call, id);
  if (!events) co_return events.take_error();
  FilingStatus s;
  for (const Event& e : *events) {
    if ((*as_of && e.occurred_at > **as_of) || (*as_of_seq && e.seq.value > **as_of_seq) ||
        (*known_at && e.recorded_at > **known_at))
      break;
    if (auto ok = apply_event(s, e); !ok) co_return ok.take_error();
  }
  if (!s.exists())
    co_return make_error(ErrorCode::not_found, "filing " + id + " did not exist at that point");
  co_return json_response(200, status_text(call, s));
}

Task<Reply> filing_events(Call& call) {
  const std::string& id = call.path.at(0);
  auto events = filing_stream(call, id);
  if (!events) co_return events.take_error();
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("filing_id").string(id).key("items").begin_array();
  for (Event& e : *events) write_event(w, call, std::move(e));
  w.end_array().end_object();
  co_return json_response(200, std::move(body));
}

constexpr QueryParam kAsOf[] = {{"as_of"}, {"as_of_seq"}, {"as_known_at"}};
constexpr QueryParam kAppendParams[] = {{"receipt"}};

constexpr Route kRoutes[] = {
    {"POST", "/v1/filings", kAppend, post_filing, "post_filing", kAppendParams},
    {"GET", "/v1/filings/{id}", kReadProjections, get_filing, "get_filing", kAsOf},
    {"POST", "/v1/filings/{id}/events", kAppend, post_event, "post_event", kAppendParams},
    {"GET", "/v1/filings/{id}/events", kReadHistory, filing_events, "filing_events"},
};

}  // namespace

std::span<const Route> filing_routes() { return kRoutes; }

}  // namespace filingd
