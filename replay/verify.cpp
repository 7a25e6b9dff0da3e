#include "replay/verify.hpp"

#include <rocksdb/iterator.h>
#include <rocksdb/snapshot.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "events/codec.hpp"
#include "events/hash.hpp"
#include "events/json.hpp"
#include "ledger/ledger.hpp"
#include "projections/keys.hpp"
#include "projections/projector.hpp"
#include "replay/memory_projections.hpp"
#include "replay/rebuild.hpp"

// Design: two threads. The log checker (a helper thread) walks the log (hashes, chain, seq,
// versions), then the meta head, the two indexes and the digest of the live projections; it
// hands each decoded event to the folder (the calling thread), which runs the projector over
// the scratch projections. The fold is the costlier half, so the log checks ride along. The
// comparison of the projections follows the fold: the live column family is scanned in key
// order and each key looked up in the scratch set, the lower half of the keys by the folder
// and, on large ledgers, the upper half by the helper once its checks are done. The recorded
// states of the idempotency entries, which need both halves, are compared last.

namespace filingd {
namespace {

// At most this many problems per check: the first one matters, the rest give the extent.
constexpr std::size_t kMaxProblemsPerCheck = 5;
constexpr std::size_t kBatchEvents = 256;
constexpr std::size_t kMaxQueuedBatches = 64;
constexpr std::size_t kCompareBatch = 32;

std::string seq_text(std::uint64_t s) { return "seq " + std::to_string(s); }

std::string short_hex(const Hash& h) { return to_hex(h).substr(0, 16) + "…"; }

// Key bytes for a message: printable ASCII and UTF-8 as is, other bytes as \xNN.
std::string printable(std::string_view key) {
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

std::string state_name(std::uint8_t s) {
  return std::string(to_string(static_cast<FilingState>(s)));
}

// The problems of one check, capped.
struct Check {
  std::vector<VerifyProblem> problems;
  void add(Seq seq, std::string what) {
    if (problems.size() < kMaxProblemsPerCheck) problems.push_back({seq, std::move(what)});
  }
  bool clean() const { return problems.empty(); }
};

struct KeyHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// What the index checks need to know about each event, by seq - 1.
struct SeqInfo {
  std::uint64_t event_id_hash = 0;
  std::uint32_t filing = 0;  // index into LogChecker::filings_
  std::uint32_t version = 0;
  std::uint8_t recorded_state = 0;  // from its idempotency entry
  bool has_stream = false;
  bool has_idempotency = false;
};

// A decoded event on its way to the folder.
struct Decoded {
  Event event;
  std::uint32_t filing = 0;
};

// Batches from the log checker to the folder. Bounded, so the checker cannot run away with
// memory; stop() releases a checker whose folder gave up.
class BatchQueue {
 public:
  // False once the consumer stopped.
  bool push(std::vector<Decoded>&& batch) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return stopped_ || q_.size() < kMaxQueuedBatches; });
    if (stopped_) return false;
    q_.push_back(std::move(batch));
    cv_.notify_all();
    return true;
  }
  // Empty once the producer closed the queue and everything was taken.
  std::vector<Decoded> pop() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return closed_ || !q_.empty(); });
    if (q_.empty()) return {};
    std::vector<Decoded> batch = std::move(q_.front());
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
  void recycle(std::vector<Decoded>&& batch) {
    std::lock_guard lock(mu_);
    if (used_.size() < kMaxQueuedBatches) used_.push_back(std::move(batch));
  }
  std::vector<Decoded> reuse() {
    std::vector<Decoded> batch;
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
  std::deque<std::vector<Decoded>> q_;
  std::vector<std::vector<Decoded>> used_;
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

// ---- the log checker -------------------------------------------------------------------------

class LogChecker {
 public:
  LogChecker(const Reads& reads, const VerifyOptions& options, BatchQueue* folder)
      : r_(reads), options_(options), folder_(folder) {}

  // Everything but the projections. An Error: the checks could not run.
  Status run(VerifyReport& report) {
    const bool folding = folder_ != nullptr;
    auto walked = walk(report);
    if (folder_) folder_->close();
    if (!walked) return walked;
    if (auto ok = check_head(report); !ok) return ok;
    check_expected_head(report);
    if (auto ok = check_streams(report); !ok) return ok;
    if (auto ok = check_idempotency(report); !ok) return ok;
    // While the folder is still busy: the live half of the projection comparison.
    return folding ? digest_live() : Status{};
  }

  // The digest of the live projections and their number of entries (after run()).
  const std::optional<std::pair<Hash, std::uint64_t>>& live_digest() const { return live_; }

  bool log_complete() const { return log_.clean(); }
  std::uint64_t filings() const { return filings_.size(); }
  const std::vector<SeqInfo>& seqs() const { return seqs_; }
  std::string describe_event(std::uint64_t seq) const {
    const SeqInfo& i = seqs_[seq - 1];
    return seq_text(seq) + " (" + *filings_[i.filing] + " v" + std::to_string(i.version) + ")";
  }
  void take_problems(std::vector<VerifyProblem>& out) {
    for (Check* c : {&log_, &head_, &expected_, &streams_, &idempotency_})
      out.insert(out.end(), c->problems.begin(), c->problems.end());
  }

 private:
  Status walk(VerifyReport& report) {
    std::unique_ptr<rocksdb::Iterator> it(
        r_.store.db()->NewIterator(r_.scan, r_.store.cf(Cf::log)));
    std::vector<Decoded> batch;
    if (folder_) batch = folder_->reuse();
    Hash prev{};
    std::uint64_t expected = 1;
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++expected) {
      const std::string_view key = it->key().ToStringView();
      if (key.size() != 8) {
        log_.add(Seq(expected), "a log key of " + std::to_string(key.size()) +
                                    " bytes (not a seq) where " + seq_text(expected) +
                                    " belongs: \"" + printable(key) + "\"");
        break;
      }
      const std::uint64_t seq = keys::get_u64(key);
      if (seq != expected) {
        log_.add(Seq(expected), seq > expected ? "event " + seq_text(expected) +
                                                     " is missing: the log jumps from " +
                                                     seq_text(expected - 1) + " to " + seq_text(seq)
                                               : "log key " + seq_text(seq) + " out of order");
        break;
      }
      auto record = split_record(it->value().ToStringView());
      if (!record) {
        log_.add(Seq(seq), "the stored event is truncated (" + std::to_string(it->value().size()) +
                               " bytes)");
        break;
      }
      // The hash over the stored bytes, never over a re-encoding (old schemas upcast on read).
      const Hash computed = chain_hash(record->body, record->prev_hash);
      if (computed != record->hash) {
        log_.add(Seq(seq), "the stored event was altered: SHA-256 over its bytes is " +
                               short_hex(computed) + ", its recorded hash is " +
                               short_hex(record->hash));
        break;
      }
      auto e = decode_body(record->body);
      if (!e) {
        log_.add(Seq(seq), "the stored event does not decode: " + e.error().message);
        break;
      }
      if (e->seq.value != seq) {
        log_.add(Seq(seq), "key " + seq_text(seq) + " holds the event of " +
                               seq_text(e->seq.value) + " (events moved or swapped)");
        break;
      }
      if (record->prev_hash != prev) {
        log_.add(Seq(seq), "the chain is broken: prev_hash " + short_hex(record->prev_hash) +
                               " is not the hash of " +
                               (seq == 1 ? std::string("nothing (zero)")
                                         : seq_text(seq - 1) + " (" + short_hex(prev) + ")") +
                               "; an event was removed, inserted or rewritten");
        break;
      }
      const auto filing = track(*e);
      if (!filing) break;
      prev = record->hash;
      if (options_.expect_head && options_.expect_head->seq.value == seq &&
          options_.expect_head->hash != prev)
        expected_.add(Seq(seq), "the log was rewritten: the event at " + seq_text(seq) +
                                    " has hash " + to_hex(prev) + ", expected " +
                                    to_hex(options_.expect_head->hash));
      report.events = seq;
      report.head = Seq(seq);
      report.head_hash = prev;
      if (folder_) {
        e->prev_hash = record->prev_hash;
        e->hash = prev;
        batch.push_back({std::move(*e), *filing});
        if (batch.size() == kBatchEvents) {
          if (!folder_->push(std::move(batch))) {
            folder_ = nullptr;  // the folder gave up
          } else {
            batch = folder_->reuse();
          }
        }
      }
    }
    if (!it->status().ok()) return from_rocksdb(it->status(), "log read failed");
    if (folder_ && !batch.empty()) folder_->push(std::move(batch));
    return {};
  }

  // Per-filing version continuity and the per-seq facts. The filing's index, or nullopt after
  // reporting a problem.
  std::optional<std::uint32_t> track(const Event& e) {
    auto [pos, added] = filing_index_.try_emplace(e.filing_id, 0);
    if (added) {
      pos->second = static_cast<std::uint32_t>(filings_.size());
      filings_.push_back(&pos->first);
      last_version_.push_back(0);
    }
    std::uint32_t& last = last_version_[pos->second];
    if (e.version.value != last + 1) {
      log_.add(e.seq, "filing " + e.filing_id + " goes from version " + std::to_string(last) +
                          " to version " + std::to_string(e.version.value) + " (expected " +
                          std::to_string(last + 1) + ")");
      return std::nullopt;
    }
    last = e.version.value;
    SeqInfo info;
    info.event_id_hash = std::hash<std::string_view>{}(e.event_id);
    info.filing = pos->second;
    info.version = e.version.value;
    seqs_.push_back(info);
    return pos->second;
  }

  Status check_head(const VerifyReport& report) {
    std::string raw;
    auto s = r_.store.db()->Get(r_.point, r_.store.cf(Cf::meta), keys::kHead, &raw);
    if (!s.ok() && !s.IsNotFound()) return from_rocksdb(s, "meta read failed");
    if (s.IsNotFound()) {
      if (report.events > 0 && log_complete())
        head_.add(Seq(1), "the ledger head (meta) is missing but the log holds " +
                              std::to_string(report.events) + " events");
      return {};
    }
    const auto stored = decode_head(raw);
    if (!stored) {
      head_.add(Seq(0),
                "the ledger head (meta) is corrupt (" + std::to_string(raw.size()) + " bytes)");
      return {};
    }
    const std::uint64_t head = stored->seq.value;
    const Hash& head_hash = stored->hash;
    if (!log_complete()) return {};  // the walk already named the first bad seq
    const std::uint64_t last = report.head.value;
    if (head > last) {
      head_.add(Seq(last + 1), "events " + seq_text(last + 1) + ".." + std::to_string(head) +
                                   " are missing: the ledger head is " + seq_text(head) +
                                   " but the log ends at " + seq_text(last));
    } else if (head < last) {
      head_.add(Seq(head + 1), "the log holds events after the ledger head " + seq_text(head) +
                                   " (up to " + seq_text(last) + ")");
    } else if (head_hash != report.head_hash) {
      head_.add(Seq(last), "the ledger head hash " + short_hex(head_hash) +
                               " is not the hash of the last event " + short_hex(report.head_hash));
    }
    return {};
  }

  // The walk compared the hash at the expected seq if it got there.
  void check_expected_head(const VerifyReport& report) {
    if (!options_.expect_head) return;
    const Seq want = options_.expect_head->seq;
    if (want.value > report.events && log_complete())
      expected_.add(want, "the expected head " + seq_text(want.value) +
                              " is not in the log, which ends at " + seq_text(report.events) +
                              " (truncated?)");
  }

  // The verified event at `seq`, or null (beyond the verified prefix of the log).
  SeqInfo* info(std::uint64_t seq) {
    return seq >= 1 && seq <= seqs_.size() ? &seqs_[seq - 1] : nullptr;
  }
  bool beyond_verified(std::uint64_t seq) const { return seq > seqs_.size() && !log_complete(); }

  Status check_streams(VerifyReport& report) {
    std::unique_ptr<rocksdb::Iterator> it(
        r_.store.db()->NewIterator(r_.scan, r_.store.cf(Cf::streams)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++report.stream_entries;
      const std::string_view key = it->key().ToStringView();
      const std::string_view value = it->value().ToStringView();
      if (key.size() < 6 || key[key.size() - 5] != '\0' || value.size() != 8) {
        streams_.add(Seq(0), "streams index entry \"" + printable(key) + "\" is malformed");
        continue;
      }
      const std::string_view filing = key.substr(0, key.size() - 5);
      const std::uint32_t version = keys::get_u32(key.substr(key.size() - 4));
      const std::uint64_t seq = keys::get_u64(value);
      SeqInfo* at = info(seq);
      if (at != nullptr) {
        auto f = filing_index_.find(filing);
        if (f != filing_index_.end() && f->second == at->filing && version == at->version &&
            !at->has_stream) {
          at->has_stream = true;
          continue;
        }
      } else if (beyond_verified(seq)) {
        continue;
      }
      const std::string entry = "the streams index entry " + std::string(filing) + " v" +
                                std::to_string(version) + " -> " + seq_text(seq);
      if (at == nullptr) {
        streams_.add(Seq(0), entry + " points at no event of the log");
      } else if (at->has_stream && *filings_[at->filing] == filing && version == at->version) {
        streams_.add(Seq(seq), entry + " is a second entry for " + describe_event(seq));
      } else {
        streams_.add(Seq(seq), entry + " does not point at its event: " + seq_text(seq) + " is " +
                                   describe_event(seq));
      }
    }
    if (!it->status().ok()) return from_rocksdb(it->status(), "streams read failed");
    for (std::uint64_t s = 1; s <= seqs_.size(); ++s) {
      if (!seqs_[s - 1].has_stream)
        streams_.add(Seq(s), "event " + describe_event(s) + " has no streams index entry");
    }
    return {};
  }

  Status check_idempotency(VerifyReport& report) {
    std::unique_ptr<rocksdb::Iterator> it(
        r_.store.db()->NewIterator(r_.scan, r_.store.cf(Cf::idempotency)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++report.idempotency_entries;
      const std::string_view key = it->key().ToStringView();
      const std::string_view value = it->value().ToStringView();
      const auto entry = [&] {
        return "the idempotency entry of event_id \"" + printable(key) + "\"";
      };
      if (value.size() != kIdempotencyValueSize) {
        idempotency_.add(Seq(0),
                         entry() + " is malformed (" + std::to_string(value.size()) + " bytes)");
        continue;
      }
      const std::uint64_t seq = keys::get_u64(value);
      const std::uint32_t version = keys::get_u32(value.substr(8));
      SeqInfo* at = info(seq);
      if (at == nullptr) {
        if (!beyond_verified(seq))
          idempotency_.add(Seq(0),
                           entry() + " points at " + seq_text(seq) + ", which is not in the log");
        continue;
      }
      if (at->event_id_hash != std::hash<std::string_view>{}(key)) {
        idempotency_.add(Seq(seq), entry() + " points at " + describe_event(seq) +
                                       ", which has another event_id");
      } else if (version != at->version) {
        idempotency_.add(Seq(seq), entry() + " records version " + std::to_string(version) +
                                       " for " + describe_event(seq));
      } else if (at->has_idempotency) {
        idempotency_.add(Seq(seq), entry() + " is a second entry for " + describe_event(seq));
      } else {
        at->has_idempotency = true;
        at->recorded_state = static_cast<std::uint8_t>(value[12]);
      }
    }
    if (!it->status().ok()) return from_rocksdb(it->status(), "idempotency read failed");
    for (std::uint64_t s = 1; s <= seqs_.size(); ++s) {
      if (!seqs_[s - 1].has_idempotency)
        idempotency_.add(Seq(s), "event " + describe_event(s) + " has no idempotency entry");
    }
    return {};
  }

  Status digest_live() {
    ProjectionDigest digest;
    std::uint64_t n = 0;
    std::unique_ptr<rocksdb::Iterator> it(
        r_.store.db()->NewIterator(r_.scan, r_.store.cf(Cf::projections)));
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++n)
      digest.add(it->key().ToStringView(), it->value().ToStringView());
    if (!it->status().ok()) return from_rocksdb(it->status(), "projections read failed");
    live_.emplace(digest.finish(), n);
    return {};
  }

  const Reads& r_;
  const VerifyOptions& options_;
  BatchQueue* folder_;
  std::optional<std::pair<Hash, std::uint64_t>> live_;
  Check log_, head_, expected_, streams_, idempotency_;
  std::unordered_map<std::string, std::uint32_t, KeyHash, std::equal_to<>> filing_index_;
  std::vector<const std::string*> filings_;  // keys of filing_index_ (stable)
  std::vector<std::uint32_t> last_version_;
  std::vector<SeqInfo> seqs_;
};

// ---- the folder ------------------------------------------------------------------------------

class Folder {
 public:
  // `events`: about how many events the log holds (sizes the scratch projections, which hold
  // about one entry per event; they grow if needed).
  Folder(const Reads& reads, std::uint64_t events) : r_(reads) {
    scratch_.reserve(static_cast<std::size_t>(events));
    states_.reserve(static_cast<std::size_t>(events));
  }

  // Folds what the checker sends until it closes the queue (true: the log walk is over) or an
  // event does not replay (false).
  bool run(BatchQueue& queue) {
    for (;;) {
      std::vector<Decoded> batch = queue.pop();
      if (batch.empty()) {
        write_cached_statuses();
        return true;
      }
      for (Decoded& d : batch) {
        if (!fold(d)) {
          queue.stop();
          return false;
        }
      }
      queue.recycle(std::move(batch));
    }
  }

  bool complete() const { return fold_.clean(); }
  // The state each folded event led to, by seq - 1.
  const std::vector<std::uint8_t>& states() const { return states_; }

  // The fast path of the comparison: a pass over the live column family in key order, looking
  // each key up in the rebuilt set. When every rebuilt entry is found, the rebuilt entries were
  // visited in key order too, so the rebuilt digest is exact without sorting. The pass may be
  // split in two key ranges that two threads scan at once (see split_key()).
  struct LiveScan {
    std::uint64_t entries = 0;  // live
    std::size_t found = 0;      // of them, in the rebuild
    Hash rebuilt{};             // set by finish_scan()
    std::vector<std::string> differences;
    // Without a digest to feed (the upper range): the rebuilt entries met, in key order.
    std::vector<std::pair<std::string, const std::string*>> entries_met;
  };

  // A key near the middle of the projections, to split the scan at; empty: do not split.
  std::string split_key(std::size_t split_above) const {
    if (scratch_.size() <= split_above) return {};
    auto sample = scratch_.sample_keys(1024);
    if (sample.empty()) return {};
    auto mid = sample.begin() + static_cast<std::ptrdiff_t>(sample.size() / 2);
    std::nth_element(sample.begin(), mid, sample.end());
    return std::string(*mid);
  }

  // Scans the live keys in [from, to) ("" = unbounded), feeding `digest` or, without one,
  // recording the rebuilt entries met. Only reads the scratch projections: two threads may
  // scan two ranges at once.
  Result<LiveScan> scan_range(std::string_view from, std::string_view to,
                              ProjectionDigest* digest) const {
    LiveScan out;
    // Entries are taken in batches so that their lookups (random probes into a large table)
    // can be prefetched together.
    struct Pending {
      std::string key, value;
      std::uint64_t hash = 0;
    };
    std::vector<Pending> batch(kCompareBatch);
    std::size_t n = 0;
    auto flush = [&] {
      for (std::size_t i = 0; i < n; ++i) scratch_.prefetch(batch[i].hash);
      for (std::size_t i = 0; i < n; ++i) scratch_.prefetch_item(batch[i].hash);
      for (std::size_t i = 0; i < n; ++i) {
        const Pending& p = batch[i];
        const std::string* mine = scratch_.find(p.key, p.hash);
        if (mine == nullptr) {
          note(out.differences, p.key, "is live but not in the rebuild");
          continue;
        }
        ++out.found;
        if (digest) {
          digest->add(p.key, *mine);
        } else {
          out.entries_met.emplace_back(p.key, mine);
        }
        if (*mine != p.value)
          note(out.differences, p.key, "has another value live than in the rebuild");
      }
      n = 0;
    };
    std::unique_ptr<rocksdb::Iterator> it(
        r_.store.db()->NewIterator(r_.scan, r_.store.cf(Cf::projections)));
    for (from.empty() ? it->SeekToFirst() : it->Seek(from); it->Valid(); it->Next()) {
      if (!to.empty() && it->key().ToStringView() >= to) break;
      Pending& p = batch[n++];
      p.key.assign(it->key().data(), it->key().size());
      p.value.assign(it->value().data(), it->value().size());
      p.hash = MemoryProjections::hash(p.key);
      ++out.entries;
      if (n == batch.size()) flush();
    }
    flush();
    if (!it->status().ok()) return from_rocksdb(it->status(), "projections read failed");
    return out;
  }

  // Appends the upper range's scan to the lower one's and finishes the rebuilt digest.
  static LiveScan finish_scan(LiveScan lower, ProjectionDigest& digest,
                              std::optional<LiveScan> upper) {
    if (upper) {
      for (const auto& [key, value] : upper->entries_met) digest.add(key, *value);
      lower.entries += upper->entries;
      lower.found += upper->found;
      for (auto& d : upper->differences) {
        if (lower.differences.size() < kMaxProblemsPerCheck)
          lower.differences.push_back(std::move(d));
      }
    }
    lower.rebuilt = digest.finish();
    return lower;
  }

  // Both digests (ProjectionDigest, as projections_digest computes them) and the first
  // differing keys, from the scan and the live digest and entry count the checker computed
  // meanwhile; merges when the fast path does not apply.
  Status compare(VerifyReport& report, LiveScan scan, const std::pair<Hash, std::uint64_t>& live) {
    std::vector<std::string> differences = std::move(scan.differences);
    // (The live column family is read twice; the entry counts agree unless a writer broke
    // the snapshot.)
    if (scan.found == scratch_.size() && scan.entries == live.second) {
      report.projection_entries = scan.entries;
      report.live_digest = live.first;
      report.rebuilt_digest = scan.rebuilt;
    } else {
      differences.clear();
      if (auto ok = digest_by_merge(report, differences); !ok) return ok;
    }
    if (*report.live_digest != *report.rebuilt_digest) {
      std::string what = "the projections differ from a rebuild of the log: live digest " +
                         to_hex(*report.live_digest) + ", rebuilt " +
                         to_hex(*report.rebuilt_digest);
      for (const auto& d : differences) what += "; key " + d;
      compare_.add(Seq(0), std::move(what));
    }
    return {};
  }

  void take_problems(std::vector<VerifyProblem>& out) {
    for (Check* c : {&fold_, &compare_})
      out.insert(out.end(), c->problems.begin(), c->problems.end());
  }

 private:
  bool fold(Decoded& d) {
    const Event& e = d.event;
    if (d.filing >= cache_.size()) cache_.resize(d.filing + 1);
    std::unique_ptr<FilingStatus>& cached = cache_[d.filing];
    if (!cached) {
      auto status = load_status(scratch_, e.filing_id);
      if (!status) {
        fold_.add(e.seq, "the rebuilt status of " + e.filing_id +
                             " does not decode: " + status.error().message);
        return false;
      }
      cached = std::make_unique<FilingStatus>(std::move(*status));
    }
    // In place: the fold stops at the first event that does not replay.
    if (auto ok = project_in_place(scratch_, *cached, e); !ok) {
      fold_.add(e.seq, "the event does not replay: " + ok.error().message);
      return false;
    }
    states_.push_back(static_cast<std::uint8_t>(cached->state));
    // Decoded statuses are kept while a filing is open and encoded into the scratch
    // projections only when it closes (or at the end): a filing's status is encoded once or
    // twice, not at every event. A closed filing rarely sees another event, so memory stays
    // bounded by the open filings.
    if (!is_open(cached->state)) {
      scratch_.put(keys::status(cached->filing_id), encode_status(*cached));
      cached.reset();
    }
    return true;
  }

  // The statuses still held decoded (open filings), into the scratch projections.
  void write_cached_statuses() {
    for (auto& cached : cache_) {
      if (!cached) continue;
      scratch_.put(keys::status(cached->filing_id), encode_status(*cached));
      cached.reset();
    }
  }

  static void note(std::vector<std::string>& differences, std::string_view key, const char* how) {
    if (differences.size() < kMaxProblemsPerCheck)
      differences.push_back("\"" + printable(key) + "\" " + how);
  }

  // Merges the live column family with the sorted rebuilt entries.
  Status digest_by_merge(VerifyReport& report, std::vector<std::string>& differences) {
    const auto mine = scratch_.sorted();
    ProjectionDigest live;
    ProjectionDigest rebuilt;
    report.projection_entries = 0;
    std::unique_ptr<rocksdb::Iterator> it(
        r_.store.db()->NewIterator(r_.scan, r_.store.cf(Cf::projections)));
    std::size_t i = 0;
    it->SeekToFirst();
    while (it->Valid() || i < mine.size()) {
      const bool live_left = it->Valid();
      const std::string_view lk = live_left ? it->key().ToStringView() : std::string_view();
      const int order = !live_left            ? 1
                        : i == mine.size()    ? -1
                        : lk < mine[i].first  ? -1
                        : lk == mine[i].first ? 0
                                              : 1;
      if (order <= 0) {
        live.add(lk, it->value().ToStringView());
        ++report.projection_entries;
      }
      if (order >= 0) rebuilt.add(mine[i].first, mine[i].second);
      if (order < 0) note(differences, lk, "is live but not in the rebuild");
      if (order > 0) note(differences, mine[i].first, "is in the rebuild but missing live");
      if (order == 0 && it->value().ToStringView() != mine[i].second)
        note(differences, lk, "has another value live than in the rebuild");
      if (order <= 0) it->Next();
      if (order >= 0) ++i;
    }
    if (!it->status().ok()) return from_rocksdb(it->status(), "projections read failed");
    report.live_digest = live.finish();
    report.rebuilt_digest = rebuilt.finish();
    return {};
  }

  const Reads& r_;
  MemoryProjections scratch_;
  std::vector<std::unique_ptr<FilingStatus>> cache_;  // by filing index
  std::vector<std::uint8_t> states_;
  Check fold_, compare_;
};

// ---- the whole verification ------------------------------------------------------------------

// One value handed from one thread to another, once; wait() blocks until it is given.
class Handoff {
 public:
  void give(std::optional<std::string> value) {
    std::lock_guard lock(mu_);
    if (given_) return;
    given_ = true;
    value_ = std::move(value);
    cv_.notify_all();
  }
  std::optional<std::string> wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return given_; });
    return value_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool given_ = false;
  std::optional<std::string> value_;
};

Status run_guarded(const std::function<Status()>& body) {
  try {
    return body();
  } catch (const std::exception& ex) {
    return make_error(ErrorCode::internal, std::string("verification aborted: ") + ex.what());
  }
}

Result<VerifyReport> verify(const Store& store, const VerifyOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  Snapshot snapshot(store);
  Reads reads{store, {}, {}};
  reads.point.snapshot = snapshot.get();
  reads.scan = reads.point;
  reads.scan.fill_cache = false;  // one sequential pass over each column family
  reads.scan.readahead_size = 4 << 20;

  VerifyReport report;
  Check marker;
  std::string raw;
  auto rebuilding = store.db()->Get(reads.point, store.cf(Cf::meta), keys::kRebuildMarker, &raw);
  if (!rebuilding.ok() && !rebuilding.IsNotFound())
    return from_rocksdb(rebuilding, "meta read failed");
  if (rebuilding.ok())
    marker.add(Seq(0),
               "a projection rebuild was interrupted: the projections are incomplete "
               "(run filingctl rebuild-projections with the daemon stopped)");
  const bool fold = options.check_projections && rebuilding.IsNotFound();

  BatchQueue queue;
  LogChecker checker(reads, options, fold ? &queue : nullptr);
  std::unique_ptr<Folder> folder;
  std::optional<Folder::LiveScan> scan;
  Status checked;
  if (fold) {
    std::uint64_t events = 0;
    if (store.db()->Get(reads.point, store.cf(Cf::meta), keys::kHead, &raw).ok())
      if (auto head = decode_head(raw)) events = head->seq.value;
    folder = std::make_unique<Folder>(reads, std::min<std::uint64_t>(events, 1u << 30));
    // After its checks the helper scans the upper half of the projections, if given a split.
    Handoff upper_half;
    std::optional<Folder::LiveScan> upper;
    Status upper_scanned;
    std::thread helper([&] {
      checked = run_guarded([&] { return checker.run(report); });
      queue.close();  // also after an exception: the folder must not wait forever
      if (auto from = upper_half.wait()) {
        upper_scanned = run_guarded([&]() -> Status {
          auto s = folder->scan_range(*from, {}, nullptr);
          if (!s) return s.take_error();
          upper = std::move(*s);
          return {};
        });
      }
    });
    bool drained = false;
    Status folded = run_guarded([&] {
      drained = folder->run(queue);
      queue.stop();  // releases the checker if the fold ended early
      // Drained: the log walk is over (it closes the queue when done), so its verdict can be
      // read; the comparison's lookups then overlap the checker's index checks.
      if (!drained || !folder->complete() || !checker.log_complete()) return Status{};
      const std::string split = folder->split_key(options.split_scan_above);
      if (!split.empty()) upper_half.give(split);
      ProjectionDigest rebuilt;
      auto lower = folder->scan_range({}, split, &rebuilt);
      if (!lower) return Status(lower.take_error());
      upper_half.give(std::nullopt);  // (no-op once given)
      helper.join();
      if (!upper_scanned) return upper_scanned;
      if (!split.empty() && !upper)
        return Status(make_error(ErrorCode::internal, "the upper half was not scanned"));
      scan = Folder::finish_scan(std::move(*lower), rebuilt, std::move(upper));
      return Status{};
    });
    queue.stop();
    upper_half.give(std::nullopt);
    if (helper.joinable()) helper.join();
    if (!folded) return folded.take_error();
  } else {
    checked = run_guarded([&] { return checker.run(report); });
  }
  if (!checked) return checked.take_error();

  Check states;
  if (folder) {
    // The state each event led to, as its idempotency entry recorded it and as replayed.
    const auto& seqs = checker.seqs();
    const auto& replayed = folder->states();
    for (std::size_t i = 0; i < std::min(seqs.size(), replayed.size()); ++i) {
      if (seqs[i].has_idempotency && seqs[i].recorded_state != replayed[i])
        states.add(Seq(i + 1), "the idempotency entry of " + checker.describe_event(i + 1) +
                                   " records state " + state_name(seqs[i].recorded_state) +
                                   ", the replay gives " + state_name(replayed[i]));
    }
    // Compare only a full rebuild: a partial one differs by construction.
    if (scan && checker.live_digest()) {
      auto compared = run_guarded(
          [&] { return folder->compare(report, std::move(*scan), *checker.live_digest()); });
      if (!compared) return compared.take_error();
    }
  }

  report.filings = checker.filings();
  checker.take_problems(report.problems);
  if (folder) folder->take_problems(report.problems);
  report.problems.insert(report.problems.end(), states.problems.begin(), states.problems.end());
  report.problems.insert(report.problems.end(), marker.problems.begin(), marker.problems.end());
  std::stable_sort(report.problems.begin(), report.problems.end(),
                   [](const VerifyProblem& a, const VerifyProblem& b) {
                     return a.seq.value - 1 < b.seq.value - 1;  // no seq (0) sorts last
                   });
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace

std::optional<ExpectedHead> parse_expected_head(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  ExpectedHead h;
  for (char c : text.substr(0, colon)) {
    if (c < '0' || c > '9' || h.seq.value > (UINT64_MAX - 9) / 10) return std::nullopt;
    h.seq.value = h.seq.value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (h.seq.value == 0 || !from_hex(text.substr(colon + 1), h.hash)) return std::nullopt;
  return h;
}

Result<VerifyReport> verify_ledger(const Store& store, const VerifyOptions& options) {
  return verify(store, options);
}

}  // namespace filingd
