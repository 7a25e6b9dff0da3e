// What the publishing thread reports and the publisher's accessors read (stats, lag, metrics,
// wait_for_cursor): atomics and two small locks. Internal to the kafka module.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

#include "metrics/prometheus.hpp"

namespace filingd::kafka {

struct Progress {
  // The durable cursor: every event <= it is confirmed delivered. Changed under cursor_mu, so a
  // waiter on cursor_cv cannot miss a move.
  std::atomic<std::uint64_t> cursor{0};
  mutable std::mutex cursor_mu;
  mutable std::condition_variable cursor_cv;
  std::atomic<std::uint64_t> persisted{0};

  std::atomic<std::uint64_t> produced{0};
  std::atomic<std::uint64_t> status_messages{0};
  std::atomic<std::uint64_t> key_messages{0};
  std::atomic<std::uint64_t> checkpoint_messages{0};
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> delivery_errors{0};
  std::atomic<std::uint64_t> client_errors{0};
  std::atomic<std::uint64_t> rewinds{0};
  std::atomic<bool> brokers_up{false};
  prometheus::Histogram latency;  // an event's recorded_at -> confirmed delivery

  void note_error(std::string message) {
    std::lock_guard lock(error_mu_);
    last_error_ = std::move(message);
  }
  std::string last_error() const {
    std::lock_guard lock(error_mu_);
    return last_error_;
  }

 private:
  mutable std::mutex error_mu_;
  std::string last_error_;  // guarded by error_mu_
};

}  // namespace filingd::kafka
