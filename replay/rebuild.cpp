#include "replay/rebuild.hpp"

#include <rocksdb/iterator.h>
#include <rocksdb/sst_file_writer.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <variant>

#include "events/codec.hpp"
#include "events/hash.hpp"
#include "ledger/format/event_record.hpp"
#include "ledger/format/keys.hpp"
#include "ledger/format/projection_values.hpp"
#include "ledger/format/values.hpp"
#include "ledger/ledger.hpp"
#include "ledger/projector.hpp"
#include "replay/memory_projections.hpp"

namespace filingd {
namespace {

Status flush(Store& store, Staging& staging, bool sync) {
  rocksdb::WriteBatch wb;
  staging.write_to(wb);
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  wo.disableWAL = !sync;  // a crash mid-rebuild leaves projections to rebuild again anyway
  rocksdb::Status s = store.db()->Write(wo, &wb);
  staging.clear();
  if (!s.ok()) return from_rocksdb(s, "rebuild write failed");
  return {};
}

// On: the projections are incomplete. Off: they are complete, in this build's layout.
Status set_marker(Store& store, bool on) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  auto* meta = store.cf(Cf::meta);
  rocksdb::WriteBatch batch;
  rocksdb::Status s =
      on ? batch.Put(meta, keys::kRebuildMarker, "") : batch.Delete(meta, keys::kRebuildMarker);
  if (s.ok() && !on)
    s = batch.Put(meta, keys::kProjectionsLayout, encode_count(kProjectionsLayoutVersion));
  if (s.ok()) s = store.db()->Write(wo, &batch);
  if (!s.ok()) return from_rocksdb(s, "cannot write the rebuild marker");
  return {};
}

// Calls fold(event, prepare(event)) for every event of the log in seq order, checking that seq
// is gapless. The log is read, decoded and prepared on a second thread, a chunk of events ahead:
// decoding is a large part of a rebuild's work. `prepare` is moved to that thread, and
// destroyed there.
template <class Prepare, class Fold>
Result<RebuildStats> fold_log(const Store& store, Prepare prepare, Fold&& fold) {
  constexpr std::size_t kChunkEvents = 1024;
  constexpr std::size_t kChunksAhead = 4;
  struct Chunk {
    std::vector<Event> events;
    std::vector<std::invoke_result_t<Prepare&, const Event&>> prepared;  // one per event
    std::optional<Error> error;                                          // the reader stopped here
    bool last = false;
  };
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Chunk> ready;  // guarded by mu
  // Guarded by mu: folded chunks, which the reader empties and refills. Their events are freed
  // on the thread that allocated them, not on the folding one, and their vectors keep their
  // capacity: no large block is freed and allocated again per chunk.
  std::vector<Chunk> spent;
  bool abandoned = false;  // guarded by mu: the folder gave up
  // Hands `chunk` over and empties it for the next events; false if the folder gave up.
  const auto hand_over = [&](Chunk& chunk) {
    Chunk next;
    bool go_on = false;
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return ready.size() < kChunksAhead || abandoned; });
      ready.push_back(std::move(chunk));
      if (!spent.empty()) {
        next = std::move(spent.back());
        spent.pop_back();
      }
      go_on = !abandoned;
      cv.notify_all();
    }
    next.events.clear();
    next.prepared.clear();
    chunk = std::move(next);
    return go_on;
  };
  std::thread reader([&, prepare = std::move(prepare)]() mutable {
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(ro, store.cf(Cf::log)));
    Chunk chunk;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto e = decode_record(it->value().ToStringView());
      if (!e) {
        chunk.error = e.take_error();
        break;
      }
      chunk.prepared.push_back(prepare(*e));
      chunk.events.push_back(std::move(*e));
      if (chunk.events.size() == kChunkEvents && !hand_over(chunk)) return;
    }
    if (!chunk.error && !it->status().ok())
      chunk.error = from_rocksdb(it->status(), "log read failed");
    chunk.last = true;
    hand_over(chunk);
  });

  RebuildStats stats;
  std::optional<Error> failed;
  Chunk chunk;
  for (bool last = false; !last && !failed;) {
    {
      std::unique_lock lock(mu);
      if (!chunk.events.empty()) spent.push_back(std::move(chunk));
      cv.wait(lock, [&] { return !ready.empty(); });
      chunk = std::move(ready.front());
      ready.pop_front();
      cv.notify_all();
    }
    last = chunk.last;
    for (std::size_t i = 0; i < chunk.events.size(); ++i) {
      const Event& e = chunk.events[i];
      if (e.seq != stats.head.next()) {
        failed = make_error(ErrorCode::internal, "log is not gapless: expected seq " +
                                                     std::to_string(stats.head.next().value) +
                                                     ", found " + std::to_string(e.seq.value));
        break;
      }
      if (auto ok = fold(e, chunk.prepared[i]); !ok) {
        failed = ok.take_error();
        break;
      }
      stats.head = e.seq;
      ++stats.events;
    }
    if (!failed && chunk.error) failed = std::move(chunk.error);
  }
  {
    std::lock_guard lock(mu);
    abandoned = true;
  }
  cv.notify_all();
  reader.join();
  if (failed) return *failed;
  return stats;
}

Error replay_error(const Event& e, const Error& why) {
  return make_error(ErrorCode::internal, "event seq " + std::to_string(e.seq.value) +
                                             " does not replay: " + why.message);
}

// One table file of a rebuild.
struct Table {
  std::string path;
  bool written = false;  // a table file cannot be empty: none is written for no entries
  rocksdb::Status status;
};

// Writes entry(0..n), key and value pairs in key order, as `table`.
template <class Entry>
void write_table(const rocksdb::Options& options, rocksdb::ColumnFamilyHandle* cf, std::size_t n,
                 Entry&& entry, Table& table) {
  if (n == 0) return;
  table.written = true;
  rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), options, cf);
  table.status = writer.Open(table.path);
  for (std::size_t i = 0; i < n && table.status.ok(); ++i) {
    const auto [key, value] = entry(i);
    table.status = writer.Put(key, value);
  }
  if (table.status.ok()) table.status = writer.Finish();
}

// Folds the log in memory and writes the result as sorted table files, ingested into the
// (empty) projections column family: no memtable, no WAL, no compaction. Returns nullopt when
// the projections outgrow `max_entries`.
Result<std::optional<RebuildStats>> rebuild_in_memory(Store& store, std::size_t max_entries) {
  MemoryProjections mem;
  // At most about one entry per event (as verify sizes its scratch projections, which also hold
  // the derived entries): sized once, not grown and rehashed through the fold.
  if (auto head = stored_head(store))
    mem.reserve(std::min<std::size_t>(head->seq.value, max_entries));
  // Statuses stay decoded until the end (each is encoded once, not once per event), indexed by
  // a number the reader thread gives each filing in order of first appearance: the folding
  // thread then does no hashing of filing ids.
  std::vector<FilingStatus> statuses;
  auto number = [numbers =
                     std::unordered_map<std::string, std::uint32_t>()](const Event& e) mutable {
    return numbers.try_emplace(e.filing_id, static_cast<std::uint32_t>(numbers.size()))
        .first->second;
  };
  auto stats =
      fold_log(store, std::move(number), [&](const Event& e, std::uint32_t filing) -> Status {
        if (filing == statuses.size()) statuses.emplace_back();
        if (auto ok = project_in_place(mem, statuses[filing], e, Derived::leave_out); !ok)
          return replay_error(e, ok.error());
        if (mem.size() + statuses.size() > max_entries) return make_error(ErrorCode::too_large, "");
        return {};
      });
  if (!stats) {
    if (stats.error().code == ErrorCode::too_large) return std::optional<RebuildStats>{};
    return stats.take_error();
  }
  // The derived entries are written once, from the final statuses, rather than kept up to date
  // through the fold: most events move a filing to another state, which would delete one
  // list-index entry, add another and update two counters. They are made and sorted on a
  // second thread while mem's entries are sorted on this one.
  // No second look at the size here: the fold's memory is spent by now, and starting over
  // through the memtables cost a 10,000,000-event ledger 256 s instead of about 80, for about
  // the same peak memory, and left the projections full of tombstones.
  std::vector<std::pair<std::string, std::string>> derived;
  std::thread deriver([&] { derived = derived_entries(statuses); });
  const auto sorted_mem = mem.sorted();
  deriver.join();

  // Three table files with disjoint key ranges, ingested together: the statuses (the status
  // prefix's range, which holds nothing else) and the other entries below and above them. The
  // statuses are sorted, encoded, written and freed on a second thread while the others are
  // merged and written on this one.
  rocksdb::Options options(store.db()->GetDBOptions(),
                           store.db()->GetOptions(store.cf(Cf::projections)));
  auto* cf = store.cf(Cf::projections);
  std::array<Table, 3> tables;  // below the statuses, the statuses, above them
  for (std::size_t t = 0; t < tables.size(); ++t)
    tables[t].path = store.db()->GetName() + "/projections-rebuild-" + std::to_string(t) + ".sst";
  std::thread status_writer([&, statuses = std::move(statuses)] {
    std::vector<const FilingStatus*> by_key;  // filings only: a subject's erasures have none
    by_key.reserve(statuses.size());
    for (const FilingStatus& s : statuses)
      if (s.exists()) by_key.push_back(&s);
    std::sort(by_key.begin(), by_key.end(), [](const FilingStatus* a, const FilingStatus* b) {
      return a->filing_id < b->filing_id;
    });
    std::string key;
    write_table(
        options, cf, by_key.size(),
        [&](std::size_t i) {
          key = keys::status(by_key[i]->filing_id);
          return std::pair<std::string_view, std::string>(key, encode_status(*by_key[i]));
        },
        tables[1]);
  });
  std::vector<MemoryProjections::Entry> sorted(sorted_mem.size() + derived.size());
  std::merge(sorted_mem.begin(), sorted_mem.end(), derived.begin(), derived.end(), sorted.begin(),
             [](const auto& a, const auto& b) {
               return std::string_view(a.first) < std::string_view(b.first);
             });
  const auto above = std::lower_bound(
      sorted.begin(), sorted.end(), keys::kStatusPrefix,
      [](const MemoryProjections::Entry& e, std::string_view prefix) { return e.first < prefix; });
  const auto split = static_cast<std::size_t>(above - sorted.begin());
  write_table(
      options, cf, split, [&](std::size_t i) { return sorted[i]; }, tables[0]);
  write_table(
      options, cf, sorted.size() - split, [&](std::size_t i) { return sorted[split + i]; },
      tables[2]);
  status_writer.join();

  rocksdb::Status s;
  std::vector<std::string> files;
  for (const Table& table : tables) {
    if (!table.written) continue;
    if (s.ok()) s = table.status;
    files.push_back(table.path);
  }
  if (s.ok() && !files.empty()) {
    rocksdb::IngestExternalFileOptions ingest;
    ingest.move_files = true;
    s = store.db()->IngestExternalFile(cf, files, ingest);
  }
  std::error_code ec;
  for (const auto& file : files) std::filesystem::remove(file, ec);  // linked if ingested
  if (!s.ok()) return from_rocksdb(s, "rebuild: cannot write the projections table");
  return std::optional<RebuildStats>(*stats);
}

// Folds the log through a write-back overlay, written (without a WAL or a sync) every
// `flush_every` events: memory stays bounded however large the projections are.
Result<RebuildStats> rebuild_streaming(Store& store, std::uint64_t flush_every) {
  Staging staging(store);
  Staging::ProjectionView view(staging);
  // Decoded statuses of recently touched filings: saves decoding what we just encoded.
  std::unordered_map<std::string, FilingStatus> cache;
  std::uint64_t events = 0;
  auto stats = fold_log(
      store, [](const Event&) { return std::monostate{}; },
      [&](const Event& e, std::monostate) -> Status {
        auto cached = cache.find(e.filing_id);
        FilingStatus before;
        if (cached != cache.end()) {
          before = std::move(cached->second);
        } else {
          auto loaded = load_status(view, e.filing_id);
          if (!loaded) return loaded.take_error();
          before = std::move(*loaded);
        }
        auto after = project(view, before, e);
        if (!after) return replay_error(e, after.error());
        if (view.error()) return *view.error();
        cache[e.filing_id] = std::move(*after);
        if (++events % flush_every == 0) {
          if (auto ok = flush(store, staging, false); !ok) return ok.take_error();
          cache.clear();
        }
        return {};
      });
  if (!stats) return stats;
  if (auto ok = flush(store, staging, false); !ok) return ok.take_error();
  // The writes bypassed the WAL: make them durable before reporting success.
  rocksdb::Status s = store.db()->Flush(rocksdb::FlushOptions(), store.cf(Cf::projections));
  if (!s.ok()) return from_rocksdb(s, "rebuild flush failed");
  // Every index entry an event replaced in an earlier write batch is a tombstone now, which
  // list queries would step over until a compaction: compact them away before serving. Forced:
  // files moved down a level unchanged would keep theirs.
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  s = store.db()->CompactRange(compact, store.cf(Cf::projections), nullptr, nullptr);
  if (!s.ok()) return from_rocksdb(s, "rebuild compaction failed");
  return stats;
}

}  // namespace

Result<bool> rebuild_needed(const Store& store) {
  auto marker = store.get(Cf::meta, keys::kRebuildMarker);
  if (!marker) return marker.take_error();
  if (marker->has_value()) return true;
  auto layout = projections_layout_current(store);
  if (!layout) return layout.take_error();
  return !*layout;
}

Result<RebuildStats> rebuild_projections(Store& store, const RebuildOptions& options) {
  // Until the marker is removed the projections are incomplete, and Ledger::open refuses them:
  // a crash mid-rebuild can never leave a daemon serving half a projection.
  if (auto ok = set_marker(store, true); !ok) return ok.take_error();
  if (auto ok = store.recreate(Cf::projections); !ok) return ok.take_error();
  auto in_memory = rebuild_in_memory(store, options.max_memory_entries);
  if (!in_memory) return in_memory.take_error();
  Result<RebuildStats> stats =
      *in_memory ? Result<RebuildStats>(**in_memory)
                 : rebuild_streaming(store, std::max<std::uint64_t>(options.flush_every, 1));
  if (!stats) return stats;
  auto leaves = rebuild_tree(store);
  if (!leaves) return leaves.take_error();
  if (auto ok = set_marker(store, false); !ok) return ok.take_error();
  return stats;
}

void ProjectionDigest::add(std::string_view key, std::string_view value) {
  sizes_.clear();
  keys::put_u32(sizes_, static_cast<std::uint32_t>(key.size()));
  keys::put_u32(sizes_, static_cast<std::uint32_t>(value.size()));
  sha_.update(sizes_).update(key).update(value);
}

Result<Hash> column_digest(const Store& store, Cf which) {
  ProjectionDigest digest;
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(rocksdb::ReadOptions(), store.cf(which)));
  for (it->SeekToFirst(); it->Valid(); it->Next())
    digest.add(it->key().ToStringView(), it->value().ToStringView());
  if (!it->status().ok()) return from_rocksdb(it->status(), "read failed");
  return digest.finish();
}

Result<Hash> projections_digest(const Store& store) {
  return column_digest(store, Cf::projections);
}

}  // namespace filingd
