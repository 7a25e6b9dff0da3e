// Bulk loading a column family without its memtable: entries are written as sorted table files
// (RocksDB's SstFileWriter) and ingested, each file newer than those before it, so a later
// file's entry for a key hides an earlier one's. A skiplist insert per entry would cost a fold
// about as much as the rest of its work. Nothing goes through the WAL: what the passes write
// this way is rebuilt if lost.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "events/result.hpp"
#include "ledger/store.hpp"

namespace rocksdb {
class SstFileWriter;
}

namespace filingd {

// Sorts on two threads: each half with std::sort on its own, then merged. `less` must order
// any two distinct elements (a tie-breaker where keys repeat): the halves are sorted unstably.
// The helper thread allocates nothing, so no memory is left in its allocator's arena when it
// ends. The largest sorts of the passes come after their folds, when the second core is idle.
template <class It, class Less>
void sort_on_two_threads(It first, It last, Less less) {
  if (last - first < 4096) {  // not worth a thread
    std::sort(first, last, less);
    return;
  }
  const It middle = first + (last - first) / 2;
  std::thread other([&] { std::sort(first, middle, less); });
  std::sort(middle, last, less);
  other.join();
  std::inplace_merge(first, middle, last, less);
}

// One table file, ingested by ingest(). Keys strictly increasing. The first failure sticks.
class RunFile {
 public:
  RunFile(Store& target, Cf cf);
  ~RunFile();
  RunFile(const RunFile&) = delete;
  RunFile& operator=(const RunFile&) = delete;

  void put(std::string_view key, std::string_view value);
  void del(std::string_view key);
  // Ingests the file into the column family (none if nothing was written) and removes it.
  Status ingest();

 private:
  bool open();
  Store& target_;
  Cf cf_;
  std::string path_;
  std::unique_ptr<rocksdb::SstFileWriter> writer_;  // once something is written
  std::string error_;
};

// Entries in any order, buffered up to about `max_bytes` and each buffer written, sorted, as a
// RunFile. Of equal keys the last put wins.
class SortedRuns {
 public:
  SortedRuns(Store& target, Cf cf, std::size_t max_bytes);

  void put(std::string_view key, std::string_view value);
  // Writes and ingests what is buffered. Errors: io.
  Status flush();

 private:
  struct Ref {
    std::uint64_t offset;
    std::uint32_t key_size, value_size;
  };
  Store& target_;
  Cf cf_;
  std::size_t max_bytes_;
  std::string arena_;  // key then value of each entry
  std::vector<Ref> refs_;
  Status status_;  // the first failed flush
};

// Writes every entry of column family `cf` of `from` into the same, empty, column family of `to`
// as table files of about `file_bytes`, which do not overlap: ingested into the bottom level,
// they need no compaction, and are written in `to`'s table format. `each`, if given, sees every
// entry copied, in key order. Errors: io.
Status copy_column(
    const Store& from, Store& to, Cf cf, std::size_t file_bytes,
    const std::function<void(std::string_view key, std::string_view value)>& each = nullptr);

}  // namespace filingd
