// The JSON form of an import (SPEC §6.6): the body of POST /v1/imports and each line of the file
// filingctl import reads.
//   {"filing_id": "F-1", "events": [{"type": "filing_submitted", "data": {...},
//     "occurred_at": "2019-03-01T08:00:00Z", "actor": "desk-1", "event_id": "..."}, ...]}
// `data` may be omitted where an append may omit it; `event_id` is optional; `occurred_at` and
// `actor` are required (a history's own time and hand, never the importer's).
#pragma once

#include <boost/json/object.hpp>

#include "events/result.hpp"
#include "ledger/ledger.hpp"

namespace filingd {

// Decodes an import, as strictly as an append's body: an unknown member, a missing one or a bad
// value is ErrorCode::invalid, a wrong JSON type malformed; more than kMaxImportEvents events
// too_large. An error about an event carries Error::index and a field under "events[i].". The
// principal is left as kLocalPrincipal: the caller sets it.
Result<ImportCommand> import_from_json(const boost::json::object& body);

}  // namespace filingd
