// ledger_bench's passes over a 1,000,000-event ledger (SPEC §2.3, §8), reported in
// docs/PERFORMANCE.md:
//
//   BM_Rebuild              rebuild_projections() over the ledger.
//   BM_Digest               projections_digest() over its projections.
//   BM_RebuildTree          rebuild_tree() (the Merkle tree of SPEC §8) over the same ledger.
//   BM_LogFloor/N           the least any pass over the same log does, on one thread: read each
//                           record (N=0), also check its hash (1, as verify does), also decode it
//                           (2, as every fold must): the floor under rebuild's and verify's rates.
//
// The ledger is built once, through Ledger::append, and kept in
// $FILINGD_BENCH_DIR/filingd-bench-1m for later runs (delete it to rebuild it).
// $FILINGD_BENCH_EVENTS sets another size for that ledger (a smoke run), kept in
// $FILINGD_BENCH_DIR/filingd-bench-<events>.

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>

#include "bench/bench_support.hpp"
#include "events/codec.hpp"
#include "events/hash.hpp"
#include "ledger/format/event_record.hpp"
#include "replay/rebuild.hpp"

using namespace filingd;
using namespace filingd::bench;

namespace {

// ---- the 1,000,000-event ledger -------------------------------------------------------------

constexpr std::uint64_t kLifecycleEvents = 8;
constexpr int kDatasetAppenders = 256;

// Events in the rebuild/digest dataset: $FILINGD_BENCH_EVENTS (rounded down to whole filings of
// 8 events), default 1,000,000. Smaller sizes are for smoke runs (bench/run with QUICK=1).
std::uint64_t rebuild_events() {
  static const std::uint64_t n = [] {
    std::uint64_t v = 1'000'000;
    if (const char* e = std::getenv("FILINGD_BENCH_EVENTS"); e != nullptr && *e != '\0')
      v = std::strtoull(e, nullptr, 10);
    return std::max(kLifecycleEvents, v / kLifecycleEvents * kLifecycleEvents);
  }();
  return n;
}
std::uint64_t rebuild_filings() { return rebuild_events() / kLifecycleEvents; }

std::string dataset_tag() {
  return "filingd ledger_bench dataset v1: " + std::to_string(rebuild_filings()) +
         " first_filings x 8 events, submitted .. approved";
}

// The 1,000,000-event dataset keeps its historical name; other sizes get their own directory.
fs::path dataset_dir() {
  const std::uint64_t n = rebuild_events();
  return bench_root() /
         (n == 1'000'000 ? std::string("filingd-bench-1m") : "filingd-bench-" + std::to_string(n));
}

bool dataset_valid(const fs::path& dir) {
  std::ifstream marker(dir / "BENCH_DATASET");
  std::string line;
  if (!std::getline(marker, line) || line != dataset_tag()) return false;
  auto store = Store::open(store_options(dir.string(), true, false));
  if (!store) return false;
  auto head = stored_head(**store);
  return head && head->seq.value == rebuild_events();
}

// One filing's whole path: submitted, photo rejected then approved, initial review approved
// (-> ready_for_bureau), submitted to the bureau (-> sms_pending, deadline pinned), one failed
// SMS attempt, SMS confirmed (-> bureau_review), bureau approved (-> approved, numbers issued).
void lifecycle(Ledger& ledger, std::uint64_t n, FirstError& err) {
  const std::string fid = filing_id(n);
  const std::string subject_number = "京ICP备" + std::to_string(2'000'000'000 + n) + "号";
  PhotoApproved photo_ok;
  photo_ok.reviewer = "rev-2";
  photo_ok.method = PhotoMethod::video;
  InitialReviewApproved review_ok;
  review_ok.reviewer = "rev-1";
  BureauApproved approved;
  approved.subject_record_number = subject_number;
  approved.websites = {WebsiteNumber{samples::domain_of(n, kDomains), subject_number + "-1"}};
  std::vector<Payload> steps = {submission(n),       photo_rejected(),   photo_ok,       review_ok,
                                SubmittedToBureau{}, SmsAttemptFailed{}, SmsConfirmed{}, approved};
  static_assert(kLifecycleEvents == 8);
  for (std::uint32_t v = 0; v < steps.size(); ++v) {
    auto c = command(fid, std::move(steps[v]), Version(v));
    c.must_create = v == 0;
    auto r = ledger.append(std::move(c));
    if (!r) {
      err.note(r.error(), "dataset append of " + fid);
      return;
    }
  }
}

Status build_dataset(const fs::path& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  const auto start = std::chrono::steady_clock::now();
  std::fprintf(stderr, "ledger_bench: building %llu events in %s (once; kept for later runs)\n",
               static_cast<unsigned long long>(rebuild_events()), dir.c_str());
  {
    auto opened = Ledger::open(ledger_options(dir.string()));
    if (!opened) return opened.take_error();
    Ledger& ledger = **opened;
    FirstError err;
    std::atomic<std::uint64_t> next{0};
    run_threads(kDatasetAppenders, [&](int) {
      for (;;) {
        const std::uint64_t f = next.fetch_add(1);
        if (f >= rebuild_filings() || err.any()) return;
        lifecycle(ledger, f, err);
        if (rebuild_filings() >= 10 && (f + 1) % (rebuild_filings() / 10) == 0)
          std::fprintf(stderr, "ledger_bench:   %llu%%\n",
                       static_cast<unsigned long long>((f + 1) * 100 / rebuild_filings()));
      }
    });
    if (err.any()) return make_error(ErrorCode::internal, err.message());
    if (ledger.head().seq.value != rebuild_events())
      return make_error(ErrorCode::internal,
                        "dataset head is " + std::to_string(ledger.head().seq.value));
  }
  std::ofstream(dir / "BENCH_DATASET") << dataset_tag() << "\n";
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "ledger_bench: dataset built in %.1f s (%.0f appends/s)\n", secs,
               static_cast<double>(rebuild_events()) / secs);
  return {};
}

// The 1,000,000-event ledger, built on first use; an error message if that failed.
const std::string& ensure_dataset() {
  static const std::string error = [] {
    const fs::path dir = dataset_dir();
    if (dataset_valid(dir)) return std::string();
    auto ok = build_dataset(dir);
    return ok ? std::string() : "building the dataset: " + ok.error().message;
  }();
  return error;
}

// The 1,000,000-event ledger's store, built first if need be; null (the benchmark skipped with
// the reason) if that failed.
std::unique_ptr<Store> open_dataset(benchmark::State& state, bool read_only) {
  if (const auto& error = ensure_dataset(); !error.empty()) {
    state.SkipWithError(error.c_str());
    return nullptr;
  }
  auto opened = Store::open(store_options(dataset_dir().string(), read_only, false));
  if (!opened) {
    state.SkipWithError(("open: " + opened.error().message).c_str());
    return nullptr;
  }
  return std::move(*opened);
}

std::uint64_t count_keys(const Store& store, Cf cf) {
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(rocksdb::ReadOptions(), store.cf(cf)));
  std::uint64_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
  return n;
}

void BM_Rebuild(benchmark::State& state) {
  auto opened = open_dataset(state, /*read_only=*/false);
  if (!opened) return;
  Store& store = *opened;
  auto before = projections_digest(store);
  std::uint64_t events = 0;
  for (auto _ : state) {
    auto r = rebuild_projections(store);
    if (!r) {
      state.SkipWithError(("rebuild: " + r.error().message).c_str());
      return;
    }
    events += r->events;
  }
  // Sanity check, outside the timed loop: the rebuild reproduces the projections it replaced.
  // They may legitimately differ once, when the cached dataset was written by an older
  // projector; later runs then compare rebuild against rebuild.
  auto after = projections_digest(store);
  if (!before || !after) {
    state.SkipWithError("projections_digest failed");
    return;
  }
  if (*before != *after)
    std::fprintf(stderr,
                 "ledger_bench: warning: rebuilt projections differ from the stored ones (dataset "
                 "written by an older projector? delete %s to rebuild it)\n",
                 dataset_dir().c_str());
  state.SetItemsProcessed(static_cast<std::int64_t>(events));
  state.counters["events"] = static_cast<double>(rebuild_events());
  state.counters["digest_match"] = *before == *after ? 1 : 0;
}

void BM_Digest(benchmark::State& state) {
  auto opened = open_dataset(state, /*read_only=*/true);
  if (!opened) return;
  const Store& store = *opened;
  std::uint64_t runs = 0;
  for (auto _ : state) {
    auto d = projections_digest(store);
    if (!d) {
      state.SkipWithError(("digest: " + d.error().message).c_str());
      return;
    }
    benchmark::DoNotOptimize(*d);
    ++runs;
  }
  const std::uint64_t keys = count_keys(store, Cf::projections);
  // items = ledger events covered by the digest; keys_per_s = projection entries hashed.
  state.SetItemsProcessed(static_cast<std::int64_t>(runs * rebuild_events()));
  state.counters["projection_keys"] = static_cast<double>(keys);
  state.counters["keys_per_s"] =
      benchmark::Counter(static_cast<double>(runs * keys), benchmark::Counter::kIsRate);
}

// The Merkle tree alone, rebuilt from the log's stored hashes (part of rebuild_projections).
void BM_RebuildTree(benchmark::State& state) {
  auto opened = open_dataset(state, /*read_only=*/false);
  if (!opened) return;
  Store& store = *opened;
  std::uint64_t events = 0;
  for (auto _ : state) {
    auto leaves = rebuild_tree(store);
    if (!leaves) {
      state.SkipWithError(("rebuild_tree: " + leaves.error().message).c_str());
      return;
    }
    events += *leaves;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(events));
  state.counters["tree_keys"] = static_cast<double>(count_keys(store, Cf::tree));
}

void BM_LogFloor(benchmark::State& state) {
  auto opened = open_dataset(state, /*read_only=*/true);
  if (!opened) return;
  const Store& store = *opened;
  const auto work = state.range(0);
  std::uint64_t events = 0;
  std::uint64_t bytes = 0;
  const double cpu_before = process_cpu_us();
  for (auto _ : state) {
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(ro, store.cf(Cf::log)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto record = split_record(it->value().ToStringView());
      if (!record) return state.SkipWithError(record.error().message.c_str());
      if (work >= 1 && chain_hash(record->body, record->prev_hash) != record->hash)
        return state.SkipWithError("a stored hash does not match its record");
      if (work >= 2) {
        auto e = decode_body(record->body);
        if (!e) return state.SkipWithError(e.error().message.c_str());
        benchmark::DoNotOptimize(e->seq);
      }
      bytes += it->value().size();
      ++events;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(events));
  state.counters["cpu_us"] = (process_cpu_us() - cpu_before) / static_cast<double>(events);
  state.counters["record_bytes"] = static_cast<double>(bytes) / static_cast<double>(events);
}

}  // namespace

BENCHMARK(BM_Rebuild)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Digest)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RebuildTree)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LogFloor)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
