#include "replay/export.hpp"

#include <rocksdb/iterator.h>

#include "events/codec.hpp"
#include "ledger/format/event_record.hpp"
#include "events/encoding.hpp"
#include "events/json.hpp"

namespace filingd {

std::optional<ExportFormat> parse_export_format(std::string_view s) {
  if (s == "jsonl") return ExportFormat::jsonl;
  if (s == "csv") return ExportFormat::csv;
  return std::nullopt;
}

std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string csv_line(const Event& e) {
  std::string out;
  auto field = [&](std::string_view s) {
    if (!out.empty()) out.push_back(',');
    out += csv_field(s);
  };
  field(std::to_string(e.seq.value));
  field(e.filing_id);
  field(std::to_string(e.version.value));
  field(e.event_id);
  field(to_string(e.type()));
  field(std::to_string(e.schema));
  field(format_rfc3339(e.occurred_at));
  field(format_rfc3339(e.recorded_at));
  field(e.actor);
  field(e.principal);
  field(payload_json(e.data));
  field(to_hex(e.prev_hash));
  field(to_hex(e.hash));
  return out;
}

Result<std::uint64_t> export_events(const Store& store, ExportFormat format, std::ostream& out,
                                    const PersonalData* personal) {
  if (format == ExportFormat::csv) out << kCsvHeader << '\n';
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  ro.readahead_size = 2 << 20;
  std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(ro, store.cf(Cf::log)));
  std::uint64_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto e = decode_record(it->value().ToStringView());
    if (!e) return e.take_error();
    if (personal != nullptr) personal->open(*e);
    if (format == ExportFormat::jsonl) {
      out << event_json(*e) << '\n';
    } else {
      out << csv_line(*e) << '\n';
    }
    if (!out)
      return make_error(ErrorCode::io, "write failed after " + std::to_string(n) + " events");
    ++n;
  }
  if (!it->status().ok()) return from_rocksdb(it->status(), "log read failed");
  out.flush();
  if (!out) return make_error(ErrorCode::io, "write failed");
  return n;
}

}  // namespace filingd
