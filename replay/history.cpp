#include "replay/history.hpp"

#include <rocksdb/iterator.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cstdlib>

#include "events/codec.hpp"
#include "ledger/format/event_record.hpp"
#include "events/json.hpp"
#include "ledger/format/keys.hpp"
#include "projections/state_machine.hpp"

namespace filingd {
namespace {

namespace json = boost::json;

Error replay_error(const Event& e, const Error& why) {
  return make_error(ErrorCode::internal, "event seq " + std::to_string(e.seq.value) + " (" +
                                             e.filing_id + " v" + std::to_string(e.version.value) +
                                             ") does not replay: " + why.message);
}

// Text as stored; quoted only when it would not read as one token.
void append_text(std::string& out, std::string_view s) {
  if (!s.empty() && s.find_first_of(" \t\n\"=") == std::string_view::npos) {
    out.append(s);
    return;
  }
  out.push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out.append("\\n");
      continue;
    }
    out.push_back(c);
  }
  out.push_back('"');
}

void append_value(std::string& out, const json::value& v);

void append_array(std::string& out, const json::array& a) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (i) out.push_back(',');
    if (a[i].is_object()) {
      // An entry of scalars joined by ':', e.g. "zhangsan.cn:京ICP备2026000123号-1".
      bool first = true;
      for (const auto& m : a[i].get_object()) {
        if (m.value().is_string() && m.value().get_string().empty()) continue;
        if (!first) out.push_back(':');
        first = false;
        append_value(out, m.value());
      }
    } else {
      append_value(out, a[i]);
    }
  }
}

void append_value(std::string& out, const json::value& v) {
  if (v.is_string()) {
    append_text(out, std::string_view(v.get_string().data(), v.get_string().size()));
  } else if (v.is_array()) {
    append_array(out, v.get_array());
  } else {
    out.append(json::serialize(v));
  }
}

void append_pair(std::string& out, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  if (!out.empty()) out.push_back(' ');
  out.append(key).push_back('=');
  append_text(out, value);
}

std::string submission_summary(const FilingSubmitted& f) {
  std::string out;
  append_pair(out, "filing_type", to_string(f.filing_type));
  append_pair(out, "province", f.province);
  append_pair(out, "provider", f.provider);
  append_pair(out, "subject", f.subject.name);
  append_pair(out, "subject_id", f.subject.id_type + ":" + f.subject.id_number);
  append_pair(out, "existing_record_number", f.existing_record_number);
  for (const auto& w : f.websites) {
    std::string site = w.name + "[";
    for (std::size_t i = 0; i < w.domains.size(); ++i) site += (i ? "," : "") + w.domains[i];
    site += "]";
    if (!w.record_number.empty()) site += ":" + w.record_number;
    append_pair(out, "website", site);
  }
  return out;
}

}  // namespace

std::string payload_summary(const Payload& p) {
  if (const auto* f = std::get_if<FilingSubmitted>(&p)) return submission_summary(*f);
  std::string out;
  for (const auto& m : payload_to_json(p)) {
    const json::value& v = m.value();
    if (v.is_null() || (v.is_string() && v.get_string().empty()) ||
        (v.is_array() && v.get_array().empty()))
      continue;
    if (!out.empty()) out.push_back(' ');
    out.append(m.key().data(), m.key().size()).push_back('=');
    append_value(out, v);
  }
  return out;
}

std::string history_line(const Event& e) {
  std::string out = "#" + std::to_string(e.seq.value) + "  v" + std::to_string(e.version.value) +
                    "  " + format_rfc3339(e.occurred_at);
  // Back-filled or imported: when the ledger learnt of it differs from when it happened.
  if (std::abs(e.recorded_at.micros - e.occurred_at.micros) > kMicrosPerMinute)
    out += " (recorded " + format_rfc3339(e.recorded_at) + ")";
  out += "  " + std::string(to_string(e.type())) + "  " + e.actor;
  const std::string data = payload_summary(e.data);
  if (!data.empty()) out += "  " + data;
  return out;
}

Result<std::vector<Event>> filing_events(const Store& store, std::string_view filing_id) {
  std::vector<Event> out;
  const std::string prefix = keys::stream_prefix(filing_id);
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(rocksdb::ReadOptions(), store.cf(Cf::streams)));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    auto raw = store.get(Cf::log, it->value().ToStringView());
    if (!raw) return raw.take_error();
    if (!*raw)
      return make_error(ErrorCode::internal,
                        "the streams index of " + std::string(filing_id) +
                            " points at a missing event (run filingctl verify)");
    auto e = decode_record(**raw);
    if (!e) return e.take_error();
    out.push_back(std::move(*e));
  }
  if (!it->status().ok()) return from_rocksdb(it->status(), "stream read failed");
  return out;
}

Result<std::optional<FilingStatus>> fold_filing(const std::vector<Event>& events,
                                                const ReplayPoint& point) {
  FilingStatus s;
  for (const Event& e : events) {
    if (!point.includes(e)) break;  // the included events of a filing are a prefix
    if (auto ok = apply_event(s, e); !ok) return replay_error(e, ok.error());
  }
  if (!s.exists()) return std::optional<FilingStatus>{};
  return std::optional<FilingStatus>(std::move(s));
}

Result<std::map<std::string, FilingStatus>> replay_log(const Store& store, const ReplayPoint& point,
                                                       std::optional<std::string_view> filing) {
  std::map<std::string, FilingStatus> out;
  if (filing) {
    auto events = filing_events(store, *filing);
    if (!events) return events.take_error();
    auto s = fold_filing(*events, point);
    if (!s) return s.take_error();
    if (*s) out.emplace(std::string(*filing), std::move(**s));
    return out;
  }
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;  // one sequential pass
  ro.readahead_size = 2 << 20;
  std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(ro, store.cf(Cf::log)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto e = decode_record(it->value().ToStringView());
    if (!e) return e.take_error();
    if (point.until_seq && e->seq > *point.until_seq) break;
    if (!point.includes(*e)) continue;
    auto [pos, inserted] = out.try_emplace(e->filing_id);
    if (auto ok = apply_event(pos->second, *e); !ok) return replay_error(*e, ok.error());
  }
  if (!it->status().ok()) return from_rocksdb(it->status(), "log read failed");
  return out;
}

}  // namespace filingd
