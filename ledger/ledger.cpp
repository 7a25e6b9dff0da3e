#include "ledger/ledger.hpp"
#include "ledger/format/projection_values.hpp"
#include "ledger/personal_data.hpp"

#include <pthread.h>

#include <spdlog/spdlog.h>

#include <future>

#include "ledger/decide.hpp"
#include "ledger/format/keys.hpp"

namespace filingd {

// A queued append, or an import: its events, decided as one (all or none), `cmd` unused. An
// import is answered with its last event's result.
struct Ledger::Pending {
  AppendCommand cmd;
  Hash fingerprint{};
  std::vector<ImportStep> import;
  AppendCallback done;
  // Its weight against Options::max_batch.
  std::size_t events() const { return import.empty() ? 1 : import.size(); }
};

// One group commit: decided by the writer thread into `staging`, written as one WriteBatch by the
// sync thread, answered by the completion thread.
struct Ledger::Batch {
  explicit Batch(const Store& store) : staging(store) {}
  explicit Batch(Staging& below) : staging(below, Staging::Over::later_batch) {}
  Staging staging;
  std::vector<std::unique_ptr<Pending>> pending;
  std::vector<Result<AppendResult>> results;  // one per pending, in order
  LedgerHead head;                            // after this batch
  TreeBlocks tree;                            // the Merkle tree at `head`
  rocksdb::WriteBatch write;
  rocksdb::Status status;  // of the write, set by the sync thread
};

namespace {

// A ledger holds data keys wrapped under one master key: opening it with another would make
// every subject's personal data unreadable (and new ones wrapped under a second key). The
// first keyed open records the key's check value; later opens compare it.
// The master key must be the ledger's; the first open with one records its check value.
// Whether a subject may have a clear identity in the projections (a filing stored before
// personal data was sealed, or appended without a keyring): not if every event was sealed, which
// the kSealedFromGenesis marker says from the first keyed open of an empty ledger on.
Result<bool> may_hold_clear_identities(Store& store, bool sealing, const LedgerHead& head) {
  auto marker = store.get(Cf::meta, keys::kSealedFromGenesis);
  if (!marker) return marker.take_error();
  rocksdb::Status s;
  if (sealing && !*marker && head.seq.value == 0) {
    s = store.db()->Put(rocksdb::WriteOptions(), store.cf(Cf::meta), keys::kSealedFromGenesis, "");
  } else if (!sealing && *marker) {
    s = store.db()->Delete(rocksdb::WriteOptions(), store.cf(Cf::meta), keys::kSealedFromGenesis);
  } else {
    return !sealing || !*marker;
  }
  if (!s.ok()) return from_rocksdb(s, "cannot record whether the ledger is sealed");
  return !sealing;
}

Status record_master_key(Store& store, Keyring* keyring, const std::string& data_dir) {
  if (keyring == nullptr) return {};
  if (auto ok = check_master_key(store, *keyring, data_dir); !ok) return ok;
  auto stored = store.get(Cf::meta, keys::kMasterKeyCheck);
  if (!stored) return stored.take_error();
  if (*stored) return {};
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status s =
      store.db()->Put(wo, store.cf(Cf::meta), keys::kMasterKeyCheck, keyring->check_value());
  if (!s.ok()) return from_rocksdb(s, "cannot record the master key's check value");
  return {};
}

}  // namespace

Result<std::unique_ptr<Ledger>> Ledger::open(Options options) {
  auto store = Store::open({.path = options.data_dir, .env = options.env});
  if (!store) return store.take_error();
  auto marker = (*store)->get(Cf::meta, keys::kRebuildMarker);
  if (!marker) return marker.take_error();
  if (*marker)
    return make_error(ErrorCode::unavailable,
                      "projections in " + options.data_dir +
                          " are incomplete (a rebuild was interrupted); rebuild them first");
  auto layout = projections_layout_current(**store);
  if (!layout) return layout.take_error();
  if (!*layout)
    return make_error(ErrorCode::unavailable,
                      "projections in " + options.data_dir +
                          " were built by another version (another layout); rebuild them first");
  auto head = stored_head(**store);
  if (!head) return make_error(head.error().code, head.error().message + " in " + options.data_dir);
  if (head->seq.value == 0) {
    // A new ledger: its projections are built in this layout from the first append on.
    rocksdb::Status s =
        (*store)->db()->Put(rocksdb::WriteOptions(), (*store)->cf(Cf::meta),
                            keys::kProjectionsLayout, encode_count(kProjectionsLayoutVersion));
    if (!s.ok()) return from_rocksdb(s, "cannot record the projections' layout");
  }
  if (auto ok = record_master_key(**store, options.keyring.get(), options.data_dir); !ok)
    return ok.take_error();
  auto clear_identities = may_hold_clear_identities(**store, options.keyring != nullptr, *head);
  if (!clear_identities) return clear_identities.take_error();
  options.clear_identities = *clear_identities;
  auto tree = options.merkle_tree ? TreeBlocks::resume(**store, head->seq)
                                  : Result<TreeBlocks>(TreeBlocks());
  if (!tree) return tree.take_error();
  return std::unique_ptr<Ledger>(
      new Ledger(std::move(options), std::move(*store), *head, std::move(*tree)));
}

Ledger::Ledger(Options options, std::unique_ptr<Store> store, LedgerHead head, TreeBlocks tree)
    : options_(std::move(options)),
      clock_(options_.clock ? options_.clock : &system_clock_),
      store_(std::move(store)),
      published_head_(head),
      published_root_(tree.tree().root()),
      head_(head),
      tree_(tree),
      durable_tree_(std::move(tree)) {
  // Named for top -H and perf.
  writer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "ledger-decide");
    writer_loop();
  });
  syncer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "ledger-sync");
    sync_loop();
  });
  completer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "ledger-answer");
    completion_loop();
  });
  purger_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "ledger-purge");
    purge_loop();
  });
}

Ledger::~Ledger() {
  {
    std::lock_guard lock(purge_mu_);
    purge_stopping_ = true;
  }
  purge_cv_.notify_one();
  purger_.join();
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  writer_.join();  // returns once every queued command is decided
  syncer_.join();  // returns once every decided batch is written (or refused)
  {
    std::lock_guard lock(done_mu_);
    done_stopping_ = true;
  }
  done_cv_.notify_one();
  completer_.join();
}

void Ledger::completion_loop() {
  for (;;) {
    std::unique_ptr<Batch> b;
    {
      std::unique_lock lock(done_mu_);
      done_cv_.wait(lock, [&] { return done_stopping_ || !done_.empty(); });
      if (done_.empty()) return;  // stopping, and every caller was answered
      b = std::move(done_.front());
      done_.pop_front();
    }
    for (std::size_t i = 0; i < b->pending.size(); ++i)
      b->pending[i]->done(std::move(b->results[i]));
  }
}

Result<AppendResult> Ledger::append(AppendCommand command) {
  std::promise<Result<AppendResult>> promise;
  auto result = promise.get_future();
  append_async(std::move(command),
               [&promise](Result<AppendResult> r) { promise.set_value(std::move(r)); });
  return result.get();
}

void Ledger::append_async(AppendCommand command, AppendCallback done) {
  if (auto ok = validate_command(command); !ok) return done(ok.take_error());
  auto p = std::make_unique<Pending>();
  p->fingerprint = command_fingerprint(command);
  p->cmd = std::move(command);
  p->done = std::move(done);
  enqueue(std::move(p));
}

Result<ImportResult> Ledger::import(ImportCommand command) {
  std::promise<Result<ImportResult>> promise;
  auto result = promise.get_future();
  import_async(std::move(command),
               [&promise](Result<ImportResult> r) { promise.set_value(std::move(r)); });
  return result.get();
}

void Ledger::import_async(ImportCommand command, ImportCallback done) {
  auto steps = import_steps(command);
  if (!steps) return done(steps.take_error());
  auto p = std::make_unique<Pending>();
  p->import = std::move(*steps);
  // The events were decided one after the other, so their seqs are consecutive.
  p->done = [n = p->import.size(), done = std::move(done)](Result<AppendResult> last) {
    if (!last) return done(last.take_error());
    done(ImportResult{.filing_id = std::move(last->filing_id),
                      .first_seq = Seq(last->seq.value - (n - 1)),
                      .last_seq = last->seq,
                      .version = last->version,
                      .state = last->state});
  };
  enqueue(std::move(p));
}

void Ledger::enqueue(std::unique_ptr<Pending> p) {
  {
    std::unique_lock lock(mu_);
    if (!stopping_) {
      queue_.push_back(std::move(p));
      lock.unlock();
      cv_.notify_one();
      return;
    }
  }
  p->done(make_error(ErrorCode::unavailable, "the ledger is shutting down"));
}

// The writer decides commands into the open batch, a few at a time, while the sync thread writes
// the batch before it; the open batch reads through the one in flight, whose writes are not in
// the database yet. As soon as a write returns, the sync thread takes the open batch as it
// stands (waiting at most for the chunk being decided) and writes it: no thread hand-off on the
// path from one fsync to the next. The writer decides without holding open_mu_: holding it, it
// kept the sync thread from taking a partly decided batch at all while commands were queued.
// Batches reach the disk, and callers their answers, in order.
void Ledger::writer_loop() {
  const std::size_t chunk = std::min<std::size_t>(4, options_.max_batch);
  for (;;) {
    std::vector<std::unique_ptr<Pending>> taken;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) break;  // stopping, and every queued command is decided
      for (std::size_t n = chunk; n > 0 && !queue_.empty(); --n) {
        taken.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    std::size_t n = 0;
    for (const auto& p : taken) n += p->events();
    Batch* into;
    {
      std::unique_lock lock(open_mu_);
      open_cv_.wait(lock, [&] {
        if (claiming_) return false;
        return !open_ || (open_size_ + n <= options_.max_batch &&
                          (gather_size_ == 0 || open_size_ < gather_size_));
      });
      if (!open_) {
        open_ = in_flight_ ? std::make_unique<Batch>(in_flight_->staging)
                           : std::make_unique<Batch>(*store_);
        open_size_ = 0;
      }
      into = open_.get();
      deciding_ = true;
    }
    decide_into(*into, std::move(taken));
    {
      std::lock_guard lock(open_mu_);
      deciding_ = false;
      open_size_ += n;
    }
    open_cv_.notify_all();
  }
  {
    std::lock_guard lock(open_mu_);
    writer_done_ = true;
  }
  open_cv_.notify_all();
}

void Ledger::decide_into(Batch& b, std::vector<std::unique_ptr<Pending>> taken) {
  const Timestamp now = clock_->now();
  const DecideContext ctx{options_.sms_policies, options_.keyring.get(),
                          options_.merkle_tree ? &tree_ : nullptr, options_.clear_identities};
  for (auto& p : taken) {
    Staging savepoint(b.staging, Staging::Over::savepoint);
    auto r = p->import.empty() ? decide(savepoint, p->cmd, p->fingerprint, ctx, now, head_)
                               : decide_import(savepoint, p->import, ctx, now, head_);
    if (r) {
      savepoint.merge_into_parent();
    } else {
      forget_staged_keys(savepoint);
    }
    b.results.push_back(std::move(r));
    b.pending.push_back(std::move(p));
  }
  b.head = head_;
  b.tree = tree_;
}

void Ledger::sync_loop() {
  constexpr auto kGatherWindow = std::chrono::microseconds(200);
  // Splitting a burst in two pays once deciding half of it takes about as long as an fsync
  // (a few hundred microseconds, some 30 commands); a smaller burst is better as one group.
  constexpr std::size_t kSplitFrom = 32;
  rocksdb::WriteOptions wo;
  wo.sync = true;
  bool wrote = false;
  std::size_t last_size = 0;
  for (;;) {
    std::unique_ptr<Batch> b;
    std::size_t size = 0;  // its events
    {
      // Straight after a write, the open batch is taken as it stands: it filled during the
      // write. An idle sync thread gives a burst a moment to be decided (until the open batch
      // holds half as many commands as the last one, for at most kGatherWindow); from
      // kSplitFrom commands on, the writer also stops deciding into it at that half until it is
      // taken. N callers in lockstep then settle into two alternating groups of N/2, one
      // decided while the other is written, instead of one group decided and written in turn.
      std::unique_lock lock(open_mu_);
      if (!(wrote && open_)) {
        const std::size_t half = (last_size + 1) / 2;
        if (last_size >= kSplitFrom) gather_size_ = half;
        open_cv_.wait(lock, [&] { return open_ || writer_done_; });
        open_cv_.wait_for(lock, kGatherWindow,
                          [&] { return !open_ || open_size_ >= half || writer_done_; });
        gather_size_ = 0;
      }
      if (!open_) return;  // the writer has stopped and everything is written
      claim(lock);
      b = std::move(open_);
      size = open_size_;
      in_flight_ = b.get();
      claiming_ = false;
    }
    open_cv_.notify_all();  // room for the writer again
    // The staging is only read from here on: the next batch reads through it concurrently.
    if (!b->staging.empty()) {
      b->staging.write_to(b->write);
      b->write.Put(store_->cf(Cf::meta), keys::kHead, encode_head(b->head));
      b->status = store_->db()->Write(wo, &b->write);
    }
    std::unique_ptr<Batch> refused;
    {
      std::unique_lock lock(open_mu_);
      claim(lock);
      in_flight_ = nullptr;
      if (open_) open_->staging.detach();  // what it read through is in the database now
      if (!b->status.ok()) {
        // The open batch was decided on top of writes that failed: none of it may be written,
        // and the next decisions start again from the last durable head.
        refused = std::move(open_);
        head_ = head();
        tree_ = durable_tree_;
        forget_staged_keys(b->staging);
        if (refused) forget_staged_keys(refused->staging);
      }
      claiming_ = false;
    }
    open_cv_.notify_all();
    wrote = b->write.Count() > 0;
    last_size = size;
    finish(std::move(b));
    if (refused) {
      fail(*refused, make_error(ErrorCode::io, "an earlier write of this group commit failed"));
      complete(std::move(refused));
    }
  }
}

// Waits until the writer is between two chunks, and keeps it there until claiming_ is reset:
// the open batch, head_ and the staging chain are then the sync thread's to change.
void Ledger::claim(std::unique_lock<std::mutex>& lock) {
  claiming_ = true;
  open_cv_.wait(lock, [&] { return !deciding_; });
}

bool Ledger::finish(std::unique_ptr<Batch> b) {
  const bool ok = b->status.ok();
  writable_.store(ok, std::memory_order_relaxed);
  if (ok) {
    if (b->write.Count() > 0) {
      group_commits_.fetch_add(1, std::memory_order_relaxed);
      durable_tree_ = b->tree;
      const tlog::Hash root = b->tree.tree().root();
      std::vector<std::function<void(Seq)>> listeners;
      {
        std::lock_guard lock(head_mu_);
        published_head_ = b->head;
        published_root_ = root;
        listeners = listeners_;
      }
      // Without the lock: a listener may read the ledger, head() included.
      for (const auto& listener : listeners) listener(b->head.seq);
    }
  } else {
    spdlog::error("ledger write failed, {} appends refused: {}", b->pending.size(),
                  b->status.ToString());
    fail(*b, from_rocksdb(b->status, "ledger write failed"));
  }
  complete(std::move(b));
  return ok;
}

void Ledger::forget_staged_keys(const Staging& staging) {
  if (options_.keyring == nullptr) return;
  for (const std::string& ref : staging.keys_in(Cf::keys)) options_.keyring->evict(ref);
}

void Ledger::fail(Batch& b, const Error& error) {
  for (auto& r : b.results) {
    if (r) r = error;
  }
}

void Ledger::complete(std::unique_ptr<Batch> b) {
  {
    std::lock_guard lock(done_mu_);
    done_.push_back(std::move(b));
  }
  done_cv_.notify_one();
}

void Ledger::add_commit_listener(std::function<void(Seq)> listener) {
  std::lock_guard lock(head_mu_);
  listeners_.push_back(std::move(listener));
}

TreeHead Ledger::tree_head() const {
  std::lock_guard lock(head_mu_);
  return TreeHead{static_cast<std::int64_t>(published_head_.seq.value), published_root_};
}

LedgerHead Ledger::head() const {
  std::lock_guard lock(head_mu_);
  return published_head_;
}

}  // namespace filingd
