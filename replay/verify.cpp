#include "replay/verify.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <thread>

#include "ledger/ledger.hpp"
#include "replay/verify_fold.hpp"
#include "replay/verify_log.hpp"

// Design: two threads. The log checker (a helper thread) walks the log (hashes, chain, seq,
// versions), then the meta head, the streams index and the digest of the live projections; it
// hands each decoded event to the folder (the calling thread), which runs the projector into a
// scratch store's projections. The fold is the costlier half, so the log checks ride along.
// The rebuilt projections' digest follows the fold; the idempotency index, whose entries record
// the state the fold gives each event, is compared last.

namespace filingd {
namespace {

using namespace verify_detail;

Status run_guarded(const std::function<Status()>& body) {
  try {
    return body();
  } catch (const std::exception& ex) {
    return make_error(ErrorCode::internal, std::string("verification aborted: ") + ex.what());
  }
}

Result<VerifyReport> verify(const Store& store, const VerifyOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  Snapshot snapshot(store);
  Reads reads{store, {}, {}};
  reads.point.snapshot = snapshot.get();
  reads.scan = reads.point;
  reads.scan.fill_cache = false;  // one sequential pass over each column family
  reads.scan.readahead_size = 4 << 20;

  VerifyReport report;
  Check marker;
  std::string raw;
  auto rebuilding = store.db()->Get(reads.point, store.cf(Cf::meta), keys::kRebuildMarker, &raw);
  if (!rebuilding.ok() && !rebuilding.IsNotFound())
    return from_rocksdb(rebuilding, "meta read failed");
  if (rebuilding.ok())
    marker.add(Seq(0),
               "a projection rebuild was interrupted: the projections are incomplete "
               "(run filingctl rebuild-projections with the daemon stopped)");
  // Projections and a tree of another version's layout are no evidence against the log: said
  // once, not compared (the daemon rebuilds them when it opens the ledger).
  auto layout = projections_layout_current(store);
  if (!layout) return layout.take_error();
  if (!*layout)
    marker.add(Seq(0),
               "the projections and the Merkle tree were built by another version of filingd and "
               "were not compared (run filingctl rebuild-projections with the daemon stopped); "
               "the log itself was checked");
  const bool fold = options.check_projections && rebuilding.IsNotFound() && *layout;

  // A store of its own for what the checks rebuild, removed afterwards.
  const BudgetShares budget(options.memory_budget);
  auto scratch = open_scratch(options.scratch_dir, budget.scratch_cache);
  if (!scratch) return scratch.take_error();
  BatchQueue queue;
  LogChecker checker(reads, **scratch, options, fold ? &queue : nullptr, *layout);
  std::unique_ptr<Folder> folder;
  bool rebuilt = false;  // the scratch projections are a rebuild of the whole log
  Status checked;
  if (fold) {
    folder = std::make_unique<Folder>(**scratch, budget);
    std::thread helper([&] {
      checked = run_guarded([&] { return checker.run(report); });
      queue.close();  // also after an exception: the folder must not wait forever
    });
    Status folded = run_guarded([&]() -> Status {
      auto drained = folder->run(queue);
      queue.stop();  // releases the checker if the fold ended early
      if (!drained) return drained.take_error();
      rebuilt = *drained && folder->complete();
      // While the checker may still be at its index checks.
      return rebuilt ? folder->digest() : Status{};
    });
    queue.stop();
    helper.join();
    if (!folded) return folded.take_error();
  } else {
    checked = run_guarded([&] { return checker.run(report); });
  }
  if (!checked) return checked.take_error();

  if (folder) {
    // The idempotency index, with the state each event led to as replayed.
    const bool complete = rebuilt && checker.log_complete();
    auto compared = run_guarded(
        [&] { return checker.check_idempotency(report, folder->folded(), complete, true); });
    if (!compared) return compared.take_error();
    // Compare only a full rebuild: a partial one differs by construction.
    if (complete && checker.live_digest()) {
      compared =
          run_guarded([&] { return folder->compare(report, reads, *checker.live_digest()); });
      if (!compared) return compared.take_error();
    }
  }

  report.filings = checker.filings();
  checker.take_problems(report.problems);
  if (folder) folder->take_problems(report.problems);
  report.problems.insert(report.problems.end(), marker.problems.begin(), marker.problems.end());
  std::stable_sort(report.problems.begin(), report.problems.end(),
                   [](const VerifyProblem& a, const VerifyProblem& b) {
                     return a.seq.value - 1 < b.seq.value - 1;  // no seq (0) sorts last
                   });
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace

std::optional<ExpectedHead> parse_expected_head(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  ExpectedHead h;
  for (char c : text.substr(0, colon)) {
    if (c < '0' || c > '9' || h.seq.value > (UINT64_MAX - 9) / 10) return std::nullopt;
    h.seq.value = h.seq.value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (h.seq.value == 0 || !from_hex(text.substr(colon + 1), h.hash)) return std::nullopt;
  return h;
}

Result<VerifyReport> verify_ledger(const Store& store, const VerifyOptions& options) {
  return verify(store, options);
}

}  // namespace filingd
