#include "ledger/proofs.hpp"

#include "tlog/encoding.hpp"

namespace filingd {
namespace {

Error out_of_range(std::string message, std::string field) {
  return make_error(ErrorCode::malformed, std::move(message), std::move(field));
}

void write_hashes(JsonWriter& w, const std::vector<tlog::Hash>& hashes) {
  w.key("hashes").begin_array();
  for (const tlog::Hash& h : hashes) w.string(tlog::base64_encode(h));
  w.end_array();
}

}  // namespace

Checkpointer::Checkpointer(tlog::Signer signer, std::string origin)
    : signer_(std::move(signer)), origin_(std::move(origin)) {}

Result<std::string> Checkpointer::sign(const TreeHead& head) const {
  {
    std::lock_guard lock(mu_);
    if (head.size == signed_size_) return signed_note_;
  }
  auto note = tlog::sign_checkpoint(tlog::Checkpoint{origin_, head.size, head.root, {}}, signer_);
  if (!note) return note.take_error();
  std::lock_guard lock(mu_);
  if (head.size > signed_size_) {
    signed_size_ = head.size;
    signed_note_ = *note;
  }
  return note;
}

Result<TreeHead> tree_head_at(const tlog::HashReader& reader, std::int64_t size) {
  auto root = tlog::tree_hash(size, reader);
  if (!root) return root.take_error();
  return TreeHead{size, *root};
}

Result<InclusionProof> prove_inclusion(const tlog::HashReader& reader, std::uint64_t seq,
                                       std::int64_t size, std::int64_t tree_size) {
  if (size > tree_size)
    return out_of_range("size " + std::to_string(size) + " is beyond the tree's " +
                            std::to_string(tree_size) + " events",
                        "size");
  if (seq == 0 || seq > static_cast<std::uint64_t>(size))
    return out_of_range("seq " + std::to_string(seq) + " is not in the tree of " +
                            std::to_string(size) + " events (1.." + std::to_string(size) + ")",
                        "seq");
  InclusionProof p;
  p.leaf_index = static_cast<std::int64_t>(seq) - 1;
  p.tree_size = size;
  auto index = tlog::stored_hash_index(0, p.leaf_index);
  if (!index) return index.take_error();
  if (auto ok = reader(std::span(&*index, 1), std::span(&p.leaf_hash, 1)); !ok)
    return ok.take_error();
  auto hashes = tlog::prove_record(size, p.leaf_index, reader);
  if (!hashes) return hashes.take_error();
  p.hashes = std::move(*hashes);
  return p;
}

Result<ConsistencyProof> prove_consistency(const tlog::HashReader& reader, std::int64_t from,
                                           std::int64_t to, std::int64_t tree_size) {
  if (to > tree_size)
    return out_of_range("to " + std::to_string(to) + " is beyond the tree's " +
                            std::to_string(tree_size) + " events",
                        "to");
  if (from < 1) return out_of_range("from must be at least 1", "from");
  if (from > to)
    return out_of_range("from " + std::to_string(from) + " is after to " + std::to_string(to),
                        "from");
  auto hashes = tlog::prove_tree(to, from, reader);
  if (!hashes) return hashes.take_error();
  return ConsistencyProof{from, to, std::move(*hashes)};
}

void write_json(JsonWriter& w, const InclusionProof& p) {
  w.begin_object()
      .key("leaf_index")
      .number(static_cast<std::uint64_t>(p.leaf_index))
      .key("tree_size")
      .number(static_cast<std::uint64_t>(p.tree_size))
      .key("leaf_hash")
      .string(tlog::base64_encode(p.leaf_hash));
  write_hashes(w, p.hashes);
  w.end_object();
}

void write_json(JsonWriter& w, const ConsistencyProof& p) {
  w.begin_object()
      .key("from")
      .number(static_cast<std::uint64_t>(p.from))
      .key("to")
      .number(static_cast<std::uint64_t>(p.to));
  write_hashes(w, p.hashes);
  w.end_object();
}

}  // namespace filingd
