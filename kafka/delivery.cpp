#include "kafka/delivery.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "ledger/format/keys.hpp"
#include "ledger/format/values.hpp"

namespace filingd::kafka {
namespace {

constexpr auto kMinBackoff = std::chrono::milliseconds(500);
constexpr auto kMaxBackoff = std::chrono::seconds(30);

}  // namespace

Delivery::Delivery(Store& store, Progress& progress, Options options, Seq cursor)
    : store_(store),
      progress_(progress),
      options_(options),
      acked_(cursor.value),
      read_pos_(cursor),
      backoff_(kMinBackoff) {}

void Delivery::begin(const Event& e, int messages) {
  window_.push_back(Slot{static_cast<std::uint8_t>(messages), e.recorded_at.micros});
}

void Delivery::report(Seq seq, bool ok, const char* error) {
  if (outstanding_ > 0) --outstanding_;
  const std::uint64_t base = acked_;
  if (seq.value <= base || seq.value > base + window_.size()) return;  // not ours (stale)
  if (!ok) {
    progress_.delivery_errors.fetch_add(1);
    if (!failed_)
      spdlog::warn("kafka publisher: delivery of seq {} failed: {}; will re-send from seq {}",
                   seq.value, error, base + 1);
    failed_ = true;
    progress_.note_error("delivery of seq " + std::to_string(seq.value) + " failed: " + error);
    return;
  }
  progress_.brokers_up = true;
  Slot& slot = window_[seq.value - base - 1];
  if (slot.units == 0) return;
  if (--slot.units == 0) {
    const std::int64_t now = SystemClock().now().micros;
    progress_.latency.observe(
        static_cast<double>(std::max<std::int64_t>(now - slot.recorded_at, 0)) / 1e6);
  }
  while (!window_.empty() && window_.front().units == 0) {
    window_.pop_front();
    ++acked_;
  }
}

void Delivery::advance() {
  const std::uint64_t base = progress_.cursor.load();
  if (acked_ == base) return;
  const std::uint64_t moved = acked_ - base;
  // Counted before the cursor moves, so whoever the cursor wakes sees the count that goes with it.
  progress_.delivered.fetch_add(moved);
  {
    std::lock_guard lock(progress_.cursor_mu);
    progress_.cursor.store(acked_);
  }
  progress_.cursor_cv.notify_all();
  backoff_ = kMinBackoff;
  since_persist_ += moved;
  if (options_.persist && persist_due_ == Steady::time_point::max())
    persist_due_ = Steady::now() + options_.persist_interval;
}

void Delivery::persist(bool force) {
  if (!options_.persist) return;
  const std::uint64_t c = progress_.cursor.load();
  if (c == progress_.persisted.load()) {
    persist_due_ = Steady::time_point::max();
    return;
  }
  if (!force && since_persist_ < options_.persist_every && Steady::now() < persist_due_) return;
  rocksdb::Status s = store_.db()->Put(rocksdb::WriteOptions(), store_.cf(Cf::meta),
                                       keys::kPublisherCursor, encode_cursor(Seq(c)));
  if (!s.ok()) {
    progress_.client_errors.fetch_add(1);
    progress_.note_error("cannot persist the publisher cursor: " + s.ToString());
    spdlog::error("kafka publisher: cannot persist the cursor: {}", s.ToString());
    persist_due_ = Steady::now() + options_.persist_interval;
    return;
  }
  progress_.persisted = c;
  since_persist_ = 0;
  persist_due_ = Steady::time_point::max();
}

bool Delivery::rewind() {
  progress_.rewinds.fetch_add(1);
  window_.clear();
  read_pos_ = Seq(acked_);
  failed_ = false;
  outstanding_ = 0;
  retry_at_ = Steady::now() + backoff_;
  backoff_ = std::min<Steady::duration>(backoff_ * 2, kMaxBackoff);
  return std::exchange(fatal_, false);
}

}  // namespace filingd::kafka
