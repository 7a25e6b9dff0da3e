// Erasure's last step (SPEC §5.4): once a destroyed data key's tombstone is written, its bytes
// are flushed and compacted out of the keys column family's files, on a thread of its own.
#include <rocksdb/db.h>
#include <spdlog/spdlog.h>

#include "ledger/format/keys.hpp"
#include "ledger/ledger.hpp"

namespace filingd {

void Ledger::purge_destroyed_keys() {
  {
    std::lock_guard lock(purge_mu_);
    purge_requested_ = true;
  }
  purge_cv_.notify_one();
}

namespace {

// The purge markers (keys::purge) present now: the erasures whose keys the next purge removes.
std::vector<std::string> purge_markers(Store& store) {
  std::vector<std::string> markers;
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(rocksdb::ReadOptions(), store.cf(Cf::meta)));
  for (it->Seek(keys::kPurgePrefix); it->Valid() && it->key().starts_with(keys::kPurgePrefix);
       it->Next())
    markers.push_back(it->key().ToString());
  return markers;
}

}  // namespace

void Ledger::purge_loop() {
  std::unique_lock lock(purge_mu_);
  // An erasure's purge a crash interrupted is done again.
  if (!purge_markers(*store_).empty()) purge_requested_ = true;
  for (;;) {
    purge_cv_.wait(lock, [&] { return purge_requested_ || purge_stopping_; });
    if (!purge_requested_) return;  // stopping; a purge asked for is done first
    purge_requested_ = false;
    lock.unlock();
    // Only the markers seen before the flush: a later erasure's key may still be in a memtable.
    const std::vector<std::string> markers = purge_markers(*store_);
    rocksdb::DB* db = store_->db();
    std::vector<rocksdb::ColumnFamilyHandle*> all;
    for (std::size_t i = 0; i < kCfCount; ++i)
      if (auto* h = store_->cf(static_cast<Cf>(i))) all.push_back(h);
    rocksdb::Status s = db->Flush(rocksdb::FlushOptions(), all);
    rocksdb::CompactRangeOptions compact;
    compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    if (s.ok()) s = db->CompactRange(compact, store_->cf(Cf::keys), nullptr, nullptr);
    if (s.ok() && !markers.empty()) {
      rocksdb::WriteBatch done;
      for (const std::string& m : markers) done.Delete(store_->cf(Cf::meta), m);
      rocksdb::WriteOptions sync;
      sync.sync = true;
      s = db->Write(sync, &done);
    }
    if (!s.ok()) spdlog::warn("purging destroyed data keys failed: {}", s.ToString());
    lock.lock();
  }
}

}  // namespace filingd
