// rebuild_tree and TreeRebuild (replay/rebuild.hpp): the Merkle tree from the log's stored hashes.
#include <rocksdb/iterator.h>
#include <rocksdb/sst_file_writer.h>

#include <filesystem>
#include <string>
#include <vector>

#include "ledger/format/event_record.hpp"
#include "ledger/format/keys.hpp"
#include "replay/rebuild.hpp"
#include "tlog/merkle.hpp"

namespace filingd {
namespace {

// Stored hashes per table file: 40 bytes each, so files of about 640 MB at most.
constexpr std::uint64_t kEntriesPerTable = 16'000'000;

}  // namespace

TreeRebuild::TreeRebuild(Store& store) : store_(store) {}

TreeRebuild::~TreeRebuild() {
  writer_.reset();
  std::error_code ec;
  for (const auto& file : files_) std::filesystem::remove(file, ec);  // linked if ingested
}

Status TreeRebuild::add(const Hash& leaf) {
  auto stored = tree_.append(leaf);
  if (!stored) return stored.take_error();
  rocksdb::Status s;
  if (!writer_) {
    rocksdb::ColumnFamilyHandle* cf = store_.cf(Cf::tree);
    const rocksdb::Options options(store_.db()->GetDBOptions(), store_.db()->GetOptions(cf));
    files_.push_back(store_.db()->GetName() + "/tree-rebuild-" + std::to_string(files_.size()) +
                     ".sst");
    writer_ = std::make_unique<rocksdb::SstFileWriter>(rocksdb::EnvOptions(), options, cf);
    s = writer_->Open(files_.back());
  }
  std::int64_t index = stored->first_index;
  for (const tlog::Hash& h : stored->hashes) {
    if (!s.ok()) break;
    s = writer_->Put(keys::tree_hash(index++),
                     rocksdb::Slice(reinterpret_cast<const char*>(h.data()), h.size()));
  }
  if (!s.ok()) return from_rocksdb(s, "rebuild: cannot write the Merkle tree");
  ++leaves_;
  in_table_ += stored->hashes.size();
  return in_table_ >= kEntriesPerTable ? finish_table() : Status{};
}

Status TreeRebuild::finish_table() {
  const rocksdb::Status s = writer_ ? writer_->Finish() : rocksdb::Status::OK();
  writer_.reset();
  in_table_ = 0;
  if (!s.ok()) return from_rocksdb(s, "rebuild: cannot write the Merkle tree");
  return {};
}

Result<std::uint64_t> TreeRebuild::finish() {
  if (auto ok = finish_table(); !ok) return ok.take_error();
  if (!files_.empty()) {
    rocksdb::IngestExternalFileOptions ingest;
    ingest.move_files = true;
    const rocksdb::Status s = store_.db()->IngestExternalFile(store_.cf(Cf::tree), files_, ingest);
    if (!s.ok()) return from_rocksdb(s, "rebuild: cannot write the Merkle tree");
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
