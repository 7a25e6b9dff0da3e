#include "tlog/tiles.hpp"

#include <charconv>

namespace filingd::tlog {
namespace {

// Paths come from the network: quoted in errors, but not at any length.
std::string quote(std::string_view path) {
  return "\"" + std::string(path.substr(0, 120)) + (path.size() > 120 ? "...\"" : "\"");
}

Error malformed_path(std::string_view path) {
  return make_error(ErrorCode::malformed, "malformed tile path " + quote(path));
}

// The number of hashes at tree level 8L in a tree of `tree_size` records.
std::int64_t level_size(int level, std::int64_t tree_size) {
  const int shift = kTileHeight * level;
  return shift > 62 ? 0 : tree_size >> shift;
}

// A decimal with no sign and no leading zeros, at most `max`.
bool parse_decimal(std::string_view s, std::int64_t max, std::int64_t& out) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && end == s.data() + s.size() && out <= max;
}

// Exactly three digits.
bool parse_group(std::string_view s, std::int64_t& out) {
  if (s.size() != 3) return false;
  out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  return true;
}

}  // namespace

std::string tile_path(const Tile& tile) {
  std::string n;
  std::int64_t v = tile.n;
  // Groups are built right to left; each is three zero-padded digits.
  do {
    char group[4] = {static_cast<char>('0' + v / 100 % 10), static_cast<char>('0' + v / 10 % 10),
                     static_cast<char>('0' + v % 10), 0};
    n = (n.empty() ? std::string(group) : "x" + std::string(group) + "/" + n);
    v /= 1000;
  } while (v > 0);
  std::string path = "tile/";
  path += tile.level == kEntriesLevel ? std::string("entries") : std::to_string(tile.level);
  path += "/" + n;
  if (!tile.full()) path += ".p/" + std::to_string(tile.width);
  return path;
}

Result<Tile> parse_tile_path(std::string_view path, std::int64_t tree_size) {
  std::vector<std::string_view> f;
  for (std::size_t start = 0;;) {
    const std::size_t slash = path.find('/', start);
    f.push_back(path.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (f.size() < 3 || f[0] != "tile") return malformed_path(path);

  Tile tile;
  if (f[1] == "entries") {
    tile.level = kEntriesLevel;
  } else if (std::int64_t l = 0; parse_decimal(f[1], kMaxTileLevel, l)) {
    tile.level = static_cast<int>(l);
  } else {
    return malformed_path(path);
  }

  // ".../<last group>.p/<W>" for a partial tile.
  if (f.size() >= 4 && f[f.size() - 2].ends_with(".p")) {
    std::int64_t w = 0;
    if (!parse_decimal(f.back(), kFullTileWidth - 1, w) || w == 0) return malformed_path(path);
    tile.width = static_cast<int>(w);
    f.pop_back();
    f.back().remove_suffix(2);
  }

  // The only other non-canonical spelling is a leading zero group ("x000/001").
  if (f.size() > 3 && f[2] == "x000") return malformed_path(path);
  std::int64_t n = 0;
  bool too_large = false;
  for (std::size_t i = 2; i < f.size(); ++i) {
    std::string_view s = f[i];
    const bool last = i + 1 == f.size();
    if (!last) {
      if (!s.starts_with('x')) return malformed_path(path);
      s.remove_prefix(1);
    }
    std::int64_t group = 0;
    if (!parse_group(s, group)) return malformed_path(path);
    if (n > kMaxTreeSize / 1000) too_large = true;  // keep validating the spelling
    if (!too_large) n = n * 1000 + group;
  }
  tile.n = n;
  if (!too_large && tile_path(tile) != path) return malformed_path(path);  // belt and braces
  if (too_large)
    return make_error(ErrorCode::not_found, "tile " + quote(path) + " is beyond the tree");
  if (auto st = check_tile(tile, tree_size); !st) return st.take_error();
  return tile;
}

Status check_tile(const Tile& tile, std::int64_t tree_size) {
  if (tile.level < kEntriesLevel || tile.level > kMaxTileLevel || tile.n < 0 || tile.width < 1 ||
      tile.width > kFullTileWidth || tree_size < 0 || tree_size > kMaxTreeSize)
    return make_error(ErrorCode::invalid, "tile out of range");
  const std::int64_t hashes = level_size(tile.level < 0 ? 0 : tile.level, tree_size);
  // Compare without forming 256N, which may overflow for an absurd N.
  if (tile.n > hashes / kFullTileWidth || tile.n * kFullTileWidth + tile.width > hashes)
    return make_error(
        ErrorCode::not_found,
        "tile " + tile_path(tile) + " is beyond the tree of size " + std::to_string(tree_size));
  return {};
}

Result<std::vector<Tile>> tiles_for_size(std::int64_t tree_size) {
  if (tree_size < 0 || tree_size > kMaxTreeSize)
    return make_error(ErrorCode::invalid,
                      "tree size " + std::to_string(tree_size) + " out of range");
  std::vector<Tile> tiles;
  for (int level = 0; level <= kMaxTileLevel; ++level) {
    const std::int64_t hashes = level_size(level, tree_size);
    if (hashes == 0) break;
    const std::int64_t full = hashes / kFullTileWidth;
    for (std::int64_t n = 0; n < full; ++n) tiles.push_back(Tile{level, n, kFullTileWidth});
    if (const auto rest = static_cast<int>(hashes % kFullTileWidth); rest > 0)
      tiles.push_back(Tile{level, full, rest});
  }
  return tiles;
}

Result<std::string> read_tile(const Tile& tile, std::int64_t tree_size, const HashReader& reader) {
  if (tile.level == kEntriesLevel)
    return make_error(ErrorCode::invalid, "tile " + tile_path(tile) + " is an entry bundle");
  if (auto st = check_tile(tile, tree_size); !st) return st.take_error();
  std::vector<std::int64_t> indexes(tile.width);
  for (int i = 0; i < tile.width; ++i) {
    auto index = stored_hash_index(kTileHeight * tile.level, tile.n * kFullTileWidth + i);
    if (!index) return index.take_error();  // unreachable after check_tile
    indexes[i] = *index;
  }
  std::vector<Hash> hashes(indexes.size());
  if (!reader) return make_error(ErrorCode::internal, "tlog: no hash reader");
  if (auto st = reader(indexes, hashes); !st) return st.take_error();
  std::string bytes;
  bytes.reserve(hashes.size() * kHashSize);
  for (const Hash& h : hashes) bytes.append(reinterpret_cast<const char*>(h.data()), h.size());
  return bytes;
}

std::string encode_entry_bundle(std::span<const Hash> leaf_data) {
  std::string bytes;
  bytes.reserve(leaf_data.size() * (2 + kHashSize));
  for (const Hash& h : leaf_data) {
    bytes += static_cast<char>(0);
    bytes += static_cast<char>(kHashSize);
    bytes.append(reinterpret_cast<const char*>(h.data()), h.size());
  }
  return bytes;
}

}  // namespace filingd::tlog
