#include "daemon/router.hpp"

#include <boost/asio/use_awaitable.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <charconv>

#include "daemon/api.hpp"
#include "events/json.hpp"
#include "events/json_writer.hpp"
#include "projections/state_machine.hpp"

namespace filingd {
namespace asio = boost::asio;
namespace {

Error malformed(std::string msg, std::string field = {}) {
  return make_error(ErrorCode::malformed, std::move(msg), std::move(field));
}

// Matches decoded path segments against a template; fills the "{…}" parameters.
bool match(std::string_view pattern, const std::vector<std::string>& segments,
           std::vector<std::string>& params) {
  params.clear();
  std::size_t i = 0;
  pattern.remove_prefix(1);
  for (bool more = !pattern.empty(); more;) {
    const auto slash = pattern.find('/');
    const std::string_view part = pattern.substr(0, slash);
    if (i >= segments.size()) return false;
    if (part.ends_with("*}")) {
      std::string rest;
      for (; i < segments.size(); ++i) {
        if (segments[i].empty()) return false;
        rest += (rest.empty() ? "" : "/") + segments[i];
      }
      params.push_back(std::move(rest));
      return true;
    }
    if (part.starts_with('{')) {
      if (segments[i].empty()) return false;
      params.push_back(segments[i]);
    } else if (part != segments[i]) {
      return false;
    }
    ++i;
    // After a trailing "/" comes one more, empty, part: it matches only an empty last segment.
    more = slash != std::string_view::npos;
    if (more) pattern = pattern.substr(slash + 1);
  }
  return i == segments.size();
}

HttpResponse unauthorized() {
  HttpResponse r = error_response(make_error(
      ErrorCode::unauthorized, "a valid bearer token is required (Authorization: Bearer ...)"));
  r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

}  // namespace

// ---- Query -----------------------------------------------------------------------------------

Result<Query> Query::parse(std::vector<std::pair<std::string, std::string>> items,
                           std::span<const QueryParam> declared) {
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string& name = items[i].first;
    const auto decl = std::find_if(declared.begin(), declared.end(),
                                   [&](const QueryParam& p) { return p.name == name; });
    if (decl == declared.end()) return malformed("unknown query parameter " + name, name);
    if (!decl->repeatable) {
      for (std::size_t j = 0; j < i; ++j) {
        if (items[j].first == name)
          return malformed("query parameter " + name + " is given more than once", name);
      }
    }
  }
  Query q;
  q.items_ = std::move(items);
  return q;
}

std::optional<std::string_view> Query::get(std::string_view name) const {
  for (const auto& [k, v] : items_) {
    if (k == name) return std::string_view(v);
  }
  return std::nullopt;
}

std::vector<std::string_view> Query::all(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& [k, v] : items_) {
    if (k == name) out.emplace_back(v);
  }
  return out;
}

Result<std::size_t> Query::limit(std::size_t fallback, std::size_t max) const {
  const auto text = get("limit");
  if (!text) return fallback;
  std::size_t n = 0;
  auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
  if (ec != std::errc() || p != text->data() + text->size() || n == 0 || n > max)
    return malformed("limit must be an integer from 1 to " + std::to_string(max), "limit");
  return n;
}

Result<std::optional<std::uint64_t>> Query::uint(std::string_view name) const {
  const auto text = get(name);
  if (!text) return std::optional<std::uint64_t>{};
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
  if (text->empty() || ec != std::errc() || p != text->data() + text->size())
    return malformed(std::string(name) + " must be a non-negative integer", std::string(name));
  return std::optional<std::uint64_t>(n);
}

Result<std::optional<Timestamp>> Query::time(std::string_view name) const {
  const auto text = get(name);
  if (!text) return std::optional<Timestamp>{};
  auto t = parse_rfc3339(*text);
  if (!t)
    return malformed(std::string(name) + " must be an RFC 3339 time, e.g. 2026-11-22T08:00:00Z",
                     std::string(name));
  return std::optional<Timestamp>(*t);
}

// ---- responses -------------------------------------------------------------------------------

HttpResponse json_response(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.body.push_back('\n');
  return r;
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

// Written with JsonWriter, which never writes invalid UTF-8: a message may quote the request
// (a query parameter's name, a field path), and the response must stay valid UTF-8 whatever it
// held.
HttpResponse error_response(const Error& e) {
  std::string body;
  JsonWriter w(body);
  w.begin_object();
  w.key("error").string(to_string(e.code));
  w.key("message").string(e.message);
  if (!e.field.empty()) w.key("field").string(e.field);
  if (e.index) w.key("index").number(*e.index);
  if (e.state) {
    // The state that refused the event, as the ledger decided it: not read again, so it is the
    // state the refusal is about even while other appends move the filing on.
    w.key("state").string(to_string(*e.state));
    w.key("allowed_events").begin_array();
    for (EventType t : allowed_events(*e.state)) w.string(to_string(t));
    w.end_array();
  }
  w.end_object();
  return json_response(http_status(e.code), std::move(body));
}

// ---- the dispatcher --------------------------------------------------------------------------

const std::vector<Route>& all_routes() {
  static const std::vector<Route> routes = [] {
    std::vector<Route> all;
    // The lists first: /v1/filings/export is not the filing "export".
    for (auto part : {list_routes(), filing_routes(), record_routes(), subject_routes(),
                      ledger_routes(), proof_routes(), stats_routes(), desk_routes(),
                      chain_routes(), import_routes(), console_routes()})
      all.insert(all.end(), part.begin(), part.end());
    return all;
  }();
  return routes;
}

Admission admit(const ApiContext& ctx, const HttpRequest& request) {
  Admission a;
  auto refuse = [&a](HttpResponse r) {
    a.refusal = std::move(r);
    return std::move(a);
  };
  auto url = boost::urls::parse_origin_form(request.target);
  if (!url) return refuse(error_response(malformed("bad request target")));
  std::vector<std::string> segments;
  for (auto seg : url->segments()) segments.push_back(seg);

  const auto& routes = all_routes();
  std::string allow;
  for (std::size_t i = 0; i < routes.size(); ++i) {
    const Route& route = routes[i];
    if (!match(route.pattern, segments, a.params)) continue;
    if (route.method != request.method) {
      if (allow.find(route.method) == std::string::npos)
        allow += (allow.empty() ? "" : ", ") + std::string(route.method);
      continue;
    }
    a.route_index = i;
    unsigned needed = route.permission;
    if (needed == kOperational && ctx.public_metrics) needed = 0;
    if (needed != 0) {
      auto p = ctx.auth.authenticate(request.authorization);
      if (!p) return refuse(unauthorized());
      a.who = std::move(*p);
      if ((a.who.permissions & needed) == 0)
        return refuse(error_response(
            make_error(ErrorCode::forbidden,
                       "token " + a.who.name + " may not use " + std::string(route.name))));
    }
    std::vector<std::pair<std::string, std::string>> items;
    for (auto p : url->params()) items.emplace_back(p.key, p.value);
    auto query = Query::parse(std::move(items), route.params);
    if (!query) return refuse(error_response(query.error()));
    a.query = std::move(*query);
    return a;
  }
  if (!allow.empty()) {
    std::string body;
    JsonWriter w(body);
    w.begin_object().key("error").string("method_not_allowed");
    w.key("message").string("method " + request.method + " is not allowed here; allowed: " + allow);
    w.end_object();
    HttpResponse r = json_response(405, std::move(body));
    r.headers.emplace_back("Allow", allow);
    return refuse(std::move(r));
  }
  return refuse(error_response(make_error(ErrorCode::not_found, "no such endpoint")));
}

// A named coroutine rather than a lambda: GCC 12 mishandles temporaries inside co_await
// expressions.
Task<HttpResponse> dispatch(ApiContext& ctx, Admission& admission, const HttpRequest& request) {
  if (admission.refusal) co_return std::move(*admission.refusal);
  const Route& route = all_routes()[admission.route_index];
  // Two parsers of this body could disagree on which of two equal keys counts: refused, and the
  // connection not trusted further.
  if (!request.body.empty()) {
    if (auto key = find_duplicate_key(request.body)) {
      HttpResponse r = error_response(malformed("the request body has a duplicate key " + *key));
      r.close = true;
      co_return r;
    }
  }
  Ledger* ledger = ctx.ledger.load();
  if (route.needs_ledger && ledger == nullptr)
    co_return error_response(make_error(ErrorCode::unavailable,
                                        "the ledger is not open yet: " + ctx.readiness.reason()));
  Call call{request, admission.who, std::move(admission.params), std::move(admission.query),
            ctx,     ledger};
  Reply reply = co_await route.handler(call);
  co_return reply ? std::move(*reply) : error_response(reply.error());
}

}  // namespace filingd
