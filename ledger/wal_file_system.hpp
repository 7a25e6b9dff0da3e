// The ledger's RocksDB file system: the default one, except that each write-ahead log file is
// filled with zeros ahead of RocksDB's writes, and read only up to where its records end.
//
// Why: every acknowledged append waits for an fdatasync of the WAL. Appending to a file changes
// its size (and converts preallocated extents), so on ext4 each of those fdatasyncs also commits
// the journal: about 200-250 µs here. Overwriting blocks that are already written and within the
// file's size leaves no metadata to commit: about 120 µs. PostgreSQL gets the same from its
// zero-filled WAL segments. A background thread per WAL keeps the file written with zeros a few
// megabytes past RocksDB's last write (and fdatasyncs that itself); RocksDB's own writes then
// overwrite zeros. RocksDB trims the file to what it wrote when it closes it.
//
// A WAL that was live when the process died, or that a secondary instance reads while the
// writer goes on, still has zeros after its last record. RocksDB's reader skips zeros a block
// at a time and takes up what follows, which could be a later record than the one it missed.
// So WAL files are read through a filter that ends them at the first zero header and, for a
// `live_reader` (a secondary), also at the first torn or unfinished record (CRC-32C checked):
// recovery and secondaries only ever see a prefix of the log.
#pragma once

#include <memory>

#include <rocksdb/file_system.h>

namespace filingd {

std::shared_ptr<rocksdb::FileSystem> wal_file_system(std::shared_ptr<rocksdb::FileSystem> base,
                                                     bool live_reader);

}  // namespace filingd
