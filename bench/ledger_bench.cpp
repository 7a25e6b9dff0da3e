// Benchmarks of the ledger core (SPEC §2.1), reported in docs/PERFORMANCE.md.
//
//   BM_LedgerAppend/N       durable appends/s through Ledger::append with N concurrent appenders
//                           (threads): the ledger's own group commit (one WriteBatch and one
//                           fsync per drained queue, decided while the previous one is written).
//   BM_LedgerAppendAsync/N  the same with N appends in flight through append_async and no
//                           appender threads, as the daemon's HTTP handlers append.
//   BM_LedgerAppendAsyncClear/64  the same with personal data stored in clear (no keyring):
//                           the cost of sealing it (SPEC §5.2). Every other append benchmark
//                           seals it under a master key, as the daemon does.
//   BM_RocksDbWriteGroup/N  the alternative design: N threads each calling DB::Write(sync=true)
//                           with a batch of the same shape and size as one ledger append, on the
//                           same column families, so RocksDB's write-group commit shares the
//                           fsyncs. No reads, no validation, no hashing: the raw ceiling.
//   BM_Rebuild              rebuild_projections() over a 1,000,000-event ledger.
//   BM_Digest               projections_digest() over the same ledger's projections.
//   BM_RebuildTree          rebuild_tree() (the Merkle tree of SPEC §8) over the same ledger.
//   BM_LedgerAppendAsyncNoTree/64  BM_LedgerAppendAsync/64 without the Merkle tree: its cost.
//   BM_LogFloor/N           the least any pass over the same log does, on one thread: read each
//                           record (N=0), also check its hash (1, as verify does), also decode it
//                           (2, as every fold must): the floor under rebuild's and verify's rates.
//
// Every benchmark runs on its own directory under $FILINGD_BENCH_DIR (default /tmp). The
// 1,000,000-event ledger is built once, through Ledger::append, and kept in
// $FILINGD_BENCH_DIR/filingd-bench-1m for later runs (delete it to rebuild it).
// $FILINGD_BENCH_EVENTS sets another size for that ledger (a smoke run), kept in
// $FILINGD_BENCH_DIR/filingd-bench-<events>.
//
// Threads are explicit: one benchmark iteration starts N std::threads that each do a fixed
// number of appends, so opening and closing the ledger is outside the timed region.

#include <benchmark/benchmark.h>
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <latch>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "events/codec.hpp"
#include "events/hash.hpp"
#include "ledger/format/event_record.hpp"
#include "ledger/format/keys.hpp"
#include "ledger/ledger.hpp"
#include "ledger/store.hpp"
#include "projections/status.hpp"
#include "replay/rebuild.hpp"
#include "tests/samples/samples.hpp"

namespace fs = std::filesystem;
using namespace filingd;

namespace {

// ---- environment ------------------------------------------------------------------------

fs::path bench_root() {
  if (const char* d = std::getenv("FILINGD_BENCH_DIR"); d != nullptr && *d != '\0') return d;
  return "/tmp";
}

class TempDir {
 public:
  explicit TempDir(std::string_view what) {
    std::random_device rd;
    path_ = bench_root() / ("filingd-bench-" + std::string(what) + "-" + std::to_string(rd()) +
                            std::to_string(rd()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

// CPU time of the whole process (every thread) so far, in microseconds.
double process_cpu_us() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const auto us = [](const timeval& t) { return t.tv_sec * 1e6 + static_cast<double>(t.tv_usec); };
  return us(ru.ru_utime) + us(ru.ru_stime);
}

// Options built field by field, so new option fields keep their defaults. `sealed`: personal
// data encrypted under a master key, as the daemon stores it (SPEC §5.2).
Ledger::Options ledger_options(const std::string& dir, bool sealed = false, bool tree = true) {
  Ledger::Options o;
  o.data_dir = dir;
  o.merkle_tree = tree;
  if (sealed) {
    auto keyring = Keyring::create(*privacy::Key::random());
    if (keyring) o.keyring = *keyring;
  }
  return o;
}

Store::Options store_options(const std::string& dir, bool read_only, bool create_if_missing) {
  Store::Options o;
  o.path = dir;
  o.read_only = read_only;
  o.create_if_missing = create_if_missing;
  return o;
}

// Remembers the first failure of any thread; the benchmark then reports it and is skipped.
class FirstError {
 public:
  void note(const Error& e, std::string_view where) {
    if (count_.fetch_add(1) == 0) {
      std::lock_guard lock(mu_);
      message_ =
          std::string(where) + ": " + e.message + (e.field.empty() ? "" : " [" + e.field + "]");
    }
  }
  bool any() const { return count_.load() != 0; }
  std::string message() const {
    std::lock_guard lock(mu_);
    return message_ + " (" + std::to_string(count_.load()) + " failures)";
  }

 private:
  std::atomic<std::uint64_t> count_{0};
  mutable std::mutex mu_;
  std::string message_;
};

// Runs body(t) on n threads that start together; returns when all are done.
template <class F>
void run_threads(int n, F&& body) {
  std::latch go(n);
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(n));
  for (int t = 0; t < n; ++t) {
    threads.emplace_back([&, t] {
      go.arrive_and_wait();
      body(t);
    });
  }
  for (auto& th : threads) th.join();
}

// "Cumulative WAL: 4096 writes, 512 syncs, 8.00 writes per sync, ..." from rocksdb.dbstats,
// which RocksDB keeps without a Statistics object. `what` is "writes per sync" or
// "writes per commit group".
double db_stat(rocksdb::DB* db, std::string_view what) {
  std::string text;
  if (!db->GetProperty(rocksdb::DB::Properties::kDBStats, &text)) return 0;
  const auto cumulative = text.find("Cumulative");
  if (cumulative == std::string::npos) return 0;
  const auto at = text.find(what, cumulative);
  if (at == std::string::npos) return 0;
  const auto comma = text.rfind(", ", at);
  if (comma == std::string::npos) return 0;
  return std::strtod(text.c_str() + comma + 2, nullptr);
}

// ---- the workload -------------------------------------------------------------------------

std::string filing_id(std::uint64_t n) { return "F" + std::to_string(n); }
constexpr std::string_view kDomains = "bench-filing.cn";
FilingSubmitted submission(std::uint64_t n) { return samples::submission(n, kDomains); }
using samples::photo_rejected;

AppendCommand command(const std::string& fid, Payload data, std::optional<Version> expected) {
  AppendCommand c;
  c.filing_id = fid;
  c.data = std::move(data);
  c.expected_version = expected;
  c.actor = "desk-1";
  return c;
}

// Globally distinct subject numbers for the append benchmarks, so iterations that reuse a
// ledger never collide on a subject or a domain.
std::atomic<std::uint64_t> g_next_subject{1'000'000};

// Append mix: each filing gets a submission and then kActionsPerFiling photo_rejected (which
// keeps the filing in provider_review): 1 in 4 appends creates a filing.
constexpr int kAppendsPerFiling = 4;
// Appends per benchmark iteration, split evenly over the appenders, but at most
// kMaxAppendsPerThread each: a lone appender does one fsync per append, and on a slow disk
// (~300 fsync/s) 4096 of them would take 15 s per iteration.
constexpr int kAppendsPerIteration = 4096;
constexpr int kMaxAppendsPerThread = 1024;

int appends_per_thread(int threads) {
  const int per = std::min(kMaxAppendsPerThread, kAppendsPerIteration / threads);
  return std::max(kAppendsPerFiling, per / kAppendsPerFiling * kAppendsPerFiling);
}

// The i-th command of an appender: a new filing every kAppendsPerFiling, else an action on it.
AppendCommand next_command(int i, std::string& fid) {
  if (i % kAppendsPerFiling == 0) {
    const std::uint64_t n = g_next_subject.fetch_add(1);
    fid = filing_id(n);
    AppendCommand c = command(fid, submission(n), std::nullopt);
    c.must_create = true;
    return c;
  }
  return command(fid, photo_rejected(), std::nullopt);
}

void append_loop(Ledger& ledger, int appends, FirstError& err) {
  std::string fid;
  for (int i = 0; i < appends; ++i) {
    auto r = ledger.append(next_command(i, fid));
    if (!r) err.note(r.error(), "append");
  }
}

// One appender without a thread of its own: each answer (on the ledger's completion thread)
// issues its next append, as the daemon's HTTP handlers do from their I/O threads.
class AsyncAppender {
 public:
  AsyncAppender(Ledger& ledger, int appends, FirstError& err, std::latch& done)
      : ledger_(ledger), appends_(appends), err_(err), done_(done) {}
  void next() {
    ledger_.append_async(next_command(i_, fid_), [this](Result<AppendResult> r) {
      if (!r) err_.note(r.error(), "append_async");
      if (++i_ == appends_)
        done_.count_down();
      else
        next();
    });
  }

 private:
  Ledger& ledger_;
  const int appends_;
  FirstError& err_;
  std::latch& done_;
  int i_ = 0;
  std::string fid_;
};

// ---- a. durable appends through the ledger ------------------------------------------------

// N concurrent appenders on one ledger: N threads calling append(), or (async) N appenders in
// flight through append_async. Reports appends/s, appends per group commit (= per WAL fsync) and
// the CPU time of all threads per append.
void append_benchmark(benchmark::State& state, bool async, bool sealed = true, bool tree = true) {
  const int appenders = static_cast<int>(state.range(0));
  const int per_appender = appends_per_thread(appenders);
  TempDir dir("append");
  FirstError err;
  std::uint64_t appends = 0;
  std::uint64_t commits = 0;
  double cpu_us = 0;
  {
    auto opened = Ledger::open(ledger_options(dir.str(), sealed, tree));
    if (!opened) {
      state.SkipWithError(("open: " + opened.error().message).c_str());
      return;
    }
    Ledger& ledger = **opened;
    const std::uint64_t commits_before = ledger.group_commits();
    const double cpu_before = process_cpu_us();
    for (auto _ : state) {
      if (async) {
        std::latch done(appenders);
        std::vector<std::unique_ptr<AsyncAppender>> all;
        for (int a = 0; a < appenders; ++a)
          all.push_back(std::make_unique<AsyncAppender>(ledger, per_appender, err, done));
        for (auto& a : all) a->next();
        done.wait();
      } else {
        run_threads(appenders, [&](int) { append_loop(ledger, per_appender, err); });
      }
      appends += static_cast<std::uint64_t>(appenders) * static_cast<std::uint64_t>(per_appender);
    }
    cpu_us = process_cpu_us() - cpu_before;
    commits = ledger.group_commits() - commits_before;
  }  // the ledger drains and closes here, after the timed loop
  if (err.any()) {
    state.SkipWithError(err.message().c_str());
    return;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(appends));
  state.counters["appenders"] = appenders;
  state.counters["fsyncs"] = static_cast<double>(commits);
  state.counters["batch"] =
      commits ? static_cast<double>(appends) / static_cast<double>(commits) : 0;
  state.counters["cpu_us"] = cpu_us / static_cast<double>(appends);
}

void BM_LedgerAppend(benchmark::State& state) { append_benchmark(state, false); }
void BM_LedgerAppendAsync(benchmark::State& state) { append_benchmark(state, true); }
void BM_LedgerAppendAsyncClear(benchmark::State& state) { append_benchmark(state, true, false); }
void BM_LedgerAppendAsyncNoTree(benchmark::State& state) {
  append_benchmark(state, true, true, false);
}

// ---- b. the alternative: RocksDB's own write grouping ---------------------------------------

// The bytes one ledger append writes, taken from a real ledger: the stored log records of a
// submission and of a photo_rejected, and the status projection after each.
struct AppendShape {
  std::string log_submit, log_action;
  std::string status_submit, status_action;
  std::size_t submit_bytes = 0, action_bytes = 0;  // key + value bytes of one append's batch
};

const AppendShape& append_shape() {
  static const AppendShape shape = [] {
    AppendShape s;
    TempDir dir("shape");
    auto opened = Ledger::open(ledger_options(dir.str(), true));
    if (!opened) return s;
    Ledger& ledger = **opened;
    const std::string fid = filing_id(42);
    auto a = ledger.append(command(fid, submission(42), std::nullopt));
    auto status1 = ledger.store().get(Cf::projections, keys::status(fid));
    auto b = ledger.append(command(fid, photo_rejected(), std::nullopt));
    auto status2 = ledger.store().get(Cf::projections, keys::status(fid));
    auto log1 = ledger.store().get(Cf::log, keys::seq(Seq(1)));
    auto log2 = ledger.store().get(Cf::log, keys::seq(Seq(2)));
    if (!a || !b || !status1 || !status2 || !log1 || !log2 || !*status1 || !*status2 || !*log1 ||
        !*log2)
      return s;
    s.log_submit = **log1;
    s.log_action = **log2;
    s.status_submit = **status1;
    s.status_action = **status2;
    return s;
  }();
  return shape;
}

std::atomic<std::uint64_t> g_raw_seq{0};

// One append's batch, shaped like the ledger's: log record, stream index, idempotency entry,
// status projection, head; a submission also adds its three list indexes and the open-filing
// entry. Returns the batch's payload bytes.
std::size_t raw_append_batch(const Store& store, const AppendShape& shape, bool submit,
                             std::uint64_t n, std::uint32_t version, rocksdb::WriteBatch& wb) {
  const std::string fid = filing_id(n);
  const std::uint64_t seq = g_raw_seq.fetch_add(1) + 1;
  const std::string event_id = new_event_id(SystemClock().now());  // as the ledger generates
  const std::string idem = encode_idempotency({Seq(seq), Version(version), FilingState::none, {}});
  const std::string head = encode_head({Seq(seq), {}});
  const std::string seq_key = keys::seq(Seq(seq));
  std::size_t bytes = 0;
  auto put = [&](Cf cf, const std::string& key, const std::string& value) {
    wb.Put(store.cf(cf), key, value).PermitUncheckedError();
    bytes += key.size() + value.size();
  };
  put(Cf::log, seq_key, submit ? shape.log_submit : shape.log_action);
  put(Cf::streams, keys::stream(fid, Version(version)), seq_key);
  put(Cf::idempotency, event_id, idem);
  put(Cf::projections, keys::status(fid), submit ? shape.status_submit : shape.status_action);
  if (submit) {
    put(Cf::projections, keys::index(keys::Index::state, "provider_review", fid), "");
    put(Cf::projections, keys::index(keys::Index::province, "京", fid), "");
    put(Cf::projections, keys::index(keys::Index::type, "first_filing", fid), "");
    put(Cf::projections, keys::open_filing("uscc:" + std::to_string(n)), fid);
  }
  put(Cf::meta, std::string(keys::kHead), head);
  return bytes;
}

void BM_RocksDbWriteGroup(benchmark::State& state) {
  const int writers = static_cast<int>(state.range(0));
  const int per_thread = appends_per_thread(writers);
  const AppendShape& shape = append_shape();
  if (shape.log_submit.empty()) {
    state.SkipWithError("could not sample the append shape from a ledger");
    return;
  }
  TempDir dir("rawdb");
  auto opened = Store::open(store_options(dir.str(), false, true));
  if (!opened) {
    state.SkipWithError(("open: " + opened.error().message).c_str());
    return;
  }
  Store& store = **opened;
  FirstError err;
  std::uint64_t appends = 0;
  std::atomic<std::uint64_t> bytes{0};
  const double cpu_before = process_cpu_us();
  for (auto _ : state) {
    run_threads(writers, [&](int) {
      std::uint64_t n = 0;
      std::uint32_t version = 0;
      std::uint64_t mine = 0;
      rocksdb::WriteOptions wo;
      wo.sync = true;
      for (int i = 0; i < per_thread; ++i) {
        const bool submit = i % kAppendsPerFiling == 0;
        if (submit) {
          n = g_next_subject.fetch_add(1);
          version = 0;
        }
        rocksdb::WriteBatch wb;
        mine += raw_append_batch(store, shape, submit, n, ++version, wb);
        rocksdb::Status s = store.db()->Write(wo, &wb);
        if (!s.ok()) err.note(from_rocksdb(s, "write"), "write");
      }
      bytes.fetch_add(mine);
    });
    appends += static_cast<std::uint64_t>(writers) * static_cast<std::uint64_t>(per_thread);
  }
  const double cpu_us = process_cpu_us() - cpu_before;
  if (err.any()) {
    state.SkipWithError(err.message().c_str());
    return;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(appends));
  state.counters["writers"] = writers;
  state.counters["batch_bytes"] = static_cast<double>(bytes.load()) / static_cast<double>(appends);
  // Writers per WAL fsync and per write group, from RocksDB's own DB stats.
  state.counters["batch"] = db_stat(store.db(), "writes per sync");
  state.counters["per_group"] = db_stat(store.db(), "writes per commit group");
  state.counters["cpu_us"] = cpu_us / static_cast<double>(appends);
}

// ---- c. rebuild and digest over 1,000,000 events ---------------------------------------------

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

BENCHMARK(BM_LedgerAppend)->Arg(1)->Arg(8)->Arg(64)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LedgerAppendAsync)
    ->Arg(1)
    ->Arg(8)
    ->Arg(64)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LedgerAppendAsyncClear)->Arg(64)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LedgerAppendAsyncNoTree)->Arg(64)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RocksDbWriteGroup)
    ->Arg(1)
    ->Arg(8)
    ->Arg(64)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Rebuild)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Digest)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RebuildTree)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LogFloor)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
