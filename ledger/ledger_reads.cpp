// The ledger's reads: straight from RocksDB, never waiting for the writer.
#include <rocksdb/iterator.h>

#include "ledger/format/event_record.hpp"
#include "ledger/format/keys.hpp"
#include "ledger/format/projection_values.hpp"
#include "ledger/format/values.hpp"
#include "ledger/ledger.hpp"

namespace filingd {

Result<bool> projections_layout_current(const Store& store) {
  auto head = stored_head(store);
  if (!head) return head.take_error();
  if (head->seq.value == 0) return true;
  auto layout = store.get(Cf::meta, keys::kProjectionsLayout);
  if (!layout) return layout.take_error();
  return *layout && decode_count(**layout) == kProjectionsLayoutVersion;
}

Result<LedgerHead> stored_head(const Store& store) {
  auto raw = store.get(Cf::meta, keys::kHead);
  if (!raw) return raw.take_error();
  if (!*raw) return LedgerHead{};
  auto head = decode_head(**raw);
  if (!head) return make_error(ErrorCode::internal, "corrupt ledger head");
  return *head;
}

Result<std::optional<FilingStatus>> Ledger::status(std::string_view filing_id) const {
  auto raw = store_->get(Cf::projections, keys::status(filing_id));
  if (!raw) return raw.take_error();
  if (!*raw) return std::optional<FilingStatus>{};
  auto s = decode_status(**raw);
  if (!s) return s.take_error();
  return std::optional<FilingStatus>(std::move(*s));
}

Result<std::vector<std::optional<FilingStatus>>> Ledger::statuses(
    const std::vector<std::string>& filing_ids) const {
  const std::size_t n = filing_ids.size();
  std::vector<std::string> keys;
  keys.reserve(n);
  for (const auto& id : filing_ids) keys.push_back(keys::status(id));
  const std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> values(n);
  std::vector<rocksdb::Status> read(n);
  store_->db()->MultiGet(rocksdb::ReadOptions(), store_->cf(Cf::projections), n, slices.data(),
                         values.data(), read.data());
  std::vector<std::optional<FilingStatus>> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (read[i].IsNotFound()) continue;
    if (!read[i].ok()) return from_rocksdb(read[i], "projection read failed");
    auto s = decode_status(values[i].ToStringView());
    if (!s) return s.take_error();
    out[i] = std::move(*s);
  }
  return out;
}

Result<std::vector<Event>> Ledger::stream(std::string_view filing_id, Version from,
                                          std::size_t limit) const {
  std::vector<Event> out;
  const std::string prefix = keys::stream_prefix(filing_id);
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(rocksdb::ReadOptions(), store_->cf(Cf::streams)));
  for (it->Seek(keys::stream(filing_id, from)); it->Valid() && out.size() < limit; it->Next()) {
    if (!it->key().starts_with(prefix)) break;
    const auto seq = decode_seq(it->value().ToStringView());
    if (!seq) return make_error(ErrorCode::internal, "corrupt stream index entry");
    auto raw = store_->get(Cf::log, keys::seq(*seq));
    if (!raw) return raw.take_error();
    if (!*raw) return make_error(ErrorCode::internal, "stream index points at a missing event");
    auto e = decode_record(**raw);
    if (!e) return e.take_error();
    out.push_back(std::move(*e));
  }
  if (!it->status().ok()) return from_rocksdb(it->status(), "stream read failed");
  return out;
}

Result<std::vector<Event>> Ledger::events_after(Seq after, std::size_t limit) const {
  std::vector<Event> out;
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(rocksdb::ReadOptions(), store_->cf(Cf::log)));
  for (it->Seek(keys::seq(after.next())); it->Valid() && out.size() < limit; it->Next()) {
    auto e = decode_record(it->value().ToStringView());
    if (!e) return e.take_error();
    out.push_back(std::move(*e));
  }
  if (!it->status().ok()) return from_rocksdb(it->status(), "log read failed");
  return out;
}

namespace {

// Visits the keys of the projections column family under `prefix`, starting after
// prefix+cursor, until `visit` returns false.
template <class Visit>
Status scan_prefix(const Store& store, const std::string& prefix, std::string_view cursor,
                   Visit visit) {
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(rocksdb::ReadOptions(), store.cf(Cf::projections)));
  const std::string start = prefix + std::string(cursor);
  it->Seek(start);
  if (!cursor.empty() && it->Valid() && it->key().ToStringView() == start) it->Next();
  for (; it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (!visit(it->key().ToStringView().substr(prefix.size()), it->value().ToStringView())) break;
  }
  if (!it->status().ok()) return from_rocksdb(it->status(), "projection read failed");
  return {};
}

}  // namespace

Result<std::vector<std::string>> Ledger::scan_index(std::string_view prefix, std::string_view after,
                                                    std::size_t limit, bool reverse) const {
  std::vector<std::string> out;
  if (!reverse) {
    auto ok = scan_prefix(*store_, std::string(prefix), after,
                          [&](std::string_view rest, std::string_view) {
                            out.emplace_back(rest);
                            return out.size() < limit;
                          });
    if (!ok) return ok.take_error();
    return out;
  }
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(rocksdb::ReadOptions(), store_->cf(Cf::projections)));
  std::string start(prefix);
  if (after.empty()) {
    // Just past every key under the prefix: the prefix with its last byte (below 0xff in every
    // key layout) raised by one.
    start.back() = static_cast<char>(static_cast<unsigned char>(start.back()) + 1);
  } else {
    start.append(after);
  }
  it->SeekForPrev(start);
  if (it->Valid() && it->key().ToStringView() == start) it->Prev();
  for (; it->Valid() && it->key().starts_with(prefix) && out.size() < limit; it->Prev())
    out.emplace_back(it->key().ToStringView().substr(prefix.size()));
  if (!it->status().ok()) return from_rocksdb(it->status(), "projection read failed");
  return out;
}

Result<std::vector<SlaEntry>> Ledger::sla_clock(FilingState state, bool zhejiang,
                                                std::string_view position,
                                                std::size_t limit) const {
  std::vector<SlaEntry> out;
  auto ok =
      scan_prefix(*store_, keys::sla_prefix(static_cast<char>(state), zhejiang), position,
                  [&](std::string_view rest, std::string_view) {
                    const auto key = keys::parse_sla(rest);
                    if (!key) return true;  // not an SLA key: skipped (verify reports it)
                    out.push_back({key->since, std::string(key->filing_id), std::string(rest)});
                    return out.size() < limit;
                  });
  if (!ok) return ok.take_error();
  return out;
}

Result<std::vector<std::pair<std::string, std::uint64_t>>> Ledger::counts() const {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  auto ok = scan_prefix(*store_, std::string(keys::kCountPrefix), "",
                        [&](std::string_view name, std::string_view value) {
                          out.emplace_back(name, decode_count(value).value_or(0));
                          return true;
                        });
  if (!ok) return ok.take_error();
  return out;
}

Result<std::vector<DeadlineEntry>> Ledger::deadlines(std::optional<Timestamp> before,
                                                     std::optional<keys::DeadlineKind> kind,
                                                     std::size_t limit) const {
  std::vector<DeadlineEntry> out;
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(rocksdb::ReadOptions(), store_->cf(Cf::projections)));
  for (it->Seek(keys::kDeadlinePrefix); it->Valid() && out.size() < limit; it->Next()) {
    auto d = keys::parse_deadline(it->key().ToStringView());
    if (!d) break;  // past the deadline keys
    if (before && d->due >= *before) break;
    if (kind && d->kind != *kind) continue;
    out.push_back({d->due, d->kind, std::string(d->filing_id)});
  }
  if (!it->status().ok()) return from_rocksdb(it->status(), "deadline read failed");
  return out;
}

Result<std::uint64_t> Ledger::count_sla_clock(FilingState state, bool zhejiang,
                                              Timestamp before) const {
  const std::string from = keys::sla_prefix(static_cast<char>(state), zhejiang);
  const std::string to = keys::sla(static_cast<char>(state), zhejiang, before, "");
  const rocksdb::Slice upper(to);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(ro, store_->cf(Cf::projections)));
  std::uint64_t n = 0;
  for (it->Seek(from); it->Valid(); it->Next()) ++n;
  if (!it->status().ok()) return from_rocksdb(it->status(), "projection read failed");
  return n;
}

Result<std::optional<RegistryRecord>> Ledger::record(std::string_view number) const {
  auto raw = store_->get(Cf::projections, keys::record(number));
  if (!raw) return raw.take_error();
  if (!*raw) return std::optional<RegistryRecord>{};
  auto r = decode_registry_record(**raw);
  if (!r) return r.take_error();
  return std::optional<RegistryRecord>(std::move(*r));
}

Result<std::optional<std::string>> Ledger::record_for_domain(std::string_view domain) const {
  return store_->get(Cf::projections, keys::domain(domain));
}

Result<std::vector<RegistryRecord>> Ledger::records_of_subject(
    std::string_view subject_number) const {
  std::vector<RegistryRecord> out;
  auto subject = record(subject_number);
  if (!subject) return subject.take_error();
  if (!*subject || (*subject)->website) return out;
  for (const auto& w : (*subject)->websites) {
    auto site = record(w);
    if (!site) return site.take_error();
    if (*site) out.push_back(std::move(**site));
  }
  out.insert(out.begin(), std::move(**subject));
  return out;
}

Result<std::vector<std::string>> Ledger::subject_filings(std::string_view identity) const {
  std::vector<std::string> out;
  auto ok = scan_prefix(*store_, keys::subject_filings_prefix(identity), "",
                        [&](std::string_view filing_id, std::string_view) {
                          out.emplace_back(filing_id);
                          return true;
                        });
  if (!ok) return ok.take_error();
  return out;
}

RecordStatusOf record_status_of(const Ledger& ledger) {
  return [&ledger](const std::string& number) -> std::string {
    auto r = ledger.record(number);
    if (!r || !*r) return {};
    return (*r)->active ? "active" : "cancelled";
  };
}

}  // namespace filingd
