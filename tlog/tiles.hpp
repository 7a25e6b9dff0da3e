// C2SP tlog-tiles (https://c2sp.org/tlog-tiles) over the stored-hash layout of merkle.hpp.
//
// A tile at level L, index N, width W is W consecutive Merkle tree hashes at tree level 8L,
// starting at position 256N; each is the root of a complete 256^L-record subtree, which is
// exactly the stored hash (level 8L, position 256N + i). So a tile is read with one HashReader
// call and needs no hashing. A full tile has 256 hashes (8,192 bytes); the rightmost tile of a
// level is partial (1..255 hashes).
//
// Paths, relative to the log prefix (the daemon's is /v1/ledger/):
//   tile/<L>/<N>[.p/<W>]       hash tiles, L in 0..63
//   tile/entries/<N>[.p/<W>]   entry bundles: the leaf data behind the level-0 tile
// N is written in zero-padded three-digit groups, all but the last prefixed "x": 1234067 is
// x001/x234/067. Only the canonical spelling of a tile is accepted (no leading zeros, no
// x000 group, no ".p/256").
//
// Go's tlog package (x/mod/sumdb/tlog) names the same tile Tile{H: 8, L, N, W} with the path
// "tile/8/<L>/<N>[.p/<W>]" (the height in the path). A Go client using tlog.TileHashReader with
// a TileReader whose Height() is 8 gets the C2SP path by replacing the leading "tile/8/" with
// "tile/": the coordinates, the N encoding and the tile bytes are identical. (Go's "tile/8/data/"
// tiles are a different, newline-separated record format; C2SP entry bundles replace them.)
//
// Which partial tiles are served: every tile whose hashes all exist in the tree of the given
// size. A partial tile is a prefix of the full tile it grows into and never changes, so a client
// holding an older checkpoint can still fetch the partial tiles of that size.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "events/result.hpp"
#include "tlog/merkle.hpp"

namespace filingd::tlog {

inline constexpr int kTileHeight = 8;
inline constexpr int kFullTileWidth = 1 << kTileHeight;
inline constexpr int kMaxTileLevel = 63;
// Level of entry bundles ("tile/entries/..."); Go's tlog uses -1 for its data tiles as well.
inline constexpr int kEntriesLevel = -1;

struct Tile {
  int level = 0;  // 0..kMaxTileLevel, or kEntriesLevel
  std::int64_t n = 0;
  int width = kFullTileWidth;  // 1..256; 256 is a full tile
  bool full() const { return width == kFullTileWidth; }
  bool operator==(const Tile&) const = default;
};

// The canonical C2SP path of `tile` (no leading slash). Precondition: the fields are in range
// (as parse_tile_path and tiles_for_size produce them).
std::string tile_path(const Tile& tile);

// Parses a C2SP tile path ("tile/..."; no leading slash, no query) and checks that the tile
// exists in the tree of `tree_size` records. A path that is not the canonical spelling of a tile
// is ErrorCode::malformed; a well-formed tile whose hashes are not (yet) all in the tree is
// ErrorCode::not_found.
Result<Tile> parse_tile_path(std::string_view path, std::int64_t tree_size);

// ok iff every hash of `tile` exists in the tree of `tree_size` records (ErrorCode::not_found if
// not; ErrorCode::invalid for fields out of range).
Status check_tile(const Tile& tile, std::int64_t tree_size);

// The hash tiles a tree of `tree_size` records is published as: for each level from 0, its full
// tiles in order, then its partial tile if any (C2SP: 70,000 records are 273 full and one
// 112-wide level-0 tile, one full and one 17-wide level-1 tile, and one 1-wide level-2 tile).
// Entry bundles mirror the level-0 tiles and are not listed. O(tree_size / 256) tiles.
Result<std::vector<Tile>> tiles_for_size(std::int64_t tree_size);

// The bytes of hash tile `tile` (width x 32 bytes), read through `reader` in one call. Fails
// as check_tile does for a tile outside the tree, and with ErrorCode::invalid for an entry
// bundle (whose leaf data the stored hashes do not hold).
Result<std::string> read_tile(const Tile& tile, std::int64_t tree_size, const HashReader& reader);

// An entry bundle: each record's leaf data as a big-endian uint16 length and the bytes. The
// ledger's leaf data is the event's 32-byte hash, so each entry is 0x00 0x20 || hash.
std::string encode_entry_bundle(std::span<const Hash> leaf_data);

}  // namespace filingd::tlog
