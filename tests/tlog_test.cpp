// tlog: the Merkle tree, tiles and signed notes of SPEC §8, against published known answers.
//
// Known-answer sources:
//   [TD-CONST]  github.com/transparency-dev/merkle testonly/constants.go (commit 77f1b57d):
//               the RFC 6962 8-leaf reference tree: LeafInputs, NodeHashes, RootHashes.
//   [TD-PROOF]  github.com/transparency-dev/merkle cmd/proofgen/main.go (commit 4ebbb846): its
//               inclusionProofs / consistencyProofs over that tree (leaf numbers 1-based), the
//               same vectors as testdata/{inclusion,consistency}/*/happy-path.json.
//   [GO-NOTE]   golang.org/x/mod/sumdb/note note_test.go and note.go docs (x/mod v0.7.0).
//   [C2SP]      github.com/C2SP/C2SP signed-note.md, tlog-checkpoint.md, tlog-tiles.md examples.
//   [GO-TLOG]   computed with golang.org/x/mod/sumdb/tlog v0.7.0 (Debian
//               golang-golang-x-mod-dev): StoredHashes of records "leaf 0".."leaf 999".
#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "tlog/encoding.hpp"
#include "tlog/merkle.hpp"
#include "tlog/note.hpp"
#include "tlog/tiles.hpp"

namespace filingd::tlog {
namespace {

std::vector<std::uint8_t> unhex(std::string_view hex) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}
Hash H(std::string_view hex) {
  Hash h{};
  const auto b = unhex(hex);
  std::copy(b.begin(), b.end(), h.begin());
  return h;
}
std::span<const std::uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// An in-memory stored-hash map built with stored_hashes, as the ledger builds RocksDB's. Like
// Go's test storage it insists on ascending indexes.
struct Store {
  std::vector<Hash> hashes;
  std::vector<Hash> leaves;
  HashReader reader() const {
    return [this](std::span<const std::int64_t> idx, std::span<Hash> out) -> Status {
      for (std::size_t i = 0; i < idx.size(); ++i) {
        if (i > 0 && idx[i] <= idx[i - 1]) return make_error(ErrorCode::internal, "unsorted");
        if (idx[i] < 0 || idx[i] >= std::ssize(hashes))
          return make_error(ErrorCode::not_found, "no hash " + std::to_string(idx[i]));
        out[i] = hashes[idx[i]];
      }
      return {};
    };
  }
  void add(std::span<const std::uint8_t> data) {
    auto h = stored_hashes(std::ssize(leaves), data, reader());
    ASSERT_TRUE(h.ok()) << h.error().message;
    leaves.push_back(record_hash(data));
    hashes.insert(hashes.end(), h->begin(), h->end());
  }
};

// RFC 9162 §2.1.1 MTH, straight from the definition.
Hash mth(std::span<const Hash> leaves) {
  if (leaves.empty()) return empty_tree_hash();
  if (leaves.size() == 1) return leaves[0];
  std::size_t k = 1;
  while (k * 2 < leaves.size()) k *= 2;
  return node_hash(mth(leaves.first(k)), mth(leaves.subspan(k)));
}

// [TD-CONST] LeafInputs.
const std::vector<std::string> kLeaves = {
    "",         std::string(1, '\0'), "\x10",     "\x20\x21",
    "\x30\x31", "\x40\x41\x42\x43",   "PQRSTUVW", "`abcdefghijklmno"};  // 0x50..0x57, 0x60..0x6f

Store reference_tree() {
  Store s;
  for (const auto& leaf : kLeaves) s.add(bytes(leaf));
  return s;
}

TEST(TlogMerkle, Rfc6962ReferenceRootsAndNodes) {
  const Store s = reference_tree();
  // [TD-CONST] RootHashes, sizes 0..8.
  const char* roots[] = {"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                         "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                         "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                         "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
                         "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                         "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
                         "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
                         "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
                         "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};
  for (int n = 0; n <= 8; ++n) EXPECT_EQ(tree_hash(n, s.reader()).value(), H(roots[n])) << n;
  // [TD-CONST] NodeHashes: level l, position i is stored at stored_hash_index(l, i).
  const std::vector<std::vector<const char*>> nodes = {
      {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
       "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
       "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
       "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
       "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
       "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
       "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
       "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"},
      {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
       "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
       "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
       "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"},
      {"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
       "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"},
      {"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"}};
  for (int l = 0; l < 4; ++l)
    for (std::size_t i = 0; i < nodes[l].size(); ++i)
      EXPECT_EQ(s.hashes[stored_hash_index(l, i).value()], H(nodes[l][i])) << l << "," << i;
  EXPECT_EQ(std::ssize(s.hashes), stored_hash_count(8).value());
}

TEST(TlogMerkle, Rfc6962ReferenceProofs) {
  const Store s = reference_tree();
  const auto roots = [&](std::int64_t n) { return tree_hash(n, s.reader()).value(); };
  struct Vec {
    std::int64_t a, b;  // inclusion: leaf number (1-based), size; consistency: size1, size2
    std::vector<const char*> proof;
  };
  // [TD-PROOF] inclusionProofs.
  const std::vector<Vec> inclusion = {
      {1, 1, {}},
      {1,
       8,
       {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {6,
       8,
       {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {3, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
      {2,
       5,
       {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}}};
  for (const Vec& v : inclusion) {
    std::vector<Hash> want;
    for (const char* h : v.proof) want.push_back(H(h));
    EXPECT_EQ(prove_record(v.b, v.a - 1, s.reader()).value(), want) << v.a << "/" << v.b;
    EXPECT_TRUE(check_record(want, v.b, roots(v.b), v.a - 1, s.leaves[v.a - 1]).ok());
  }
  // [TD-PROOF] consistencyProofs.
  const std::vector<Vec> consistency = {
      {1, 1, {}},
      {1,
       8,
       {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {6,
       8,
       {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2,
       5,
       {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
      {6,
       7,
       {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}}};
  for (const Vec& v : consistency) {
    std::vector<Hash> want;
    for (const char* h : v.proof) want.push_back(H(h));
    EXPECT_EQ(prove_tree(v.b, v.a, s.reader()).value(), want) << v.a << "->" << v.b;
    EXPECT_TRUE(check_tree(want, v.b, roots(v.b), v.a, roots(v.a)).ok());
  }
}

TEST(TlogMerkle, MatchesGoTlogLayout) {
  Store s;
  for (int i = 0; i < 1000; ++i) s.add(bytes("leaf " + std::to_string(i)));
  // [GO-TLOG] len(storage), SHA-256 of all stored hashes in index order, TreeHash(1000).
  EXPECT_EQ(std::ssize(s.hashes), 1994);
  Hash layout;
  SHA256(s.hashes.front().data(), s.hashes.size() * kHashSize, layout.data());
  EXPECT_EQ(layout, H("f3fb1e34ee2bba61a7522ce7cf3cc519318d9f10cff43fd9c78a296a27e129a9"));
  EXPECT_EQ(tree_hash(1000, s.reader()).value(),
            H("2ff33fb9d8f14f89ca306289633336a168ff3f4532e8f741a0019dcb4c1d60a1"));
  // [GO-TLOG] ProveRecord(1000, 777): first and last; ProveTree(1000, 333): first and last.
  const auto rp = prove_record(1000, 777, s.reader()).value();
  ASSERT_EQ(rp.size(), 10u);
  EXPECT_EQ(rp.front(), H("251b00393ee5f1c76a5f54ab14b0376e21b6945d8cf513eed184dcfa4a785523"));
  EXPECT_EQ(rp.back(), H("d9579873166aa59bc8d37da864923bf63dacf0fff19ea2caba63b20cab82cd30"));
  const auto tp = prove_tree(1000, 333, s.reader()).value();
  ASSERT_EQ(tp.size(), 11u);
  EXPECT_EQ(tp.front(), H("a82fb0f1fad32e5e9e2bfd7c9eed4fa867eb87d191c0b969ff232dd121a243ed"));
  EXPECT_EQ(tp.back(), H("19e82f52c6e20e28845a8e136a1d9cf3eac7ba2bdc0adccc08f396ea9a7cacae"));
  // [GO-TLOG] StoredHashIndex.
  EXPECT_EQ(stored_hash_index(3, 5).value(), 92);
  EXPECT_EQ(stored_hash_index(8, 1234567).value(), 632098803);
}

TEST(TlogMerkle, StoredHashIndexRoundTrip) {
  for (std::int64_t i = 0; i < 100000; ++i) {
    const auto ln = split_stored_hash_index(i).value();
    EXPECT_EQ(stored_hash_index(ln.level, ln.n).value(), i);
  }
  for (int level = 0; level <= 62; ++level) {
    const std::int64_t n = (kMaxTreeSize >> level) - 1;
    const auto i = stored_hash_index(level, n).value();
    EXPECT_EQ(split_stored_hash_index(i).value(), (LevelAndN{level, n}));
  }
}

TEST(TlogMerkle, OutOfRangeArgumentsAreErrors) {
  const Store s = reference_tree();
  const auto r = s.reader();
  EXPECT_FALSE(stored_hash_index(-1, 0).ok());
  EXPECT_FALSE(stored_hash_index(0, -1).ok());
  EXPECT_FALSE(stored_hash_index(63, 0).ok());
  EXPECT_FALSE(stored_hash_index(1, kMaxTreeSize / 2).ok());
  EXPECT_FALSE(split_stored_hash_index(-1).ok());
  EXPECT_FALSE(split_stored_hash_index(std::numeric_limits<std::int64_t>::max()).ok());
  EXPECT_EQ(stored_hash_count(kMaxTreeSize).value(), std::numeric_limits<std::int64_t>::max());
  EXPECT_FALSE(stored_hash_count(-1).ok());
  EXPECT_FALSE(stored_hashes(-1, {}, r).ok());
  EXPECT_FALSE(stored_hashes(9, {}, r).ok());  // needs hashes this store has not got
  EXPECT_FALSE(tree_hash(-1, r).ok());
  EXPECT_FALSE(tree_hash(9, r).ok());
  EXPECT_FALSE(tree_hash(kMaxTreeSize + 1, r).ok());
  EXPECT_FALSE(tree_hash(5, HashReader{}).ok());
  for (auto [t, n] : {std::pair{8, 8}, {8, -1}, {0, 0}, {-1, 0}}) {
    EXPECT_FALSE(prove_record(t, n, r).ok()) << t << "," << n;
    EXPECT_FALSE(check_record({}, t, Hash{}, n, Hash{}).ok());
  }
  for (auto [t, n] : {std::pair{8, 9}, {8, 0}, {0, 0}, {-1, -1}}) {
    EXPECT_FALSE(prove_tree(t, n, r).ok()) << t << "," << n;
    EXPECT_FALSE(check_tree({}, t, Hash{}, n, Hash{}).ok());
  }
  const HashReader failing = [](auto, auto) -> Status {
    return make_error(ErrorCode::io, "disk on fire");
  };
  auto e = prove_record(8, 3, failing);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, ErrorCode::io);
  EXPECT_EQ(e.error().message, "disk on fire");
  EXPECT_FALSE(Appender::resume(8, failing).ok());
  EXPECT_FALSE(Appender::resume(-1, r).ok());
}

// Random trees: Appender, stored_hashes and the RFC definition agree; every inclusion proof and
// many consistency proofs verify; any flipped bit, or a wrong index or size, fails.
TEST(TlogMerkle, RandomizedCrossCheck) {
  std::mt19937_64 rng(20240601);
  for (int round = 0; round < 6; ++round) {
    const std::int64_t size = round == 0 ? 1 : std::uniform_int_distribution<int>(2, 3000)(rng);
    Store s;
    Appender app;
    for (std::int64_t i = 0; i < size; ++i) {
      std::string data(std::uniform_int_distribution<int>(0, 80)(rng), 'x');
      for (char& c : data) c = static_cast<char>(rng());
      const auto first = std::ssize(s.hashes);
      s.add(bytes(data));
      const auto stored = app.append(bytes(data)).value();
      ASSERT_EQ(stored.first_index, first);
      ASSERT_TRUE(std::equal(stored.hashes.begin(), stored.hashes.end(), s.hashes.begin() + first,
                             s.hashes.end()));
    }
    const auto r = s.reader();
    const Hash root = mth(s.leaves);
    ASSERT_EQ(tree_hash(size, r).value(), root);
    ASSERT_EQ(app.root(), root);
    ASSERT_EQ(Appender::resume(size, r).value().root(), root);
    for (std::int64_t n = 0; n < size; ++n) {
      auto p = prove_record(size, n, r).value();
      ASSERT_TRUE(check_record(p, size, root, n, s.leaves[n]).ok()) << size << " " << n;
      if (n % 97 != 0) continue;
      if (size > 1) {
        EXPECT_FALSE(check_record(p, size, root, (n + 1) % size, s.leaves[n]).ok());
      }
      if (!p.empty()) {
        p[rng() % p.size()][rng() % kHashSize] ^= 1 << (rng() % 8);
        EXPECT_FALSE(check_record(p, size, root, n, s.leaves[n]).ok());
      }
    }
    for (int k = 0; k < 300; ++k) {
      const std::int64_t t = std::uniform_int_distribution<std::int64_t>(1, size)(rng);
      const std::int64_t n = std::uniform_int_distribution<std::int64_t>(1, t)(rng);
      const Hash th = mth(std::span(s.leaves).first(t)), nh = mth(std::span(s.leaves).first(n));
      auto p = prove_tree(t, n, r).value();
      ASSERT_TRUE(check_tree(p, t, th, n, nh).ok()) << n << "->" << t;
      if (!p.empty()) {
        p[rng() % p.size()][rng() % kHashSize] ^= 1 << (rng() % 8);
        EXPECT_FALSE(check_tree(p, t, th, n, nh).ok());
      }
      if (n < t) {
        EXPECT_FALSE(check_tree(prove_tree(t, n, r).value(), t, th, n, th).ok());
      }
    }
  }
}

// Not a pass/fail check: records the appender's cost per append (SHA-256 of the leaf plus, on
// average, one node hash; no allocation) for docs and the report.
TEST(TlogMerkle, AppenderCost) {
  Appender app;
  Hash leaf{};
  constexpr int kAppends = 1 << 20;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kAppends; ++i) {
    leaf[0] = static_cast<std::uint8_t>(i);
    ASSERT_TRUE(app.append(leaf).ok());  // the ledger's leaf data: the 32-byte event hash
  }
  const auto ns =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start);
  RecordProperty("ns_per_append", std::to_string(ns.count() / kAppends));
  std::printf("Appender: %.0f ns per append\n", ns.count() / kAppends);
}

// ---- tiles ------------------------------------------------------------------------------

TEST(TlogTiles, PathsRoundTrip) {
  // [C2SP] tlog-tiles: index 1234067 is x001/x234/067; Go's Tile{8,4,1234067,1}.Path() is
  // tile/8/4/x001/x234/067.p/1, the same path with the height.
  EXPECT_EQ(tile_path({4, 1234067, 1}), "tile/4/x001/x234/067.p/1");
  EXPECT_EQ(tile_path({0, 5, 256}), "tile/0/005");
  EXPECT_EQ(tile_path({kEntriesLevel, 1000, 7}), "tile/entries/x001/000.p/7");
  const std::int64_t big = std::int64_t{1} << 40;
  for (const Tile& t : {Tile{0, 0, 256}, Tile{0, 0, 1}, Tile{1, 999, 256}, Tile{1, 1000, 255},
                        Tile{kEntriesLevel, 123456, 256}, Tile{2, 1234, 17}})
    EXPECT_EQ(parse_tile_path(tile_path(t), big).value(), t) << tile_path(t);
}

TEST(TlogTiles, BadPathsAreRefused) {
  const std::int64_t size = std::int64_t{1} << 40;
  for (const char* p : {"",
                        "tile",
                        "tile/0",
                        "tile/0/",
                        "tile/0/5",
                        "tile/0/0005",
                        "tile/0/x005",
                        "tile/0/005/",
                        "tile/00/005",
                        "tile/-1/005",
                        "tile/64/000",
                        "tile/+1/000",
                        "tile/data/000",
                        "tile/8/0/005",
                        "tile/0/x000/005",
                        "tile/0/001/005",
                        "tile/0/y001/005",
                        "tile/0/x01/005",
                        "tile/0/005.p/0",
                        "tile/0/005.p/256",
                        "tile/0/005.p/300",
                        "tile/0/005.p/07",
                        "tile/0/005.p",
                        "tile/0/005.p/",
                        "tile/0/005.q/5",
                        "tile/0/005.p/5/",
                        "/tile/0/005",
                        "tile/0/00a",
                        "tile/0/ 05",
                        "tiles/0/005",
                        "tile/entries",
                        "tile/entries/005.p/x"}) {
    auto t = parse_tile_path(p, size);
    ASSERT_FALSE(t.ok()) << p;
    EXPECT_EQ(t.error().code, ErrorCode::malformed) << p;
  }
}

TEST(TlogTiles, TilesBeyondTheTreeAreNotFound) {
  const std::int64_t size = 256 * 3 + 5;  // level 0: 3 full + 5; level 1: 3 hashes
  for (const char* p : {"tile/0/003", "tile/0/003.p/6", "tile/0/004.p/1", "tile/1/000",
                        "tile/1/000.p/4", "tile/2/000.p/1", "tile/63/000.p/1",
                        "tile/entries/003.p/6", "tile/0/x999/x999/x999/x999/x999/x999/x999/999"}) {
    auto t = parse_tile_path(p, size);
    ASSERT_FALSE(t.ok()) << p;
    EXPECT_EQ(t.error().code, ErrorCode::not_found) << p;
  }
  for (const char* p : {"tile/0/000", "tile/0/002", "tile/0/003.p/5", "tile/0/003.p/1",
                        "tile/0/002.p/9", "tile/1/000.p/3", "tile/entries/003.p/5"})
    EXPECT_TRUE(parse_tile_path(p, size).ok()) << p;
  EXPECT_FALSE(parse_tile_path("tile/0/000.p/1", 0).ok());
  EXPECT_EQ(check_tile({0, -1, 1}, size).error().code, ErrorCode::invalid);
  EXPECT_EQ(check_tile({0, 0, 0}, size).error().code, ErrorCode::invalid);
  EXPECT_EQ(check_tile({0, 0, 257}, size).error().code, ErrorCode::invalid);
  EXPECT_EQ(check_tile({64, 0, 1}, size).error().code, ErrorCode::invalid);
}

TEST(TlogTiles, TilesForSizeMatchesTheSpec) {
  // [C2SP] tlog-tiles: "a tree of size 70,000 will be represented by 273 full level 0 tiles, one
  // partial level 0 tile of width 112, one full level 1 tile, one partial level 1 tile of width
  // 17, and one partial level 2 tile of width 1."
  const auto tiles = tiles_for_size(70000).value();
  ASSERT_EQ(tiles.size(), 273u + 1 + 1 + 1 + 1);
  for (int i = 0; i < 273; ++i) EXPECT_EQ(tiles[i], (Tile{0, i, 256}));
  EXPECT_EQ(tiles[273], (Tile{0, 273, 112}));
  EXPECT_EQ(tiles[274], (Tile{1, 0, 256}));
  EXPECT_EQ(tiles[275], (Tile{1, 1, 17}));
  EXPECT_EQ(tiles[276], (Tile{2, 0, 1}));
  for (const Tile& t : tiles) EXPECT_TRUE(check_tile(t, 70000).ok()) << tile_path(t);
  // "a tree of size 256 will be represented by a full level 0 tile and a partial level 1 tile
  // of width 1."
  EXPECT_EQ(tiles_for_size(256).value(), (std::vector<Tile>{{0, 0, 256}, {1, 0, 1}}));
  EXPECT_TRUE(tiles_for_size(0).value().empty());
  EXPECT_FALSE(tiles_for_size(-1).ok());
}

TEST(TlogTiles, TileBytesAreTheTreeLevel) {
  Store s;
  const std::int64_t size = 256 * 3 + 5;
  for (std::int64_t i = 0; i < size; ++i) s.add(bytes("r" + std::to_string(i)));
  const auto r = s.reader();
  const auto level0 = read_tile({0, 3, 5}, size, r).value();
  ASSERT_EQ(level0.size(), 5 * kHashSize);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(0, std::memcmp(level0.data() + i * kHashSize, s.leaves[768 + i].data(), kHashSize));
  // Level 1 hash i is the root of records [256i, 256i + 256).
  const auto level1 = read_tile({1, 0, 3}, size, r).value();
  ASSERT_EQ(level1.size(), 3 * kHashSize);
  for (int i = 0; i < 3; ++i) {
    const Hash want = mth(std::span(s.leaves).subspan(256 * i, 256));
    EXPECT_EQ(0, std::memcmp(level1.data() + i * kHashSize, want.data(), kHashSize)) << i;
  }
  // A partial tile is a prefix of the full one.
  EXPECT_EQ(read_tile({0, 1, 10}, size, r).value(),
            read_tile({0, 1, 256}, size, r)->substr(0, 320));
  EXPECT_EQ(read_tile({0, 4, 1}, size, r).error().code, ErrorCode::not_found);
  EXPECT_EQ(read_tile({kEntriesLevel, 0, 1}, size, r).error().code, ErrorCode::invalid);
  const Hash a = H("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
  const std::vector<Hash> two = {a, a};
  const std::string bundle = encode_entry_bundle(two);
  ASSERT_EQ(bundle.size(), 2 * 34u);
  EXPECT_EQ(bundle.substr(0, 3), std::string("\x00\x20\x00", 3));
}

// ---- signed notes -----------------------------------------------------------------------

// [GO-NOTE] the PeterNeumann and EnochRoot keys and signatures.
constexpr const char* kPeterSkey =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
constexpr const char* kPeterVkey =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr const char* kEnochVkey =
    "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const std::string kText =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
const std::string kPeterSig =
    "\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/"
    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const std::string kEnochSig =
    "\u2014 EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/"
    "5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

TEST(TlogNote, ReproducesGoVectors) {
  const Signer peter = Signer::parse(kPeterSkey).value();
  EXPECT_EQ(peter.vkey(), kPeterVkey);
  EXPECT_EQ(peter.skey(), kPeterSkey);
  EXPECT_EQ(peter.key_id(), 0xc74f20a3u);
  EXPECT_EQ(peter.sign_note(kText).value(), kText + "\n" + kPeterSig);  // Ed25519 is deterministic
  const Verifier pv = Verifier::parse(kPeterVkey).value();
  const Verifier ev = Verifier::parse(kEnochVkey).value();
  EXPECT_EQ(ev.vkey(), kEnochVkey);
  EXPECT_EQ(open_note(kText + "\n" + kPeterSig + kEnochSig, pv).value(), kText);
  EXPECT_EQ(open_note(kText + "\n" + kPeterSig + kEnochSig, ev).value(), kText);
  EXPECT_EQ(open_note(kText + "\n" + kPeterSig + kPeterSig, pv).value(), kText);
  // [C2SP] signed-note.md example key and note.
  const Verifier foo =
      Verifier::parse("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
          .value();
  EXPECT_EQ(open_note("This is an example message.\n\n\u2014 example.com/foo "
                      "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKu"
                      "wHjG1Yu72IneyaQM=\n",
                      foo)
                .value(),
            "This is an example message.\n");
}

TEST(TlogNote, KeyManglingsAreRefused) {
  // As Go's TestNewVerifier / TestNewSigner: every proper substring and every one-byte change.
  for (std::string key : {std::string(kPeterVkey), std::string(kPeterSkey)}) {
    const bool is_skey = key.starts_with("PRIVATE");
    const auto parses = [&](const std::string& k) {
      return is_skey ? Signer::parse(k).ok() : Verifier::parse(k).ok();
    };
    for (std::size_t i = 0; i <= key.size(); ++i) {
      for (std::size_t j = i + 1; j <= key.size(); ++j) {
        if (i == 0 && j == key.size()) continue;
        EXPECT_FALSE(parses(key.substr(i, j - i))) << i << "," << j;
      }
    }
    for (char& c : key) {
      ++c;
      EXPECT_FALSE(parses(key)) << key;
      --c;
    }
  }
  // Wrong-length key and unknown algorithm, each with a matching key ID [GO-NOTE].
  EXPECT_FALSE(
      Verifier::parse("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==")
          .ok());
  EXPECT_FALSE(
      Verifier::parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").ok());
  EXPECT_FALSE(Signer::generate("bad name").ok());
  EXPECT_FALSE(Signer::generate("a+b").ok());
  EXPECT_FALSE(Signer::generate("").ok());
  EXPECT_FALSE(is_valid_key_name("non\u00a0breaking"));
  EXPECT_FALSE(is_valid_key_name("bad\xffutf8"));
  EXPECT_TRUE(is_valid_key_name("filingd.example/ledger"));
}

TEST(TlogNote, BadNotesAreRefused) {
  const Verifier pv = Verifier::parse(kPeterVkey).value();
  // [GO-NOTE] TestOpen's badMsgs, and too many signatures: not a note.
  for (const std::string& msg :
       {kText, kText + "\n", kText + "\n" + kPeterSig.substr(0, kPeterSig.size() - 1),
        "\x01" + kText + "\n" + kPeterSig, "\xff" + kText + "\n" + kPeterSig,
        kText + "\n\u2014 Bad Name "
                "x08go/ZJkuBS9UG/"
                "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
        kText + "\n" + kPeterSig + "Unexpected line.\n", std::string("")}) {
    auto r = open_note(msg, pv);
    ASSERT_FALSE(r.ok()) << msg;
    EXPECT_EQ(r.error().code, ErrorCode::malformed) << msg;
  }
  std::string many = kText + "\n";
  for (int i = 0; i < 101; ++i) many += kPeterSig;
  EXPECT_EQ(open_note(many, pv).error().code, ErrorCode::malformed);
  // Bad signature; no signature by the key (only Enoch's; Peter's name with another ID).
  const std::string corrupt = kPeterSig.substr(0, 60) + "ABCD" + kPeterSig.substr(60);
  EXPECT_EQ(open_note(kText + "\n" + corrupt, pv).error().message,
            "invalid signature for key PeterNeumann+c74f20a3");
  EXPECT_EQ(open_note(kText + "\n" + kEnochSig, pv).error().code, ErrorCode::invalid);
  std::string wrong_id = kPeterSig;
  wrong_id.replace(wrong_id.find("x08g"), 4, "xxxx");
  EXPECT_EQ(open_note(kText + "\n" + wrong_id, pv).error().code, ErrorCode::invalid);
  std::string other_text = kText + "\n" + kPeterSig;
  other_text[0] = 'i';
  EXPECT_EQ(open_note(other_text, pv).error().code, ErrorCode::invalid);
  EXPECT_FALSE(Signer::parse(kPeterSkey)->sign_note("no newline").ok());
}

TEST(TlogNote, Checkpoints) {
  // [C2SP] tlog-checkpoint.md example text.
  const std::string sofa =
      "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
  const Checkpoint c = parse_checkpoint(sofa).value();
  EXPECT_EQ(c.origin, "example.com/behind-the-sofa");
  EXPECT_EQ(c.size, 20852163);
  EXPECT_EQ(base64_encode(c.root), "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=");
  EXPECT_EQ(format_checkpoint(c), sofa);
  EXPECT_EQ(parse_checkpoint(sofa + "ext\n")->extensions, std::vector<std::string>{"ext"});
  const std::string root = "\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
  for (const std::string& bad :
       {std::string("o\n1\n"), "o\n01" + root, "o\n-1" + root, "o\n+1" + root, "o\n 1" + root,
        "o\n1x" + root, "o\n99999999999999999999" + root, "o\n4611686018427387905" + root,
        "\n1" + root, "o\n1" + root + "\n", "o\n1" + root.substr(0, root.size() - 1),
        std::string("o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2=\n"),
        std::string("o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxqw==\n")}) {
    auto r = parse_checkpoint(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::malformed) << bad;
  }
  const Signer s = Signer::generate("filingd.test/ledger").value();
  const Checkpoint mine{"filingd.test/ledger", 8,
                        H("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")};
  const std::string note = sign_checkpoint(mine, s).value();
  EXPECT_EQ(open_checkpoint(note, s.verifier(), "filingd.test/ledger").value(), mine);
  EXPECT_EQ(open_checkpoint(note, s.verifier(), "filingd.test/other").error().code,
            ErrorCode::invalid);
  EXPECT_FALSE(
      open_checkpoint(note, Verifier::parse(kPeterVkey).value(), "filingd.test/ledger").ok());
}

// ---- the key file -----------------------------------------------------------------------

class TlogKeyFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("tlog_key_test." + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::filesystem::path& p, const std::string& text, mode_t mode) {
    std::filesystem::remove(p);
    std::ofstream(p, std::ios::binary) << text;
    ::chmod(p.c_str(), mode);
  }
  void expect_refused(const std::filesystem::path& p, const std::string& why,
                      std::string_view name = "PeterNeumann") {
    auto r = load_or_create_signing_key(p, name);
    ASSERT_FALSE(r.ok()) << why;
    EXPECT_NE(r.error().message.find(p.string()), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(why), std::string::npos) << r.error().message;
  }
  std::filesystem::path dir_;
};

TEST_F(TlogKeyFile, CreatesThenLoads) {
  const auto path = dir_ / "ledger.key";
  const auto old_umask = ::umask(0);  // 0600 regardless of the umask
  const Signer created = load_or_create_signing_key(path, "filingd.test/ledger").value();
  ::umask(old_umask);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_),
                          std::filesystem::directory_iterator{}),
            1);  // no temp left
  const Signer loaded = load_or_create_signing_key(path, "filingd.test/ledger").value();
  EXPECT_EQ(loaded.vkey(), created.vkey());
  EXPECT_TRUE(Verifier::parse(loaded.vkey()).ok());
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, created.skey());
  EXPECT_EQ(load_or_create_signing_key(path, "filingd.test/other").error().code,
            ErrorCode::invalid);
}

TEST_F(TlogKeyFile, LoadsGoKeysAndRefusesBadFiles) {
  const auto path = dir_ / "k";
  write(path, std::string(kPeterSkey) + "\n", 0600);
  EXPECT_EQ(load_or_create_signing_key(path, "PeterNeumann")->vkey(), kPeterVkey);
  write(path, kPeterSkey, 0400);
  EXPECT_EQ(load_or_create_signing_key(path, "PeterNeumann")->vkey(), kPeterVkey);
  write(path, kPeterSkey, 0640);
  expect_refused(path, "mode 0640");
  write(path, kPeterSkey, 0604);
  expect_refused(path, "mode 0604");
  write(path, kPeterSkey, 0620);
  expect_refused(path, "mode 0620");
  const std::string skey(kPeterSkey);
  for (const std::string& bad : {skey.substr(0, skey.size() - 5), skey.substr(0, 20), std::string(),
                                 skey + "\n\n", " " + skey, skey + "\nextra\n"}) {
    write(path, bad, 0600);
    expect_refused(path, "not an Ed25519 note private key");
  }
  write(path, std::string(5000, 'A'), 0600);
  expect_refused(path, "too large");
  write(path, kPeterSkey, 0600);
  expect_refused(path, "holds the key named \"PeterNeumann\"", "filingd.test/ledger");
}

TEST_F(TlogKeyFile, RefusesLinksAndDirectories) {
  const auto target = dir_ / "real";
  write(target, kPeterSkey, 0600);
  std::filesystem::create_symlink(target, dir_ / "link");
  expect_refused(dir_ / "link", "symbolic link");
  std::filesystem::create_directory(dir_ / "d");
  expect_refused(dir_ / "d", "not a regular file");
  expect_refused(dir_ / "missing-dir" / "k", "create");
}

}  // namespace
}  // namespace filingd::tlog
