#include "ledger/tree.hpp"

#include <bit>
#include <cstring>
#include <string>
#include <vector>

#include "ledger/format/keys.hpp"

namespace filingd {

tlog::HashReader tree_reader(const Store& store, const rocksdb::Snapshot* snapshot) {
  return [&store, snapshot](std::span<const std::int64_t> indexes,
                            std::span<tlog::Hash> out) -> Status {
    rocksdb::ColumnFamilyHandle* cf = store.cf(Cf::tree);
    if (cf == nullptr) return make_error(ErrorCode::internal, "the ledger has no Merkle tree");
    // A hash at `level` is the level-th of the record of the leaf that completed its subtree,
    // whose key is `level` indexes before its own.
    std::vector<std::string> keys;
    std::vector<int> levels;
    keys.reserve(indexes.size());
    levels.reserve(indexes.size());
    for (std::int64_t i : indexes) {
      auto where = tlog::split_stored_hash_index(i);
      if (!where) return where.take_error();
      keys.push_back(keys::tree_hash(i - where->level));
      levels.push_back(where->level);
    }
    std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
    std::vector<rocksdb::PinnableSlice> values(keys.size());
    std::vector<rocksdb::Status> statuses(keys.size());
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot;
    store.db()->MultiGet(ro, cf, keys.size(), slices.data(), values.data(), statuses.data(),
                         /*sorted_input=*/false);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const std::size_t at = static_cast<std::size_t>(levels[i]) * tlog::kHashSize;
      if (statuses[i].IsNotFound() ||
          (statuses[i].ok() &&
           (values[i].size() % tlog::kHashSize != 0 || values[i].size() < at + tlog::kHashSize)))
        return make_error(ErrorCode::internal,
                          "the Merkle tree is damaged at stored hash " +
                              std::to_string(indexes[i]) +
                              " (rebuild the projections: filingctl rebuild-projections)");
      if (!statuses[i].ok()) return from_rocksdb(statuses[i], "Merkle tree read failed");
      std::memcpy(out[i].data(), values[i].data() + at, tlog::kHashSize);
    }
    return {};
  };
}

TreeCache::TreeCache() = default;
TreeCache::~TreeCache() = default;

TreeCache::Set* TreeCache::sets() const {
  std::call_once(allocated_, [this] { sets_ = std::make_unique<Set[]>(kSets); });
  return sets_.get();
}

namespace {

std::size_t set_of(std::int64_t index, std::size_t sets) {
  // Fibonacci hashing: neighbouring indexes (one record's hashes) land in different sets.
  return static_cast<std::size_t>((static_cast<std::uint64_t>(index) * 0x9E3779B97F4A7C15ull) >>
                                  (64 - std::countr_zero(sets)));
}

}  // namespace

bool TreeCache::find(std::int64_t index, tlog::Hash& out) const {
  const Set& set = sets()[set_of(index, kSets)];
  for (;;) {
    const std::uint32_t before = set.version.load(std::memory_order_acquire);
    if (before & 1) return false;  // being written: a miss, read from the store instead
    bool found = false;
    for (const Entry& e : set.entries) {
      if (e.index.load(std::memory_order_relaxed) != index) continue;
      for (std::size_t w = 0; w < kWords; ++w) {
        const std::uint64_t word = e.hash[w].load(std::memory_order_relaxed);
        std::memcpy(out.data() + 8 * w, &word, 8);
      }
      found = true;
      break;
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (set.version.load(std::memory_order_relaxed) == before) return found;
  }
}

void TreeCache::insert(std::int64_t index, const tlog::Hash& hash) {
  auto where = tlog::split_stored_hash_index(index);
  if (!where) return;
  const std::size_t s = set_of(index, kSets);
  Set& set = sets()[s];
  std::lock_guard lock(stripes_[s % kStripes]);
  auto& [first, second] = set.entries;
  Entry* victim = first.level <= second.level ? &first : &second;
  for (Entry& e : set.entries) {
    const std::int64_t held = e.index.load(std::memory_order_relaxed);
    if (held == index) return;
    if (held < 0) victim = &e;
  }
  if (victim->index.load(std::memory_order_relaxed) >= 0 && victim->level > where->level) return;
  const std::uint32_t v = set.version.load(std::memory_order_relaxed);
  set.version.store(v + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  victim->index.store(index, std::memory_order_relaxed);
  for (std::size_t w = 0; w < kWords; ++w) {
    std::uint64_t word;
    std::memcpy(&word, hash.data() + 8 * w, 8);
    victim->hash[w].store(word, std::memory_order_relaxed);
  }
  victim->level = where->level;
  set.version.store(v + 2, std::memory_order_release);
}

tlog::HashReader tree_reader(const Store& store, TreeCache& cache) {
  return [&cache, uncached = tree_reader(store)](std::span<const std::int64_t> indexes,
                                                 std::span<tlog::Hash> out) -> Status {
    std::vector<std::int64_t> missing;
    std::vector<std::size_t> at;  // where each missing one goes in `out`
    for (std::size_t i = 0; i < indexes.size(); ++i) {
      if (cache.find(indexes[i], out[i])) continue;
      missing.push_back(indexes[i]);
      at.push_back(i);
    }
    if (missing.empty()) return {};
    std::vector<tlog::Hash> read(missing.size());
    if (auto ok = uncached(missing, read); !ok) return ok;
    for (std::size_t k = 0; k < missing.size(); ++k) {
      out[at[k]] = read[k];
      cache.insert(missing[k], read[k]);
    }
    return {};
  };
}

Status stage_leaf(Staging& txn, tlog::Appender& tree, const Hash& event_hash) {
  auto stored = tree.append(event_hash);
  if (!stored) return stored.take_error();
  txn.append(Cf::tree, keys::tree_hash(stored->first_index), std::string(tree_record(*stored)));
  return {};
}

Result<tlog::Appender> resume_tree(const Store& store, Seq size) {
  return tlog::Appender::resume(static_cast<std::int64_t>(size.value), tree_reader(store));
}

}  // namespace filingd
