// `filingctl export`: every event of the log, in seq order, as JSON lines (the SPEC §2.2
// envelope per line, as published to Kafka) or as CSV (RFC 4180 quoting, UTF-8, one header
// line, `data` as a JSON string).
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "events/event.hpp"
#include "events/result.hpp"
#include "ledger/personal_data.hpp"
#include "ledger/store.hpp"

namespace filingd {

enum class ExportFormat { jsonl, csv };
std::optional<ExportFormat> parse_export_format(std::string_view s);

inline constexpr std::string_view kCsvHeader =
    "seq,filing_id,version,event_id,type,schema,occurred_at,recorded_at,actor,principal,data,"
    "prev_hash,hash";

// One CSV field: quoted (with quotes doubled) when it holds a comma, quote, CR or LF.
std::string csv_field(std::string_view s);
// One CSV line (no line end) in kCsvHeader's column order.
std::string csv_line(const Event& e);

// Writes every event of the store's log (CSV: after the header), its personal data opened by
// `personal` (null: as stored, i.e. blank where sealed). Returns the number of events.
// Errors: io (RocksDB, or the stream failing), internal (a corrupt stored event).
Result<std::uint64_t> export_events(const Store& store, ExportFormat format, std::ostream& out,
                                    const PersonalData* personal = nullptr);

}  // namespace filingd
