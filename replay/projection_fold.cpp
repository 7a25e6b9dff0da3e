#include "replay/projection_fold.hpp"

#include <linux/magic.h>
#include <rocksdb/iterator.h>
#include <sys/vfs.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "ledger/format/keys.hpp"
#include "ledger/format/projection_values.hpp"
#include "ledger/projector.hpp"
#include "replay/sorted_runs.hpp"

namespace filingd {
namespace {

// What an entry of the overlay costs beyond its key and value bytes (its item, its slot at the
// table's load, the value's heap block), and what a decoded status costs (its strings and
// websites, the sealed personal data): estimates that err high.
constexpr std::size_t kEntryOverhead = 128;
constexpr std::size_t kCachedStatusBytes = 4096;

// A key's hash: its high bits pick the block, a multiple of it the six bits (nine bits each: a
// word of the block, a bit of the word).
std::uint64_t key_hash(std::string_view key) { return std::hash<std::string_view>{}(key); }
std::size_t block_of(std::uint64_t hash, std::size_t blocks) {
  return static_cast<std::size_t>((static_cast<unsigned __int128>(hash) * blocks) >> 64);
}
constexpr std::uint64_t kBitsMul = 0x9E3779B97F4A7C15ull;

// The memory file system `dir` (empty: the system temp dir) is on, if it is on one.
std::optional<std::string_view> memory_file_system(const std::string& dir) {
  std::error_code ec;
  const std::string where = dir.empty() ? std::filesystem::temp_directory_path(ec).string() : dir;
  struct statfs fs {};
  if (ec || ::statfs(where.c_str(), &fs) != 0) return std::nullopt;  // Store::open names it
  if (fs.f_type == TMPFS_MAGIC) return "tmpfs";
  if (fs.f_type == RAMFS_MAGIC) return "ramfs";
  return std::nullopt;
}

}  // namespace

Result<std::unique_ptr<Store>> open_scratch(const std::string& dir, std::size_t cache_bytes) {
  // Where /tmp is a tmpfs (Debian 13's default, among others), whatever the pass spills stays
  // in memory, and a 10,000,000-event verify would hold gigabytes there.
  if (auto fs = memory_file_system(dir))
    spdlog::warn(
        "the scratch directory {} is in memory ({}): what this pass spills beyond its memory "
        "budget stays in RAM; give a directory on disk (--scratch-dir, or TMPDIR)",
        dir.empty() ? "(the system temp dir)" : dir, *fs);
  return Store::open(
      {.path = dir, .temporary = true, .block_cache_bytes = cache_bytes, .partitioned = true});
}

SpilledKeys::SpilledKeys(std::size_t bytes)
    : blocks_(std::max<std::size_t>(bytes / sizeof(Block), 1)) {}

void SpilledKeys::add(std::string_view key) {
  const std::uint64_t h = key_hash(key);
  Block& block = blocks_[block_of(h, blocks_.size())];
  std::uint64_t bits = h * kBitsMul;
  for (int i = 0; i < 6; ++i, bits >>= 9) block[(bits >> 6) & 7] |= std::uint64_t{1} << (bits & 63);
}

bool SpilledKeys::may_contain(std::string_view key) const {
  const std::uint64_t h = key_hash(key);
  const Block& block = blocks_[block_of(h, blocks_.size())];
  std::uint64_t bits = h * kBitsMul;
  for (int i = 0; i < 6; ++i, bits >>= 9)
    if ((block[(bits >> 6) & 7] & (std::uint64_t{1} << (bits & 63))) == 0) return false;
  return true;
}

std::optional<std::string> ProjectionFold::Overlay::get(std::string_view key) {
  if (const std::string* value = puts_.find(key)) return *value;
  if (!spilled_ || !spilled_->may_contain(key) || dels_.find(key) != nullptr) return std::nullopt;
  std::string value;
  const rocksdb::Status s =
      target_.db()->Get(rocksdb::ReadOptions(), target_.cf(Cf::projections), key, &value);
  if (s.ok()) return value;
  if (!s.IsNotFound() && !error_) error_ = from_rocksdb(s, "projection fold read failed");
  return std::nullopt;
}

void ProjectionFold::Overlay::put(std::string_view key, std::string value) {
  // Counted again when overwritten: an estimate that errs high, reset by each spill.
  bytes_ += key.size() + value.size() + kEntryOverhead;
  puts_.put(key, std::move(value));
  if (spilled_ != nullptr) dels_.del(key);
}

void ProjectionFold::Overlay::del(std::string_view key) {
  puts_.del(key);
  // Before the first spill the column family holds nothing a deletion must hide.
  if (spilled_ == nullptr) return;
  bytes_ += key.size() + kEntryOverhead;
  dels_.put(key, {});
}

Status ProjectionFold::Overlay::spill() {
  // One sorted run: the puts and deletions merged in key order (a key is in one or the other).
  RunFile run(target_, Cf::projections);
  const auto puts = puts_.sorted();
  const auto dels = dels_.sorted();
  if (spilled_ == nullptr) spilled_ = std::make_unique<SpilledKeys>(filter_bytes_);
  for (const auto& entry : puts) spilled_->add(entry.first);
  for (std::size_t p = 0, d = 0; p < puts.size() || d < dels.size();) {
    if (d == dels.size() || (p < puts.size() && puts[p].first < dels[d].first)) {
      run.put(puts[p].first, puts[p].second);
      ++p;
    } else {
      run.del(dels[d++].first);
    }
  }
  puts_.clear();
  dels_.clear();
  bytes_ = 0;
  return run.ingest();
}

ProjectionFold::ProjectionFold(Store& target, std::size_t memory_budget)
    : target_(target),
      // Half for the overlay, a quarter for decoded statuses, an eighth for the filter of the
      // keys spilled; the rest is the headroom the estimates may have missed.
      overlay_(target, memory_budget / 8),
      max_overlay_bytes_(std::max<std::size_t>(memory_budget / 2, 1)),
      max_cached_(std::max<std::size_t>(memory_budget / 4 / kCachedStatusBytes, 1)) {}

Result<FilingState> ProjectionFold::fold(const Event& e) {
  // A subject's erasure changes no filing (project_in_place).
  if (std::holds_alternative<SubjectErased>(e.data)) {
    FilingStatus none;
    if (auto ok = project_in_place(overlay_, none, e, Derived::leave_out); !ok)
      return ok.take_error();
    return FilingState::none;
  }
  auto at = cached_.find(e.filing_id);
  if (at == cached_.end() && e.version.value == 1) {
    // A filing's first event: no status to look for (a lookup that misses every sorted run).
    at = cached_.emplace(e.filing_id, FilingStatus{}).first;
  } else if (at == cached_.end()) {
    auto loaded = load_status(overlay_, e.filing_id);
    if (!loaded)
      return make_error(ErrorCode::internal, "the rebuilt status of " + e.filing_id +
                                                 " does not decode: " + loaded.error().message);
    at = cached_.emplace(e.filing_id, std::move(*loaded)).first;
  }
  FilingStatus& status = at->second;
  if (auto ok = project_in_place(overlay_, status, e, Derived::leave_out); !ok)
    return ok.take_error();
  if (overlay_.error()) return *overlay_.error();
  const FilingState state = status.state;
  // A closed filing rarely sees another event: its status is encoded now, once.
  if (!is_open(state)) {
    if (status.exists()) overlay_.put(keys::status(status.filing_id), encode_status(status));
    cached_.erase(at);
  }
  if (cached_.size() > max_cached_) write_cached();
  if (overlay_.bytes() > max_overlay_bytes_) {
    if (auto ok = overlay_.spill(); !ok) return ok.take_error();
  }
  return state;
}

void ProjectionFold::write_cached() {
  for (const auto& [id, status] : cached_)
    if (status.exists()) overlay_.put(keys::status(id), encode_status(status));
  cached_.clear();
}

Status ProjectionFold::finish() {
  write_cached();
  if (auto ok = overlay_.spill(); !ok) return ok;
  overlay_.release();  // derive() fills a buffer of the same share
  return derive();
}

// The derived entries of every status in the column family (the status prefix holds nothing
// else), written after them.
Status ProjectionFold::derive() {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  ro.readahead_size = 4 << 20;
  std::string end(keys::kStatusPrefix);
  ++end.back();
  const rocksdb::Slice upper(end);
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(target_.db()->NewIterator(ro, target_.cf(Cf::projections)));
  DerivedEntries derived;
  SortedRuns writer(target_, Cf::projections, max_overlay_bytes_);
  std::vector<std::string> keys;
  for (it->Seek(keys::kStatusPrefix); it->Valid(); it->Next()) {
    auto status = decode_status(it->value().ToStringView());
    if (!status)
      return make_error(ErrorCode::internal,
                        "a rebuilt status does not decode: " + status.error().message);
    keys.clear();
    derived.add(*status, keys);
    for (const auto& k : keys) writer.put(k, {});
  }
  if (!it->status().ok()) return from_rocksdb(it->status(), "projection fold read failed");
  for (const auto& [key, value] : derived.counters()) writer.put(key, value);
  return writer.flush();
}

}  // namespace filingd
