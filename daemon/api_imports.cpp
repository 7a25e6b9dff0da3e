// POST /v1/imports (SPEC §6.6): a filing's history from another system, appended as one.
#include <boost/json/serialize.hpp>

#include "daemon/api.hpp"
#include "daemon/handlers.hpp"
#include "imports/import_json.hpp"

namespace filingd {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

// 201 {filing_id, first_seq, last_seq, version, state}. Errors as an append's, a refused event
// named by `index` (error_response); nothing is written.
Task<Reply> post_import(Call& call) {
  auto body = parse_body(call.request);
  if (!body) co_return body.take_error();
  auto cmd = import_from_json(*body);
  if (!cmd) co_return cmd.take_error();
  cmd->principal = call.who.name;
  auto r = co_await import_command(call, std::move(*cmd));
  if (!r) co_return r.take_error();
  json::object o{{"filing_id", r->filing_id},
                 {"first_seq", r->first_seq.value},
                 {"last_seq", r->last_seq.value},
                 {"version", r->version.value},
                 {"state", to_string(r->state)}};
  HttpResponse response = json_response(201, json::serialize(o));
  response.filing_id = r->filing_id;  // for the access log: the path names none
  co_return response;
}

constexpr Route kRoutes[] = {
    // A whole history: its body may be larger than other requests' (limits.max_import_bytes).
    {"POST", "/v1/imports", kAppend, post_import, "post_import", {}, true, BodyLimit::import},
};

}  // namespace

std::span<const Route> import_routes() { return kRoutes; }

}  // namespace filingd
