// filingctl's output for people and for --json: statuses and points of the log.
#pragma once

#include <string>

#include <boost/json/object.hpp>

#include "projections/status.hpp"
#include "replay/history.hpp"

namespace filingd::ctl {

// Why a returned filing was returned ("" for another state).
std::string returned_text(const FilingStatus& s);
// A status, one labelled line per field.
void print_status(const FilingStatus& s);
// A status on one line.
std::string status_line(const FilingStatus& s);
// "as of <time>, up to seq N", or "at the head".
std::string point_text(const ReplayPoint& p);
// {"as_of", "until_seq"}, null where not given.
boost::json::object point_json(const ReplayPoint& p);
}  // namespace filingd::ctl
