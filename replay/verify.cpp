#include "replay/verify.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <thread>

#include "replay/verify_fold.hpp"
#include "replay/verify_log.hpp"

// Design: two threads. The log checker (a helper thread) walks the log (hashes, chain, seq,
// versions), then the meta head, the two indexes and the digest of the live projections; it
// hands each decoded event to the folder (the calling thread), which runs the projector over
// the scratch projections. The fold is the costlier half, so the log checks ride along. The
// comparison of the projections follows the fold: the live column family is scanned in key
// order and each key looked up in the scratch set, the lower half of the keys by the folder
// and, on large ledgers, the upper half by the helper once its checks are done. The recorded
// states of the idempotency entries, which need both halves, are compared last.

namespace filingd {
namespace {

using namespace verify_detail;

// One value handed from one thread to another, once; wait() blocks until it is given.
class Handoff {
 public:
  void give(std::optional<std::string> value) {
    std::lock_guard lock(mu_);
    if (given_) return;
    given_ = true;
    value_ = std::move(value);
    cv_.notify_all();
  }
  std::optional<std::string> wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return given_; });
    return value_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool given_ = false;
  std::optional<std::string> value_;
};

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
  const bool fold = options.check_projections && rebuilding.IsNotFound();

  BatchQueue queue;
  LogChecker checker(reads, options, fold ? &queue : nullptr);
  std::unique_ptr<Folder> folder;
  std::optional<Folder::LiveScan> scan;
  Status checked;
  if (fold) {
    std::uint64_t events = 0;
    if (store.db()->Get(reads.point, store.cf(Cf::meta), keys::kHead, &raw).ok())
      if (auto head = decode_head(raw)) events = head->seq.value;
    folder = std::make_unique<Folder>(reads, std::min<std::uint64_t>(events, 1u << 30));
    // After its checks the helper scans the upper half of the projections, if given a split.
    Handoff upper_half;
    std::optional<Folder::LiveScan> upper;
    Status upper_scanned;
    std::thread helper([&] {
      checked = run_guarded([&] { return checker.run(report); });
      queue.close();  // also after an exception: the folder must not wait forever
      if (auto from = upper_half.wait()) {
        upper_scanned = run_guarded([&]() -> Status {
          auto s = folder->scan_range(*from, {}, nullptr);
          if (!s) return s.take_error();
          upper = std::move(*s);
          return {};
        });
      }
    });
    bool drained = false;
    Status folded = run_guarded([&] {
      drained = folder->run(queue);
      queue.stop();  // releases the checker if the fold ended early
      // Drained: the log walk is over (it closes the queue when done), so its verdict can be
      // read; the comparison's lookups then overlap the checker's index checks.
      if (!drained || !folder->complete() || !checker.log_complete()) return Status{};
      const std::string split = folder->split_key(options.split_scan_above);
      if (!split.empty()) upper_half.give(split);
      ProjectionDigest rebuilt;
      auto lower = folder->scan_range({}, split, &rebuilt);
      if (!lower) return Status(lower.take_error());
      upper_half.give(std::nullopt);  // (no-op once given)
      helper.join();
      if (!upper_scanned) return upper_scanned;
      if (!split.empty() && !upper)
        return Status(make_error(ErrorCode::internal, "the upper half was not scanned"));
      scan = Folder::finish_scan(std::move(*lower), rebuilt, std::move(upper));
      return Status{};
    });
    queue.stop();
    upper_half.give(std::nullopt);
    if (helper.joinable()) helper.join();
    if (!folded) return folded.take_error();
  } else {
    checked = run_guarded([&] { return checker.run(report); });
  }
  if (!checked) return checked.take_error();

  Check states;
  if (folder) {
    // The state each event led to, as its idempotency entry recorded it and as replayed.
    const auto& seqs = checker.seqs();
    const auto& replayed = folder->states();
    for (std::size_t i = 0; i < std::min(seqs.size(), replayed.size()); ++i) {
      if (seqs[i].has_idempotency && seqs[i].recorded_state != replayed[i])
        states.add(Seq(i + 1), "the idempotency entry of " + checker.describe_event(i + 1) +
                                   " records state " + state_name(seqs[i].recorded_state) +
                                   ", the replay gives " + state_name(replayed[i]));
    }
    // Compare only a full rebuild: a partial one differs by construction.
    if (scan && checker.live_digest()) {
      auto compared = run_guarded(
          [&] { return folder->compare(report, std::move(*scan), *checker.live_digest()); });
      if (!compared) return compared.take_error();
    }
  }

  report.filings = checker.filings();
  checker.take_problems(report.problems);
  if (folder) folder->take_problems(report.problems);
  report.problems.insert(report.problems.end(), states.problems.begin(), states.problems.end());
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
