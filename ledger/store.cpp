#include "ledger/store.hpp"

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <vector>

#include "ledger/wal_file_system.hpp"

#include <sys/stat.h>

namespace filingd {

Error from_rocksdb(const rocksdb::Status& s, std::string_view what) {
  return make_error(ErrorCode::io, std::string(what) + ": " + s.ToString());
}

namespace {

constexpr int kScratchRunsPerCompaction = 32;

rocksdb::ColumnFamilyOptions cf_options(Cf cf, const std::shared_ptr<rocksdb::Cache>& cache,
                                        bool partitioned, bool scratch) {
  rocksdb::ColumnFamilyOptions o;
  rocksdb::BlockBasedTableOptions table;
  if (cache) {
    table.block_cache = cache;
    table.cache_index_and_filter_blocks = true;
  }
  if (partitioned) {
    // A cache smaller than the tables' index and filters thrashes when each is one block of
    // megabytes (a 10M-event verify took 1.4x as long); partitions are loaded a few KiB at a time.
    table.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
    table.partition_filters = true;
    table.pin_top_level_index_and_filter = true;
  }
  // Point lookups dominate everywhere but the log, which is read by range.
  if (cf != Cf::log) {
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    // Many of the writer's lookups are for keys not written yet (a new filing's status, a new
    // subject's data key and open filing, a domain's entries): a bloom filter over the memtable
    // answers them without a skiplist search (a fifth of deciding an import). 2 % of the write
    // buffer: some 20 bits a key.
    o.memtable_prefix_bloom_size_ratio = 0.02;
    o.memtable_whole_key_filtering = true;
  }
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // The tree's values are hashes: nothing to compress.
  o.compression = cf == Cf::tree ? rocksdb::kNoCompression : rocksdb::kLZ4Compression;
  if (scratch) {
    // A scratch store is filled with sorted runs that each span the whole key space (a fold's
    // spills): every compaction of level 0 rewrites all of level 1. Merging 32 runs at a time
    // rather than 4 took a 10,000,000-event rebuild's CPU from ~110 to ~82 s and verify's from
    // ~140 to ~91 s; a lookup that the fold's filter of written keys cannot rule out probes
    // more runs, which cost less (docs/PERFORMANCE.md).
    o.level0_file_num_compaction_trigger = kScratchRunsPerCompaction;
    o.level0_slowdown_writes_trigger = 3 * kScratchRunsPerCompaction;
    o.level0_stop_writes_trigger = 4 * kScratchRunsPerCompaction;
  }
  return o;
}

// A fresh directory, 0700, under `parent` (the system temp dir if empty), named `prefix` and a
// random suffix.
Result<std::string> make_temp_dir(const std::string& parent, std::string_view prefix) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path base = parent.empty() ? fs::temp_directory_path(ec) : fs::path(parent);
  if (ec) return make_error(ErrorCode::io, "no temp directory: " + ec.message());
  std::random_device rd;
  for (int attempt = 0; attempt < 8; ++attempt) {
    fs::path dir = base / (std::string(prefix) + std::to_string(rd()) + std::to_string(rd()));
    if (fs::create_directory(dir, ec)) {
      fs::permissions(dir, fs::perms::owner_all, ec);
      return dir.string();
    }
  }
  return make_error(ErrorCode::io, "cannot create a directory under " + base.string() +
                                       (ec ? ": " + ec.message() : std::string()));
}

}  // namespace

Result<std::unique_ptr<Store>> Store::open(const Options& options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  // A writer adds the column families a ledger written by an older version lacks (empty).
  db_options.create_missing_column_families = !options.read_only && !options.secondary;
  db_options.IncreaseParallelism(2);
  std::unique_ptr<Store> store(new Store());
  std::string path = options.path;
  if (options.temporary) {
    auto dir = make_temp_dir(options.path, "filingd-scratch-");
    if (!dir) return dir.take_error();
    path = store->owned_dir_ = std::move(*dir);
  }
  if (options.block_cache_bytes > 0)
    store->block_cache_ = rocksdb::NewLRUCache(options.block_cache_bytes);
  store->partitioned_ = options.partitioned;
  if (options.env != nullptr) {
    db_options.env = options.env;
  } else {
    store->env_ = rocksdb::NewCompositeEnv(
        wal_file_system(rocksdb::FileSystem::Default(), options.secondary));
    db_options.env = store->env_.get();
  }
  // Crash safety: the WAL is the commit point (WriteOptions::sync), replayed to the last
  // consistent record after a crash.
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;

  // A reader (secondary or read-only) cannot create column families: it opens those the ledger
  // has, and a newer one (a ledger written by an older version) reads as empty.
  std::vector<std::string> existing;
  if (options.secondary || options.read_only) {
    rocksdb::DB::ListColumnFamilies(db_options, path, &existing).PermitUncheckedError();
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  std::vector<Cf> opened;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (std::size_t i = 0; i < kCfCount; ++i) {
    const auto cf = static_cast<Cf>(i);
    const std::string name(cf_name(cf));
    if (!existing.empty() && std::find(existing.begin(), existing.end(), name) == existing.end())
      continue;
    descriptors.emplace_back(
        name, cf_options(cf, store->block_cache_, options.partitioned, options.temporary));
    opened.push_back(cf);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (options.secondary) {
    store->secondary_dir_ = options.secondary_path;
    if (store->secondary_dir_.empty()) {
      auto dir = make_temp_dir({}, "filingd-secondary-");
      if (!dir) return dir.take_error();
      store->secondary_dir_ = store->owned_dir_ = std::move(*dir);
    }
    db_options.create_if_missing = false;
    db_options.create_missing_column_families = false;
    // Required by secondaries: keep every table file open, so one the primary deletes after a
    // compaction stays readable for the secondary's frozen view.
    db_options.max_open_files = -1;
    s = rocksdb::DB::OpenAsSecondary(db_options, path, store->secondary_dir_, descriptors, &handles,
                                     &raw);
  } else if (options.read_only) {
    s = rocksdb::DB::OpenForReadOnly(db_options, path, descriptors, &handles, &raw);
  } else {
    s = rocksdb::DB::Open(db_options, path, descriptors, &handles, &raw);
  }
  if (!s.ok()) return from_rocksdb(s, "cannot open ledger at " + path);

  store->db_.reset(raw);
  store->writable_ = !options.secondary && !options.read_only;
  // handles[0] is the default column family, which filingd does not use.
  store->db_->DestroyColumnFamilyHandle(handles[0]);
  for (std::size_t i = 0; i < opened.size(); ++i)
    store->handles_[static_cast<std::size_t>(opened[i])] = handles[i + 1];
  return store;
}

Store::~Store() {
  if (db_) {
    if (writable_) {
      // A clean close leaves nothing in the WAL to replay, so the next start is quick (the
      // WAL only has to be replayed after a crash).
      std::vector<rocksdb::ColumnFamilyHandle*> live;
      for (auto* h : handles_) {
        if (h) live.push_back(h);
      }
      db_->Flush(rocksdb::FlushOptions(), live).PermitUncheckedError();
    }
    for (auto* h : handles_) {
      if (h) db_->DestroyColumnFamilyHandle(h);
    }
    db_->Close().PermitUncheckedError();
    db_.reset();
  }
  if (!owned_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(owned_dir_, ec);
  }
}

Result<std::optional<std::string>> Store::get(Cf which, std::string_view key) const {
  if (cf(which) == nullptr) return std::optional<std::string>{};  // not in this ledger yet
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(which), key, &value);
  if (s.IsNotFound()) return std::optional<std::string>{};
  if (!s.ok()) return from_rocksdb(s, "read failed");
  return std::optional<std::string>(std::move(value));
}

Status Store::recreate(Cf which) {
  const auto i = static_cast<std::size_t>(which);
  rocksdb::Status s = db_->DropColumnFamily(handles_[i]);
  if (!s.ok()) return from_rocksdb(s, "cannot drop column family");
  db_->DestroyColumnFamilyHandle(handles_[i]);
  handles_[i] = nullptr;
  s = db_->CreateColumnFamily(cf_options(which, block_cache_, partitioned_, !owned_dir_.empty()),
                              std::string(cf_name(which)), &handles_[i]);
  // Without the handle this Store is unusable; the caller must discard it (the rebuild marker
  // keeps the ledger from opening half-built projections).
  if (!s.ok()) return from_rocksdb(s, "cannot create column family");
  return {};
}

// ---- Staging ------------------------------------------------------------------------------

std::string Staging::tag(Cf cf, std::string_view key) {
  std::string k;
  k.reserve(key.size() + 1);
  k.push_back(static_cast<char>(cf));
  k.append(key);
  return k;
}

Result<std::optional<std::string>> Staging::get(Cf cf, std::string_view key) const {
  const std::string k = tag(cf, key);
  for (const Staging* s = this; s != nullptr; s = s->parent_) {
    auto it = s->staged_.find(k);
    if (it != s->staged_.end()) return it->second.value;
  }
  return store_.get(cf, key);
}

const Staging::Staged* Staging::find_in_batch(const std::string& tagged) const {
  for (const Staging* s = this; s != nullptr; s = s->savepoint_ ? s->parent_ : nullptr) {
    auto it = s->staged_.find(tagged);
    if (it != s->staged_.end()) return &it->second;
  }
  return nullptr;
}

bool Staging::absent_below_batch(Cf cf, std::string_view key) const {
  const Staging* batch = this;
  while (batch->savepoint_) batch = batch->parent_;
  auto below = batch->parent_ != nullptr ? batch->parent_->get(cf, key) : store_.get(cf, key);
  return below && !below->has_value();  // a read error: keep the tombstone
}

void Staging::put(Cf cf, std::string_view key, std::string value) {
  Staged& s = staged_[tag(cf, key)];
  s.value = std::move(value);
}

void Staging::del(Cf cf, std::string_view key) {
  std::string k = tag(cf, key);
  bool absent = false;
  if (const Staged* s = find_in_batch(k)) {
    absent = s->absent_below;
    if (s->value && !absent) absent = absent_below_batch(cf, key);
  }
  staged_[std::move(k)] = Staged{std::nullopt, absent};
}

void Staging::append(Cf cf, std::string key, std::string value) {
  appended_.push_back({cf, std::move(key), std::move(value)});
}

void Staging::merge_into_parent() {
  // The nodes move over, nothing is allocated or copied; merge() leaves behind the keys the
  // parent holds too, which take this staging's values.
  parent_->staged_.merge(staged_);
  for (auto& [k, v] : staged_) parent_->staged_.find(k)->second = std::move(v);
  staged_.clear();
  parent_->appended_.insert(parent_->appended_.end(), std::make_move_iterator(appended_.begin()),
                            std::make_move_iterator(appended_.end()));
  appended_.clear();
}

std::vector<std::string> Staging::keys_in(Cf cf) const {
  std::vector<std::string> out;
  const std::string from(1, static_cast<char>(cf));
  for (auto it = staged_.lower_bound(from); it != staged_.end() && it->first[0] == from[0]; ++it)
    out.push_back(it->first.substr(1));
  return out;
}

void Staging::write_to(rocksdb::WriteBatch& batch) const {
  // WriteBatch::Put and Delete only fail on size overflow (> 4 GiB).
  for (const auto& [k, v] : staged_) {
    if (!v.value && v.absent_below) continue;  // a put of this batch, cancelled
    auto* h = store_.cf(static_cast<Cf>(k[0]));
    const rocksdb::Slice key(k.data() + 1, k.size() - 1);
    (v.value ? batch.Put(h, key, *v.value) : batch.Delete(h, key)).PermitUncheckedError();
  }
  // In key order too, as the overlay's are: a memtable insert right after the previous one's
  // key is the cheap one. The log's keys mostly arrive in order already.
  std::vector<const Appended*> order;
  order.reserve(appended_.size());
  for (const Appended& a : appended_) order.push_back(&a);
  const auto before = [](const Appended* a, const Appended* b) {
    return a->cf != b->cf ? a->cf < b->cf : a->key < b->key;
  };
  if (!std::is_sorted(order.begin(), order.end(), before))
    std::sort(order.begin(), order.end(), before);
  for (const Appended* a : order)
    batch.Put(store_.cf(a->cf), a->key, a->value).PermitUncheckedError();
}

std::optional<std::string> Staging::ProjectionView::get(std::string_view key) {
  auto r = s_.get(Cf::projections, key);
  if (!r) {
    if (!error_) error_ = r.error();
    return std::nullopt;
  }
  return std::move(*r);
}

void Staging::ProjectionView::put(std::string_view key, std::string value) {
  s_.put(Cf::projections, key, std::move(value));
}

void Staging::ProjectionView::del(std::string_view key) { s_.del(Cf::projections, key); }

Status make_private(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error(ErrorCode::io, "cannot create " + dir + ": " + ec.message());
  auto restrict = [](const fs::path& p, mode_t mode) -> Status {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || S_ISLNK(st.st_mode)) return {};  // gone, or a link
    if ((st.st_mode & 07777) != mode && ::chmod(p.c_str(), mode) != 0)
      return make_error(ErrorCode::io, "cannot restrict the permissions of " + p.string());
    return {};
  };
  if (auto ok = restrict(dir, 0700); !ok) return ok;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const bool is_dir = it->is_directory(ec) && !it->is_symlink(ec);
    if (auto ok = restrict(it->path(), is_dir ? 0700 : 0600); !ok) return ok;
  }
  if (ec) return make_error(ErrorCode::io, "cannot list " + dir + ": " + ec.message());
  return {};
}

}  // namespace filingd
