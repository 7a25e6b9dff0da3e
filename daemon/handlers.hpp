// What several resources' handlers share: the JSON body, the status JSON as the caller's role may
// see it, the common errors. Internal to the daemon.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include <boost/json/object.hpp>

#include "daemon/router.hpp"
#include "events/json.hpp"
#include "events/json_writer.hpp"
#include "ledger/ledger.hpp"
#include "projections/sla.hpp"
#include "projections/status.hpp"

namespace filingd {

// The request body as a JSON object. Errors: malformed.
Result<boost::json::object> parse_body(const HttpRequest& request);

// Appends `cmd` and completes on the caller's executor once the ledger has made it durable (or
// refused it); the append latency goes to the metrics.
Task<Result<AppendResult>> append_command(Call& call, AppendCommand cmd);
// The same for an import (Ledger::import_async).
Task<Result<ImportResult>> import_command(Call& call, ImportCommand cmd);

// How the caller may see personal data: in clear with kUnmasked, masked otherwise.
PersonalView view_of(const Call& call);

// A filing's status JSON with its SLA as of now and its websites' record status, its personal
// data opened and shown as the caller may see it.
void write_status(JsonWriter& w, const Call& call, FilingStatus s);
std::string status_text(const Call& call, FilingStatus s);
// An event's JSON, its personal data opened and shown as the caller may see it.
void write_event(JsonWriter& w, const Call& call, Event e);

// Whether an append asks for a receipt (?receipt=true); checked before it appends. Then the
// receipt (api_proofs.cpp): {"checkpoint": the signed note of a tree that holds event `seq`,
// "inclusion": its proof in that tree}.
Result<bool> wants_receipt(const Call& call);
Result<std::string> receipt_json(const Call& call, Seq seq);

// The SLA clocks, as (state, Zhejiang or not) partitions, each in start order, which for a
// fixed SLA length is due order.
inline constexpr std::size_t kSlaPartitions = kSlaStates.size() * 2;
inline std::pair<FilingState, bool> sla_partition(std::size_t i) {
  return {kSlaStates[i / 2], i % 2 == 1};
}

// Where a walk over the overdue filings is: resume after (partition, position).
struct OverdueAt {
  std::size_t partition = 0;
  std::string position;
};
// Visits the filings past their SLA due time from `from` on, walking each partition only up to
// its first filing not yet overdue, `page` clock entries per read. `visit` gets each status and
// the point just after it, and returns false to stop.
Status walk_overdue(const Call& call, OverdueAt from, std::size_t page,
                    const std::function<Result<bool>(FilingStatus&, const OverdueAt&)>& visit);
// How many filings are past their SLA due time in the states `counted` accepts, from the SLA
// clocks alone: each clock entry is a filing in its partition's state, so no status is read.
Result<std::uint64_t> count_overdue_clocks(const Call& call,
                                           const std::function<bool(FilingState)>& counted);

Error unknown_filing(std::string_view id);
// The events of filing `id`, oldest first: unknown_filing when there are none, or when `id` is
// no filing id (the ledger's other streams, such as a subject's erasures, are not filings).
Result<std::vector<Event>> filing_stream(const Call& call, std::string_view id);
Error malformed(std::string message, std::string field = {});

}  // namespace filingd
