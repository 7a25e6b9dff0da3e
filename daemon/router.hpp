// The HTTP API's routes and the one dispatcher that applies every cross-cutting policy (SPEC
// §3.1): the route table is data (method, path template, permission, declared query parameters,
// handler); the dispatcher matches the path (404, or 405 with `Allow`), authenticates and checks
// the permission (401, 403), refuses an undeclared or repeated query parameter (400 naming it),
// answers 503 while the ledger is not open, runs the handler and maps any Error it returns to
// its JSON error response. Handlers are functions of a Call to a Result; they never build an
// error response themselves.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/auth.hpp"
#include "daemon/http.hpp"
#include "events/result.hpp"
#include "events/time.hpp"

namespace filingd {

class Ledger;
struct ApiContext;

struct QueryParam {
  std::string_view name;
  bool repeatable = false;  // may be given several times (a filter meaning "any of them")
};

// The query parameters of one request, checked against its route's declaration.
class Query {
 public:
  // Errors (malformed, naming the parameter): one the route does not declare, or one given twice
  // that is not repeatable.
  static Result<Query> parse(std::vector<std::pair<std::string, std::string>> items,
                             std::span<const QueryParam> declared);

  bool empty() const { return items_.empty(); }
  // The value of a parameter given once.
  std::optional<std::string_view> get(std::string_view name) const;
  // Every value of a repeatable parameter, in order.
  std::vector<std::string_view> all(std::string_view name) const;
  // `limit`, 1..max, `fallback` when absent.
  Result<std::size_t> limit(std::size_t fallback, std::size_t max) const;
  Result<std::optional<std::uint64_t>> uint(std::string_view name) const;
  Result<std::optional<Timestamp>> time(std::string_view name) const;

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

struct Call {
  const HttpRequest& request;
  const Principal& who;
  std::vector<std::string> path;  // the {…} segments of the route template, in order
  Query query;
  ApiContext& ctx;
  Ledger* ledger;  // non-null for a route with needs_ledger (the dispatcher checks it is open)
};

// Requests run as coroutines on the io_context of one I/O thread (http_server_impl.hpp). Its
// executor type is named, not erased (any_io_executor): every suspension and resumption of a
// request would otherwise go through the type erasure's indirections.
using Executor = boost::asio::io_context::executor_type;
template <class T>
using Task = boost::asio::awaitable<T, Executor>;
inline constexpr boost::asio::use_awaitable_t<Executor> use_task{};

// Which configured limit a route's request body has (config limits.*).
enum class BodyLimit {
  request,  // limits.max_body_bytes
  import,   // limits.max_import_bytes: a filing's whole history
};

using Reply = Result<HttpResponse>;
using Handler = Task<Reply> (*)(Call&);

struct Route {
  std::string_view method;
  // A template: "{name}" matches one path segment; a last "{name*}" the rest of the path (one
  // or more segments, as "a/b/c"); a trailing "/" an empty last segment ("/console/").
  std::string_view pattern;
  unsigned permission;  // 0: public
  Handler handler;
  std::string_view name;  // the metrics label
  std::span<const QueryParam> params = {};
  bool needs_ledger = true;
  BodyLimit body_limit = BodyLimit::request;
};

// The routes of each resource (api_filings.cpp, api_lists.cpp, api_records.cpp, api_ledger.cpp,
// api_subjects.cpp, api_proofs.cpp, api_stats.cpp, api_desk.cpp, api_chain.cpp,
// api_imports.cpp) and the console's files (api_console.cpp).
std::span<const Route> filing_routes();
std::span<const Route> list_routes();
std::span<const Route> record_routes();
std::span<const Route> ledger_routes();
std::span<const Route> subject_routes();
std::span<const Route> proof_routes();
std::span<const Route> stats_routes();
std::span<const Route> desk_routes();
std::span<const Route> chain_routes();
std::span<const Route> import_routes();
std::span<const Route> console_routes();

// Every route, in match order.
const std::vector<Route>& all_routes();

// What a request's headers decide before its body is read (SPEC §5.7): its route, its caller and
// its query, or the refusal to answer without reading the body (404, 405, 401, 403, 400).
struct Admission {
  std::size_t route_index = SIZE_MAX;  // in all_routes(); SIZE_MAX: no route matched
  std::optional<HttpResponse> refusal;
  Principal who;  // empty for a public route
  std::vector<std::string> params;
  Query query;
  bool authenticated() const { return !who.name.empty(); }
};
Admission admit(const ApiContext& ctx, const HttpRequest& headers);

// Runs an admitted request (or answers its refusal).
Task<HttpResponse> dispatch(ApiContext& ctx, Admission& admission, const HttpRequest& request);

// ---- responses ---------------------------------------------------------------------------

HttpResponse json_response(int status, std::string body);
int http_status(ErrorCode code);
// {"error", "message", "field"?, "index"?, "state"?, "allowed_events"?} with the status of its
// code.
HttpResponse error_response(const Error& error);

}  // namespace filingd
