// What several resources' handlers share: the JSON body, the status JSON as the caller's role may
// see it, the common errors. Internal to the daemon.
#pragma once

#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "daemon/router.hpp"
#include "events/json_writer.hpp"
#include "projections/status.hpp"

namespace filingd {

// The request body as a JSON object. Errors: malformed.
Result<boost::json::object> parse_body(const HttpRequest& request);

// A filing's status JSON with its SLA as of now, masked for a caller without kUnmasked.
void write_status(JsonWriter& w, const Call& call, const FilingStatus& s);
std::string status_text(const Call& call, const FilingStatus& s);

Error unknown_filing(std::string_view id);
Error malformed(std::string message, std::string field = {});

}  // namespace filingd
