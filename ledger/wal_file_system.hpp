// The ledger's RocksDB file system: the default one, except that each write-ahead log file is
// filled with zeros ahead of RocksDB's writes.
//
// Why: every acknowledged append waits for an fdatasync of the WAL. Appending to a file changes
// its size (and converts preallocated extents), so on ext4 each of those fdatasyncs also commits
// the journal: about 200-250 µs here. Overwriting blocks that are already written and within the
// file's size leaves no metadata to commit: about 120 µs. PostgreSQL gets the same from its
// zero-filled WAL segments. A background thread per WAL keeps the file written with zeros a few
// megabytes past RocksDB's last write (and fdatasyncs that itself); RocksDB's own writes then
// overwrite zeros. RocksDB trims the file to what it wrote when it closes it, and its log reader
// skips a zero tail as padding (a zero-type record), so recovery after a crash reads the same
// records as from an unpadded file.
#pragma once

#include <memory>

#include <rocksdb/file_system.h>

namespace filingd {

std::shared_ptr<rocksdb::FileSystem> zero_ahead_wal_file_system(
    std::shared_ptr<rocksdb::FileSystem> base);

}  // namespace filingd
