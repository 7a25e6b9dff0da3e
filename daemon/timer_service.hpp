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
// Lifecycle: start() arms the timer on the io_context; the ledger's commit listener wakes it when
// new deadlines may exist; stop() cancels it and waits for in-flight appends. fire_due() is the
// synchronous core, used by the loop and by unit tests on a ManualClock.
// Concurrency: the loop runs on one strand; fire_due() must not run concurrently with it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "daemon/metrics.hpp"
#include "ledger/ledger.hpp"

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

  void start(boost::asio::io_context& io);
  // Must be called while the io_context still runs; waits for the loop to park. Idempotent.
  void stop();
  // Thread-safe: re-evaluate the earliest deadline (called from the ledger's commit listener).
  void notify();

  void render_metrics(std::string& out) const;

 private:
  struct Loop;
  struct Link;
  FireReport fire_chunk(const std::vector<DeadlineEntry>& due);

  Ledger& ledger_;
  const Clock& clock_;
  std::shared_ptr<Link> link_;
  std::unique_ptr<Loop> loop_;
  std::atomic<std::uint64_t> fired_sms_{0};
  std::atomic<std::uint64_t> fired_abandon_{0};
  std::atomic<std::uint64_t> skipped_{0};
  Histogram lag_;  // seconds from due to durable
};

}  // namespace filingd
