// GET /v1/filings/{id}/verify: the server's check of one filing's events, for the console's
// timeline (SPEC §7: "a mark that the chain verified on the server"). For each event, from the
// stored bytes, not from a decoded copy: its hash is SHA-256 over its body and prev_hash
// (hash_ok); its prev_hash is the stored hash of the event before it in the log (chain_ok); and
// its hash is leaf seq-1 of the Merkle tree whose signed checkpoint the ledger serves, checked by
// an inclusion proof against the tree's root (in_tree). `filingctl verify` checks the whole log;
// this checks what one page shows, in a few reads per event.
#include "daemon/api.hpp"
#include "daemon/handlers.hpp"
#include "events/encoding.hpp"
#include "events/hash.hpp"
#include "ledger/format/event_record.hpp"
#include "ledger/format/keys.hpp"
#include "ledger/ledger.hpp"
#include "ledger/proofs.hpp"

namespace filingd {
namespace {

namespace asio = boost::asio;

struct EventCheck {
  std::uint64_t seq = 0;
  Hash hash{};
  bool hash_ok = false;
  bool chain_ok = false;
  bool in_tree = false;
  bool ok() const { return hash_ok && chain_ok && in_tree; }
};

// The stored record of `seq`; nullopt when the log has none (a damaged log).
Result<std::optional<std::string>> stored(Ledger& ledger, std::uint64_t seq) {
  return ledger.store().get(Cf::log, keys::seq(Seq(seq)));
}

Result<EventCheck> check_event(Ledger& ledger, std::uint64_t seq, const TreeHead& tree) {
  EventCheck c;
  c.seq = seq;
  auto raw = stored(ledger, seq);
  if (!raw) return raw.take_error();
  if (!*raw) return c;  // the stream index names an event the log lacks: nothing holds
  auto record = split_record(**raw);
  if (!record) return c;
  c.hash = record->hash;
  c.hash_ok = chain_hash(record->body, record->prev_hash) == record->hash;

  if (seq == 1) {
    c.chain_ok = record->prev_hash == Hash{};
  } else {
    auto before = stored(ledger, seq - 1);
    if (!before) return before.take_error();
    if (*before) {
      auto prev = split_record(**before);
      c.chain_ok = prev && prev->hash == record->prev_hash;
    }
  }

  auto proof = prove_inclusion(ledger.tree_reader(), seq, tree.size, tree.size);
  if (!proof && proof.error().code == ErrorCode::io) return proof.take_error();
  c.in_tree = proof && tlog::check_record(proof->hashes, tree.size, tree.root,
                                          static_cast<std::int64_t>(seq) - 1,
                                          tlog::record_hash(record->hash));
  return c;
}

Task<Reply> verify_filing(Call& call) {
  const std::string& id = call.path.at(0);
  // The tree first: an event appended after it is left out (the next read checks it), rather
  // than reported as missing from a tree that had not grown yet.
  const TreeHead tree = call.ledger->tree_head();
  auto events = filing_stream(call, id);
  if (!events) co_return events.take_error();

  std::string items;
  JsonWriter w(items);
  w.begin_array();
  bool verified = true;
  for (const Event& e : *events) {
    if (e.seq.value > static_cast<std::uint64_t>(tree.size)) break;
    auto c = check_event(*call.ledger, e.seq.value, tree);
    if (!c) co_return c.take_error();
    verified = verified && c->ok();
    w.begin_object().key("seq").number(c->seq).key("hash").string(to_hex(c->hash));
    w.key("hash_ok").boolean(c->hash_ok).key("chain_ok").boolean(c->chain_ok);
    w.key("in_tree").boolean(c->in_tree).end_object();
  }
  w.end_array();

  std::string body;
  JsonWriter out(body);
  out.begin_object().key("filing_id").string(id).key("verified").boolean(verified);
  out.key("tree_size").number(static_cast<std::uint64_t>(tree.size));
  out.key("root_hash").string(base64(tree.root)).key("items").raw(items).end_object();
  co_return json_response(200, std::move(body));
}

constexpr Route kRoutes[] = {
    {"GET", "/v1/filings/{id}/verify", kReadHistory, verify_filing, "verify_filing"},
};

}  // namespace

std::span<const Route> chain_routes() { return kRoutes; }

}  // namespace filingd
