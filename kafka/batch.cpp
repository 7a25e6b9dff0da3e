#include "kafka/batch.hpp"

#include <pthread.h>
#include <rocksdb/iterator.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

#include "events/codec.hpp"
#include "events/encoding.hpp"
#include "events/json.hpp"
#include "events/json_writer.hpp"
#include "events/personal.hpp"
#include "ledger/format/event_record.hpp"
#include "ledger/format/keys.hpp"
#include "ledger/format/values.hpp"
#include "projections/sla.hpp"
#include "projections/state_machine.hpp"

namespace filingd::kafka {

namespace {

// A filing.status message: the status as HTTP serves it, SLA and record status included.
std::string status_message(const Ledger& ledger, const BatchReader::Options& options,
                           const FilingStatus& status) {
  std::optional<Sla> sla;
  if (options.calendar != nullptr) sla = sla_of(status, *options.calendar, ledger.clock().now());
  const RecordStatusOf records = record_status_of(ledger);
  std::string json;
  JsonWriter writer(json);
  write_json(writer, status, options.personal, sla ? &*sla : nullptr, &records);
  return json;
}

}  // namespace
namespace {

constexpr std::size_t kMinSplit = 32;  // below this, splitting costs more than it saves

}  // namespace

// ---- EncodePool ------------------------------------------------------------------------------

EncodePool::EncodePool(unsigned workers) {
  for (unsigned i = 0; i < workers; ++i)
    threads_.emplace_back([this] {
      pthread_setname_np(pthread_self(), "kafka-encode");
      loop();
    });
}

EncodePool::~EncodePool() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  start_.notify_all();
  for (auto& t : threads_) t.join();
}

void EncodePool::run_parts(std::size_t n, const Part& fn) {
  if (threads_.empty() || n < kMinSplit) {
    fn(0, n);
    return;
  }
  launch(n, fn, threads_.size() + 1);
  drain();
  wait();
}

void EncodePool::start_parts(std::size_t n, Part fn) {
  job_ = std::move(fn);
  launch(n, job_, threads_.size());
}

void EncodePool::wait() {
  std::unique_lock lock(mu_);
  done_.wait(lock, [&] { return busy_ == 0; });
  fn_ = nullptr;
}

void EncodePool::launch(std::size_t n, const Part& fn, std::size_t parts) {
  {
    std::lock_guard lock(mu_);
    fn_ = &fn;
    n_ = n;
    parts_ = parts;
    next_ = 0;
    busy_ = threads_.size();
    ++generation_;
  }
  start_.notify_all();
}

// Takes parts until none is left (a thread that wakes late may find none).
void EncodePool::drain() {
  for (std::size_t p; (p = next_.fetch_add(1)) < parts_;)
    (*fn_)(p * n_ / parts_, (p + 1) * n_ / parts_);
}

void EncodePool::loop() {
  std::uint64_t seen = 0;
  std::unique_lock lock(mu_);
  for (;;) {
    start_.wait(lock, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    lock.unlock();
    drain();
    lock.lock();
    if (--busy_ == 0) done_.notify_one();
  }
}

// ---- StatusCache -----------------------------------------------------------------------------

BatchReader::StatusCache::StatusCache(std::size_t capacity)
    : capacity_(std::max<std::size_t>(capacity, 1)) {}

FilingStatus* BatchReader::StatusCache::find(const std::string& filing_id) {
  auto it = index_.find(filing_id);
  if (it == index_.end()) return nullptr;
  order_.splice(order_.begin(), order_, it->second);
  return &it->second->second;
}

FilingStatus& BatchReader::StatusCache::put(const std::string& filing_id, FilingStatus status) {
  if (FilingStatus* s = find(filing_id)) return *s = std::move(status);
  order_.emplace_front(filing_id, std::move(status));
  index_.emplace(filing_id, order_.begin());
  if (order_.size() > capacity_) {
    index_.erase(order_.back().first);
    order_.pop_back();
  }
  return order_.front().second;
}

void BatchReader::StatusCache::erase(const std::string& filing_id) {
  auto it = index_.find(filing_id);
  if (it == index_.end()) return;
  order_.erase(it->second);
  index_.erase(it);
}

void BatchReader::StatusCache::clear() {
  index_.clear();
  order_.clear();
}

// ---- BatchReader -----------------------------------------------------------------------------

namespace {

unsigned encode_workers(unsigned threads) {
  if (threads == 0) threads = std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
  return threads - 1;
}

}  // namespace

BatchReader::BatchReader(Ledger& ledger, Progress& progress, Options options)
    : ledger_(ledger),
      progress_(progress),
      options_(options),
      personal_(ledger.store(), ledger.keyring()),
      cache_(options.status_cache),
      pool_(encode_workers(options.threads)) {}

BatchReader::~BatchReader() { reset(); }

void BatchReader::reset() {
  if (background_ != nullptr) pool_.wait();
  background_ = nullptr;
  cache_.clear();
}

// Reads items [begin, end) of the batch from the log with one iterator, decodes them, finds out
// with one MultiGet whether each event is already superseded by a later event of its filing
// (its stream has version + 1) and, with fingerprints, the original command's fingerprint, and
// encodes what does not depend on the fold: the event JSON and headers.
void BatchReader::fill_part(Batch& batch, std::size_t begin, std::size_t end) {
  Store& store = ledger_.store();
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(rocksdb::ReadOptions(), store.cf(Cf::log)));
  std::size_t i = begin;
  for (it->Seek(keys::seq(Seq(batch.first.value + begin))); i < end && it->Valid();
       it->Next(), ++i) {
    Item& item = batch.items[i];
    item.record.assign(it->value().data(), it->value().size());
    auto parts = split_record(item.record);
    Result<Event> e = parts ? decode_body(parts->body) : Result<Event>(parts.error());
    if (!e) {
      batch.errors[i] = e.error();
      break;
    }
    item.event = std::move(*e);
    item.event.prev_hash = parts->prev_hash;
    item.event.hash = parts->hash;
    item.body = parts->body;
  }
  if (i < end && !batch.errors[i])
    batch.errors[i] = make_error(ErrorCode::internal,
                                 it->status().ok() ? std::string("missing from the log")
                                                   : "log read failed: " + it->status().ToString());
  it.reset();
  const std::size_t m = i - begin;
  if (m == 0) return;

  // One MultiGet: each event's successor in its stream; with fingerprints, its idempotency
  // entry; for a sealed submission, its subject's stored data key.
  std::vector<rocksdb::ColumnFamilyHandle*> cfs;
  std::vector<std::string> lookup_keys;
  std::vector<std::size_t> next_at(m), fingerprint_at(m, SIZE_MAX), key_at(m, SIZE_MAX);
  cfs.reserve(3 * m);
  lookup_keys.reserve(3 * m);
  auto want = [&](Cf cf, std::string key) {
    cfs.push_back(store.cf(cf));
    lookup_keys.push_back(std::move(key));
    return lookup_keys.size() - 1;
  };
  for (std::size_t k = 0; k < m; ++k) {
    Item& item = batch.items[begin + k];
    const Event& e = item.event;
    next_at[k] = want(Cf::streams, keys::stream(e.filing_id, e.version.next()));
    if (options_.fingerprints) fingerprint_at[k] = want(Cf::idempotency, e.event_id);
    item.key_ref.clear();
    item.key_value.reset();
    if (const auto* erased = std::get_if<SubjectErased>(&e.data)) {
      item.key_ref = erased->subject_ref;
    } else if (const auto* f = std::get_if<FilingSubmitted>(&e.data);
               f && !f->personal.box.empty()) {
      item.key_ref = f->personal.subject_ref;
      key_at[k] = want(Cf::keys, item.key_ref);
    }
  }
  std::vector<rocksdb::Slice> lookup(lookup_keys.begin(), lookup_keys.end());
  std::vector<rocksdb::PinnableSlice> values(lookup.size());
  std::vector<rocksdb::Status> found(lookup.size());
  store.db()->MultiGet(rocksdb::ReadOptions(), lookup.size(), cfs.data(), lookup.data(),
                       values.data(), found.data());
  const PersonalView view = options_.personal;
  for (std::size_t k = 0; k < m; ++k) {
    Item& item = batch.items[begin + k];
    item.superseded = found[next_at[k]].ok();
    item.fingerprint_hex.clear();
    if (fingerprint_at[k] != SIZE_MAX && found[fingerprint_at[k]].ok()) {
      if (const auto entry = decode_idempotency(values[fingerprint_at[k]].ToStringView()))
        item.fingerprint_hex = to_hex(entry->fingerprint);
    }
    if (key_at[k] != SIZE_MAX) {
      // Only the key that sealed this submission: a later generation is published by the
      // submission it sealed, and a destroyed one by nothing (its erasure's tombstone follows).
      const auto stored =
          found[key_at[k]].ok() ? decode_data_key(values[key_at[k]].ToStringView()) : std::nullopt;
      if (stored && stored->generation == sealed_of(item.event.data)->generation)
        item.key_value = values[key_at[k]].ToString();
      else
        item.key_ref.clear();
    }
    const SealedPersonal* sealed = sealed_of(item.event.data);
    if (sealed != nullptr && view != PersonalView::omitted) personal_.open(item.event);
    item.value.clear();  // the strings keep their capacity from batch to batch
    JsonWriter event(item.value);
    write_json(event, item.event, view);
    // The stored bytes wherever the JSON cannot reproduce them: sealed personal data (the JSON
    // shows it opened), personal data shown other than in clear, or an event stored with an
    // older schema of its payload or an older envelope (re-encoding writes the current ones).
    item.body_base64.clear();
    if (item.event.schema != current_schema(item.event.type()) ||
        item.event.format != kCurrentEventFormat ||
        (sealed != nullptr && (!sealed->box.empty() || view != PersonalView::clear)))
      item.body_base64 = base64(item.body);
  }
}

void BatchReader::fill(Batch& batch, Seq first, std::size_t n, bool background) {
  if (batch.items.size() < n) batch.items.resize(n);
  batch.errors.assign(n, std::nullopt);
  batch.first = first;
  batch.size = n;
  auto part = [this, &batch](std::size_t begin, std::size_t end) { fill_part(batch, begin, end); };
  if (background) {
    background_ = &batch;
    pool_.start_parts(n, part);
  } else {
    pool_.run_parts(n, part);
  }
}

Batch* BatchReader::next(Seq after, std::uint64_t head, std::size_t room) {
  if (room == 0 || head <= after.value) return nullptr;
  Batch* batch = nullptr;
  if (background_ != nullptr) {
    pool_.wait();
    if (background_->first == after.next()) batch = background_;
    background_ = nullptr;
  }
  if (batch == nullptr) {
    batch = &batches_[0];
    fill(*batch, after.next(), std::min<std::size_t>(options_.read_batch, head - after.value),
         false);
  }

  // Check that it follows on from `after` without a gap.
  std::size_t n = std::min(batch->size, room);
  for (std::size_t i = 0; i < n; ++i) {
    const Seq expected(after.value + i + 1);
    if (batch->errors[i] || batch->items[i].event.seq != expected) {
      const std::string why =
          batch->errors[i] ? batch->errors[i]->message : "the log is not gapless";
      progress_.note_error("cannot read seq " + std::to_string(expected.value) + ": " + why);
      spdlog::error("kafka publisher: cannot read seq {}: {}", expected.value, why);
      n = i;
      break;
    }
  }
  batch->usable = n;
  if (n == 0) return nullptr;

  // Fill the next batch in the background while this one is folded and produced.
  const std::uint64_t end = after.value + n;
  if (pool_.has_workers() && head > end)
    fill(batch == &batches_[0] ? batches_[1] : batches_[0], Seq(end + 1),
         std::min<std::size_t>(options_.read_batch, head - end), true);
  return batch;
}

const FilingStatus* BatchReader::status_after(const Event& e) {
  FilingStatus* cached = cache_.find(e.filing_id);
  if (cached == nullptr || cached->version.value + 1 != e.version.value) {
    // Fold the filing's earlier events: its status as of the event before this one.
    FilingStatus before;
    if (e.version.value > 1) {
      auto events = ledger_.stream(e.filing_id, Version(1), e.version.value - 1);
      if (!events) {
        progress_.note_error(events.error().message);
        return nullptr;
      }
      for (const Event& earlier : *events) {
        if (auto ok = apply_event(before, earlier); !ok) {
          progress_.note_error("status of " + e.filing_id +
                               " does not fold: " + ok.error().message);
          return nullptr;
        }
      }
      // The batch's events were opened; these earlier ones were read sealed.
      if (options_.personal != PersonalView::omitted) personal_.open(before);
    }
    cached = &cache_.put(e.filing_id, std::move(before));
  }
  if (auto ok = apply_event(*cached, e); !ok) {
    progress_.note_error("status of " + e.filing_id + " does not fold at seq " +
                         std::to_string(e.seq.value) + ": " + ok.error().message);
    cache_.erase(e.filing_id);
    return nullptr;
  }
  return cached;
}

void BatchReader::restate_erased(Item& item, const std::string& subject_ref) {
  auto filings = ledger_.subject_filings(subject_ref);
  if (!filings) {
    progress_.note_error(filings.error().message);
    progress_.client_errors.fetch_add(1);
    return;
  }
  for (const std::string& id : *filings) {
    // A cached status holds the personal data opened before the erasure.
    cache_.erase(id);
    auto events = ledger_.stream(id, Version(1), std::numeric_limits<std::uint32_t>::max());
    if (!events) {
      progress_.note_error(events.error().message);
      continue;
    }
    FilingStatus status;
    bool skip = false;
    for (const Event& e : *events) {
      if (e.seq.value > item.event.seq.value) {
        skip = true;  // that event publishes the filing's status itself
        break;
      }
      if (auto ok = apply_event(status, e); !ok) {
        progress_.note_error("status of " + id + " does not fold: " + ok.error().message);
        skip = true;
        break;
      }
    }
    if (skip || !status.exists()) continue;
    if (options_.personal != PersonalView::omitted) personal_.open(status);
    item.statuses.emplace_back(id, status_message(ledger_, options_, status));
  }
}

void BatchReader::fold_statuses(Batch& batch, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    Item& item = batch.items[i];
    item.statuses.clear();
    if (const auto* erased = std::get_if<SubjectErased>(&item.event.data)) {
      restate_erased(item, erased->subject_ref);
      continue;
    }
    const FilingStatus* status = status_after(item.event);
    if (status == nullptr) progress_.client_errors.fetch_add(1);
    if (status == nullptr || !status->exists() || item.superseded) continue;
    item.statuses.emplace_back(item.event.filing_id, status_message(ledger_, options_, *status));
  }
}

}  // namespace filingd::kafka
