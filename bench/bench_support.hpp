// What ledger_bench's benchmarks share: their directories, CPU accounting, ledger options and the
// commands they append. Header-only; one copy per benchmark binary.
#pragma once

#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <latch>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ledger/ledger.hpp"
#include "ledger/store.hpp"
#include "tests/samples/samples.hpp"

namespace filingd::bench {

namespace fs = std::filesystem;

inline fs::path bench_root() {
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
inline double process_cpu_us() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const auto us = [](const timeval& t) { return t.tv_sec * 1e6 + static_cast<double>(t.tv_usec); };
  return us(ru.ru_utime) + us(ru.ru_stime);
}

// Options built field by field, so new option fields keep their defaults. `sealed`: personal
// data encrypted under a master key, as the daemon stores it (SPEC §5.2).
inline Ledger::Options ledger_options(const std::string& dir, bool sealed = false,
                                      bool tree = true) {
  Ledger::Options o;
  o.data_dir = dir;
  o.merkle_tree = tree;
  if (sealed) {
    auto keyring = Keyring::create(*privacy::Key::random());
    if (keyring) o.keyring = *keyring;
  }
  return o;
}

inline Store::Options store_options(const std::string& dir, bool read_only,
                                    bool create_if_missing) {
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
inline void run_threads(int n, F&& body) {
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

inline std::string filing_id(std::uint64_t n) { return "F" + std::to_string(n); }
inline constexpr std::string_view kDomains = "bench-filing.cn";
inline FilingSubmitted submission(std::uint64_t n) { return samples::submission(n, kDomains); }
using samples::photo_rejected;

inline AppendCommand command(const std::string& fid, Payload data,
                             std::optional<Version> expected) {
  AppendCommand c;
  c.filing_id = fid;
  c.data = std::move(data);
  c.expected_version = expected;
  c.actor = "desk-1";
  return c;
}

}  // namespace filingd::bench
