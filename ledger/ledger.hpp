// The ledger: the durable, ordered, hash-chained log of filing events and the projections
// derived from it, on RocksDB.
//
// Append: a command is validated (fields) in the caller's thread, then handed to the single
// writer thread. The writer decides queued commands into the open batch: for each it checks
// idempotency, the expected version and the state machine, pins ledger-computed fields (SMS
// deadline, attempt count), assigns seq and version, chains the hash and stages the projection
// updates, each in a savepoint so that a refused command leaves no trace. The sync thread takes
// the open batch whenever it is idle and writes it as ONE RocksDB WriteBatch with sync=true
// (group commit: one fsync for all), and every caller is answered. An append is acknowledged
// only after that fsync. While one batch is being written, the writer decides the next one on
// top of it (pipelining: CPU and disk overlap); batches are written and answered strictly in
// order, and if a write fails, the batch decided on top of it is refused too. An import (a
// filing's whole history) is one queued item: its events are decided one after the other in
// one savepoint, so it is refused or written whole, in one group commit.
//
// Lifecycle: open() recovers the head (seq, hash) from the meta column family and starts the
// threads; the destructor drains queued appends and stops them. Concurrency: append() and the read
// functions are thread-safe; reads go straight to RocksDB and never wait for the writer, and as
// each batch is one atomic write they never see an event without its projections. Callers are
// answered from a completion thread, in batch order.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/sms_policy.hpp"
#include "events/event.hpp"
#include "events/result.hpp"
#include "events/time.hpp"
#include "ledger/format/keys.hpp"
#include "ledger/format/values.hpp"
#include "ledger/keyring.hpp"
#include "ledger/store.hpp"
#include "ledger/tree.hpp"
#include "projections/registry.hpp"
#include "projections/status.hpp"

namespace filingd {

inline constexpr std::string_view kLocalPrincipal = "local";
inline constexpr std::string_view kSystemPrincipal = "system";

struct AppendCommand {
  std::string filing_id;
  Payload data;
  std::optional<Version> expected_version;
  std::string event_id;  // empty: the ledger generates a UUID
  std::string actor;
  // Who appends it: the token's name, kLocalPrincipal without tokens, kSystemPrincipal for the
  // daemon's timers. Set by the daemon, never by the client.
  std::string principal{kLocalPrincipal};
  std::optional<Timestamp> occurred_at;  // empty: now
  bool must_create = false;              // POST /v1/filings: an existing filing_id is a conflict
  // POST /v1/filings/{id}/events: an unknown filing_id is not_found, even for a filing_submitted
  // (a resubmission; a new filing is must_create's). Not part of the fingerprint: it never
  // changes what an accepted command wrote.
  bool must_exist = false;
};

// One event of an imported history (SPEC §6.6): business time and actor are the history's own.
struct ImportedEvent {
  Payload data;
  Timestamp occurred_at;
  std::string actor;
  std::string event_id;  // empty: the ledger generates a UUID
};

// A filing's past, brought from another system (SPEC §6.6): a new filing's whole history,
// appended as one.
struct ImportCommand {
  std::string filing_id;
  std::vector<ImportedEvent> events;
  // As AppendCommand::principal; kImportPrincipal for filingctl import.
  std::string principal{kLocalPrincipal};
};

// An import holds at most this many events: a real filing's history, resubmissions included,
// is a few dozen; more is a mistake in the export it came from.
inline constexpr std::size_t kMaxImportEvents = 1000;
inline constexpr std::string_view kImportPrincipal = "filingctl";
// An import of `events` events: too_large (field "events") beyond kMaxImportEvents.
Status check_import_size(std::size_t events);

struct ImportResult {
  std::string filing_id;
  Seq first_seq;  // the history's events are first_seq..last_seq, in order
  Seq last_seq;
  Version version;
  FilingState state = FilingState::none;
};

struct AppendResult {
  std::string filing_id;
  std::string event_id;
  Seq seq;
  Version version;
  FilingState state = FilingState::none;
  std::optional<Timestamp> sms_deadline;
  bool duplicate = false;  // an idempotent retry: nothing was written
};

// A filing on an SLA clock. `position` is an opaque resume point for the next page.
struct SlaEntry {
  Timestamp since;
  std::string filing_id;
  std::string position;
};

struct DeadlineEntry {
  Timestamp due;
  keys::DeadlineKind kind;
  std::string filing_id;
};

// The head stored in `store`; seq 0 for a ledger with no event. Errors: the read's, or internal
// for a corrupt value.
Result<LedgerHead> stored_head(const Store& store);
// Whether `store`'s projections are in this build's layout (an empty ledger's always are).
Result<bool> projections_layout_current(const Store& store);

// The event_id of an append that names none: a UUIDv7 (RFC 9562) for `now`, i.e. Unix
// milliseconds in the first 48 bits, the sub-millisecond fraction in the next 12 (its method
// 3), then random bits. Ids generated in time order sit next to each other in the idempotency
// index, so RocksDB inserts each one beside the last; a random (v4) id cost a full memtable
// skiplist search instead, a fifth of the engine's appends/s (docs/PERFORMANCE.md).
std::string new_event_id(Timestamp now);

// Business time may lie in the past, but not further than this in the future.
inline constexpr std::int64_t kMaxFutureSkewMicros = 5 * 60 * kMicrosPerSecond;

class Ledger {
 public:
  struct Options {
    std::string data_dir;
    const Clock* clock = nullptr;  // null: the system clock
    SmsPolicies sms_policies;
    // Events per group commit (an import's all count); an import larger than this gets a group
    // commit of its own.
    std::size_t max_batch = 4096;
    rocksdb::Env* env = nullptr;  // null: the default (tests inject I/O faults)
    // The keys of personal data (ledger/keyring.hpp). Null: personal fields are stored in clear,
    // as before they were sealed (tests that are not about them).
    std::shared_ptr<Keyring> keyring;
    // Maintain the Merkle tree (SPEC §8) in each append's batch. Off only to measure its cost
    // (bench/): a ledger appended to without it has a tree to rebuild before it opens with it.
    bool merkle_tree = true;
    // Set by open(): whether a subject may have a clear identity (ledger.cpp).
    bool clear_identities = true;
  };

  static Result<std::unique_ptr<Ledger>> open(Options options);
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // Validates, appends durably and returns the result. Errors: invalid/malformed (bad field),
  // not_found (unknown filing), conflict (version, duplicate filing_id or event_id reused with
  // other content, subject has an open filing), transition_not_allowed, io. On any error nothing
  // is written.
  Result<AppendResult> append(AppendCommand command);

  // The same, without blocking: `done` runs on the completion thread once the append is durable
  // (or refused), so it must be quick (post the result elsewhere). Field validation errors are
  // reported through `done` too, from the caller's thread.
  using AppendCallback = std::function<void(Result<AppendResult>)>;
  void append_async(AppendCommand command, AppendCallback done);

  // Appends a new filing's whole history (SPEC §6.6) as one: its events are decided in order,
  // each on top of the one before, by the rules of append() (state machine, business time,
  // pinned fields, cross-filing rules), and all of them go into the same group-commit
  // WriteBatch, or none does. Nothing else is decided between them, so the timer service sees
  // the filing only once the whole history is durable. Errors: those of append() for the first
  // refused event, with Error::index its position in `events` (and nothing written); conflict
  // for a filing id that exists or an event_id used before; too_large beyond kMaxImportEvents;
  // invalid for an empty history, a first event that is not filing_submitted, or an
  // occurred_at before the previous event's.
  Result<ImportResult> import(ImportCommand command);
  // The same, without blocking: `done` as append_async's.
  using ImportCallback = std::function<void(Result<ImportResult>)>;
  void import_async(ImportCommand command, ImportCallback done);

  // ---- reads (never block on the writer) ----
  Result<std::optional<FilingStatus>> status(std::string_view filing_id) const;
  // The statuses of `filing_ids`, in their order, read by one MultiGet (RocksDB shares the
  // batch's version, filter and index lookups); nullopt for a filing that does not exist.
  Result<std::vector<std::optional<FilingStatus>>> statuses(
      const std::vector<std::string>& filing_ids) const;
  // The filing's events from version `from` (1-based), at most `limit`.
  Result<std::vector<Event>> stream(std::string_view filing_id, Version from = Version(1),
                                    std::size_t limit = SIZE_MAX) const;
  Result<std::vector<Event>> events_after(Seq after, std::size_t limit) const;
  // The rest of each projection key under `prefix` (an index's, keys.hpp) after prefix+`after`
  // (before it when `reverse`), at most `limit`, in key order (reversed when `reverse`).
  Result<std::vector<std::string>> scan_index(std::string_view prefix, std::string_view after,
                                              std::size_t limit, bool reverse = false) const;
  // The projection counters ("state:approved" -> n, "deadline:sms" -> n).
  Result<std::vector<std::pair<std::string, std::uint64_t>>> counts() const;
  Result<std::vector<DeadlineEntry>> deadlines(std::optional<Timestamp> before,
                                               std::optional<keys::DeadlineKind> kind,
                                               std::size_t limit) const;
  // Filings on the SLA clock of `state` (Zhejiang's separately: its bureau review is longer),
  // in start order, after `position`.
  Result<std::vector<SlaEntry>> sla_clock(FilingState state, bool zhejiang,
                                          std::string_view position, std::size_t limit) const;
  // How many filings on that clock started before `before`: its keys counted, nothing decoded.
  Result<std::uint64_t> count_sla_clock(FilingState state, bool zhejiang, Timestamp before) const;
  Result<std::optional<RegistryRecord>> record(std::string_view number) const;
  Result<std::optional<std::string>> record_for_domain(std::string_view domain) const;
  // The subject record and its website records.
  Result<std::vector<RegistryRecord>> records_of_subject(std::string_view subject_number) const;
  // The filings of a subject, by its identity (projections/status.hpp subject_identity).
  Result<std::vector<std::string>> subject_filings(std::string_view identity) const;
  LedgerHead head() const;

  // Registers `listener` to run after every durable batch, with the new head seq, on the sync
  // thread (`ledger-sync`) and with no ledger lock held: it may read the ledger, but must be
  // quick (the next group commit waits for it; post work elsewhere). Listeners are how the timer
  // service and the publisher wake up without polling. Thread-safe; there is no removal:
  // register listeners that outlive the ledger, or only call this before work starts.
  void add_commit_listener(std::function<void(Seq)> listener);

  // Asks for the remnants of destroyed data keys (an erasure's) to be purged from the files
  // RocksDB still holds them in: the memtables are flushed (which retires the WAL that logged the
  // keys) and the keys column family compacted to its last level. Runs on `ledger-purge`;
  // returns at once. Thread-safe.
  void purge_destroyed_keys();

  // False after a group commit failed to write (a full disk, an I/O error), until one succeeds:
  // the ledger is not accepting appends. Thread-safe.
  bool writable() const { return writable_.load(std::memory_order_relaxed); }

  // Group commits written so far (one WAL fsync each).
  std::uint64_t group_commits() const { return group_commits_.load(std::memory_order_relaxed); }

  Store& store() { return *store_; }
  const Clock& clock() const { return *clock_; }
  // Takes new SMS policies for the deadlines pinned from now on (a SIGHUP reload). Thread-safe.
  void reload_sms_policies(const SmsPolicies& policies) {
    options_.sms_policies.replace_with(policies);
  }
  // The keys of personal data; null when they are stored in clear.
  const std::shared_ptr<Keyring>& keyring() const { return options_.keyring; }
  // The Merkle tree as of the last durable batch: its size is head().seq. Thread-safe.
  TreeHead tree_head() const;
  // Reads the tree's stored hashes; any index below the stored hash count of tree_head()'s size
  // is there to read (stored hashes never change), through a cache of those read before.
  // Thread-safe.
  tlog::HashReader tree_reader() const { return filingd::tree_reader(*store_, tree_cache_); }

 private:
  struct Pending;
  struct Batch;
  Ledger(Options options, std::unique_ptr<Store> store, LedgerHead head, TreeBlocks tree);
  void writer_loop();
  void enqueue(std::unique_ptr<Pending> p);
  void decide_into(Batch& b, std::vector<std::unique_ptr<Pending>> taken);
  // Drops the data keys `staging` created or unwrapped from the keyring's cache: its writes
  // are discarded, so the keys it staged will never be stored.
  void forget_staged_keys(const Staging& staging);
  void sync_loop();
  void claim(std::unique_lock<std::mutex>& lock);
  bool finish(std::unique_ptr<Batch> b);  // false: the write failed
  static void fail(Batch& b, const Error& error);
  void complete(std::unique_ptr<Batch> b);
  void completion_loop();

  Options options_;
  SystemClock system_clock_;
  const Clock* clock_;
  std::unique_ptr<Store> store_;
  mutable TreeCache tree_cache_;  // of tree_reader()

  mutable std::mutex head_mu_;
  LedgerHead published_head_;  // guarded by head_mu_: after the last durable batch
  tlog::Hash published_root_;  // guarded by head_mu_: the tree's root at published_head_
  std::vector<std::function<void(Seq)>> listeners_;  // guarded by head_mu_
  std::atomic<std::uint64_t> group_commits_{0};
  std::atomic<bool> writable_{true};

  std::mutex mu_;
  std::condition_variable cv_;                  // the writer waits here
  std::deque<std::unique_ptr<Pending>> queue_;  // guarded by mu_
  bool stopping_ = false;                       // guarded by mu_
  std::thread writer_;

  // The batch being decided (by the writer) and the one being written (by the sync thread).
  std::mutex open_mu_;
  std::condition_variable open_cv_;  // the sync thread waits for a batch, the writer for room
  std::unique_ptr<Batch> open_;      // guarded by open_mu_
  std::size_t open_size_ = 0;        // guarded by open_mu_: events decided into open_
  bool deciding_ = false;            // guarded by open_mu_: the writer is deciding into open_
  bool claiming_ = false;            // guarded by open_mu_: the sync thread waits to claim it
  // guarded by open_mu_: while the sync thread gathers a burst, the size at which it takes the
  // open batch (0 when it is not gathering); the writer decides no further into it.
  std::size_t gather_size_ = 0;
  Batch* in_flight_ = nullptr;  // guarded by open_mu_; owned by the sync thread
  // After the last decided command: guarded by open_mu_, but the writer uses it while it
  // decides without the lock, so the sync thread changes it only after claim().
  LedgerHead head_;
  TreeBlocks tree_;          // the Merkle tree at head_, under the same rules
  TreeBlocks durable_tree_;  // the sync thread's: the tree as of the last durable batch
  bool writer_done_ = false;     // guarded by open_mu_
  std::thread syncer_;

  // Answering callers (waking 64 threads on 2 cores preempts whoever wakes them) happens on a
  // completion thread, so the writer goes straight on to the next batch.
  std::mutex done_mu_;
  std::condition_variable done_cv_;
  std::deque<std::unique_ptr<Batch>> done_;  // guarded by done_mu_
  bool done_stopping_ = false;               // guarded by done_mu_
  std::thread completer_;

  std::mutex purge_mu_;
  std::condition_variable purge_cv_;
  bool purge_requested_ = false;  // guarded by purge_mu_
  bool purge_stopping_ = false;   // guarded by purge_mu_
  std::thread purger_;
  void purge_loop();
};

// The registry's word on a record number for status JSON (projections/status.hpp); reads
// `ledger`, which must outlive it.
RecordStatusOf record_status_of(const Ledger& ledger);

}  // namespace filingd
