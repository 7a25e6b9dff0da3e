#include "daemon/api.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

#include <array>
#include <charconv>
#include <chrono>
#include <map>
#include <span>

#include "events/codec.hpp"
#include "events/hash.hpp"
#include "events/json.hpp"
#include "events/json_writer.hpp"
#include "events/record_number.hpp"
#include "events/validation.hpp"
#include "projections/sla.hpp"
#include "projections/state_machine.hpp"

namespace filingd {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

using Params = std::map<std::string, std::string, std::less<>>;

// Everything a handler gets: the request, who sent it, the path parameters and the query.
struct Call {
  const HttpRequest& request;
  const Principal& who;
  std::vector<std::string> path_params;
  Params query;
  ApiContext& ctx;
};

using Handler = asio::awaitable<HttpResponse> (*)(Call&);

struct Route {
  std::string_view method;
  std::string_view pattern;  // "{}" matches one path segment
  unsigned permission;       // 0: public
  Handler handler;
  std::string_view name;  // the metrics label
};

// ---- responses ---------------------------------------------------------------------------

HttpResponse json_response(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.body.push_back('\n');
  return r;
}

HttpResponse json_response(int status, const json::value& body) {
  return json_response(status, json::serialize(body));
}

int http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::malformed:
      return 400;
    case ErrorCode::unauthorized:
      return 401;
    case ErrorCode::forbidden:
      return 403;
    case ErrorCode::not_found:
      return 404;
    case ErrorCode::conflict:
      return 409;
    case ErrorCode::too_large:
      return 413;
    case ErrorCode::invalid:
    case ErrorCode::transition_not_allowed:
      return 422;
    case ErrorCode::io:
    case ErrorCode::internal:
      return 500;
    case ErrorCode::unavailable:
      return 503;
  }
  return 500;
}

json::object error_body(const Error& e) {
  json::object o{{"error", to_string(e.code)}, {"message", e.message}};
  if (!e.field.empty()) o["field"] = e.field;
  return o;
}

Error malformed(std::string msg, std::string field = {}) {
  return make_error(ErrorCode::malformed, std::move(msg), std::move(field));
}

// ---- request decoding ----------------------------------------------------------------------

Result<json::object> parse_body(const HttpRequest& req) {
  boost::system::error_code ec;
  json::value v = json::parse(req.body, ec);
  if (ec) return malformed("request body is not valid JSON: " + ec.message());
  if (!v.is_object()) return malformed("request body must be a JSON object");
  return std::move(v.as_object());
}

// Only the listed query parameters are accepted, so a typo is an error rather than ignored.
Status check_params(const Params& query, std::initializer_list<std::string_view> allowed) {
  for (const auto& [k, v] : query) {
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
      return malformed("unknown query parameter " + k, k);
  }
  return {};
}

Result<std::size_t> limit_param(const Params& q, std::size_t fallback = 50,
                                std::size_t max = 1000) {
  auto it = q.find("limit");
  if (it == q.end()) return fallback;
  std::size_t n = 0;
  auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), n);
  if (ec != std::errc() || p != it->second.data() + it->second.size() || n == 0 || n > max)
    return malformed("limit must be an integer from 1 to " + std::to_string(max), "limit");
  return n;
}

Result<std::uint64_t> uint_param(const Params& q, const std::string& name) {
  auto it = q.find(name);
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), n);
  if (ec != std::errc() || p != it->second.data() + it->second.size())
    return malformed(name + " must be a non-negative integer", name);
  return n;
}

Result<Timestamp> time_param(const Params& q, const std::string& name) {
  auto t = parse_rfc3339(q.find(name)->second);
  if (!t) return malformed(name + " must be an RFC 3339 time", name);
  return *t;
}

// Envelope fields shared by both append endpoints.
Status read_envelope(const json::object& body, const Principal& who, AppendCommand& cmd) {
  auto env = envelope_from_json(body);
  if (!env) return env.take_error();
  cmd.event_id = std::move(env->event_id);
  cmd.actor = env->actor.empty() ? who.name : std::move(env->actor);
  cmd.occurred_at = env->occurred_at;
  cmd.expected_version = env->expected_version;
  return {};
}

// Completes on the caller's executor once the ledger has made the append durable.
asio::awaitable<Result<AppendResult>> async_append(Ledger& ledger, AppendCommand cmd) {
  auto executor = co_await asio::this_coro::executor;
  // Named, not a temporary inside the co_await: GCC 12 destroys such temporaries twice.
  auto initiation = [&ledger, executor](auto handler, AppendCommand c) {
    auto h = std::make_shared<decltype(handler)>(std::move(handler));
    ledger.append_async(std::move(c), [h, executor](Result<AppendResult> r) {
      asio::post(executor, [h, r = std::move(r)]() mutable { (*h)(std::move(r)); });
    });
  };
  Result<AppendResult> result =
      co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(Result<AppendResult>)>(
          initiation, asio::use_awaitable, std::move(cmd));
  co_return result;
}

// Appends and answers 201 (or 200 for an idempotent retry); a refused transition also names
// the state and the events allowed in it.
asio::awaitable<HttpResponse> append_and_respond(Call& call, AppendCommand cmd) {
  const auto start = std::chrono::steady_clock::now();
  const std::string filing_id = cmd.filing_id;
  auto r = co_await async_append(call.ctx.ledger, std::move(cmd));
  call.ctx.metrics.observe_append(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  if (!r) {
    json::object body = error_body(r.error());
    if (r.error().code == ErrorCode::transition_not_allowed) {
      if (auto s = call.ctx.ledger.status(filing_id); s && *s) {
        body["state"] = to_string((*s)->state);
        json::array allowed;
        for (EventType t : allowed_events((*s)->state)) allowed.emplace_back(to_string(t));
        body["allowed_events"] = std::move(allowed);
      }
    }
    co_return json_response(http_status(r.error().code), body);
  }
  json::object o{{"filing_id", r->filing_id},
                 {"event_id", r->event_id},
                 {"seq", r->seq.value},
                 {"version", r->version.value},
                 {"state", to_string(r->state)}};
  if (r->sms_deadline) o["sms_deadline"] = format_rfc3339(*r->sms_deadline);
  co_return json_response(r->duplicate ? 200 : 201, o);
}

// A filing id for a submission that names none. Derived from the event_id when there is one,
// so that a client retrying a lost response gets the same filing (an idempotent retry).
std::string new_filing_id(const std::string& event_id) {
  if (!event_id.empty()) return "F-" + to_hex(sha256(event_id)).substr(0, 16);
  thread_local boost::uuids::random_generator_mt19937 gen;  // seeded once (no syscall per id)
  std::string id = boost::uuids::to_string(gen());
  return "F-" + id.substr(0, 8) + id.substr(9, 4) + id.substr(14, 4);
}

// ---- handlers ------------------------------------------------------------------------------

asio::awaitable<HttpResponse> post_filing(Call& call) {
  auto body = parse_body(call.request);
  if (!body) co_return error_response(body.error());
  auto filing = submission_from_json(*body, {"filing_id", "event_id", "actor", "occurred_at"});
  if (!filing) co_return error_response(filing.error());
  AppendCommand cmd;
  if (auto ok = read_envelope(*body, call.who, cmd); !ok) co_return error_response(ok.error());
  if (const json::value* id = body->if_contains("filing_id")) {
    if (!id->is_string())
      co_return error_response(malformed("filing_id must be a string", "filing_id"));
    cmd.filing_id = std::string(id->as_string());
  } else {
    cmd.filing_id = new_filing_id(cmd.event_id);
  }
  cmd.data = std::move(*filing);
  cmd.must_create = true;
  co_return co_await append_and_respond(call, std::move(cmd));
}

asio::awaitable<HttpResponse> post_event(Call& call) {
  auto body = parse_body(call.request);
  if (!body) co_return error_response(body.error());
  for (const auto& [key, value] : *body) {
    static constexpr std::array<std::string_view, 6> kKeys = {
        "type", "data", "expected_version", "event_id", "actor", "occurred_at"};
    if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) {
      // An empty key is named "", as the payload decoder does, so the error names a field.
      const std::string field = key.empty() ? R"("")" : std::string(key);
      co_return error_response(make_error(ErrorCode::invalid, "unknown field " + field, field));
    }
  }
  const json::value* type = body->if_contains("type");
  if (!type) co_return error_response(make_error(ErrorCode::invalid, "type is required", "type"));
  if (!type->is_string()) co_return error_response(malformed("type must be a string", "type"));
  auto event_type = parse_event_type(type->as_string());
  if (!event_type)
    co_return error_response(make_error(
        ErrorCode::invalid, "unknown event type " + std::string(type->as_string()), "type"));
  const json::value* data = body->if_contains("data");
  auto payload = payload_from_json(*event_type, data ? *data : json::value(nullptr));
  if (!payload) co_return error_response(payload.error());
  AppendCommand cmd;
  cmd.filing_id = call.path_params.at(0);
  if (auto ok = read_envelope(*body, call.who, cmd); !ok) co_return error_response(ok.error());
  cmd.data = std::move(*payload);
  co_return co_await append_and_respond(call, std::move(cmd));
}

void write_status(JsonWriter& w, const Call& call, const FilingStatus& s) {
  const auto sla = sla_of(s, call.ctx.calendar, call.ctx.clock.now());
  write_json(w, s, !(call.who.permissions & kUnmasked), sla ? &*sla : nullptr);
}

std::string status_text(const Call& call, const FilingStatus& s) {
  std::string out;
  JsonWriter w(out);
  write_status(w, call, s);
  return out;
}

Error unknown_filing(const std::string& id) {
  return make_error(ErrorCode::not_found, "filing " + id + " does not exist", "filing_id");
}

asio::awaitable<HttpResponse> get_filing(Call& call) {
  if (auto ok = check_params(call.query, {"as_of", "as_of_seq"}); !ok)
    co_return error_response(ok.error());
  const std::string& id = call.path_params.at(0);
  if (call.query.empty()) {
    auto s = call.ctx.ledger.status(id);
    if (!s) co_return error_response(s.error());
    if (!*s) co_return error_response(unknown_filing(id));
    co_return json_response(200, status_text(call, **s));
  }
  // As of a past point: fold the filing's events up to it with the live projection's code.
  std::optional<Timestamp> as_of;
  std::optional<std::uint64_t> as_of_seq;
  if (call.query.contains("as_of")) {
    auto t = time_param(call.query, "as_of");
    if (!t) co_return error_response(t.error());
    as_of = *t;
  }
  if (call.query.contains("as_of_seq")) {
    auto n = uint_param(call.query, "as_of_seq");
    if (!n) co_return error_response(n.error());
    as_of_seq = *n;
  }
  auto events = call.ctx.ledger.stream(id);
  if (!events) co_return error_response(events.error());
  if (events->empty()) co_return error_response(unknown_filing(id));
  FilingStatus s;
  for (const Event& e : *events) {
    if ((as_of && e.occurred_at > *as_of) || (as_of_seq && e.seq.value > *as_of_seq)) break;
    if (auto ok = apply_event(s, e); !ok) co_return error_response(ok.error());
  }
  if (!s.exists())
    co_return error_response(
        make_error(ErrorCode::not_found, "filing " + id + " did not exist at that point"));
  co_return json_response(200, status_text(call, s));
}

// Filters of GET /v1/filings beyond the index walked.
struct FilingFilter {
  std::optional<FilingState> state;
  std::optional<FilingType> type;
  std::optional<std::string> province;
  std::optional<bool> overdue;

  bool matches(const FilingStatus& f, const std::optional<Sla>& sla) const {
    return (!state || f.state == *state) && (!type || f.filing_type == *type) &&
           (!province || f.province == *province) &&
           (!overdue || (sla && sla->overdue) == *overdue);
  }
};

// Cursors carry binary index positions as hex.
std::string hex_encode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::optional<std::string> hex_decode(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    unsigned byte = 0;
    auto [p, ec] = std::from_chars(hex.data() + i, hex.data() + i + 2, byte, 16);
    if (ec != std::errc() || p != hex.data() + i + 2) return std::nullopt;
    out.push_back(static_cast<char>(byte));
  }
  return out;
}

// The SLA clocks, as (state, zhejiang) partitions, each in due order.
constexpr std::size_t kSlaPartitions = kSlaStates.size() * 2;
std::pair<FilingState, bool> sla_partition(std::size_t i) {
  return {kSlaStates[i / 2], i % 2 == 1};
}

// Overdue filings: within a partition, start order is due order, so each partition is walked
// only up to its first filing that is not yet overdue. Cursor: "<partition>.<hex position>".
Result<std::string> list_overdue(Call& call, const FilingFilter& filter, std::size_t limit) {
  std::size_t partition = 0;
  std::string position;
  if (auto it = call.query.find("cursor"); it != call.query.end()) {
    const auto dot = it->second.find('.');
    if (dot == std::string::npos || dot == 0 ||
        std::from_chars(it->second.data(), it->second.data() + dot, partition).ec != std::errc() ||
        partition >= kSlaPartitions)
      return malformed("bad cursor", "cursor");
    auto decoded = hex_decode(std::string_view(it->second).substr(dot + 1));
    if (!decoded) return malformed("bad cursor", "cursor");
    position = std::move(*decoded);
  }
  const Timestamp now = call.ctx.clock.now();
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("items").begin_array();
  std::size_t items = 0;
  std::string next;
  for (; partition < kSlaPartitions && next.empty(); ++partition, position.clear()) {
    const auto [state, zhejiang] = sla_partition(partition);
    const int days = sla_working_days(state, zhejiang ? "浙" : "");
    bool more = true;
    while (more && next.empty()) {
      auto page = call.ctx.ledger.sla_clock(state, zhejiang, position, limit);
      if (!page) return page.take_error();
      more = page->size() == limit;
      for (const auto& entry : *page) {
        if (call.ctx.calendar.due_after(entry.since, days) > now) {
          more = false;  // the rest of this partition is not overdue yet
          break;
        }
        position = entry.position;
        auto s = call.ctx.ledger.status(entry.filing_id);
        if (!s) return s.take_error();
        if (!*s) continue;
        const auto sla = sla_of(**s, call.ctx.calendar, now);
        if (!filter.matches(**s, sla)) continue;
        write_status(w, call, **s);
        if (++items == limit) {
          next = std::to_string(partition) + "." + hex_encode(position);
          break;
        }
      }
    }
  }
  w.end_array().key("next_cursor");
  if (next.empty())
    w.null();
  else
    w.string(next);
  w.end_object();
  return body;
}

asio::awaitable<HttpResponse> list_filings(Call& call) {
  if (auto ok = check_params(call.query,
                             {"state", "province", "filing_type", "overdue", "limit", "cursor"});
      !ok)
    co_return error_response(ok.error());
  auto limit = limit_param(call.query);
  if (!limit) co_return error_response(limit.error());
  const auto& q = call.query;
  FilingFilter filter;
  if (q.contains("state") && !(filter.state = parse_filing_state(q.at("state"))))
    co_return error_response(malformed("unknown state " + q.at("state"), "state"));
  if (q.contains("filing_type") && !(filter.type = parse_filing_type(q.at("filing_type"))))
    co_return error_response(
        malformed("unknown filing_type " + q.at("filing_type"), "filing_type"));
  if (q.contains("province") && !(filter.province = canonical_province(q.at("province"))))
    co_return error_response(malformed("unknown province " + q.at("province"), "province"));
  if (q.contains("overdue")) {
    if (q.at("overdue") != "true" && q.at("overdue") != "false")
      co_return error_response(malformed("overdue must be true or false", "overdue"));
    filter.overdue = q.at("overdue") == "true";
  }
  if (filter.overdue == true) {
    auto page = list_overdue(call, filter, *limit);
    if (!page) co_return error_response(page.error());
    co_return json_response(200, std::move(*page));
  }

  // Walk one index (state first: usually the most selective) and filter by the others.
  std::optional<std::pair<keys::Index, std::string>> index;
  if (filter.state) {
    index = {keys::Index::state, std::string(to_string(*filter.state))};
  } else if (filter.type) {
    index = {keys::Index::type, std::string(to_string(*filter.type))};
  } else if (filter.province) {
    index = {keys::Index::province, *filter.province};
  }
  const Timestamp now = call.ctx.clock.now();
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("items").begin_array();
  std::size_t items = 0;
  std::string cursor = q.contains("cursor") ? q.at("cursor") : "";
  bool more = true;
  while (items < *limit && more) {
    auto ids = call.ctx.ledger.list(index, cursor, *limit);
    if (!ids) co_return error_response(ids.error());
    more = ids->size() == *limit;
    for (const auto& id : *ids) {
      cursor = id;
      auto s = call.ctx.ledger.status(id);
      if (!s) co_return error_response(s.error());
      if (!*s) continue;  // removed between the index read and now (a rebuild)
      if (!filter.matches(**s, sla_of(**s, call.ctx.calendar, now))) continue;
      write_status(w, call, **s);
      if (++items == *limit) break;
    }
  }
  w.end_array().key("next_cursor");
  if (more)
    w.string(cursor);
  else
    w.null();
  w.end_object();
  co_return json_response(200, std::move(body));
}

asio::awaitable<HttpResponse> filing_events(Call& call) {
  if (auto ok = check_params(call.query, {}); !ok) co_return error_response(ok.error());
  const std::string& id = call.path_params.at(0);
  auto events = call.ctx.ledger.stream(id);
  if (!events) co_return error_response(events.error());
  if (events->empty()) co_return error_response(unknown_filing(id));
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("filing_id").string(id).key("items").begin_array();
  for (const Event& e : *events) write_json(w, e);
  w.end_array().end_object();
  co_return json_response(200, std::move(body));
}

asio::awaitable<HttpResponse> global_events(Call& call) {
  if (auto ok = check_params(call.query, {"after_seq", "limit"}); !ok)
    co_return error_response(ok.error());
  auto limit = limit_param(call.query, 100, 10'000);
  if (!limit) co_return error_response(limit.error());
  std::uint64_t after = 0;
  if (call.query.contains("after_seq")) {
    auto n = uint_param(call.query, "after_seq");
    if (!n) co_return error_response(n.error());
    after = *n;
  }
  auto events = call.ctx.ledger.events_after(Seq(after), *limit);
  if (!events) co_return error_response(events.error());
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("items").begin_array();
  for (const Event& e : *events) write_json(w, e);
  w.end_array();
  w.key("next_after_seq").number(events->empty() ? after : events->back().seq.value);
  w.end_object();
  co_return json_response(200, std::move(body));
}

// SLA due times, earliest first: the first `limit` of each partition, merged.
Result<json::array> sla_deadlines(Call& call, std::optional<Timestamp> before, std::size_t limit) {
  struct Due {
    Timestamp due;
    FilingState state;
    std::string filing_id;
  };
  std::vector<Due> all;
  for (std::size_t p = 0; p < kSlaPartitions; ++p) {
    const auto [state, zhejiang] = sla_partition(p);
    const int days = sla_working_days(state, zhejiang ? "浙" : "");
    auto page = call.ctx.ledger.sla_clock(state, zhejiang, "", limit);
    if (!page) return page.take_error();
    for (auto& entry : *page) {
      const Timestamp due = call.ctx.calendar.due_after(entry.since, days);
      if (before && due >= *before) break;
      all.push_back({due, state, std::move(entry.filing_id)});
    }
  }
  std::sort(all.begin(), all.end(), [](const Due& a, const Due& b) {
    return std::tie(a.due, a.filing_id) < std::tie(b.due, b.filing_id);
  });
  if (all.size() > limit) all.resize(limit);
  json::array items;
  for (const auto& d : all)
    items.emplace_back(json::object{{"filing_id", d.filing_id},
                                    {"kind", "sla"},
                                    {"state", to_string(d.state)},
                                    {"due_at", format_rfc3339(d.due)}});
  return items;
}

asio::awaitable<HttpResponse> list_deadlines(Call& call) {
  if (auto ok = check_params(call.query, {"before", "kind", "limit"}); !ok)
    co_return error_response(ok.error());
  auto limit = limit_param(call.query);
  if (!limit) co_return error_response(limit.error());
  std::optional<Timestamp> before;
  std::optional<keys::DeadlineKind> kind;
  if (call.query.contains("before")) {
    auto t = time_param(call.query, "before");
    if (!t) co_return error_response(t.error());
    before = *t;
  }
  if (call.query.contains("kind") && call.query.at("kind") == "sla") {
    auto sla = sla_deadlines(call, before, *limit);
    if (!sla) co_return error_response(sla.error());
    co_return json_response(200, json::object{{"items", std::move(*sla)}});
  }
  if (call.query.contains("kind") && !(kind = keys::parse_deadline_kind(call.query.at("kind"))))
    co_return error_response(malformed("kind must be sms, abandon or sla", "kind"));
  auto list = call.ctx.ledger.deadlines(before, kind, *limit);
  if (!list) co_return error_response(list.error());
  json::array items;
  for (const auto& d : *list)
    items.emplace_back(json::object{{"filing_id", d.filing_id},
                                    {"kind", keys::to_string(d.kind)},
                                    {"due_at", format_rfc3339(d.due)}});
  co_return json_response(200, json::object{{"items", std::move(items)}});
}

asio::awaitable<HttpResponse> get_record(Call& call) {
  if (auto ok = check_params(call.query, {}); !ok) co_return error_response(ok.error());
  const std::string& number = call.path_params.at(0);
  if (auto rn = parse_record_number(number, "record_number"); !rn)
    co_return error_response(malformed(rn.error().message, "record_number"));
  auto rec = call.ctx.ledger.record(number);
  if (!rec) co_return error_response(rec.error());
  if (!*rec)
    co_return error_response(
        make_error(ErrorCode::not_found, "record number " + number + " is not in the registry"));
  co_return json_response(200, record_to_json(**rec));
}

asio::awaitable<HttpResponse> find_records(Call& call) {
  if (auto ok = check_params(call.query, {"domain", "subject"}); !ok)
    co_return error_response(ok.error());
  const bool by_domain = call.query.contains("domain");
  if (by_domain == call.query.contains("subject"))
    co_return error_response(malformed("give exactly one of domain or subject"));
  std::vector<RegistryRecord> found;
  if (by_domain) {
    std::string domain = call.query.at("domain");
    for (auto& c : domain) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto number = call.ctx.ledger.record_for_domain(domain);
    if (!number) co_return error_response(number.error());
    if (*number) {
      auto rec = call.ctx.ledger.record(**number);
      if (!rec) co_return error_response(rec.error());
      if (*rec) found.push_back(std::move(**rec));
    }
  } else {
    const std::string& subject = call.query.at("subject");
    if (auto rn = parse_record_number(subject, "subject"); !rn || rn->is_website())
      co_return error_response(malformed("subject must be a subject record number", "subject"));
    auto recs = call.ctx.ledger.records_of_subject(subject);
    if (!recs) co_return error_response(recs.error());
    found = std::move(*recs);
  }
  json::array items;
  for (const auto& r : found) items.emplace_back(record_to_json(r));
  co_return json_response(200, json::object{{"items", std::move(items)}});
}

asio::awaitable<HttpResponse> ledger_head(Call& call) {
  const LedgerHead h = call.ctx.ledger.head();
  co_return json_response(200, json::object{{"seq", h.seq.value}, {"hash", to_hex(h.hash)}});
}

asio::awaitable<HttpResponse> healthz(Call&) {
  co_return json_response(200, json::object{{"status", "ok"}});
}

asio::awaitable<HttpResponse> readyz(Call& call) {
  const bool ready = call.ctx.ready.load();
  json::object body{{"status", ready ? "ready" : "not ready"},
                    {"ledger_head_seq", call.ctx.ledger.head().seq.value}};
  if (ready && call.ctx.readiness && !call.ctx.readiness(body)) body["status"] = "degraded";
  co_return json_response(ready ? 200 : 503, body);
}

asio::awaitable<HttpResponse> metrics(Call& call) {
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4";
  call.ctx.metrics.render(r.body);
  for (const auto& render : call.ctx.extra_metrics) render(r.body);
  r.body += "# HELP filingd_ledger_head_seq The seq of the newest durable event.\n";
  r.body += "# TYPE filingd_ledger_head_seq gauge\n";
  r.body += "filingd_ledger_head_seq " + std::to_string(call.ctx.ledger.head().seq.value) + "\n";
  if (auto counts = call.ctx.ledger.counts(); counts) {
    r.body += "# HELP filingd_projection_count Filings per state and pending deadlines per kind.\n";
    r.body += "# TYPE filingd_projection_count gauge\n";
    for (const auto& [name, n] : *counts) {
      const auto colon = name.find(':');
      r.body += "filingd_projection_count{projection=\"" + name.substr(0, colon) + "\",key=\"" +
                name.substr(colon + 1) + "\"} " + std::to_string(n) + "\n";
    }
  }
  co_return r;
}

// The route table. Order matters only where patterns overlap (none do).
constexpr std::array kRoutes = {
    Route{"POST", "/v1/filings", kAppend, post_filing, "post_filing"},
    Route{"GET", "/v1/filings", kReadProjections, list_filings, "list_filings"},
    Route{"GET", "/v1/filings/{}", kReadProjections, get_filing, "get_filing"},
    Route{"POST", "/v1/filings/{}/events", kAppend, post_event, "post_event"},
    Route{"GET", "/v1/filings/{}/events", kReadHistory, filing_events, "filing_events"},
    Route{"GET", "/v1/events", kReadHistory, global_events, "events"},
    Route{"GET", "/v1/deadlines", kReadProjections, list_deadlines, "deadlines"},
    Route{"GET", "/v1/records/{}", kReadProjections, get_record, "get_record"},
    Route{"GET", "/v1/records", kReadProjections, find_records, "find_records"},
    Route{"GET", "/v1/ledger/head", kReadProjections, ledger_head, "ledger_head"},
    Route{"GET", "/healthz", 0, healthz, "healthz"},
    Route{"GET", "/readyz", 0, readyz, "readyz"},
    Route{"GET", "/metrics", 0, metrics, "metrics"},
};
constexpr std::size_t kUnmatchedRoute = kRoutes.size();

std::vector<std::string> route_names() {
  std::vector<std::string> names;
  for (const auto& r : kRoutes) names.emplace_back(r.name);
  names.emplace_back("unmatched");
  return names;
}

// Matches decoded path segments against a pattern; fills the "{}" parameters.
bool match(std::string_view pattern, const std::vector<std::string>& segments,
           std::vector<std::string>& params) {
  params.clear();
  std::size_t i = 0;
  pattern.remove_prefix(1);
  while (!pattern.empty()) {
    const auto slash = pattern.find('/');
    const std::string_view part = pattern.substr(0, slash);
    if (i >= segments.size()) return false;
    if (part == "{}") {
      if (segments[i].empty()) return false;
      params.push_back(segments[i]);
    } else if (part != segments[i]) {
      return false;
    }
    ++i;
    pattern = slash == std::string_view::npos ? std::string_view() : pattern.substr(slash + 1);
  }
  return i == segments.size();
}

// Matches the route, authenticates, checks the permission and runs the handler. A named
// coroutine rather than a lambda: GCC 12 mishandles temporaries inside co_await expressions.
asio::awaitable<HttpResponse> dispatch(ApiContext& ctx, const HttpRequest& request,
                                       std::size_t& route_index) {
  auto url = boost::urls::parse_origin_form(request.target);
  if (!url) co_return error_response(malformed("bad request target"));
  std::vector<std::string> segments;
  for (auto seg : url->segments()) segments.push_back(seg);
  Params query;
  for (auto p : url->params()) query[p.key] = p.value;

  bool path_known = false;
  std::vector<std::string> params;
  for (std::size_t i = 0; i < kRoutes.size(); ++i) {
    const Route& route = kRoutes[i];
    if (!match(route.pattern, segments, params)) continue;
    path_known = true;
    if (route.method != request.method) continue;
    route_index = i;
    Principal who;
    if (route.permission != 0) {
      auto p = ctx.auth.authenticate(request.authorization);
      if (!p) {
        HttpResponse r = error_response(
            make_error(ErrorCode::unauthorized,
                       "a valid bearer token is required (Authorization: Bearer ...)"));
        r.headers.emplace_back("WWW-Authenticate", "Bearer");
        co_return r;
      }
      if ((p->permissions & route.permission) == 0)
        co_return error_response(make_error(
            ErrorCode::forbidden, "token " + p->name + " may not use " + std::string(route.name)));
      who = std::move(*p);
    }
    Call call{request, who, std::move(params), std::move(query), ctx};
    co_return co_await route.handler(call);
  }
  if (path_known) {
    HttpResponse r = json_response(
        405, json::object{{"error", "method_not_allowed"},
                          {"message", "method " + request.method + " is not allowed here"}});
    co_return r;
  }
  co_return error_response(make_error(ErrorCode::not_found, "no such endpoint"));
}

}  // namespace

HttpResponse error_response(const Error& error) {
  return json_response(http_status(error.code), error_body(error));
}

Api::Api(Ledger& ledger, Authenticator auth, const WorkCalendar& calendar, const Clock& clock)
    : ctx_(new ApiContext{ledger, calendar, clock, std::move(auth), Metrics(route_names())}) {}

Api::~Api() = default;

asio::awaitable<HttpResponse> Api::handle(HttpRequest request) {
  const auto start = std::chrono::steady_clock::now();
  std::size_t route_index = kUnmatchedRoute;
  HttpResponse response = co_await dispatch(*ctx_, request, route_index);
  ctx_->metrics.observe_request(
      route_index, response.status,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  co_return response;
}

}  // namespace filingd
