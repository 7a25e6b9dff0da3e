// rebuild_tree and TreeRebuild (replay/rebuild.hpp): the Merkle tree from the log's stored hashes.
#include <rocksdb/iterator.h>

#include <memory>
#include <string>

#include "ledger/format/event_record.hpp"
#include "ledger/format/keys.hpp"
#include "ledger/tree.hpp"
#include "replay/rebuild.hpp"
#include "tlog/merkle.hpp"

namespace filingd {
namespace {

// Leaves per table file: 64 bytes each on average (two hashes), so files of about 500 MB. A
// whole number of blocks.
constexpr std::uint64_t kLeavesPerTable = 8'000'000;
static_assert(kLeavesPerTable % kLeavesPerBlock == 0);

}  // namespace

Status TreeRebuild::add(const Hash& leaf) {
  auto block = tree_.append(leaf);
  if (!block) return block.take_error();
  ++leaves_;
  if (!tree_.block_full()) return {};
  if (!run_) run_.emplace(store_, Cf::tree);
  run_->put(keys::tree_block(*block), tree_.record());
  return leaves_ % kLeavesPerTable == 0 ? ingest() : Status{};
}

Status TreeRebuild::ingest() {
  Status ingested = run_->ingest();
  run_.reset();
  return ingested;
}

Result<std::uint64_t> TreeRebuild::finish() {
  if (!tree_.block_full()) {  // the block being filled
    if (!run_) run_.emplace(store_, Cf::tree);
    run_->put(keys::tree_block(static_cast<std::int64_t>(leaves_) / kLeavesPerBlock),
              tree_.record());
  }
  if (run_) {
    if (auto ok = ingest(); !ok) return ok.take_error();
  }
  return leaves_;
}

// The log's events are not decoded: the leaf data is the stored hash.
Result<std::uint64_t> rebuild_tree(Store& store) {
  if (auto ok = store.recreate(Cf::tree); !ok) return ok.take_error();
  TreeRebuild tree(store);
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  ro.readahead_size = 4 << 20;
  std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(ro, store.cf(Cf::log)));
  std::uint64_t events = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const auto seq = keys::parse_seq(it->key().ToStringView());
    if (!seq || seq->value != events + 1)
      return make_error(ErrorCode::internal,
                        "log is not gapless at seq " + std::to_string(events + 1));
    auto record = split_record(it->value().ToStringView());
    if (!record)
      return make_error(ErrorCode::internal, "event seq " + std::to_string(seq->value) +
                                                 " is truncated: " + record.error().message);
    if (auto ok = tree.add(record->hash); !ok) return ok.take_error();
    ++events;
  }
  if (!it->status().ok()) return from_rocksdb(it->status(), "rebuild: log read failed");
  return tree.finish();
}

}  // namespace filingd
