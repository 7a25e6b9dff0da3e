// Timers at scale: start-to-ready with N pending deadlines, and the rate at which a backlog of
// N overdue deadlines fires. Not a Google Benchmark: both are one-shot measurements of a large
// data set, which is generated once (and cached) and copied before each run because firing
// consumes it.
//
//   timer_bench [--deadlines 1000000] [--cache DIR]
//   timer_bench --deadlines N --generate DIR    only writes the data set (bench/timer/backlog_gets)
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>

#include "daemon/api.hpp"
#include "daemon/http_server.hpp"
#include "daemon/timer_service.hpp"
#include "ledger/ledger.hpp"
#include "tests/samples/samples.hpp"

using namespace filingd;
namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

namespace {

double seconds_since(Steady::time_point t) {
  return std::chrono::duration<double>(Steady::now() - t).count();
}

long rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// N returned filings whose 45-day abandonment deadlines have all passed: submission and
// rejection back-dated 50 days. Appends are pipelined (a window in flight) so they share
// group commits.
void generate(const std::string& dir, std::uint64_t n) {
  auto ledger = Ledger::open({.data_dir = dir});
  if (!ledger) throw std::runtime_error(ledger.error().message);
  const Timestamp back = Timestamp{SystemClock().now().micros - 50 * kMicrosPerDay};
  constexpr std::uint64_t kWindow = 4096;
  std::mutex mu;
  std::condition_variable cv;
  std::uint64_t in_flight = 0, failures = 0;
  auto submit = [&](AppendCommand c) {
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return in_flight < kWindow; });
      ++in_flight;
    }
    (*ledger)->append_async(std::move(c), [&](Result<AppendResult> r) {
      std::lock_guard lock(mu);
      --in_flight;
      if (!r) ++failures;
      cv.notify_all();
    });
  };
  const auto start = Steady::now();
  for (int phase = 0; phase < 2; ++phase) {
    for (std::uint64_t i = 0; i < n; ++i) {
      AppendCommand c;
      c.filing_id = "B" + std::to_string(i);
      c.actor = "bench";
      c.occurred_at = back;
      if (phase == 0) {
        c.data = samples::submission(i, "bench-timer.cn");
      } else {
        c.data = InitialReviewRejected{};
      }
      submit(std::move(c));
    }
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return in_flight == 0; });
  }
  if (failures) throw std::runtime_error(std::to_string(failures) + " appends failed");
  std::printf("generated %llu filings (%llu events) in %.1f s\n",
              static_cast<unsigned long long>(n), static_cast<unsigned long long>(2 * n),
              seconds_since(start));
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t n = 1'000'000;
  std::string cache = (fs::temp_directory_path() / "filingd-bench-deadlines").string();
  std::string generate_only;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--deadlines") n = std::stoull(argv[i + 1]);
    if (flag == "--cache") cache = argv[i + 1];
    if (flag == "--generate") generate_only = argv[i + 1];
  }
  if (!generate_only.empty()) {
    generate(generate_only, n);
    return 0;
  }
  const std::string pristine = cache + "-" + std::to_string(n);
  if (!fs::exists(pristine + "/CURRENT")) {
    fs::remove_all(pristine);
    generate(pristine, n);
  }
  const std::string work = pristine + "-work";
  fs::remove_all(work);
  fs::copy(pristine, work, fs::copy_options::recursive);

  // Start-to-ready: what filingd does before it serves (open the ledger, start HTTP, arm the
  // timer service), with every deadline pending.
  const auto t0 = Steady::now();
  auto ledger = Ledger::open({.data_dir = work});
  if (!ledger) {
    std::fprintf(stderr, "%s\n", ledger.error().message.c_str());
    return 1;
  }
  SystemClock clock;
  WorkCalendar calendar;
  Api api(Authenticator({}), calendar, clock);
  api.attach_ledger(**ledger);
  HttpServer server(api, default_config().limits);
  if (!server.start("127.0.0.1", 0, 2)) return 1;
  TimerService timers(**ledger, clock);
  const double ready = seconds_since(t0);
  auto counts = (*ledger)->counts();
  std::uint64_t pending = 0;
  for (const auto& [name, count] : *counts)
    if (name == "deadline:abandon") pending = count;
  std::printf("pending deadlines: %llu\n", static_cast<unsigned long long>(pending));
  std::printf("start-to-ready: %.3f s (RSS %ld KiB)\n", ready, rss_kib());

  // The backlog: every deadline is overdue; fire them all.
  const auto t1 = Steady::now();
  const FireReport report = timers.fire_due();
  const double elapsed = seconds_since(t1);
  std::printf("backlog: fired %zu (skipped %zu) in %.2f s = %.0f expiries/s (RSS %ld KiB)\n",
              report.fired, report.skipped, elapsed, static_cast<double>(report.fired) / elapsed,
              rss_kib());
  server.stop();
  ledger->reset();
  fs::remove_all(work);
  return report.fired == pending ? 0 : 1;
}
