// The timer service: appends `sms_expired` when an SMS-verification deadline passes and
// `filing_abandoned` when a returned filing has waited 45 days (SPEC §1.6).
//
// It is fed by the pending-deadlines projection (earliest first) and keeps only one chunk of due
// deadlines in memory, however many are pending. Each expiry goes through the normal append
// path with the filing's current version as expected_version and `occurred_at` = the deadline,
// so a racing `sms_confirmed` and the expiry can never both win: whichever commits first makes
// the other a conflict (expiry) or a refused late confirmation. A chunk's appends are issued
// together and share group commits, so a backlog (deadlines that passed while the daemon was
// down, or a back-dated submission) drains fast.
//
// Lifecycle: start() starts the service's own thread (`timers`), which sleeps until the earliest
// deadline (at most a minute, so a wall-clock jump is noticed) or until the ledger's commit
// listener says new deadlines may exist; stop() wakes it and waits for it, in-flight appends
// included. The thread waits for group commits itself, so a backlog of due deadlines never
// holds an HTTP I/O thread. fire_due() is the synchronous core, used by the thread and by unit
// tests on a ManualClock. Concurrency: fire_due() must not run concurrently with the thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "ledger/ledger.hpp"
#include "metrics/prometheus.hpp"

namespace filingd {

struct FireReport {
  std::size_t fired = 0;    // events appended
  std::size_t skipped = 0;  // lost a race (the filing moved on) or refused
};

class TimerService {
 public:
  TimerService(Ledger& ledger, const Clock& clock);
  ~TimerService();

  // Fires every deadline due at clock.now(), in due order, in chunks; returns when all are
  // durable. Used by the async loop and directly by tests.
  FireReport fire_due();

  // Fires what is due now (deadlines that passed while the daemon was down), then keeps firing.
  void start();
  // Waits for the thread to finish its round and exit. Idempotent.
  void stop();
  // Thread-safe: re-evaluate the earliest deadline (called from the ledger's commit listener).
  void notify();

  void render_metrics(prometheus::Writer& w) const;

 private:
  struct Link;
  FireReport fire_chunk(const std::vector<DeadlineEntry>& due);
  void run();

  Ledger& ledger_;
  const Clock& clock_;
  std::shared_ptr<Link> link_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool wake_ = false;      // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::atomic<std::uint64_t> fired_sms_{0};
  std::atomic<std::uint64_t> fired_abandon_{0};
  std::atomic<std::uint64_t> skipped_{0};
  prometheus::Histogram lag_;  // seconds from due to durable
};

}  // namespace filingd
