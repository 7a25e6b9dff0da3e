// The publisher's delivery bookkeeping and durable cursor. Internal to the kafka module.
//
// Every event handed to the producer gets a slot in a window (seqs cursor+1 .. read_pos) that
// counts its messages not yet acknowledged (the event, and its status if it carries one).
// Delivery reports arrive in any order across partitions; the cursor advances over the window's
// fully delivered prefix only, so it is always the highest seq such that every event up to it
// is acknowledged. It is persisted to the ledger's meta column family every `persist_every`
// events or `persist_interval`, and on a graceful stop. A failed delivery stops the cursor; once
// every message in flight has reported, rewind() forgets the window and the tail after the
// cursor is sent again, after a back-off that grows while rounds keep failing.
//
// Concurrency: used by the publishing thread only (reports are served on it); it publishes the
// cursor and counters through Progress.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>

#include "events/event.hpp"
#include "kafka/progress.hpp"
#include "ledger/store.hpp"

namespace filingd::kafka {

class Delivery {
 public:
  using Steady = std::chrono::steady_clock;
  struct Options {
    bool persist = true;  // false: the cursor is never written (the embedded cluster)
    std::uint64_t persist_every = 10'000;
    std::chrono::milliseconds persist_interval{250};
  };
  // Resumes after `cursor` (every event up to it delivered).
  Delivery(Store& store, Progress& progress, Options options, Seq cursor);

  Seq read_pos() const { return read_pos_; }  // the last seq handed to the producer
  std::size_t in_flight() const { return window_.size(); }
  std::size_t outstanding() const { return outstanding_; }  // messages awaiting a report
  bool failed() const { return failed_; }
  bool waiting_to_retry(Steady::time_point now) const { return now < retry_at_; }
  Steady::time_point retry_at() const { return retry_at_; }
  Steady::time_point persist_due() const { return persist_due_; }

  // Event `e` is being handed to the producer as `messages` messages (1 or 2).
  void begin(const Event& e, int messages);
  void message_queued() { ++outstanding_; }
  // All its messages were queued.
  void queued(const Event& e) { read_pos_ = e.seq; }
  // A message could not even be queued, or the producer raised a fatal error.
  void fail() { failed_ = true; }
  void fatal() { fatal_ = failed_ = true; }

  // A delivery report of a message of event `seq`.
  void report(Seq seq, bool ok, const char* error);
  // Publishes the acknowledged prefix as the cursor (once per poll, not per report).
  void advance();
  // Writes the cursor if it moved and is due (or `force`).
  void persist(bool force);
  // Forgets the window after a failed round (call once nothing is outstanding). Returns whether
  // a fatal error asked for a new producer.
  bool rewind();

 private:
  struct Slot {
    std::uint8_t units = 0;        // messages of this event not yet acknowledged
    std::int64_t recorded_at = 0;  // micros, for the publish latency
  };
  Store& store_;
  Progress& progress_;
  Options options_;
  std::deque<Slot> window_;  // seqs acked_+1 .. read_pos_
  std::uint64_t acked_ = 0;  // every event <= acked_ is delivered; the cursor catches up
  Seq read_pos_;
  std::size_t outstanding_ = 0;
  bool failed_ = false;
  bool fatal_ = false;
  Steady::duration backoff_;
  Steady::time_point retry_at_{};
  Steady::time_point persist_due_ = Steady::time_point::max();
  std::uint64_t since_persist_ = 0;
};

}  // namespace filingd::kafka
