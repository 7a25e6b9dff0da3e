#include "replay/rebuild.hpp"

#include <rocksdb/iterator.h>

#include <unordered_map>

#include "events/codec.hpp"
#include "events/hash.hpp"
#include "projections/keys.hpp"
#include "projections/projector.hpp"

namespace filingd {
namespace {

// Events folded per (unsynced) write batch; bounds the staging overlay's memory.
constexpr std::uint64_t kFlushEvery = 20'000;

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

Status set_marker(Store& store, bool on) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  auto* meta = store.cf(Cf::meta);
  rocksdb::Status s = on ? store.db()->Put(wo, meta, keys::kRebuildMarker, "")
                         : store.db()->Delete(wo, meta, keys::kRebuildMarker);
  if (!s.ok()) return from_rocksdb(s, "cannot write the rebuild marker");
  return {};
}

}  // namespace

Result<bool> rebuild_interrupted(const Store& store) {
  auto marker = store.get(Cf::meta, keys::kRebuildMarker);
  if (!marker) return marker.take_error();
  return marker->has_value();
}

Result<RebuildStats> rebuild_projections(Store& store) {
  // Until the marker is removed the projections are incomplete, and Ledger::open refuses them:
  // a crash mid-rebuild can never leave a daemon serving half a projection.
  if (auto ok = set_marker(store, true); !ok) return ok.take_error();
  if (auto ok = store.recreate(Cf::projections); !ok) return ok.take_error();

  RebuildStats stats;
  Staging staging(store);
  Staging::ProjectionView view(staging);
  // Decoded statuses of recently touched filings: saves decoding what we just encoded.
  std::unordered_map<std::string, FilingStatus> cache;

  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(rocksdb::ReadOptions(), store.cf(Cf::log)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto e = decode_record(it->value().ToStringView());
    if (!e) return e.take_error();
    if (e->seq != stats.head.next())
      return make_error(ErrorCode::internal,
                        "log is not gapless: expected seq " +
                            std::to_string(stats.head.next().value) + ", found " +
                            std::to_string(e->seq.value));
    auto cached = cache.find(e->filing_id);
    FilingStatus before;
    if (cached != cache.end()) {
      before = std::move(cached->second);
    } else {
      auto loaded = load_status(view, e->filing_id);
      if (!loaded) return loaded.take_error();
      before = std::move(*loaded);
    }
    auto after = project(view, before, *e);
    if (!after)
      return make_error(ErrorCode::internal, "event seq " + std::to_string(e->seq.value) +
                                                 " does not replay: " + after.error().message);
    if (view.error()) return *view.error();
    cache[e->filing_id] = std::move(*after);
    stats.head = e->seq;
    if (++stats.events % kFlushEvery == 0) {
      if (auto ok = flush(store, staging, false); !ok) return ok.take_error();
      cache.clear();
    }
  }
  if (!it->status().ok()) return from_rocksdb(it->status(), "log read failed");
  if (auto ok = flush(store, staging, false); !ok) return ok.take_error();
  // The rebuild bypassed the WAL: make it durable before reporting success.
  rocksdb::FlushOptions fo;
  rocksdb::Status s = store.db()->Flush(fo, store.cf(Cf::projections));
  if (!s.ok()) return from_rocksdb(s, "rebuild flush failed");
  if (auto ok = set_marker(store, false); !ok) return ok.take_error();
  return stats;
}

void ProjectionDigest::add(std::string_view key, std::string_view value) {
  sizes_.clear();
  keys::put_u32(sizes_, static_cast<std::uint32_t>(key.size()));
  keys::put_u32(sizes_, static_cast<std::uint32_t>(value.size()));
  sha_.update(sizes_).update(key).update(value);
}

Result<Hash> projections_digest(const Store& store) {
  ProjectionDigest digest;
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(rocksdb::ReadOptions(), store.cf(Cf::projections)));
  for (it->SeekToFirst(); it->Valid(); it->Next())
    digest.add(it->key().ToStringView(), it->value().ToStringView());
  if (!it->status().ok()) return from_rocksdb(it->status(), "projections read failed");
  return digest.finish();
}

}  // namespace filingd
