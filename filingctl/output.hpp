// filingctl's output for people and for --json: exit codes and errors, statuses and points of
// the log.
#pragma once

#include <string>

#include <boost/json/object.hpp>

#include "events/result.hpp"
#include "projections/status.hpp"
#include "replay/history.hpp"

namespace filingd::ctl {

constexpr int kOk = 0;
constexpr int kFailed = 1;  // verification failed, or not found
constexpr int kUsage = 2;   // usage or I/O error

// Prints "filingctl: <message>" on stderr; returns `code`.
int fail(const std::string& message, int code);
// An error opening or reading a whole ledger: kUsage (its not_found is an I/O matter; a missing
// filing is reported by the caller).
int fail(const Error& e);
// One JSON document on a line of standard output.
void print_json(const boost::json::value& v);

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
