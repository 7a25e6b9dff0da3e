// RocksDB underneath the ledger: the database with its column families, and Staging, the
// read-your-writes overlay in which the writer builds one group-commit batch.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "events/result.hpp"
#include "ledger/format/column_families.hpp"
#include "ledger/projection_txn.hpp"

namespace filingd {

Error from_rocksdb(const rocksdb::Status& s, std::string_view what);

// Makes `dir` (created if missing) readable by its owner only (SPEC §5.2): the directory and
// those below it 0700, every file 0600, whatever an older version or a umask left. Symbolic
// links are not followed. Errors: io, naming the path.
Status make_private(const std::string& dir);

// Owns the DB and its column-family handles. Thread-safe for reads and writes (RocksDB is).
class Store {
 public:
  struct Options {
    std::string path;
    bool read_only = false;
    bool create_if_missing = true;
    // Opens a RocksDB *secondary* instance (implies read-only, never creates): it takes no lock
    // and writes nothing under `path`, so it can follow a ledger a running daemon has open
    // (filingctl's read-only commands). It sees the primary's state as of open() and nothing
    // newer: that frozen view is one consistent point of the log. To see newer appends, open
    // another. (RocksDB's TryCatchUpWithPrimary is not offered: the live WAL is read up to its
    // last intact record once, wal_file_system.hpp, so it would never see later appends to it;
    // and RocksDB 7.8 crashes in it after an offline rebuild.)
    bool secondary = false;
    // Where the secondary keeps its own files (info log). Empty: a fresh private directory
    // under the system temp dir, removed when the Store is destroyed.
    std::string secondary_path;
    // A scratch store (read-write): `path` is where to make it (empty: the system temp dir), in
    // a fresh private directory that the destructor removes with everything in it. Its level 0
    // is compacted 32 files at a time (a fold's sorted runs, store.cpp).
    bool temporary = false;
    // Nonzero: one block cache of this many bytes for every column family, holding their index
    // and filter blocks too, so that what the Store holds does not grow with the ledger (the
    // tools' passes over a whole ledger). Zero: RocksDB's defaults, which keep every table's
    // index and filter in memory apart (about 12 bytes an entry).
    std::size_t block_cache_bytes = 0;
    // Tables written with partitioned index and filter blocks, which a block cache smaller than
    // all of them loads a few KiB at a time. Only for a store the daemon never opens (a scratch
    // store): the daemon keeps index and filters out of its block cache, and would read the
    // partitions through it over and over.
    bool partitioned = false;
    // The RocksDB environment; null: the default, with WAL files zero-filled ahead of the writer
    // and read up to where their records end (wal_file_system.hpp). Tests pass one that
    // injects I/O faults.
    rocksdb::Env* env = nullptr;
  };
  static Result<std::unique_ptr<Store>> open(const Options& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  rocksdb::DB* db() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* cf(Cf which) const {
    return handles_[static_cast<std::size_t>(which)];
  }

  // nullopt when absent; an Error on I/O failure.
  Result<std::optional<std::string>> get(Cf which, std::string_view key) const;

  // Drops and re-creates a column family (used by rebuild on `projections`).
  Status recreate(Cf which);

  bool secondary() const { return !secondary_dir_.empty(); }

 private:
  Store() = default;
  std::unique_ptr<rocksdb::Env> env_;  // the default one with zero-ahead WALs; outlives db_
  std::shared_ptr<rocksdb::Cache> block_cache_;  // Options::block_cache_bytes
  bool partitioned_ = false;                     // Options::partitioned
  std::unique_ptr<rocksdb::DB> db_;
  bool writable_ = false;  // opened read-write (not read-only, not secondary)
  std::array<rocksdb::ColumnFamilyHandle*, kCfCount> handles_{};
  std::string secondary_dir_;  // set for secondary instances
  std::string owned_dir_;      // a directory open() made, removed by the destructor
};

// Staged writes over a Store. Reads see staged writes first, then the parent Staging (if any),
// then the database; nothing reaches the database until the owner writes the batch built by
// write_to(). A child Staging is a savepoint: merge_into_parent() keeps its writes, dropping
// it discards them. Not thread-safe: owned by one writer.
class Staging {
 public:
  // A savepoint is part of its parent's batch; any other child is a later batch, whose parent is
  // written to the database before it.
  enum class Over { later_batch, savepoint };
  explicit Staging(const Store& store) : store_(store) {}
  Staging(Staging& parent, Over over)
      : store_(parent.store_), parent_(&parent), savepoint_(over == Over::savepoint) {}

  // Read errors are returned as an Error; callers on the write path treat them as fatal for
  // the command.
  Result<std::optional<std::string>> get(Cf cf, std::string_view key) const;
  void put(Cf cf, std::string_view key, std::string value);
  // A delete of a key this batch put, which nothing below the batch holds, cancels the put:
  // nothing reaches RocksDB. Otherwise the batch carries a tombstone. (An import replaces a
  // filing's index entries event after event in one batch: a tombstone for each intermediate
  // entry would cost a memtable insert now and a step over it in every index scan until a
  // compaction drops it.)
  void del(Cf cf, std::string_view key);
  // A write nothing reads back while the batch is open (the log record, the stream entry), of a
  // key no other write of the batch touches: kept beside the overlay, not in it, so it costs no
  // node of the ordered map, no lookup and no move at each savepoint's merge. get() does not
  // see it.
  void append(Cf cf, std::string key, std::string value);

  void merge_into_parent();
  // Stops reading through the parent (once the parent's writes are in the database).
  void detach() { parent_ = nullptr; }
  void write_to(rocksdb::WriteBatch& batch) const;
  bool empty() const { return staged_.empty() && appended_.empty(); }
  // The keys of column family `cf` this staging (not its parent) puts or deletes, in order.
  std::vector<std::string> keys_in(Cf cf) const;
  void clear() {
    staged_.clear();
    appended_.clear();
  }

  // Adapts the projections column family of this staging to the projector's interface. A read
  // error is remembered and reported by error(); reads then look like "absent".
  class ProjectionView final : public ProjectionTxn {
   public:
    explicit ProjectionView(Staging& s) : s_(s) {}
    std::optional<std::string> get(std::string_view key) override;
    void put(std::string_view key, std::string value) override;
    void del(std::string_view key) override;
    const std::optional<Error>& error() const { return error_; }

   private:
    Staging& s_;
    std::optional<Error> error_;
  };

 private:
  struct Staged {
    std::optional<std::string> value;  // nullopt: a delete
    bool absent_below = false;         // nothing below this batch holds the key
  };
  static std::string tag(Cf cf, std::string_view key);
  const Staged* find_in_batch(const std::string& tagged) const;
  bool absent_below_batch(Cf cf, std::string_view key) const;
  const Store& store_;
  Staging* parent_ = nullptr;
  bool savepoint_ = false;
  // cf byte + key -> its staged write. Ordered: the batch then reaches RocksDB in key order,
  // which makes its memtable inserts markedly cheaper than in hash order.
  std::map<std::string, Staged, std::less<>> staged_;
  struct Appended {
    Cf cf;
    std::string key;
    std::string value;
  };
  std::vector<Appended> appended_;  // in arrival order; write_to() sorts them
};

}  // namespace filingd
