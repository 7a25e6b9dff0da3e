// `filingctl verify` (SPEC §2.1, §3.2): proves that a ledger is intact, from the log up.
//
// One pass over the log checks, for every event in seq order: the hash over the stored body
// bytes (an altered byte anywhere in the event), the chain link to the previous event (an event
// removed, inserted or rewritten), that the event stored under key N says seq N (events moved
// or swapped), that seq is gapless from 1, and that each filing's versions run 1, 2, 3, ...
// The same pass folds the events, with the append path's projector, into the projections of a
// scratch store (a RocksDB of its own, removed afterwards). Then: the meta head is the last event;
// the streams and idempotency indexes hold exactly one entry per event, pointing at it (and the
// idempotency entry records the state the event led to); and the live projections equal the rebuilt
// ones (same digest as projections_digest, entry by entry). With an expected head SEQ:HASH (kept
// from an earlier verify, a receipt, or the Kafka topic) it also proves that the log up to SEQ was
// not rewritten since: the chain is intact and the event at SEQ still has that hash.
//
// Read-only and never touches the live projections: safe on a Store from open_for_reading()
// while the daemon runs. All reads see one point of the ledger (a RocksDB snapshot; on a
// secondary instance, its view, frozen since it was opened).
//
// Cost: one pass over each column family. The log checks run on a helper thread next to the
// fold (the costlier half): a verification keeps two cores busy for about the time of the
// fold. Memory: VerifyOptions::memory_budget and RocksDB's buffers, whatever the size of the
// ledger: what the checks need per event (the rebuilt projections, the streams and idempotency
// entries each event should have) goes to the scratch store, and is compared with the live
// column families in key order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/event.hpp"
#include "events/result.hpp"
#include "ledger/store.hpp"
#include "ledger/tree.hpp"
#include "replay/projection_fold.hpp"

namespace filingd {

struct ExpectedHead {
  Seq seq;
  Hash hash{};
};
// "SEQ:HEX" (64 hex digits); nullopt if malformed.
std::optional<ExpectedHead> parse_expected_head(std::string_view text);

struct VerifyOptions {
  std::optional<ExpectedHead> expect_head;
  // An auditor's checkpoint (its signature checked by the caller): the tree of its size must
  // have its root, i.e. today's log extends the one it was signed for.
  std::optional<TreeHead> since;
  bool check_projections = true;  // fold the log and compare with the live projections
  // What the passes may hold in memory, the scratch store's block cache included
  // (BudgetShares, replay/projection_fold.hpp). Beyond it, they write to the scratch store.
  std::size_t memory_budget = kDefaultFoldBudget;
  // Where the scratch store of rebuilt projections is made (and removed): empty, the system
  // temp dir. It needs about the live projections' disk space.
  std::string scratch_dir;
};

struct VerifyProblem {
  Seq seq;  // the first event the problem concerns; 0 when it concerns none
  std::string what;
};

struct VerifyReport {
  std::uint64_t events = 0;  // events that passed the log checks
  Seq head;                  // the last of them
  Hash head_hash{};
  std::uint64_t filings = 0;
  std::uint64_t stream_entries = 0;
  std::uint64_t idempotency_entries = 0;
  std::uint64_t projection_entries = 0;  // live
  // Events that hold personal data in clear (stored before it was sealed, SPEC §5.2).
  std::uint64_t clear_personal = 0;
  tlog::Hash tree_root{};  // the Merkle tree's root over the events that passed, from the log
  std::optional<Hash> live_digest;  // set when projections were compared
  std::optional<Hash> rebuilt_digest;
  // In seq order, problems without a seq last. Each check reports at most a few.
  std::vector<VerifyProblem> problems;
  double seconds = 0;

  bool ok() const { return problems.empty(); }
};

// Verifies everything above. Verification failures are problems in the report; an Error means
// the verification itself could not run (io).
Result<VerifyReport> verify_ledger(const Store& store, const VerifyOptions& options = {});

}  // namespace filingd
