#include "replay/sorted_runs.hpp"

#include <rocksdb/iterator.h>
#include <rocksdb/sst_file_writer.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <optional>

namespace filingd {
namespace {

// Table files of several passes (and threads) share a directory: unique names.
std::atomic<std::uint64_t> next_run{0};

}  // namespace

RunFile::RunFile(Store& target, Cf cf) : target_(target), cf_(cf) {}

RunFile::~RunFile() {
  if (path_.empty()) return;
  writer_.reset();
  std::error_code ec;
  std::filesystem::remove(path_, ec);  // left only by a failed run
}

bool RunFile::open() {
  if (writer_) return true;
  if (!error_.empty()) return false;
  auto* cf = target_.cf(cf_);
  rocksdb::Options options(target_.db()->GetDBOptions(), target_.db()->GetOptions(cf));
  writer_ = std::make_unique<rocksdb::SstFileWriter>(rocksdb::EnvOptions(), options, cf);
  path_ = target_.db()->GetName() + "/run-" + std::to_string(next_run++) + ".sst";
  const rocksdb::Status s = writer_->Open(path_);
  if (!s.ok()) error_ = s.ToString();
  return s.ok();
}

void RunFile::put(std::string_view key, std::string_view value) {
  if (!open()) return;
  const rocksdb::Status s = writer_->Put(key, value);
  if (!s.ok() && error_.empty()) error_ = s.ToString();
}

void RunFile::del(std::string_view key) {
  if (!open()) return;
  const rocksdb::Status s = writer_->Delete(key);
  if (!s.ok() && error_.empty()) error_ = s.ToString();
}

Status RunFile::ingest() {
  if (!writer_ && error_.empty()) return {};
  rocksdb::Status s = error_.empty() ? writer_->Finish() : rocksdb::Status::IOError(error_);
  writer_.reset();
  if (s.ok()) {
    rocksdb::IngestExternalFileOptions ingest;
    ingest.move_files = true;  // a hard link: the data directory is the same file system
    s = target_.db()->IngestExternalFile(target_.cf(cf_), {path_}, ingest);
  }
  std::error_code ec;
  std::filesystem::remove(path_, ec);  // linked into the database if ingested
  path_.clear();
  if (!s.ok()) return from_rocksdb(s, "cannot write a sorted run");
  return {};
}

SortedRuns::SortedRuns(Store& target, Cf cf, std::size_t max_bytes)
    : target_(target), cf_(cf), max_bytes_(max_bytes) {}

void SortedRuns::put(std::string_view key, std::string_view value) {
  // Sized once: doubling would hold up to twice the share, and copy it at each step. Pages
  // never written cost nothing.
  if (arena_.capacity() < max_bytes_) arena_.reserve(max_bytes_);
  refs_.push_back({arena_.size(), static_cast<std::uint32_t>(key.size()),
                   static_cast<std::uint32_t>(value.size())});
  arena_.append(key).append(value);
  if (arena_.size() + refs_.size() * sizeof(Ref) >= max_bytes_ && status_) status_ = flush();
}

Status SortedRuns::flush() {
  if (!status_) return status_;
  const auto key = [&](const Ref& r) {
    return std::string_view(arena_).substr(r.offset, r.key_size);
  };
  // Of equal keys the one put last (at the larger offset) sorts last, and is the one written.
  sort_on_two_threads(refs_.begin(), refs_.end(), [&](const Ref& a, const Ref& b) {
    const int order = key(a).compare(key(b));
    return order != 0 ? order < 0 : a.offset < b.offset;
  });
  RunFile run(target_, cf_);
  for (std::size_t i = 0; i < refs_.size(); ++i) {
    if (i + 1 < refs_.size() && key(refs_[i]) == key(refs_[i + 1])) continue;
    const Ref& r = refs_[i];
    run.put(key(r), std::string_view(arena_).substr(r.offset + r.key_size, r.value_size));
  }
  arena_.clear();
  refs_.clear();
  return run.ingest();
}

Status copy_column(const Store& from, Store& to, Cf cf, std::size_t file_bytes,
                   const std::function<void(std::string_view, std::string_view)>& each) {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  ro.readahead_size = 4 << 20;
  std::unique_ptr<rocksdb::Iterator> it(from.db()->NewIterator(ro, from.cf(cf)));
  std::optional<RunFile> run;
  std::size_t bytes = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (!run) run.emplace(to, cf);
    const std::string_view key = it->key().ToStringView(), value = it->value().ToStringView();
    run->put(key, value);
    if (each) each(key, value);
    bytes += key.size() + value.size();
    if (bytes >= file_bytes) {
      if (auto ok = run->ingest(); !ok) return ok;
      run.reset();
      bytes = 0;
    }
  }
  if (!it->status().ok()) return from_rocksdb(it->status(), "cannot read a column family to copy");
  return run ? run->ingest() : Status{};
}

}  // namespace filingd
