// One row per filing (SPEC §6.5): its current status flattened for a spreadsheet, as CSV (UTF-8
// with a byte order mark, so Excel reads Chinese text; RFC 4180 quoting) or JSON lines. Served by
// GET /v1/filings/export and written offline by `filingctl export --per-filing`.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "config/calendar.hpp"
#include "events/json.hpp"
#include "ledger/personal_data.hpp"
#include "ledger/store.hpp"
#include "projections/sla.hpp"
#include "projections/status.hpp"
#include "replay/export.hpp"

namespace filingd {

inline constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
inline constexpr std::string_view kFilingCsvHeader =
    "filing_id,filing_type,state,province,provider,subject_name,subject_record_number,domains,"
    "website_record_numbers,submitted_at,updated_at,sms_deadline,sla_step,sla_due_at,overdue,"
    "attempt,returned_cause";

// What an export starts with: the BOM and header line for CSV, nothing for JSON lines.
std::string filing_export_preamble(ExportFormat format);
// Appends the filing's row (and its line end). The subject's name is personal data for an
// individual: shown as `view` says (the status's personal fields must already be opened).
// Domains and website record numbers are joined with spaces in CSV, arrays in JSON.
void append_filing_row(std::string& out, ExportFormat format, const FilingStatus& s,
                       const std::optional<Sla>& sla, PersonalView view);

// Every filing of the store's projections, in filing id order, its SLA as of `now`, personal
// data opened by `personal` (null: blank where sealed). Returns the number of filings.
Result<std::uint64_t> export_filings(const Store& store, ExportFormat format, std::ostream& out,
                                     const WorkCalendar& calendar, Timestamp now,
                                     const PersonalData* personal = nullptr);

}  // namespace filingd
