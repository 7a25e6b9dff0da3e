// Routes of the verifiable log (SPEC §8): the signed checkpoint and its verifier key, inclusion
// and consistency proofs, and the C2SP tlog-tiles read paths; and the receipt an append can ask
// for.
#include "daemon/api.hpp"
#include "daemon/handlers.hpp"
#include "ledger/ledger.hpp"
#include "ledger/proofs.hpp"
#include "tlog/tiles.hpp"

namespace filingd {
namespace {

namespace asio = boost::asio;

HttpResponse text_response(std::string body,
                           std::string content_type = "text/plain; charset=utf-8") {
  HttpResponse r;
  r.status = 200;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

Result<const Checkpointer*> checkpointer(const Call& call) {
  if (call.ctx.checkpoints == nullptr)
    return make_error(ErrorCode::unavailable, "this daemon has no signing key");
  return call.ctx.checkpoints;
}

// A query parameter that must be a positive count; absent: `fallback`.
Result<std::int64_t> count_param(const Call& call, std::string_view name, std::int64_t fallback) {
  auto v = call.query.uint(name);
  if (!v) return v.take_error();
  if (!*v) return fallback;
  if (**v > static_cast<std::uint64_t>(tlog::kMaxTreeSize))
    return malformed(std::string(name) + " is beyond any tree", std::string(name));
  return static_cast<std::int64_t>(**v);
}

Task<Reply> checkpoint(Call& call) {
  auto signer = checkpointer(call);
  if (!signer) co_return signer.take_error();
  auto note = (*signer)->sign(call.ledger->tree_head());
  if (!note) co_return note.take_error();
  co_return text_response(std::move(*note));
}

Task<Reply> checkpoint_key(Call& call) {
  auto signer = checkpointer(call);
  if (!signer) co_return signer.take_error();
  co_return text_response((*signer)->verifier_key() + "\n");
}

Task<Reply> inclusion(Call& call) {
  const std::int64_t tree_size = call.ledger->tree_head().size;
  auto seq = call.query.uint("seq");
  if (!seq) co_return seq.take_error();
  if (!*seq) co_return malformed("seq is required", "seq");
  auto size = count_param(call, "size", tree_size);
  if (!size) co_return size.take_error();
  auto proof = prove_inclusion(call.ledger->tree_reader(), **seq, *size, tree_size);
  if (!proof) co_return proof.take_error();
  std::string body;
  JsonWriter w(body);
  write_json(w, *proof);
  co_return json_response(200, std::move(body));
}

Task<Reply> consistency(Call& call) {
  const std::int64_t tree_size = call.ledger->tree_head().size;
  auto from = call.query.uint("from");
  if (!from) co_return from.take_error();
  if (!*from) co_return malformed("from is required", "from");
  if (**from > static_cast<std::uint64_t>(tlog::kMaxTreeSize))
    co_return malformed("from is beyond any tree", "from");
  auto to = count_param(call, "to", tree_size);
  if (!to) co_return to.take_error();
  auto proof = prove_consistency(call.ledger->tree_reader(), static_cast<std::int64_t>(**from), *to,
                                 tree_size);
  if (!proof) co_return proof.take_error();
  std::string body;
  JsonWriter w(body);
  write_json(w, *proof);
  co_return json_response(200, std::move(body));
}

// A hash tile, or an entry bundle (each event's hash as its leaf data). A tile of the current
// tree never changes (a partial one is a prefix of the full tile it grows into).
Task<Reply> tile(Call& call) {
  const std::int64_t tree_size = call.ledger->tree_head().size;
  auto t = tlog::parse_tile_path("tile/" + call.path[0], tree_size);
  if (!t) {
    Error e = t.take_error();
    e.field = "path";
    co_return e;
  }
  std::string bytes;
  if (t->level == tlog::kEntriesLevel) {
    const Seq before(static_cast<std::uint64_t>(t->n) * tlog::kFullTileWidth);
    auto events = call.ledger->events_after(before, static_cast<std::size_t>(t->width));
    if (!events) co_return events.take_error();
    if (events->size() != static_cast<std::size_t>(t->width))
      co_return make_error(ErrorCode::internal, "the log is shorter than its tree");
    std::vector<tlog::Hash> leaves;
    leaves.reserve(events->size());
    for (const Event& e : *events) leaves.push_back(e.hash);
    bytes = tlog::encode_entry_bundle(leaves);
  } else {
    auto read = tlog::read_tile(*t, tree_size, call.ledger->tree_reader());
    if (!read) co_return read.take_error();
    bytes = std::move(*read);
  }
  HttpResponse r = text_response(std::move(bytes), "application/octet-stream");
  if (t->full()) r.headers.emplace_back("Cache-Control", "public, max-age=31536000, immutable");
  co_return r;
}

constexpr QueryParam kInclusionParams[] = {{"seq"}, {"size"}};
constexpr QueryParam kConsistencyParams[] = {{"from"}, {"to"}};

constexpr Route kRoutes[] = {
    {"GET", "/v1/ledger/checkpoint", kReadProjections, checkpoint, "checkpoint"},
    {"GET", "/v1/ledger/checkpoint/key", kReadProjections, checkpoint_key, "checkpoint_key"},
    {"GET", "/v1/ledger/proof/inclusion", kReadProjections, inclusion, "proof_inclusion",
     kInclusionParams},
    {"GET", "/v1/ledger/proof/consistency", kReadProjections, consistency, "proof_consistency",
     kConsistencyParams},
    {"GET", "/v1/ledger/tile/{path*}", kReadProjections, tile, "tile"},
};

}  // namespace

std::span<const Route> proof_routes() { return kRoutes; }

Result<bool> wants_receipt(const Call& call) {
  auto wanted = call.query.get("receipt");
  if (!wanted || *wanted == "false") return false;
  if (*wanted != "true") return malformed("receipt must be true or false", "receipt");
  auto signer = checkpointer(call);
  if (!signer) return signer.take_error();
  return true;
}

Result<std::string> receipt_json(const Call& call, Seq seq) {
  auto signer = checkpointer(call);
  if (!signer) return signer.take_error();
  // The append is durable and published: the tree head holds it.
  const TreeHead head = call.ledger->tree_head();
  auto note = (*signer)->sign(head);
  if (!note) return note.take_error();
  auto proof = prove_inclusion(call.ledger->tree_reader(), seq.value, head.size, head.size);
  if (!proof) return proof.take_error();
  std::string json;
  JsonWriter w(json);
  w.begin_object().key("checkpoint").string(*note).key("inclusion");
  write_json(w, *proof);
  w.end_object();
  return json;
}

}  // namespace filingd
