// rebuild_tree (replay/rebuild.hpp): the Merkle tree from the log's stored hashes.
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

// The stored hashes are produced in index order, which is key order: they are written straight
// into table files and ingested, with no memtable, no WAL and no sort. Only the tree's right
// edge is held in memory. The log's events are not decoded: the leaf data is the stored hash.
Result<std::uint64_t> rebuild_tree(Store& store) {
  if (auto ok = store.recreate(Cf::tree); !ok) return ok.take_error();
  rocksdb::ColumnFamilyHandle* cf = store.cf(Cf::tree);
  const rocksdb::Options options(store.db()->GetDBOptions(), store.db()->GetOptions(cf));
  std::vector<std::string> files;
  std::unique_ptr<rocksdb::SstFileWriter> writer;
  std::uint64_t in_table = 0;
  rocksdb::Status s;
  const auto finish_table = [&] {
    if (writer && s.ok()) s = writer->Finish();
    writer.reset();
    in_table = 0;
  };

  tlog::Appender tree;
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  ro.readahead_size = 4 << 20;
  std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(ro, store.cf(Cf::log)));
  std::uint64_t events = 0;
  std::optional<Error> failed;
  for (it->SeekToFirst(); it->Valid() && s.ok(); it->Next()) {
    const auto seq = keys::parse_seq(it->key().ToStringView());
    if (!seq || seq->value != events + 1) {
      failed = make_error(ErrorCode::internal,
                          "log is not gapless at seq " + std::to_string(events + 1));
      break;
    }
    auto record = split_record(it->value().ToStringView());
    if (!record) {
      failed = make_error(ErrorCode::internal, "event seq " + std::to_string(seq->value) +
                                                   " is truncated: " + record.error().message);
      break;
    }
    auto stored = tree.append(record->hash);
    if (!stored) {
      failed = stored.take_error();
      break;
    }
    if (!writer) {
      files.push_back(store.db()->GetName() + "/tree-rebuild-" + std::to_string(files.size()) +
                      ".sst");
      writer = std::make_unique<rocksdb::SstFileWriter>(rocksdb::EnvOptions(), options, cf);
      s = writer->Open(files.back());
    }
    std::int64_t index = stored->first_index;
    for (const tlog::Hash& h : stored->hashes) {
      if (!s.ok()) break;
      s = writer->Put(keys::tree_hash(index++),
                      rocksdb::Slice(reinterpret_cast<const char*>(h.data()), h.size()));
    }
    in_table += stored->hashes.size();
    ++events;
    if (in_table >= kEntriesPerTable) finish_table();
  }
  if (!failed && s.ok() && !it->status().ok()) s = it->status();
  finish_table();
  if (!failed && s.ok() && !files.empty()) {
    rocksdb::IngestExternalFileOptions ingest;
    ingest.move_files = true;
    s = store.db()->IngestExternalFile(cf, files, ingest);
  }
  std::error_code ec;
  for (const auto& file : files) std::filesystem::remove(file, ec);  // linked if ingested
  if (failed) return *failed;
  if (!s.ok()) return from_rocksdb(s, "rebuild: cannot write the Merkle tree");
  return events;
}

}  // namespace filingd
