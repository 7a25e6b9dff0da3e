#include "replay/filing_export.hpp"

#include <rocksdb/iterator.h>

#include "events/json_writer.hpp"
#include "ledger/format/keys.hpp"
#include "ledger/format/projection_values.hpp"

namespace filingd {
namespace {

std::string joined(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) {
    if (!out.empty()) out.push_back(' ');
    out += v;
  }
  return out;
}

std::string optional_time(const std::optional<Timestamp>& t) {
  return t ? format_rfc3339(*t) : std::string();
}

}  // namespace

std::string filing_export_preamble(ExportFormat format) {
  if (format == ExportFormat::jsonl) return {};
  return std::string(kUtf8Bom) + std::string(kFilingCsvHeader) + "\r\n";
}

void append_filing_row(std::string& out, ExportFormat format, const FilingStatus& s,
                       const std::optional<Sla>& sla, PersonalView view) {
  std::vector<std::string> domains, numbers;
  for (const Website& w : s.websites) {
    domains.insert(domains.end(), w.domains.begin(), w.domains.end());
    if (!w.record_number.empty()) numbers.push_back(w.record_number);
  }
  const bool personal_name = s.subject.kind == "individual" && view != PersonalView::clear;
  const std::string name = view == PersonalView::omitted && s.subject.kind == "individual"
                               ? std::string()
                           : personal_name ? mask_personal(s.subject.name)
                                           : s.subject.name;
  const std::string returned =
      s.state == FilingState::returned ? std::string(to_string(s.return_cause)) : std::string();
  if (format == ExportFormat::csv) {
    const std::string fields[] = {s.filing_id,
                                  std::string(to_string(s.filing_type)),
                                  std::string(to_string(s.state)),
                                  s.province,
                                  s.provider,
                                  name,
                                  s.subject_record_number,
                                  joined(domains),
                                  joined(numbers),
                                  format_rfc3339(s.submitted_at),
                                  format_rfc3339(s.updated_at),
                                  optional_time(s.sms_deadline),
                                  sla ? std::string(sla->step) : std::string(),
                                  sla ? format_rfc3339(sla->due) : std::string(),
                                  sla && sla->overdue ? "true" : "false",
                                  std::to_string(s.attempt),
                                  returned};
    bool first = true;
    for (const auto& f : fields) {
      if (!first) out.push_back(',');
      first = false;
      out += csv_field(f);
    }
    out += "\r\n";
    return;
  }
  JsonWriter w(out);
  w.begin_object();
  w.key("filing_id").string(s.filing_id);
  w.key("filing_type").string(to_string(s.filing_type));
  w.key("state").string(to_string(s.state));
  w.key("province").string(s.province);
  w.key("provider").string(s.provider);
  w.key("subject_name").string(name);
  w.key("subject_record_number").string(s.subject_record_number);
  w.key("domains").begin_array();
  for (const auto& d : domains) w.string(d);
  w.end_array();
  w.key("website_record_numbers").begin_array();
  for (const auto& n : numbers) w.string(n);
  w.end_array();
  w.key("submitted_at").time(s.submitted_at);
  w.key("updated_at").time(s.updated_at);
  w.key("sms_deadline").time(s.sms_deadline);
  w.key("sla_step");
  if (sla)
    w.string(sla->step);
  else
    w.null();
  w.key("sla_due_at").time(sla ? std::optional<Timestamp>(sla->due) : std::nullopt);
  w.key("overdue").boolean(sla && sla->overdue);
  w.key("attempt").number(s.attempt);
  w.key("returned_cause");
  if (returned.empty())
    w.null();
  else
    w.string(returned);
  w.end_object();
  out.push_back('\n');
}

Result<std::uint64_t> export_filings(const Store& store, ExportFormat format, std::ostream& out,
                                     const WorkCalendar& calendar, Timestamp now,
                                     const PersonalData* personal) {
  out << filing_export_preamble(format);
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(ro, store.cf(Cf::projections)));
  const std::string prefix(keys::kStatusPrefix);
  std::uint64_t n = 0;
  std::string row;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    auto s = decode_status(it->value().ToStringView());
    if (!s) return s.take_error();
    if (personal != nullptr) personal->open(*s);
    row.clear();
    append_filing_row(row, format, *s, sla_of(*s, calendar, now), PersonalView::clear);
    out << row;
    if (!out)
      return make_error(ErrorCode::io, "write failed after " + std::to_string(n) + " filings");
    ++n;
  }
  if (!it->status().ok()) return from_rocksdb(it->status(), "projection read failed");
  out.flush();
  if (!out) return make_error(ErrorCode::io, "write failed");
  return n;
}

}  // namespace filingd
