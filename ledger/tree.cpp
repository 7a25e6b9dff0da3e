#include "ledger/tree.hpp"

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
    std::vector<std::string> keys;
    keys.reserve(indexes.size());
    for (std::int64_t i : indexes) keys.push_back(keys::tree_hash(i));
    std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
    std::vector<rocksdb::PinnableSlice> values(keys.size());
    std::vector<rocksdb::Status> statuses(keys.size());
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot;
    store.db()->MultiGet(ro, cf, keys.size(), slices.data(), values.data(), statuses.data(),
                         /*sorted_input=*/false);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (statuses[i].IsNotFound() || (statuses[i].ok() && values[i].size() != tlog::kHashSize))
        return make_error(ErrorCode::internal,
                          "the Merkle tree is damaged at stored hash " +
                              std::to_string(indexes[i]) +
                              " (rebuild the projections: filingctl rebuild-projections)");
      if (!statuses[i].ok()) return from_rocksdb(statuses[i], "Merkle tree read failed");
      std::memcpy(out[i].data(), values[i].data(), tlog::kHashSize);
    }
    return {};
  };
}

Status stage_leaf(Staging& txn, tlog::Appender& tree, const Hash& event_hash) {
  auto stored = tree.append(event_hash);
  if (!stored) return stored.take_error();
  std::int64_t index = stored->first_index;
  for (const tlog::Hash& h : stored->hashes)
    txn.put(Cf::tree, keys::tree_hash(index++),
            std::string(reinterpret_cast<const char*>(h.data()), h.size()));
  return {};
}

Result<tlog::Appender> resume_tree(const Store& store, Seq size) {
  return tlog::Appender::resume(static_cast<std::int64_t>(size.value), tree_reader(store));
}

}  // namespace filingd
