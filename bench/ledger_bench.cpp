// Benchmarks of the ledger's durable appends (SPEC §2.1), reported in docs/PERFORMANCE.md.
//
//   BM_LedgerAppend/N       durable appends/s through Ledger::append with N concurrent appenders
//                           (threads): the ledger's own group commit (one WriteBatch and one
//                           fsync per drained queue, decided while the previous one is written).
//   BM_LedgerAppendAsync/N  the same with N appends in flight through append_async and no
//                           appender threads, as the daemon's HTTP handlers append.
//   BM_LedgerAppendAsyncClear/64  the same with personal data stored in clear (no keyring):
//                           the cost of sealing it (SPEC §5.2). Every other append benchmark
//                           seals it under a master key, as the daemon does.
//   BM_LedgerAppendAsyncNoTree/64  BM_LedgerAppendAsync/64 without the Merkle tree: its cost.
//   BM_RocksDbWriteGroup/N  the alternative design: N threads each calling DB::Write(sync=true)
//                           with a batch of the same shape and size as one ledger append, on the
//                           same column families, so RocksDB's write-group commit shares the
//                           fsyncs. No reads, no validation, no hashing: the raw ceiling.
//
// The passes over a 1,000,000-event ledger (rebuild, digest, tree, log floor) are in
// ledger_passes.cpp, linked into the same ledger_bench binary. Every benchmark runs on its own
// directory under $FILINGD_BENCH_DIR (default /tmp).
//
// Threads are explicit: one benchmark iteration starts N std::threads that each do a fixed
// number of appends, so opening and closing the ledger is outside the timed region.

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>

#include "bench/bench_support.hpp"
#include "ledger/format/keys.hpp"
#include "projections/status.hpp"

using namespace filingd;
using namespace filingd::bench;

namespace {

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

// "Cumulative WAL: 4096 writes, 512 syncs, 8.00 writes per sync, ..." from rocksdb.dbstats,
// which RocksDB keeps without a Statistics object. `what` is "writes per sync" or
// "writes per commit group".
inline double db_stat(rocksdb::DB* db, std::string_view what) {
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

BENCHMARK_MAIN();
