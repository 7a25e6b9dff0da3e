#include "tlog/merkle.hpp"

#include <openssl/evp.h>

#include <bit>
#include <initializer_list>
#include <limits>
#include <new>
#include <optional>
#include <string>
#include <utility>

namespace filingd::tlog {
namespace {

Error invalid(std::string message) { return make_error(ErrorCode::invalid, "tlog: " + message); }

// SHA-256 of the concatenated parts. OpenSSL 3 looks the digest up in its provider tables on
// every EVP_sha256() / SHA256() call and an EVP_MD_CTX costs an allocation, which together were
// most of an append (0.75 us); so: the digest fetched once, one reused context per thread.
Hash sha256(std::initializer_list<std::span<const std::uint8_t>> parts) {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  struct Ctx {
    EVP_MD_CTX* p = EVP_MD_CTX_new();
    ~Ctx() { EVP_MD_CTX_free(p); }
  };
  thread_local Ctx ctx;
  Hash out;
  bool ok = md != nullptr && ctx.p != nullptr && EVP_DigestInit_ex(ctx.p, md, nullptr) == 1;
  for (const auto& part : parts) ok = ok && EVP_DigestUpdate(ctx.p, part.data(), part.size()) == 1;
  unsigned len = 0;
  if (!ok || EVP_DigestFinal_ex(ctx.p, out.data(), &len) != 1)
    throw std::bad_alloc();  // OpenSSL fails SHA-256 only when it cannot allocate
  return out;
}

bool in_tree(std::int64_t n) { return n >= 0 && n <= kMaxTreeSize; }

// Go's maxpow2 for n >= 2 (every caller's case): the largest power of two k < n.
std::int64_t maxpow2(std::int64_t n) {
  return static_cast<std::int64_t>(std::bit_floor(static_cast<std::uint64_t>(n - 1)));
}

// StoredHashIndex without the range check: callers pass (n + 1) << level <= kMaxTreeSize.
std::int64_t index_of(int level, std::int64_t n) {
  // Level L's n'th hash is written right after level L+1's 2n+1'th hash.
  for (int l = level; l > 0; --l) n = 2 * n + 1;
  // Level 0's n'th hash is written at n + n/2 + n/4 + ...
  std::int64_t i = 0;
  for (; n > 0; n >>= 1) i += n;
  return i + level;
}

Result<std::vector<Hash>> read(const HashReader& reader, std::span<const std::int64_t> indexes) {
  std::vector<Hash> out(indexes.size());
  if (indexes.empty()) return out;
  if (!reader) return make_error(ErrorCode::internal, "tlog: no hash reader");
  if (auto st = reader(indexes, out); !st) return st.take_error();
  return out;
}

// subTreeIndex: the stored indexes of the maximal complete subtrees of [lo, hi), left to right.
void sub_tree_index(std::int64_t lo, std::int64_t hi, std::vector<std::int64_t>& need) {
  while (lo < hi) {
    const std::int64_t k = maxpow2(hi - lo + 1);
    const int level = std::countr_zero(static_cast<std::uint64_t>(k));
    need.push_back(index_of(level, lo >> level));
    lo += k;
  }
}

// The hashes read for the indexes of a *_index function, consumed in the same order.
struct Cursor {
  std::span<const Hash> hashes;
  std::size_t pos = 0;
};

// subTreeHash: the root of [lo, hi) from the hashes of its maximal complete subtrees.
Hash sub_tree_hash(std::int64_t lo, std::int64_t hi, Cursor& c) {
  std::size_t num_tree = 0;
  for (std::int64_t l = lo; l < hi; l += maxpow2(hi - l + 1)) ++num_tree;
  const Hash* h = c.hashes.data() + c.pos;
  Hash root = h[num_tree - 1];
  for (std::size_t i = num_tree - 1; i-- > 0;) root = node_hash(h[i], root);
  c.pos += num_tree;
  return root;
}

void leaf_proof_index(std::int64_t lo, std::int64_t hi, std::int64_t n,
                      std::vector<std::int64_t>& need) {
  if (lo + 1 == hi) return;
  if (const std::int64_t k = maxpow2(hi - lo); n < lo + k) {
    leaf_proof_index(lo, lo + k, n, need);
    sub_tree_index(lo + k, hi, need);
  } else {
    sub_tree_index(lo, lo + k, need);
    leaf_proof_index(lo + k, hi, n, need);
  }
}

// leafProof: the audit path of n within [lo, hi), deepest sibling first.
void leaf_proof(std::int64_t lo, std::int64_t hi, std::int64_t n, Cursor& c,
                std::vector<Hash>& proof) {
  if (lo + 1 == hi) return;  // the verifier knows the leaf hash
  if (const std::int64_t k = maxpow2(hi - lo); n < lo + k) {
    leaf_proof(lo, lo + k, n, c, proof);
    proof.push_back(sub_tree_hash(lo + k, hi, c));
  } else {
    const Hash left = sub_tree_hash(lo, lo + k, c);
    leaf_proof(lo + k, hi, n, c, proof);
    proof.push_back(left);
  }
}

void tree_proof_index(std::int64_t lo, std::int64_t hi, std::int64_t n,
                      std::vector<std::int64_t>& need) {
  if (n == hi) {
    if (lo != 0) sub_tree_index(lo, hi, need);
    return;
  }
  if (const std::int64_t k = maxpow2(hi - lo); n <= lo + k) {
    tree_proof_index(lo, lo + k, n, need);
    sub_tree_index(lo + k, hi, need);
  } else {
    sub_tree_index(lo, lo + k, need);
    tree_proof_index(lo + k, hi, n, need);
  }
}

void tree_proof(std::int64_t lo, std::int64_t hi, std::int64_t n, Cursor& c,
                std::vector<Hash>& proof) {
  if (n == hi) {
    // [0, n) is the old tree itself, which the verifier knows.
    if (lo != 0) proof.push_back(sub_tree_hash(lo, hi, c));
    return;
  }
  if (const std::int64_t k = maxpow2(hi - lo); n <= lo + k) {
    tree_proof(lo, lo + k, n, c, proof);
    proof.push_back(sub_tree_hash(lo + k, hi, c));
  } else {
    const Hash left = sub_tree_hash(lo, lo + k, c);
    tree_proof(lo + k, hi, n, c, proof);
    proof.push_back(left);
  }
}

// runRecordProof: the root of [lo, hi) implied by the proof, or nullopt if its length is wrong.
std::optional<Hash> run_record_proof(std::span<const Hash> p, std::int64_t lo, std::int64_t hi,
                                     std::int64_t n, const Hash& leaf) {
  if (lo + 1 == hi) {
    if (!p.empty()) return std::nullopt;  // no unnecessary hashes
    return leaf;
  }
  if (p.empty()) return std::nullopt;
  const std::int64_t k = maxpow2(hi - lo);
  const auto rest = p.first(p.size() - 1);
  if (n < lo + k) {
    auto th = run_record_proof(rest, lo, lo + k, n, leaf);
    if (!th) return std::nullopt;
    return node_hash(*th, p.back());
  }
  auto th = run_record_proof(rest, lo + k, hi, n, leaf);
  if (!th) return std::nullopt;
  return node_hash(p.back(), *th);
}

// runTreeProof: the (old, new) roots of [lo, hi) implied by the proof.
std::optional<std::pair<Hash, Hash>> run_tree_proof(std::span<const Hash> p, std::int64_t lo,
                                                    std::int64_t hi, std::int64_t n,
                                                    const Hash& old) {
  if (n == hi) {
    if (lo == 0) {
      if (!p.empty()) return std::nullopt;
      return std::pair{old, old};
    }
    if (p.size() != 1) return std::nullopt;
    return std::pair{p[0], p[0]};
  }
  if (p.empty()) return std::nullopt;
  const std::int64_t k = maxpow2(hi - lo);
  const auto rest = p.first(p.size() - 1);
  if (n <= lo + k) {
    auto r = run_tree_proof(rest, lo, lo + k, n, old);
    if (!r) return std::nullopt;
    return std::pair{r->first, node_hash(r->second, p.back())};
  }
  auto r = run_tree_proof(rest, lo + k, hi, n, old);
  if (!r) return std::nullopt;
  return std::pair{node_hash(p.back(), r->first), node_hash(p.back(), r->second)};
}

}  // namespace

Hash record_hash(std::span<const std::uint8_t> data) {
  const std::uint8_t prefix = 0x00;
  return sha256({std::span(&prefix, 1), data});
}

Hash node_hash(const Hash& left, const Hash& right) {
  const std::uint8_t prefix = 0x01;
  return sha256({std::span(&prefix, 1), std::span(left), std::span(right)});
}

Hash empty_tree_hash() { return sha256({}); }

Result<std::int64_t> stored_hash_index(int level, std::int64_t n) {
  if (level < 0 || level > 62 || n < 0 || n + 1 > (kMaxTreeSize >> level))
    return invalid("stored hash index (level " + std::to_string(level) + ", n " +
                   std::to_string(n) + ") out of range");
  return index_of(level, n);
}

Result<LevelAndN> split_stored_hash_index(std::int64_t index) {
  // The largest index of a tree of kMaxTreeSize records is INT64_MAX - 1.
  if (index < 0 || index == std::numeric_limits<std::int64_t>::max())
    return invalid("stored hash index " + std::to_string(index) + " out of range");
  // StoredHashIndex(0, n) < 2n, so the record that stored `index` is in [index/2, index/2 +
  // log2(index)]; each record n adds 1 + trailing ones of n hashes.
  std::int64_t n = index / 2;
  std::int64_t index_n = index_of(0, n);
  for (;;) {
    const int added = 1 + std::countr_one(static_cast<std::uint64_t>(n));
    if (index - index_n < added) break;  // index_n + added > index, without overflow
    ++n;
    index_n += added;
  }
  const int level = static_cast<int>(index - index_n);
  return LevelAndN{level, n >> level};
}

Result<std::int64_t> stored_hash_count(std::int64_t n) {
  if (!in_tree(n)) return invalid("tree size " + std::to_string(n) + " out of range");
  if (n == 0) return std::int64_t{0};
  // The hashes up to the last leaf, plus those of the subtrees that leaf completed.
  return index_of(0, n - 1) + 1 + std::countr_one(static_cast<std::uint64_t>(n - 1));
}

Result<std::vector<Hash>> stored_hashes(std::int64_t n, std::span<const std::uint8_t> data,
                                        const HashReader& reader) {
  return stored_hashes_for_record_hash(n, record_hash(data), reader);
}

Result<std::vector<Hash>> stored_hashes_for_record_hash(std::int64_t n, const Hash& leaf_hash,
                                                        const HashReader& reader) {
  if (n < 0 || n >= kMaxTreeSize) return invalid("record " + std::to_string(n) + " out of range");
  // Each trailing 1 bit of n completes a subtree, whose left half is an earlier stored hash.
  const int m = std::countr_one(static_cast<std::uint64_t>(n));
  std::vector<std::int64_t> indexes(m);
  for (int i = 0; i < m; ++i) indexes[m - 1 - i] = index_of(i, (n >> i) - 1);  // ascending
  auto old = read(reader, indexes);
  if (!old) return old.take_error();
  std::vector<Hash> hashes;
  hashes.reserve(m + 1);
  Hash h = leaf_hash;
  hashes.push_back(h);
  for (int i = 0; i < m; ++i) {
    h = node_hash((*old)[m - 1 - i], h);
    hashes.push_back(h);
  }
  return hashes;
}

Result<Hash> tree_hash(std::int64_t n, const HashReader& reader) {
  if (!in_tree(n)) return invalid("tree size " + std::to_string(n) + " out of range");
  if (n == 0) return empty_tree_hash();
  std::vector<std::int64_t> indexes;
  sub_tree_index(0, n, indexes);
  auto hashes = read(reader, indexes);
  if (!hashes) return hashes.take_error();
  Cursor c{*hashes};
  return sub_tree_hash(0, n, c);
}

Result<std::vector<Hash>> prove_record(std::int64_t t, std::int64_t n, const HashReader& reader) {
  if (!in_tree(t) || n < 0 || n >= t)
    return invalid("no record " + std::to_string(n) + " in a tree of size " + std::to_string(t));
  std::vector<std::int64_t> indexes;
  leaf_proof_index(0, t, n, indexes);
  auto hashes = read(reader, indexes);
  if (!hashes) return hashes.take_error();
  Cursor c{*hashes};
  std::vector<Hash> proof;
  leaf_proof(0, t, n, c, proof);
  return proof;
}

Result<std::vector<Hash>> prove_tree(std::int64_t t, std::int64_t n, const HashReader& reader) {
  if (!in_tree(t) || n < 1 || n > t)
    return invalid("no consistency proof from size " + std::to_string(n) + " to size " +
                   std::to_string(t));
  std::vector<std::int64_t> indexes;
  tree_proof_index(0, t, n, indexes);
  auto hashes = read(reader, indexes);
  if (!hashes) return hashes.take_error();
  Cursor c{*hashes};
  std::vector<Hash> proof;
  tree_proof(0, t, n, c, proof);
  return proof;
}

Status check_record(std::span<const Hash> proof, std::int64_t t, const Hash& tree, std::int64_t n,
                    const Hash& leaf) {
  if (!in_tree(t) || n < 0 || n >= t)
    return invalid("no record " + std::to_string(n) + " in a tree of size " + std::to_string(t));
  auto root = run_record_proof(proof, 0, t, n, leaf);
  if (!root || *root != tree) return invalid("invalid inclusion proof");
  return {};
}

Status check_tree(std::span<const Hash> proof, std::int64_t t, const Hash& tree, std::int64_t n,
                  const Hash& old_tree) {
  if (!in_tree(t) || n < 1 || n > t)
    return invalid("no consistency proof from size " + std::to_string(n) + " to size " +
                   std::to_string(t));
  auto roots = run_tree_proof(proof, 0, t, n, old_tree);
  if (!roots || roots->first != old_tree || roots->second != tree)
    return invalid("invalid consistency proof");
  return {};
}

// ---- Appender ---------------------------------------------------------------------------

Result<Appender> Appender::resume(std::int64_t size, const HashReader& reader) {
  if (!in_tree(size)) return invalid("tree size " + std::to_string(size) + " out of range");
  Appender a;
  if (size == 0) return a;
  // The right edge is exactly the subtrees TreeHash reads: one per 1 bit, highest first.
  std::vector<std::int64_t> indexes;
  sub_tree_index(0, size, indexes);
  auto hashes = read(reader, indexes);
  if (!hashes) return hashes.take_error();
  std::size_t i = 0;
  for (int level = kMaxLevels - 1; level >= 0; --level)
    if ((size >> level) & 1) a.edge_[level] = (*hashes)[i++];
  a.size_ = size;
  return a;
}

Hash Appender::root() const {
  if (size_ == 0) return empty_tree_hash();
  const auto s = static_cast<std::uint64_t>(size_);
  int level = std::countr_zero(s);
  Hash h = edge_[level];
  for (++level; level < kMaxLevels; ++level)
    if ((s >> level) & 1) h = node_hash(edge_[level], h);
  return h;
}

Result<Appender::Stored> Appender::append(std::span<const std::uint8_t> data) {
  return append_record_hash(record_hash(data));
}

Result<Appender::Stored> Appender::append_record_hash(const Hash& leaf) {
  if (size_ >= kMaxTreeSize) return invalid("the tree is full");
  const int m = std::countr_one(static_cast<std::uint64_t>(size_));
  Hash h = leaf;
  out_[0] = h;
  for (int i = 0; i < m; ++i) {
    h = node_hash(edge_[i], h);
    out_[i + 1] = h;
  }
  edge_[m] = h;
  const std::int64_t first = index_of(0, size_);
  ++size_;
  return Stored{first, std::span<const Hash>(out_.data(), m + 1)};
}

}  // namespace filingd::tlog
