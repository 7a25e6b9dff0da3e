// Pieces shared by the two halves of `verify` (verify_log.hpp, verify_fold.hpp): the problem
// lists, the expected idempotency entries, the merge of a column family with what it should
// hold, the queue of decoded events between the threads, and the snapshot every read sees. Internal
// to replay/verify.cpp.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/snapshot.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/encoding.hpp"
#include "events/event.hpp"
#include "ledger/format/values.hpp"
#include "ledger/store.hpp"
#include "replay/verify.hpp"

namespace filingd::verify_detail {

// At most this many problems per check: the first one matters, the rest give the extent.
inline constexpr std::size_t kMaxProblemsPerCheck = 5;
inline constexpr std::size_t kBatchEvents = 256;
inline constexpr std::size_t kMaxQueuedBatches = 64;

inline std::string seq_text(std::uint64_t s) { return "seq " + std::to_string(s); }

inline std::string short_hex(const Hash& h) { return to_hex(h).substr(0, 16) + "…"; }

// Key bytes for a message: printable ASCII and UTF-8 as is, other bytes as \xNN.
inline std::string printable(std::string_view key) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : key) {
    if (c >= 0x20 && c != 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 0xf]);
    }
  }
  return out;
}

inline std::string state_name(FilingState s) { return std::string(to_string(s)); }

// The problems of one check, capped.
struct Check {
  std::vector<VerifyProblem> problems;
  void add(Seq seq, std::string what) {
    if (problems.size() < kMaxProblemsPerCheck) problems.push_back({seq, std::move(what)});
  }
  bool clean() const { return problems.empty(); }
};

// The idempotency entry an event should have, as far as the log tells: its seq, version and
// the state it led to (not the fingerprint of the command, which the log does not hold). The
// first kIdempotencyChecked bytes of a stored entry.
inline constexpr std::size_t kIdempotencyChecked = 13;
inline std::string expected_idempotency(Seq seq, Version version, FilingState state) {
  return encode_idempotency({seq, version, state, {}}).substr(0, kIdempotencyChecked);
}
inline std::optional<IdempotencyEntry> decode_idempotency_prefix(std::string_view value) {
  if (value.size() != kIdempotencyChecked) return std::nullopt;
  std::string full(value);
  full.resize(encode_idempotency({}).size());
  return decode_idempotency(full);
}

// Walks a column family of the ledger and the same column family of the scratch store (what
// it should hold) side by side in key order, calling on(key, live value, expected value) for
// every key of either, with null for the side that lacks it, for as long as `on` returns true.
// Errors: io.
template <class On>
Status merge_columns(const Store& live, const rocksdb::ReadOptions& scan, Store& expected, Cf cf,
                     On&& on) {
  std::unique_ptr<rocksdb::Iterator> l(live.db()->NewIterator(scan, live.cf(cf)));
  rocksdb::ReadOptions own;
  own.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> x(expected.db()->NewIterator(own, expected.cf(cf)));
  l->SeekToFirst();
  x->SeekToFirst();
  for (bool go_on = true; go_on && (l->Valid() || x->Valid());) {
    const int order = !l->Valid() ? 1 : !x->Valid() ? -1 : l->key().compare(x->key());
    const std::string_view key = order <= 0 ? l->key().ToStringView() : x->key().ToStringView();
    std::string_view lv, xv;
    if (order <= 0) lv = l->value().ToStringView();
    if (order >= 0) xv = x->value().ToStringView();
    go_on = on(key, order <= 0 ? &lv : nullptr, order >= 0 ? &xv : nullptr);
    if (order <= 0) l->Next();
    if (order >= 0) x->Next();
  }
  const std::string name(cf_name(cf));
  if (!l->status().ok()) return from_rocksdb(l->status(), name + " read failed");
  if (!x->status().ok()) return from_rocksdb(x->status(), "scratch " + name + " read failed");
  return {};
}

// Batches from the log checker to the folder. Bounded, so the checker cannot run away with
// memory; stop() releases a checker whose folder gave up.
class BatchQueue {
 public:
  // False once the consumer stopped.
  bool push(std::vector<Event>&& batch) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return stopped_ || q_.size() < kMaxQueuedBatches; });
    if (stopped_) return false;
    q_.push_back(std::move(batch));
    cv_.notify_all();
    return true;
  }
  // Empty once the producer closed the queue and everything was taken.
  std::vector<Event> pop() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return closed_ || !q_.empty(); });
    if (q_.empty()) return {};
    std::vector<Event> batch = std::move(q_.front());
    q_.pop_front();
    cv_.notify_all();
    return batch;
  }
  void close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }
  void stop() {
    std::lock_guard lock(mu_);
    stopped_ = true;
    q_.clear();
    cv_.notify_all();
  }

  // Consumed batches go back to the producer, which frees their events (they were allocated
  // on its thread, and it has time to spare) and reuses the vectors.
  void recycle(std::vector<Event>&& batch) {
    std::lock_guard lock(mu_);
    if (used_.size() < kMaxQueuedBatches) used_.push_back(std::move(batch));
  }
  std::vector<Event> reuse() {
    std::vector<Event> batch;
    {
      std::lock_guard lock(mu_);
      if (!used_.empty()) {
        batch = std::move(used_.back());
        used_.pop_back();
      }
    }
    batch.clear();
    batch.reserve(kBatchEvents);
    return batch;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::vector<Event>> q_;
  std::vector<std::vector<Event>> used_;
  bool closed_ = false;
  bool stopped_ = false;
};

class Snapshot {
 public:
  // One point of the database for every read. A secondary instance refuses explicit
  // snapshots, but its view is already frozen since it was opened.
  explicit Snapshot(const Store& store)
      : db_(store.db()), snap_(store.secondary() ? nullptr : db_->GetSnapshot()) {}
  ~Snapshot() {
    if (snap_) db_->ReleaseSnapshot(snap_);
  }
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;
  const rocksdb::Snapshot* get() const { return snap_; }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snap_;
};

struct Reads {
  const Store& store;
  rocksdb::ReadOptions point;  // snapshot
  rocksdb::ReadOptions scan;   // snapshot, sequential, not cached
};

}  // namespace filingd::verify_detail
