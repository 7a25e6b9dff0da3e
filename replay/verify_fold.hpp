// The projection half of `verify` (the calling thread): folds the events the log checker
// sends, with the append path's projector, into the projections of a scratch store (bounded
// memory: replay/projection_fold.hpp), then compares them with the live column family by their
// digests (projections_digest) and, when those differ, names the first differing keys.
// Internal to replay/verify.cpp.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "replay/projection_fold.hpp"
#include "replay/rebuild.hpp"
#include "replay/sorted_runs.hpp"
#include "replay/verify_support.hpp"

namespace filingd::verify_detail {

class Folder {
 public:
  Folder(Store& scratch, const BudgetShares& budget)
      : scratch_(scratch),
        fold_(scratch, budget.fold),
        idempotency_(scratch, Cf::idempotency, budget.runs) {}

  // Folds what the checker sends until it closes the queue (true: the log walk is over, and
  // the scratch projections complete) or an event does not replay (false), writing into the
  // scratch store the idempotency entry each folded event should have. An Error: the scratch
  // store failed.
  Result<bool> run(BatchQueue& queue) {
    auto folded = fold(queue);
    if (auto ok = idempotency_.flush(); !ok) return ok.take_error();
    return folded;
  }

  bool complete() const { return problems_.clean(); }
  // The last event folded.
  std::uint64_t folded() const { return folded_; }

  // The digest of the rebuilt projections (after run() returned true).
  Status digest() {
    auto rebuilt = projections_digest(scratch_);
    if (!rebuilt) return rebuilt.take_error();
    rebuilt_ = *rebuilt;
    return {};
  }

  // Compares the rebuilt projections (after digest()) with the live ones, whose digest and
  // number of entries the checker computed meanwhile.
  Status compare(VerifyReport& report, const Reads& live,
                 const std::pair<Hash, std::uint64_t>& live_digest) {
    report.projection_entries = live_digest.second;
    report.live_digest = live_digest.first;
    report.rebuilt_digest = rebuilt_;
    if (rebuilt_ == live_digest.first) return {};
    std::string what = "the projections differ from a rebuild of the log: live digest " +
                       to_hex(live_digest.first) + ", rebuilt " + to_hex(rebuilt_);
    std::vector<std::string> differences;
    if (auto ok = differing_keys(live, differences); !ok) return ok;
    for (const auto& d : differences) what += "; key " + d;
    problems_.add(Seq(0), std::move(what));
    return {};
  }

  void take_problems(std::vector<VerifyProblem>& out) {
    out.insert(out.end(), problems_.problems.begin(), problems_.problems.end());
  }

 private:
  // The first keys in which the live and rebuilt projections differ.
  Status differing_keys(const Reads& live, std::vector<std::string>& differences) const {
    return merge_columns(
        live.store, live.scan, scratch_, Cf::projections,
        [&](std::string_view key, const std::string_view* mine, const std::string_view* rebuilt) {
          const char* how = !rebuilt            ? "is live but not in the rebuild"
                            : !mine             ? "is in the rebuild but missing live"
                            : *mine != *rebuilt ? "has another value live than in the rebuild"
                                                : nullptr;
          if (how != nullptr) differences.push_back("\"" + printable(key) + "\" " + how);
          return differences.size() < kMaxProblemsPerCheck;
        });
  }

  Result<bool> fold(BatchQueue& queue) {
    for (;;) {
      std::vector<Event> batch = queue.pop();
      if (batch.empty()) {
        if (auto ok = fold_.finish(); !ok) return ok.take_error();
        return true;
      }
      for (const Event& e : batch) {
        auto state = fold_.fold(e);
        if (!state) {
          queue.stop();
          if (state.error().code == ErrorCode::io) return state.take_error();
          problems_.add(e.seq, "the event does not replay: " + state.error().message);
          return false;
        }
        idempotency_.put(e.event_id, expected_idempotency(e.seq, e.version, *state));
        folded_ = e.seq.value;
      }
      queue.recycle(std::move(batch));
    }
  }

  Store& scratch_;
  ProjectionFold fold_;
  SortedRuns idempotency_;
  std::uint64_t folded_ = 0;
  Hash rebuilt_{};
  Check problems_;
};

}  // namespace filingd::verify_detail
