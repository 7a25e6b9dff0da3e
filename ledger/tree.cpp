#include "ledger/tree.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>
#include <vector>

#include "ledger/format/keys.hpp"

namespace filingd {

Result<std::int64_t> leaf_storing(std::int64_t index) {
  auto where = tlog::split_stored_hash_index(index);
  if (!where) return where.take_error();
  return ((where->n + 1) << where->level) - 1;
}

namespace {

// Where stored hash `index` is kept: its block, and its place in the block's record (in hashes).
struct BlockSlot {
  std::int64_t block = 0;
  std::int64_t offset = 0;
};

Result<BlockSlot> block_slot(std::int64_t index) {
  auto leaf = leaf_storing(index);
  if (!leaf) return leaf.take_error();
  const std::int64_t block = *leaf / kLeavesPerBlock;
  auto first = tlog::stored_hash_index(0, block * kLeavesPerBlock);
  if (!first) return first.take_error();
  return BlockSlot{block, index - *first};
}

// The hashes one append stored, as they are kept in a block's record: concatenated.
std::string_view tree_record(const tlog::Appender::Stored& stored) {
  const auto bytes = std::as_bytes(stored.hashes);
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace

tlog::HashReader tree_reader(const Store& store, const rocksdb::Snapshot* snapshot) {
  return [&store, snapshot](std::span<const std::int64_t> indexes,
                            std::span<tlog::Hash> out) -> Status {
    rocksdb::ColumnFamilyHandle* cf = store.cf(Cf::tree);
    if (cf == nullptr) return make_error(ErrorCode::internal, "the ledger has no Merkle tree");
    // Neighbouring hashes share a block: each block is read once.
    std::vector<BlockSlot> slots;
    std::vector<std::int64_t> blocks;
    slots.reserve(indexes.size());
    for (std::int64_t i : indexes) {
      auto slot = block_slot(i);
      if (!slot) return slot.take_error();
      slots.push_back(*slot);
      blocks.push_back(slot->block);
    }
    std::sort(blocks.begin(), blocks.end());
    blocks.erase(std::unique(blocks.begin(), blocks.end()), blocks.end());
    std::vector<std::string> keys;
    keys.reserve(blocks.size());
    for (std::int64_t b : blocks) keys.push_back(keys::tree_block(b));
    std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
    std::vector<rocksdb::PinnableSlice> values(keys.size());
    std::vector<rocksdb::Status> statuses(keys.size());
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot;
    store.db()->MultiGet(ro, cf, keys.size(), slices.data(), values.data(), statuses.data(),
                         /*sorted_input=*/true);
    for (std::size_t i = 0; i < indexes.size(); ++i) {
      const std::size_t k = static_cast<std::size_t>(
          std::lower_bound(blocks.begin(), blocks.end(), slots[i].block) - blocks.begin());
      const std::size_t at = static_cast<std::size_t>(slots[i].offset) * tlog::kHashSize;
      if (statuses[k].IsNotFound() ||
          (statuses[k].ok() &&
           (values[k].size() % tlog::kHashSize != 0 || values[k].size() < at + tlog::kHashSize)))
        return make_error(ErrorCode::internal,
                          "the Merkle tree is damaged at stored hash " +
                              std::to_string(indexes[i]) +
                              " (rebuild the projections: filingctl rebuild-projections)");
      if (!statuses[k].ok()) return from_rocksdb(statuses[k], "Merkle tree read failed");
      std::memcpy(out[i].data(), values[k].data() + at, tlog::kHashSize);
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

Result<TreeBlocks> TreeBlocks::resume(const Store& store, Seq size) {
  const auto leaves = static_cast<std::int64_t>(size.value);
  auto tree = tlog::Appender::resume(leaves, tree_reader(store));
  if (!tree) return tree.take_error();
  TreeBlocks t;
  t.tree_ = std::move(*tree);
  const std::int64_t filled = leaves % kLeavesPerBlock;
  if (filled == 0) return t;
  // The block being filled: its record holds exactly the hashes of its leaves so far.
  const std::int64_t first_leaf = leaves - filled;
  auto first = tlog::stored_hash_index(0, first_leaf);
  auto end = tlog::stored_hash_index(0, leaves);
  if (!first || !end) return make_error(ErrorCode::internal, "tree size out of range");
  auto record = store.get(Cf::tree, keys::tree_block(first_leaf / kLeavesPerBlock));
  if (!record) return record.take_error();
  const auto want = static_cast<std::size_t>(*end - *first) * tlog::kHashSize;
  if (!*record || (*record)->size() != want)
    return make_error(ErrorCode::internal,
                      "the Merkle tree is damaged at stored hash " + std::to_string(*first) +
                          " (rebuild the projections: filingctl rebuild-projections)");
  t.record_ = std::move(**record);
  return t;
}

Result<std::int64_t> TreeBlocks::append(const Hash& event_hash) {
  const std::int64_t leaf = tree_.size();
  auto stored = tree_.append(event_hash);
  if (!stored) return stored.take_error();
  if (leaf % kLeavesPerBlock == 0) record_.clear();
  record_.append(tree_record(*stored));
  return leaf / kLeavesPerBlock;
}

Status stage_leaf(Staging& txn, TreeBlocks& tree, const Hash& event_hash) {
  auto block = tree.append(event_hash);
  if (!block) return block.take_error();
  txn.put(Cf::tree, keys::tree_block(*block), std::string(tree.record()));
  return {};
}

}  // namespace filingd
