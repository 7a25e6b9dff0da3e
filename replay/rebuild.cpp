#include "replay/rebuild.hpp"

#include <rocksdb/iterator.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "events/codec.hpp"
#include "ledger/format/event_record.hpp"
#include "ledger/format/keys.hpp"
#include "ledger/format/projection_values.hpp"
#include "ledger/format/values.hpp"
#include "ledger/ledger.hpp"
#include "replay/projection_fold.hpp"
#include "replay/sorted_runs.hpp"

namespace filingd {
namespace {

// The rebuilt projections' table files: RocksDB's default target file size.
constexpr std::size_t kCopiedFileBytes = std::size_t{64} << 20;

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

// Calls fold(event) for every event of the log in seq order, checking that seq is gapless. The
// log is read and decoded on a second thread, a chunk of events ahead (decoding is a large part
// of a rebuild's work), which also adds each event's hash to `tree`.
template <class Fold>
Result<RebuildStats> fold_log(const Store& store, TreeRebuild& tree, Fold&& fold) {
  constexpr std::size_t kChunkEvents = 1024;
  constexpr std::size_t kChunksAhead = 4;
  struct Chunk {
    std::vector<Event> events;
    std::optional<Error> error;  // the reader stopped here
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
    chunk = std::move(next);
    return go_on;
  };
  std::thread reader([&] {
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
      if (auto ok = tree.add(e->hash); !ok) {
        chunk.error = ok.take_error();
        break;
      }
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
    for (const Event& e : chunk.events) {
      if (e.seq != stats.head.next()) {
        failed = make_error(ErrorCode::internal, "log is not gapless: expected seq " +
                                                     std::to_string(stats.head.next().value) +
                                                     ", found " + std::to_string(e.seq.value));
        break;
      }
      if (auto ok = fold(e); !ok) {
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
  // The fold reads what it spilled, and a cache of whole filter blocks would thrash on the
  // growing column family; its scratch store reads them in partitions, then its entries are
  // copied once, in the ledger's own table format, in files that need no compaction. Opened
  // first: a scratch directory that will not do leaves the ledger as it was.
  const BudgetShares budget(options.memory_budget);
  auto scratch = open_scratch(options.scratch_dir, budget.scratch_cache);
  if (!scratch) return scratch.take_error();
  // Until the marker is removed the projections are incomplete, and Ledger::open refuses them:
  // a crash mid-rebuild can never leave a daemon serving half a projection.
  if (auto ok = set_marker(store, true); !ok) return ok.take_error();
  if (auto ok = store.recreate(Cf::projections); !ok) return ok.take_error();
  if (auto ok = store.recreate(Cf::tree); !ok) return ok.take_error();
  ProjectionFold fold(**scratch, budget.fold);
  TreeRebuild tree(store);
  auto stats = fold_log(store, tree, [&](const Event& e) -> Status {
    if (auto state = fold.fold(e); !state) return replay_error(e, state.error());
    return {};
  });
  if (!stats) return stats;
  if (auto ok = fold.finish(); !ok) return ok.take_error();
  // The digest as the entries go by: the column family was empty, so it holds what was copied.
  ProjectionDigest digest;
  if (auto ok = copy_column(**scratch, store, Cf::projections, kCopiedFileBytes,
                            [&](std::string_view k, std::string_view v) { digest.add(k, v); });
      !ok)
    return ok.take_error();
  scratch->reset();  // its disk space and cache, no longer needed
  if (auto leaves = tree.finish(); !leaves) return leaves.take_error();
  if (auto ok = set_marker(store, false); !ok) return ok.take_error();
  stats->digest = digest.finish();
  return stats;
}

void ProjectionDigest::add(std::string_view key, std::string_view value) {
  std::string sizes;  // 8 bytes: within the string's own buffer, no allocation
  keys::put_u32(sizes, static_cast<std::uint32_t>(key.size()));
  keys::put_u32(sizes, static_cast<std::uint32_t>(value.size()));
  sha_.update(sizes).update(key).update(value);
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
