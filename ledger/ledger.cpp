#include "ledger/ledger.hpp"

#include <pthread.h>

#include <rocksdb/iterator.h>
#include <spdlog/spdlog.h>
#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

#include <cstring>
#include <future>

#include "events/codec.hpp"
#include "events/hash.hpp"
#include "events/validation.hpp"
#include "projections/projector.hpp"

namespace filingd {

struct Ledger::Pending {
  AppendCommand cmd;
  Hash fingerprint{};
  AppendCallback done;
};

// One group commit: decided by the writer thread into `staging`, written as one WriteBatch by the
// sync thread, answered by the completion thread.
struct Ledger::Batch {
  explicit Batch(const Store& store) : staging(store) {}
  Batch(Staging& below) : staging(below) {}
  Staging staging;
  std::vector<std::unique_ptr<Pending>> pending;
  std::vector<Result<AppendResult>> results;  // one per pending, in order
  LedgerHead head;                            // after this batch
  rocksdb::WriteBatch write;
  rocksdb::Status status;  // of the write, set by the sync thread
};

std::string encode_head(const LedgerHead& h) {
  std::string out;
  out.reserve(kHeadValueSize);
  keys::put_u64(out, h.seq.value);
  out.append(reinterpret_cast<const char*>(h.hash.data()), h.hash.size());
  return out;
}

std::optional<LedgerHead> decode_head(std::string_view value) {
  if (value.size() != kHeadValueSize) return std::nullopt;
  LedgerHead h;
  h.seq = Seq(keys::get_u64(value));
  std::memcpy(h.hash.data(), value.data() + 8, kHashSize);
  return h;
}

Result<LedgerHead> stored_head(const Store& store) {
  auto raw = store.get(Cf::meta, keys::kHead);
  if (!raw) return raw.take_error();
  if (!*raw) return LedgerHead{};
  auto head = decode_head(**raw);
  if (!head) return make_error(ErrorCode::internal, "corrupt ledger head");
  return *head;
}

std::string encode_idempotency(Seq seq, Version v, FilingState state, const Hash& fingerprint) {
  std::string out;
  out.reserve(kIdempotencyValueSize);
  keys::put_u64(out, seq.value);
  keys::put_u32(out, v.value);
  out.push_back(static_cast<char>(state));
  out.append(reinterpret_cast<const char*>(fingerprint.data()), fingerprint.size());
  return out;
}

namespace {

// Everything the client said, so a retry with the same event_id is recognised as the same
// event and anything else as a reuse.
Hash fingerprint(const AppendCommand& c) {
  Sha256 h;
  std::string fixed;
  keys::put_u64(fixed, c.occurred_at ? static_cast<std::uint64_t>(c.occurred_at->micros) : 0);
  keys::put_u32(fixed, c.expected_version ? c.expected_version->value : 0);
  fixed.push_back(static_cast<char>((c.occurred_at ? 1 : 0) | (c.expected_version ? 2 : 0) |
                                    (c.must_create ? 4 : 0)));
  h.update(c.filing_id).update(std::string_view("\0", 1));
  h.update(c.actor).update(std::string_view("\0", 1));
  h.update(fixed).update(encode_payload(c.data));
  return h.finish();
}

Error invalid(std::string msg, std::string field) {
  return make_error(ErrorCode::invalid, std::move(msg), std::move(field));
}

Status validate_command(AppendCommand& c) {
  if (auto ok = validate_filing_id(c.filing_id); !ok) return ok;
  if (!c.event_id.empty()) {
    if (auto ok = validate_event_id(c.event_id); !ok) return ok;
  }
  if (c.actor.empty()) return invalid("actor is required", "actor");
  if (c.actor.size() > kMaxShortText) return invalid("actor is too long", "actor");
  if (c.must_create && type_of(c.data) != EventType::filing_submitted)
    return invalid("a new filing starts with filing_submitted", "type");
  return validate_payload(c.data);
}

// Fields the ledger computes and pins; a client may omit them or repeat the exact value.
Status pin_fields(Event& e, const FilingStatus& before, const SmsPolicies& policies) {
  const std::string when = format_rfc3339(e.occurred_at);
  // Once the SMS deadline has passed, only the expiry may be recorded for the verification.
  if (before.state == FilingState::sms_pending && before.sms_deadline &&
      e.occurred_at > *before.sms_deadline && e.type() != EventType::sms_expired)
    return invalid("occurred_at " + when + " is after the SMS deadline " +
                       format_rfc3339(*before.sms_deadline),
                   "occurred_at");
  if (auto* b = std::get_if<SubmittedToBureau>(&e.data)) {
    if (b->sms_deadline || !b->policy_id.empty())
      return invalid("sms_deadline and policy_id are computed by the ledger", "data.sms_deadline");
    if (!skips_sms(before.filing_type)) {
      const SmsPolicy& policy = policies.select(before.province, before.provider, e.occurred_at);
      b->sms_deadline = Timestamp{e.occurred_at.micros + policy.window_micros};
      b->policy_id = policy.id;
    }
  } else if (auto* f = std::get_if<SmsAttemptFailed>(&e.data)) {
    const std::uint32_t next = before.sms_failures + 1;
    if (f->attempt != 0 && f->attempt != next)
      return invalid("attempt must be " + std::to_string(next), "data.attempt");
    f->attempt = next;
  } else if (auto* c = std::get_if<SmsConfirmed>(&e.data)) {
    if (c->phone.empty() && !before.websites.empty())
      c->phone = mask_tail(before.websites.front().responsible.mobile);
  } else if (auto* x = std::get_if<SmsExpired>(&e.data)) {
    if (before.sms_deadline) {
      if (x->deadline.micros != 0 && x->deadline != *before.sms_deadline)
        return invalid(
            "deadline must be the pinned SMS deadline " + format_rfc3339(*before.sms_deadline),
            "data.deadline");
      x->deadline = *before.sms_deadline;
      if (e.occurred_at < x->deadline)
        return invalid(
            "the SMS deadline " + format_rfc3339(x->deadline) + " has not passed at " + when,
            "occurred_at");
    }
  } else if (std::holds_alternative<FilingAbandoned>(e.data)) {
    if (before.abandon_at && e.occurred_at < *before.abandon_at)
      return invalid(
          "a returned filing can be abandoned from " + format_rfc3339(*before.abandon_at),
          "occurred_at");
  }
  return {};
}

}  // namespace

std::string new_event_id(Timestamp now) {
  // Seeded once from the system's entropy: boost's default generator makes a getrandom call
  // for every id, on the thread that decides every append.
  thread_local boost::uuids::random_generator_mt19937 gen;
  boost::uuids::uuid id = gen();  // the variant bits stay as the generator set them
  const auto micros = static_cast<std::uint64_t>(std::max<std::int64_t>(now.micros, 0));
  const std::uint64_t ms = micros / 1000;
  const auto fraction = static_cast<std::uint32_t>((micros % 1000) * 4096 / 1000);
  for (int i = 0; i < 6; ++i) id.data[i] = static_cast<std::uint8_t>(ms >> (40 - 8 * i));
  id.data[6] = static_cast<std::uint8_t>(0x70 | (fraction >> 8));
  id.data[7] = static_cast<std::uint8_t>(fraction);
  return boost::uuids::to_string(id);
}

Result<std::unique_ptr<Ledger>> Ledger::open(Options options) {
  auto store = Store::open({.path = options.data_dir, .env = options.env});
  if (!store) return store.take_error();
  auto marker = (*store)->get(Cf::meta, keys::kRebuildMarker);
  if (!marker) return marker.take_error();
  if (*marker)
    return make_error(ErrorCode::unavailable,
                      "projections in " + options.data_dir +
                          " are incomplete (a rebuild was interrupted); rebuild them first");
  auto head = stored_head(**store);
  if (!head) return make_error(head.error().code, head.error().message + " in " + options.data_dir);
  return std::unique_ptr<Ledger>(new Ledger(std::move(options), std::move(*store), *head));
}

Ledger::Ledger(Options options, std::unique_ptr<Store> store, LedgerHead head)
    : options_(std::move(options)),
      clock_(options_.clock ? options_.clock : &system_clock_),
      store_(std::move(store)),
      published_head_(head),
      head_(head) {
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
}

Ledger::~Ledger() {
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
  p->fingerprint = fingerprint(command);
  p->cmd = std::move(command);
  p->done = std::move(done);
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
    const std::size_t n = taken.size();
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
  for (auto& p : taken) {
    Staging savepoint(b.staging);
    auto r = decide(savepoint, *p, now, head_);
    if (r) savepoint.merge_into_parent();
    b.results.push_back(std::move(r));
    b.pending.push_back(std::move(p));
  }
  b.head = head_;
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
      }
      claiming_ = false;
    }
    open_cv_.notify_all();
    wrote = b->write.Count() > 0;
    last_size = b->pending.size();
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
  if (ok) {
    if (b->write.Count() > 0) {
      group_commits_.fetch_add(1, std::memory_order_relaxed);
      std::lock_guard lock(head_mu_);
      published_head_ = b->head;
      for (const auto& listener : listeners_) listener(b->head.seq);
    }
  } else {
    spdlog::error("ledger write failed, {} appends refused: {}", b->pending.size(),
                  b->status.ToString());
    fail(*b, from_rocksdb(b->status, "ledger write failed"));
  }
  complete(std::move(b));
  return ok;
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

Result<AppendResult> Ledger::decide(Staging& txn, const Pending& p, Timestamp now,
                                    LedgerHead& head) {
  const AppendCommand& cmd = p.cmd;

  if (!cmd.event_id.empty()) {
    auto prior = txn.get(Cf::idempotency, cmd.event_id);
    if (!prior) return prior.take_error();
    if (*prior) {
      const std::string& v = **prior;
      if (v.size() != kIdempotencyValueSize)
        return make_error(ErrorCode::internal, "corrupt idempotency entry " + cmd.event_id);
      if (std::memcmp(v.data() + 13, p.fingerprint.data(), 32) != 0)
        return make_error(ErrorCode::conflict,
                          "event_id " + cmd.event_id + " was already used for a different event",
                          "event_id");
      AppendResult r;
      r.filing_id = cmd.filing_id;
      r.event_id = cmd.event_id;
      r.seq = Seq(keys::get_u64(v));
      r.version = Version(keys::get_u32(v.substr(8)));
      r.state = static_cast<FilingState>(v[12]);
      r.duplicate = true;
      return r;
    }
  }

  Staging::ProjectionView view(txn);
  auto before = load_status(view, cmd.filing_id);
  if (!before) return before.take_error();
  if (view.error()) return *view.error();
  if (cmd.must_create && before->exists())
    return make_error(ErrorCode::conflict, "filing " + cmd.filing_id + " already exists",
                      "filing_id");
  if (!before->exists() && type_of(cmd.data) != EventType::filing_submitted)
    return make_error(ErrorCode::not_found, "filing " + cmd.filing_id + " does not exist",
                      "filing_id");
  if (cmd.expected_version && *cmd.expected_version != before->version)
    return make_error(ErrorCode::conflict,
                      "expected_version " + std::to_string(cmd.expected_version->value) +
                          " but filing " + cmd.filing_id + " is at version " +
                          std::to_string(before->version.value),
                      "expected_version");

  Event e;
  e.occurred_at = cmd.occurred_at.value_or(now);
  if (e.occurred_at.micros > now.micros + kMaxFutureSkewMicros)
    return invalid("occurred_at lies more than 5 minutes in the future", "occurred_at");
  if (before->exists() && e.occurred_at < before->updated_at)
    return invalid("occurred_at is before the filing's previous event (" +
                       format_rfc3339(before->updated_at) + ")",
                   "occurred_at");
  e.seq = head.seq.next();
  e.filing_id = cmd.filing_id;
  e.version = before->version.next();
  e.event_id = cmd.event_id.empty() ? new_event_id(now) : cmd.event_id;
  e.schema = current_schema(type_of(cmd.data));
  e.recorded_at = now;
  e.actor = cmd.actor;
  e.data = cmd.data;
  if (auto ok = pin_fields(e, *before, options_.sms_policies); !ok) return ok.take_error();

  auto after = project(view, *before, e);
  if (!after) return after.take_error();
  if (view.error()) return *view.error();

  const std::string body = encode_body(e);
  e.prev_hash = head.hash;
  e.hash = chain_hash(body, e.prev_hash);
  txn.put(Cf::log, keys::seq(e.seq), make_record(body, e.prev_hash, e.hash));
  txn.put(Cf::streams, keys::stream(e.filing_id, e.version), keys::seq(e.seq));
  txn.put(Cf::idempotency, e.event_id,
          encode_idempotency(e.seq, e.version, after->state, p.fingerprint));
  head = LedgerHead{e.seq, e.hash};

  AppendResult r;
  r.filing_id = e.filing_id;
  r.event_id = e.event_id;
  r.seq = e.seq;
  r.version = e.version;
  r.state = after->state;
  r.sms_deadline = after->sms_deadline;
  return r;
}

// ---- reads ---------------------------------------------------------------------------------

Result<std::optional<FilingStatus>> Ledger::status(std::string_view filing_id) const {
  auto raw = store_->get(Cf::projections, keys::status(filing_id));
  if (!raw) return raw.take_error();
  if (!*raw) return std::optional<FilingStatus>{};
  auto s = decode_status(**raw);
  if (!s) return s.take_error();
  return std::optional<FilingStatus>(std::move(*s));
}

Result<std::vector<Event>> Ledger::stream(std::string_view filing_id, Version from,
                                          std::size_t limit) const {
  std::vector<Event> out;
  const std::string prefix = keys::stream_prefix(filing_id);
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(rocksdb::ReadOptions(), store_->cf(Cf::streams)));
  for (it->Seek(keys::stream(filing_id, from)); it->Valid() && out.size() < limit; it->Next()) {
    if (!it->key().starts_with(prefix)) break;
    auto raw = store_->get(Cf::log, it->value().ToStringView());
    if (!raw) return raw.take_error();
    if (!*raw) return make_error(ErrorCode::internal, "stream index points at a missing event");
    auto e = decode_record(**raw);
    if (!e) return e.take_error();
    out.push_back(std::move(*e));
  }
  if (!it->status().ok()) return from_rocksdb(it->status(), "stream read failed");
  return out;
}

Result<std::vector<Event>> Ledger::events_after(Seq after, std::size_t limit) const {
  std::vector<Event> out;
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(rocksdb::ReadOptions(), store_->cf(Cf::log)));
  for (it->Seek(keys::seq(after.next())); it->Valid() && out.size() < limit; it->Next()) {
    auto e = decode_record(it->value().ToStringView());
    if (!e) return e.take_error();
    out.push_back(std::move(*e));
  }
  if (!it->status().ok()) return from_rocksdb(it->status(), "log read failed");
  return out;
}

namespace {

// Visits the keys of the projections column family under `prefix`, starting after
// prefix+cursor, until `visit` returns false.
template <class Visit>
Status scan_prefix(const Store& store, const std::string& prefix, std::string_view cursor,
                   Visit visit) {
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(rocksdb::ReadOptions(), store.cf(Cf::projections)));
  const std::string start = prefix + std::string(cursor);
  it->Seek(start);
  if (!cursor.empty() && it->Valid() && it->key().ToStringView() == start) it->Next();
  for (; it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (!visit(it->key().ToStringView().substr(prefix.size()), it->value().ToStringView())) break;
  }
  if (!it->status().ok()) return from_rocksdb(it->status(), "projection read failed");
  return {};
}

}  // namespace

Result<std::vector<std::string>> Ledger::list(
    std::optional<std::pair<keys::Index, std::string>> index, std::string_view cursor,
    std::size_t limit) const {
  std::vector<std::string> out;
  const std::string prefix =
      index ? keys::index_prefix(index->first, index->second) : std::string(keys::kStatusPrefix);
  auto ok = scan_prefix(*store_, prefix, cursor, [&](std::string_view id, std::string_view) {
    out.emplace_back(id);
    return out.size() < limit;
  });
  if (!ok) return ok.take_error();
  return out;
}

Result<std::vector<SlaEntry>> Ledger::sla_clock(FilingState state, bool zhejiang,
                                                std::string_view position,
                                                std::size_t limit) const {
  std::vector<SlaEntry> out;
  auto ok = scan_prefix(
      *store_, keys::sla_prefix(static_cast<char>(state), zhejiang), position,
      [&](std::string_view rest, std::string_view) {
        out.push_back({keys::sla_since(rest), std::string(rest.substr(8)), std::string(rest)});
        return out.size() < limit;
      });
  if (!ok) return ok.take_error();
  return out;
}

Result<std::vector<std::pair<std::string, std::uint64_t>>> Ledger::counts() const {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  auto ok = scan_prefix(*store_, std::string(keys::kCountPrefix), "",
                        [&](std::string_view name, std::string_view value) {
                          out.emplace_back(name, value.size() == 8 ? keys::get_u64(value) : 0);
                          return true;
                        });
  if (!ok) return ok.take_error();
  return out;
}

Result<std::vector<DeadlineEntry>> Ledger::deadlines(std::optional<Timestamp> before,
                                                     std::optional<keys::DeadlineKind> kind,
                                                     std::size_t limit) const {
  std::vector<DeadlineEntry> out;
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(rocksdb::ReadOptions(), store_->cf(Cf::projections)));
  for (it->Seek(keys::kDeadlinePrefix); it->Valid() && out.size() < limit; it->Next()) {
    auto d = keys::parse_deadline(it->key().ToStringView());
    if (!d) break;  // past the deadline keys
    if (before && d->due >= *before) break;
    if (kind && d->kind != *kind) continue;
    out.push_back({d->due, d->kind, std::string(d->filing_id)});
  }
  if (!it->status().ok()) return from_rocksdb(it->status(), "deadline read failed");
  return out;
}

Result<std::optional<RegistryRecord>> Ledger::record(std::string_view number) const {
  auto raw = store_->get(Cf::projections, keys::record(number));
  if (!raw) return raw.take_error();
  if (!*raw) return std::optional<RegistryRecord>{};
  auto r = decode_registry_record(**raw);
  if (!r) return r.take_error();
  return std::optional<RegistryRecord>(std::move(*r));
}

Result<std::optional<std::string>> Ledger::record_for_domain(std::string_view domain) const {
  return store_->get(Cf::projections, keys::domain(domain));
}

Result<std::vector<RegistryRecord>> Ledger::records_of_subject(
    std::string_view subject_number) const {
  std::vector<RegistryRecord> out;
  auto subject = record(subject_number);
  if (!subject) return subject.take_error();
  if (!*subject || (*subject)->website) return out;
  for (const auto& w : (*subject)->websites) {
    auto site = record(w);
    if (!site) return site.take_error();
    if (*site) out.push_back(std::move(**site));
  }
  out.insert(out.begin(), std::move(**subject));
  return out;
}

void Ledger::add_commit_listener(std::function<void(Seq)> listener) {
  std::lock_guard lock(head_mu_);
  listeners_.push_back(std::move(listener));
}

LedgerHead Ledger::head() const {
  std::lock_guard lock(head_mu_);
  return published_head_;
}

}  // namespace filingd
