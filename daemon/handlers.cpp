#include "daemon/handlers.hpp"

#include <boost/json/parse.hpp>

#include "daemon/api.hpp"
#include "projections/sla.hpp"

namespace filingd {

Result<boost::json::object> parse_body(const HttpRequest& request) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(request.body, ec);
  if (ec) return malformed("request body is not valid JSON: " + ec.message());
  if (!v.is_object()) return malformed("request body must be a JSON object");
  return std::move(v.as_object());
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

Error unknown_filing(std::string_view id) {
  return make_error(ErrorCode::not_found, "filing " + std::string(id) + " does not exist",
                    "filing_id");
}

Error malformed(std::string message, std::string field) {
  return make_error(ErrorCode::malformed, std::move(message), std::move(field));
}

}  // namespace filingd
