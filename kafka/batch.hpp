// The publisher's batches: events read from the log, decoded and encoded as Kafka messages.
// Internal to the kafka module.
//
// Reading, decoding and encoding what does not depend on other events (the event JSON, its
// headers, whether a later event of its filing supersedes it) runs on a pool of threads: while
// the publishing thread folds and produces one batch, the workers fill the next. The status each
// event leads to is a sequential fold (an LRU cache of recent filings' statuses, else the
// filing's stream) on the publishing thread. An event whose filing already has a later event in
// the ledger carries no status: the compacted topic would replace it by the status its
// successor carries, which is always published after it.
//
// Personal data (SPEC §5.5) is opened with the ledger's keyring and shown as Options::personal
// says; wherever the event JSON is then not the stored form, the stored bytes travel in the
// `body` header, so a restore still rebuilds the ledger byte for byte.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "events/event.hpp"
#include "events/result.hpp"
#include "kafka/progress.hpp"
#include "events/json.hpp"
#include "ledger/ledger.hpp"
#include "ledger/personal_data.hpp"

namespace filingd {
class WorkCalendar;
}

namespace filingd::kafka {

// One event of a batch, ready to produce.
struct Item {
  std::string record;
  Event event;  // its personal data opened as the topics show it
  std::string_view body;  // into record
  std::string body_base64;
  bool superseded = false;  // its filing has a later event: it carries no status
  std::string fingerprint_hex;
  std::string value;  // the event's JSON
  // The status messages it carries: filing id and status JSON. An event, its filing's (unless
  // superseded); an erasure, each of the subject's filings', now reading "[erased]".
  std::vector<std::pair<std::string, std::string>> statuses;
  // The keys topic's message, if it carries one: a submission, its subject's stored data key
  // (sent again with each submission: the topic is compacted); an erasure, a tombstone.
  std::string key_ref;  // empty: none
  std::optional<std::string> key_value;
};

struct Batch {
  std::vector<Item> items;
  std::vector<std::optional<Error>> errors;  // per item; filling stops at the first
  Seq first;                                 // the seq items[0] should have
  std::size_t size = 0;                      // items filled (or failed)
  std::size_t usable = 0;  // items [0, usable) follow on from the last produced seq, no gap
};

// Splits 0..n into contiguous parts, one per thread, and runs fn(begin, end) on each: either on
// the calling thread and the workers together (run_parts), or on the workers alone while the
// caller goes on (start_parts, then wait).
class EncodePool {
 public:
  explicit EncodePool(unsigned workers);
  ~EncodePool();
  EncodePool(const EncodePool&) = delete;
  EncodePool& operator=(const EncodePool&) = delete;

  using Part = std::function<void(std::size_t begin, std::size_t end)>;
  bool has_workers() const { return !threads_.empty(); }
  void run_parts(std::size_t n, const Part& fn);
  // Needs has_workers(). The caller must wait() before it starts anything else on the pool.
  void start_parts(std::size_t n, Part fn);
  void wait();

 private:
  void launch(std::size_t n, const Part& fn, std::size_t parts);
  void drain();
  void loop();

  std::mutex mu_;
  std::condition_variable start_, done_;
  std::vector<std::thread> threads_;
  Part job_;  // start_parts' job, while it runs
  // Set by launch() under mu_ before the workers are woken, read by them until busy_ is 0.
  const Part* fn_ = nullptr;
  std::size_t n_ = 0;
  std::size_t parts_ = 0;
  std::atomic<std::size_t> next_{0};
  std::size_t busy_ = 0;          // guarded by mu_
  std::uint64_t generation_ = 0;  // guarded by mu_
  bool stop_ = false;             // guarded by mu_
};

class BatchReader {
 public:
  struct Options {
    std::size_t read_batch = 2048;   // events per batch
    unsigned threads = 0;            // the publishing one included; 0 = one per core, at most 4
    std::size_t status_cache = 16'384;
    bool fingerprints = true;  // read each event's idempotency fingerprint (a point read)
    PersonalView personal = PersonalView::masked;  // how the topics show personal data
    const WorkCalendar* calendar = nullptr;  // for the statuses' SLA; null: "sla": null
  };
  BatchReader(Ledger& ledger, Progress& progress, Options options);
  ~BatchReader();

  // The batch of up to min(read_batch, room) events after `after` (the ledger's head is `head`):
  // the one filled in the background if it starts there, else filled now on every thread. Then
  // starts filling the one after it in the background. Null if nothing could be read (the
  // problem is noted in Progress).
  Batch* next(Seq after, std::uint64_t head, std::size_t room);
  // Folds the statuses of items [0, n) of `batch` and encodes those it carries.
  void fold_statuses(Batch& batch, std::size_t n);
  // Waits for a background fill and forgets every cached status (after a rewind, or to stop).
  void reset();

 private:
  void fill(Batch& batch, Seq first, std::size_t n, bool background);
  void fill_part(Batch& batch, std::size_t begin, std::size_t end);
  const FilingStatus* status_after(const Event& e);
  // The statuses an erasure at `seq` republishes, each as of its filing's last event before it.
  void restate_erased(Item& item, const std::string& subject_ref);

  // The statuses of recently published filings, each as of the last event published for it,
  // least recently used first out.
  class StatusCache {
   public:
    explicit StatusCache(std::size_t capacity);
    FilingStatus* find(const std::string& filing_id);
    FilingStatus& put(const std::string& filing_id, FilingStatus status);
    void erase(const std::string& filing_id);
    void clear();

   private:
    using Entry = std::pair<std::string, FilingStatus>;
    std::size_t capacity_;
    std::list<Entry> order_;
    std::unordered_map<std::string, std::list<Entry>::iterator> index_;
  };

  Ledger& ledger_;
  Progress& progress_;
  Options options_;
  PersonalData personal_;
  StatusCache cache_;
  EncodePool pool_;
  // Two, so the workers fill one while the other is produced; kept from batch to batch so
  // their strings keep their capacity.
  Batch batches_[2];
  Batch* background_ = nullptr;  // being filled in the background, if any
};

}  // namespace filingd::kafka
