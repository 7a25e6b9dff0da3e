// What the Merkle tree proves (SPEC §8), as the HTTP API and filingctl hand it out: signed
// checkpoints (C2SP tlog-checkpoint), inclusion proofs of one event and consistency proofs
// between two sizes (RFC 9162), with their JSON forms.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "events/json_writer.hpp"
#include "events/result.hpp"
#include "ledger/tree.hpp"
#include "tlog/note.hpp"

namespace filingd {

// Signs checkpoints of one ledger with its key (tlog/note.hpp load_or_create_signing_key).
// Thread-safe; the newest note is kept, so a tree that has not grown is not signed again.
class Checkpointer {
 public:
  Checkpointer(tlog::Signer signer, std::string origin);

  const std::string& origin() const { return origin_; }
  // The verifier key in note format: <name>+<hex key id>+<base64 key>.
  std::string verifier_key() const { return signer_.vkey(); }
  // The signed checkpoint note of `head`.
  Result<std::string> sign(const TreeHead& head) const;

 private:
  tlog::Signer signer_;
  std::string origin_;
  mutable std::mutex mu_;
  mutable std::int64_t signed_size_ = -1;  // guarded by mu_
  mutable std::string signed_note_;        // guarded by mu_
};

// The tree head of `size` events (at most the tree's), from the stored hashes.
Result<TreeHead> tree_head_at(const tlog::HashReader& reader, std::int64_t size);

struct InclusionProof {
  std::int64_t leaf_index = 0;  // seq - 1
  std::int64_t tree_size = 0;
  tlog::Hash leaf_hash{};  // SHA-256(0x00 || the event's hash)
  std::vector<tlog::Hash> hashes;
};

// The proof that event `seq` is in the tree of `size` events; `tree_size` is the tree's current
// size. Errors (malformed, naming "seq" or "size"): seq 0 or beyond size, size beyond the tree.
Result<InclusionProof> prove_inclusion(const tlog::HashReader& reader, std::uint64_t seq,
                                       std::int64_t size, std::int64_t tree_size);

struct ConsistencyProof {
  std::int64_t from = 0;
  std::int64_t to = 0;
  std::vector<tlog::Hash> hashes;
};

// The proof that the tree of `to` events extends the tree of `from`. Errors (malformed, naming
// "from" or "to"): from 0, from > to, to beyond the tree.
Result<ConsistencyProof> prove_consistency(const tlog::HashReader& reader, std::int64_t from,
                                           std::int64_t to, std::int64_t tree_size);

// {"leaf_index", "tree_size", "leaf_hash", "hashes"} and {"from", "to", "hashes"}, hashes in
// base64 (SPEC §8).
void write_json(JsonWriter& w, const InclusionProof& p);
void write_json(JsonWriter& w, const ConsistencyProof& p);

}  // namespace filingd
