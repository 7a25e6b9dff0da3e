#include "daemon/kafka_publisher.hpp"

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <rocksdb/iterator.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "daemon/metrics.hpp"
#include "events/codec.hpp"
#include "events/json.hpp"
#include "events/json_writer.hpp"
#include "projections/keys.hpp"
#include "projections/state_machine.hpp"

namespace filingd {

namespace {

using Steady = std::chrono::steady_clock;

// Idle wake-up when nothing signals: a safety net only; appends and delivery reports wake the
// thread through the condition variable.
constexpr auto kIdleWait = std::chrono::seconds(1);
constexpr auto kMinBackoff = std::chrono::milliseconds(500);
constexpr auto kMaxBackoff = std::chrono::seconds(30);
constexpr int kAdminTimeoutMs = 10'000;
constexpr int kCreateAttempts = 3;  // CreateTopics rounds before producing regardless

std::string encode_u64(std::uint64_t v) {
  std::string out;
  keys::put_u64(out, v);
  return out;
}

// Messages carry seq << 1 | is_status as their opaque.
void* opaque_of(Seq seq, bool status) {
  return reinterpret_cast<void*>(static_cast<std::uintptr_t>((seq.value << 1) | (status ? 1 : 0)));
}
Seq seq_of_opaque(void* opaque) {
  return Seq(static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(opaque)) >> 1);
}

bool retriable_admin_error(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NOT_CONTROLLER:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
      return true;
    default:
      return false;
  }
}

// The statuses of recently published filings, each as of the last event published for it,
// least recently used first out.
class StatusCache {
 public:
  explicit StatusCache(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

  FilingStatus* find(const std::string& filing_id) {
    auto it = index_.find(filing_id);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return &it->second->second;
  }
  FilingStatus& put(const std::string& filing_id, FilingStatus status) {
    if (FilingStatus* s = find(filing_id)) return *s = std::move(status);
    order_.emplace_front(filing_id, std::move(status));
    index_.emplace(filing_id, order_.begin());
    if (order_.size() > capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
    return order_.front().second;
  }
  void erase(const std::string& filing_id) {
    auto it = index_.find(filing_id);
    if (it == index_.end()) return;
    order_.erase(it->second);
    index_.erase(it);
  }
  void clear() {
    index_.clear();
    order_.clear();
  }

 private:
  using Entry = std::pair<std::string, FilingStatus>;
  std::size_t capacity_;
  std::list<Entry> order_;
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

// Splits 0..n into contiguous parts, one per thread, and runs fn(begin, end) on each: either
// on the calling thread and `workers` helper threads together (run_parts), or on the workers
// alone while the caller goes on (start_parts, then wait). The publisher reads, decodes and
// encodes its batches this way.
class EncodePool {
 public:
  explicit EncodePool(unsigned workers) {
    for (unsigned i = 0; i < workers; ++i)
      threads_.emplace_back([this] {
        pthread_setname_np(pthread_self(), "kafka-encode");
        loop();
      });
  }
  ~EncodePool() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    start_.notify_all();
    for (auto& t : threads_) t.join();
  }
  EncodePool(const EncodePool&) = delete;
  EncodePool& operator=(const EncodePool&) = delete;

  using Part = std::function<void(std::size_t begin, std::size_t end)>;

  bool has_workers() const { return !threads_.empty(); }

  void run_parts(std::size_t n, const Part& fn) {
    if (threads_.empty() || n < kMinSplit) {
      fn(0, n);
      return;
    }
    launch(n, fn, threads_.size() + 1);
    drain();
    wait();
  }

  // Needs has_workers(). The caller must wait() before it starts anything else on the pool.
  void start_parts(std::size_t n, Part fn) {
    job_ = std::move(fn);
    launch(n, job_, threads_.size());
  }

  void wait() {
    std::unique_lock lock(mu_);
    done_.wait(lock, [&] { return busy_ == 0; });
    fn_ = nullptr;
  }

 private:
  static constexpr std::size_t kMinSplit = 32;  // below this, splitting costs more than it saves

  void launch(std::size_t n, const Part& fn, std::size_t parts) {
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
  void drain() {
    for (std::size_t p; (p = next_.fetch_add(1)) < parts_;)
      (*fn_)(p * n_ / parts_, (p + 1) * n_ / parts_);
  }
  void loop() {
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

}  // namespace

// What the ledger's commit listener holds (it cannot be removed from the ledger): stop()
// clears `self`, after which the listener does nothing.
struct KafkaPublisher::Link {
  std::mutex mu;
  Impl* self = nullptr;
};

struct KafkaPublisher::Impl {
  Impl(Ledger& l, Options o)
      : ledger(l),
        opt(std::move(o)),
        link(std::make_shared<Link>()),
        cache(opt.status_cache),
        pool(encode_workers(opt.encode_threads)) {}

  static unsigned encode_workers(unsigned threads) {
    if (threads == 0) threads = std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
    return threads - 1;
  }

  Ledger& ledger;
  Options opt;
  std::shared_ptr<Link> link;

  // ---- owned by the publishing thread (and by start()/stop() when it is not running) ----
  rd_kafka_t* rk = nullptr;
  rd_kafka_queue_t* main_queue = nullptr;
  rd_kafka_topic_t* events_rkt = nullptr;
  rd_kafka_topic_t* status_rkt = nullptr;
  struct Slot {
    std::uint8_t units = 0;        // messages of this event not yet acknowledged
    std::int64_t recorded_at = 0;  // micros, for the publish latency
  };
  std::deque<Slot> window;      // seqs acked+1 .. read_pos
  std::uint64_t acked = 0;      // every event <= acked is delivered; `cursor` catches up per poll
  Seq read_pos;                 // the last seq handed to the producer
  std::size_t outstanding = 0;  // messages awaiting a delivery report
  bool failed = false;          // a message failed since the last rewind
  bool fatal = false;           // the producer raised a fatal error: re-create it
  bool discarding = false;      // destroying the producer: its reports are ignored
  Steady::duration backoff = kMinBackoff;
  Steady::time_point retry_at{};
  Steady::time_point persist_due = Steady::time_point::max();
  std::uint64_t since_persist = 0;
  StatusCache cache;
  EncodePool pool;
  // A batch of events: read, decoded and encoded (fill), then folded and produced. Two of them,
  // so the pool's workers fill the next while this thread produces the current one; kept from
  // batch to batch so their strings keep their capacity.
  struct Item {
    std::string record;
    Event event;
    std::string_view body;  // into record
    std::string body_base64;
    bool superseded = false;   // its filing has a later event: it carries no status
    bool with_status = false;  // it carries its filing's status (status_value)
    bool has_fingerprint = false;
    Hash fingerprint{};
    std::string fingerprint_hex;
    std::string value;         // the event's JSON
    std::string status_value;  // the status JSON, if with_status
  };
  struct Batch {
    std::vector<Item> items;
    std::vector<std::optional<Error>> errors;  // per item; filling stops at the first
    Seq first;                                 // the seq items[0] should have
    std::size_t size = 0;                      // items filled (or failed)
  };
  Batch batches[2];
  Batch* next_batch = nullptr;  // being filled in the background, if any
  std::thread thread;

  // ---- wake-ups ----
  std::mutex mu;
  std::condition_variable cv;
  bool wake = false;      // guarded by mu
  bool stopping = false;  // guarded by mu
  bool abrupt = false;    // guarded by mu

  // ---- shared, read by the accessors ----
  mutable std::mutex progress_mu;
  mutable std::condition_variable progress_cv;
  std::atomic<std::uint64_t> cursor{0};
  std::atomic<std::uint64_t> persisted{0};
  std::atomic<std::uint64_t> produced{0};
  std::atomic<std::uint64_t> status_messages{0};
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> delivery_errors{0};
  std::atomic<std::uint64_t> client_errors{0};
  std::atomic<std::uint64_t> rewinds{0};
  std::atomic<bool> brokers_up{false};
  mutable std::mutex error_mu;
  std::string last_error;  // guarded by error_mu
  Histogram latency;       // append (recorded_at) -> delivered

  // ---- producer ----
  Result<rd_kafka_t*> make_producer();
  Status start_producer();
  void destroy_producer();
  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque);
  static void on_error(rd_kafka_t*, int err, const char* reason, void* opaque);
  static void on_queue_event(rd_kafka_t*, void* opaque);
  static void on_log(const rd_kafka_t*, int level, const char* facility, const char* message);

  // ---- the thread ----
  void run();
  void ensure_topics();
  std::optional<std::vector<std::string>> missing_topics();
  bool probe_brokers(int timeout_ms);
  bool produce_batch();
  void fill(Batch& batch, Seq first, std::size_t n, bool background);
  void fill_part(Batch& batch, std::size_t begin, std::size_t end);
  void join_fill();
  bool produce_item(const Item& item);
  FilingStatus* status_after(const Event& e);
  void delivered_one(Seq seq, bool ok, const char* error);
  void serve(int timeout_ms);
  void advance_cursor();
  void rewind();
  void persist(bool force);
  void finish(bool graceful);
  void notify();
  void note_error(std::string message);
  bool should_stop();
};

// ---- producer ----------------------------------------------------------------------------

Result<rd_kafka_t*> KafkaPublisher::Impl::make_producer() {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const std::string& name, const std::string& value) -> Status {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK)
      return make_error(ErrorCode::invalid, "kafka property " + name + ": " + errstr,
                        "kafka.properties." + name);
    return {};
  };
  // Defaults first, then the pass-through properties, then the guarantees the outbox relies
  // on, which a property must not weaken.
  std::vector<std::pair<std::string, std::string>> props = {
      {"bootstrap.servers", opt.brokers},
      // librdkafka's own default. In steady state each produce request carries a few
      // milliseconds of appends; at 1 ms, per-request costs (wake-ups, a compressed message set
      // per partition, the loopback round trip) took a third more CPU per event (PERFORMANCE.md).
      {"linger.ms", "5"},
      {"batch.num.messages", "10000"},
      {"compression.type", "lz4"},
      {"queue.buffering.max.kbytes", "2097151"},
  };
  props.insert(props.end(), opt.properties.begin(), opt.properties.end());
  const std::vector<std::pair<std::string, std::string>> guarantees = {
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"message.timeout.ms", "0"},  // infinite: an outage delays delivery, never fails it
      // Room for every in-flight event and its status message.
      {"queue.buffering.max.messages",
       std::to_string(std::min<std::size_t>(2 * opt.max_in_flight + 16, 10'000'000))},
  };
  props.insert(props.end(), guarantees.begin(), guarantees.end());
  for (const auto& [name, value] : props) {
    if (auto ok = set(name, value); !ok) {
      rd_kafka_conf_destroy(conf);
      return ok.take_error();
    }
  }
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_dr_msg_cb(conf, &Impl::on_delivery);
  rd_kafka_conf_set_error_cb(conf, &Impl::on_error);
  rd_kafka_conf_set_log_cb(conf, &Impl::on_log);
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (producer == nullptr) {
    rd_kafka_conf_destroy(conf);
    return make_error(ErrorCode::invalid, std::string("kafka producer: ") + errstr, "kafka");
  }
  return producer;
}

void KafkaPublisher::Impl::destroy_producer() {
  if (rk == nullptr) return;
  rd_kafka_queue_cb_event_enable(main_queue, nullptr, nullptr);
  rd_kafka_queue_destroy(main_queue);
  rd_kafka_topic_destroy(events_rkt);
  rd_kafka_topic_destroy(status_rkt);
  rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  // Purged messages report (with an error) through the callback; they belong to the old
  // producer and are ignored.
  discarding = true;
  rd_kafka_poll(rk, 0);
  rd_kafka_destroy(rk);
  discarding = false;
  rk = nullptr;
  main_queue = nullptr;
  events_rkt = status_rkt = nullptr;
  outstanding = 0;
}

void KafkaPublisher::Impl::on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  auto* self = static_cast<Impl*>(opaque);
  if (self->discarding) return;
  const bool ok = msg->err == RD_KAFKA_RESP_ERR_NO_ERROR;
  self->delivered_one(seq_of_opaque(msg->_private), ok, ok ? nullptr : rd_kafka_err2str(msg->err));
}

void KafkaPublisher::Impl::on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* self = static_cast<Impl*>(opaque);
  const auto code = static_cast<rd_kafka_resp_err_t>(err);
  if (code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) self->brokers_up = false;
  if (code == RD_KAFKA_RESP_ERR__FATAL) {
    char detail[512];
    rd_kafka_fatal_error(rk, detail, sizeof detail);
    self->fatal = true;
    self->failed = true;
    self->note_error(std::string("fatal: ") + detail);
    spdlog::error("kafka publisher: fatal producer error: {}", detail);
    return;
  }
  self->client_errors.fetch_add(1);
  self->note_error(reason);
  // Transport errors repeat every reconnect attempt during an outage: keep them at debug.
  if (code == RD_KAFKA_RESP_ERR__TRANSPORT || code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
    spdlog::debug("kafka publisher: {}", reason);
  else
    spdlog::warn("kafka publisher: {}", reason);
}

// librdkafka's own log lines (syslog levels), from its threads, into the daemon's log.
void KafkaPublisher::Impl::on_log(const rd_kafka_t*, int level, const char* facility,
                                  const char* message) {
  const auto spd = level <= 3   ? spdlog::level::err
                   : level == 4 ? spdlog::level::warn
                   : level <= 6 ? spdlog::level::info
                                : spdlog::level::debug;
  spdlog::log(spd, "kafka: [{}] {}", facility, message);
}

void KafkaPublisher::Impl::on_queue_event(rd_kafka_t*, void* opaque) {
  static_cast<Impl*>(opaque)->notify();
}

Status KafkaPublisher::Impl::start_producer() {
  // librdkafka's threads log through on_log. Build spdlog's registry here, before they start,
  // so that its construction happens before their first use of it (in a process that has not
  // logged yet: a test).
  spdlog::default_logger_raw();
  auto producer = make_producer();
  if (!producer) return producer.take_error();
  rk = *producer;
  events_rkt = rd_kafka_topic_new(rk, opt.events_topic.c_str(), nullptr);
  status_rkt = rd_kafka_topic_new(rk, opt.status_topic.c_str(), nullptr);
  main_queue = rd_kafka_queue_get_main(rk);
  // Delivery reports land on the main queue: have librdkafka wake the thread when it goes
  // from empty to non-empty, so the thread never polls on a timer.
  rd_kafka_queue_cb_event_enable(main_queue, &Impl::on_queue_event, this);
  return {};
}

// ---- bookkeeping ---------------------------------------------------------------------------

void KafkaPublisher::Impl::notify() {
  {
    std::lock_guard lock(mu);
    wake = true;
  }
  cv.notify_one();
}

bool KafkaPublisher::Impl::should_stop() {
  std::lock_guard lock(mu);
  return stopping;
}

void KafkaPublisher::Impl::note_error(std::string message) {
  std::lock_guard lock(error_mu);
  last_error = std::move(message);
}

void KafkaPublisher::Impl::delivered_one(Seq seq, bool ok, const char* error) {
  if (outstanding > 0) --outstanding;
  const std::uint64_t base = acked;
  if (seq.value <= base || seq.value > base + window.size()) return;  // not ours (stale)
  if (!ok) {
    delivery_errors.fetch_add(1);
    if (!failed)
      spdlog::warn("kafka publisher: delivery of seq {} failed: {}; will re-send from seq {}",
                   seq.value, error, base + 1);
    failed = true;
    note_error("delivery of seq " + std::to_string(seq.value) + " failed: " + error);
    return;
  }
  brokers_up = true;
  Slot& slot = window[seq.value - base - 1];
  if (slot.units == 0) return;
  if (--slot.units == 0) {
    const std::int64_t now = SystemClock().now().micros;
    latency.observe(static_cast<double>(std::max<std::int64_t>(now - slot.recorded_at, 0)) / 1e6);
  }
  while (!window.empty() && window.front().units == 0) {
    window.pop_front();
    ++acked;
  }
}

// Serves delivery reports, then publishes the progress they made once, not per report.
void KafkaPublisher::Impl::serve(int timeout_ms) {
  rd_kafka_poll(rk, timeout_ms);
  advance_cursor();
}

void KafkaPublisher::Impl::advance_cursor() {
  const std::uint64_t base = cursor.load();
  if (acked == base) return;
  const std::uint64_t moved = acked - base;
  // Counted before the cursor moves, so whoever the cursor wakes sees the count that goes with it.
  delivered.fetch_add(moved);
  {
    std::lock_guard lock(progress_mu);
    cursor.store(acked);
  }
  progress_cv.notify_all();
  backoff = kMinBackoff;
  since_persist += moved;
  if (opt.resume && persist_due == Steady::time_point::max())
    persist_due = Steady::now() + opt.persist_interval;
}

void KafkaPublisher::Impl::persist(bool force) {
  if (!opt.resume) return;
  const std::uint64_t c = cursor.load();
  if (c == persisted.load()) {
    persist_due = Steady::time_point::max();
    return;
  }
  if (!force && since_persist < opt.persist_every && Steady::now() < persist_due) return;
  Store& store = ledger.store();
  rocksdb::Status s = store.db()->Put(rocksdb::WriteOptions(), store.cf(Cf::meta),
                                      kPublisherCursorKey, encode_u64(c));
  if (!s.ok()) {
    client_errors.fetch_add(1);
    note_error("cannot persist the publisher cursor: " + s.ToString());
    spdlog::error("kafka publisher: cannot persist the cursor: {}", s.ToString());
    persist_due = Steady::now() + opt.persist_interval;
    return;
  }
  persisted = c;
  since_persist = 0;
  persist_due = Steady::time_point::max();
}

void KafkaPublisher::Impl::rewind() {
  rewinds.fetch_add(1);
  window.clear();
  read_pos = Seq(acked);
  cache.clear();  // it holds statuses as of events after the cursor
  failed = false;
  if (fatal) {
    // The idempotent producer cannot continue after a fatal error: start a new one (new
    // producer id), and send the tail again.
    destroy_producer();
    fatal = false;
    if (auto ok = start_producer(); !ok) {
      note_error(ok.error().message);
      spdlog::error("kafka publisher: cannot re-create the producer: {}", ok.error().message);
    }
  }
  retry_at = Steady::now() + backoff;
  backoff = std::min<Steady::duration>(backoff * 2, kMaxBackoff);
}

// ---- publishing ----------------------------------------------------------------------------

FilingStatus* KafkaPublisher::Impl::status_after(const Event& e) {
  FilingStatus* cached = cache.find(e.filing_id);
  if (cached == nullptr || cached->version.value + 1 != e.version.value) {
    // Fold the filing's earlier events: its status as of the event before this one.
    FilingStatus before;
    if (e.version.value > 1) {
      auto events = ledger.stream(e.filing_id, Version(1), e.version.value - 1);
      if (!events) {
        note_error(events.error().message);
        return nullptr;
      }
      for (const Event& earlier : *events) {
        if (auto ok = apply_event(before, earlier); !ok) {
          note_error("status of " + e.filing_id + " does not fold: " + ok.error().message);
          return nullptr;
        }
      }
    }
    cached = &cache.put(e.filing_id, std::move(before));
  }
  if (auto ok = apply_event(*cached, e); !ok) {
    note_error("status of " + e.filing_id + " does not fold at seq " + std::to_string(e.seq.value) +
               ": " + ok.error().message);
    cache.erase(e.filing_id);
    return nullptr;
  }
  return cached;
}

bool KafkaPublisher::Impl::produce_item(const Item& item) {
  const Event& e = item.event;
  const std::string_view type = to_string(e.type());
  char seq[24];
  const int seq_len =
      std::snprintf(seq, sizeof seq, "%llu", static_cast<unsigned long long>(e.seq.value));
  char schema[12];
  const int schema_len = std::snprintf(schema, sizeof schema, "%u", e.schema);
  window.push_back(Slot{static_cast<std::uint8_t>(item.with_status ? 2 : 1), e.recorded_at.micros});

  auto produce = [&](bool is_status) -> rd_kafka_resp_err_t {
    for (;;) {
      rd_kafka_resp_err_t err;
      if (is_status) {
        err = rd_kafka_producev(
            rk, RD_KAFKA_V_RKT(status_rkt), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(e.filing_id.data(), e.filing_id.size()),
            RD_KAFKA_V_VALUE(const_cast<char*>(item.status_value.data()), item.status_value.size()),
            RD_KAFKA_V_HEADER("seq", seq, seq_len), RD_KAFKA_V_OPAQUE(opaque_of(e.seq, true)),
            RD_KAFKA_V_END);
      } else {
        rd_kafka_headers_t* headers = rd_kafka_headers_new(6);
        auto add = [&](const char* name, std::string_view value) {
          rd_kafka_header_add(headers, name, -1, value.data(), static_cast<ssize_t>(value.size()));
        };
        add("event_type", type);
        add("event_id", e.event_id);
        add("seq", std::string_view(seq, static_cast<std::size_t>(seq_len)));
        add("schema", std::string_view(schema, static_cast<std::size_t>(schema_len)));
        if (!item.body_base64.empty()) add("body", item.body_base64);
        if (item.has_fingerprint) add("fingerprint", item.fingerprint_hex);
        err = rd_kafka_producev(
            rk, RD_KAFKA_V_RKT(events_rkt), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(e.filing_id.data(), e.filing_id.size()),
            RD_KAFKA_V_VALUE(const_cast<char*>(item.value.data()), item.value.size()),
            RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(opaque_of(e.seq, false)),
            RD_KAFKA_V_END);
        // On success the message owns the headers; on failure they are still ours.
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) rd_kafka_headers_destroy(headers);
      }
      // The queue is sized for max_in_flight, so this is rare: serve reports and retry.
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) return err;
      serve(100);
      if (should_stop()) return err;
    }
  };

  for (const bool is_status : {false, true}) {
    if (is_status && !item.with_status) break;
    if (auto err = produce(is_status); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      failed = true;
      delivery_errors.fetch_add(1);
      const std::string what = std::string(is_status ? "the status of seq " : "seq ") + seq;
      note_error("cannot produce " + what + ": " + rd_kafka_err2str(err));
      spdlog::warn("kafka publisher: cannot produce {}: {}", what, rd_kafka_err2str(err));
      return false;
    }
    ++outstanding;
  }
  if (item.with_status) status_messages.fetch_add(1);
  read_pos = e.seq;
  produced.fetch_add(1);
  return true;
}

// Reads items [begin, end) of the batch from the log with one iterator, decodes them, finds out
// with one MultiGet whether each event is already superseded by a later event of its filing
// (its stream has version + 1) and, with fingerprint_header, the original command's
// fingerprint, and encodes what does not depend on the fold: the event JSON and headers.
void KafkaPublisher::Impl::fill_part(Batch& batch, std::size_t begin, std::size_t end) {
  Store& store = ledger.store();
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

  const std::size_t lookups = opt.fingerprint_header ? 2 * m : m;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs(lookups);
  std::vector<std::string> next_keys(m);
  std::vector<rocksdb::Slice> lookup(lookups);
  for (std::size_t k = 0; k < m; ++k) {
    const Event& e = batch.items[begin + k].event;
    next_keys[k] = keys::stream(e.filing_id, e.version.next());
    cfs[k] = store.cf(Cf::streams);
    lookup[k] = next_keys[k];
    if (opt.fingerprint_header) {
      cfs[m + k] = store.cf(Cf::idempotency);
      lookup[m + k] = e.event_id;
    }
  }
  std::vector<rocksdb::PinnableSlice> values(lookups);
  std::vector<rocksdb::Status> found(lookups);
  store.db()->MultiGet(rocksdb::ReadOptions(), lookups, cfs.data(), lookup.data(), values.data(),
                       found.data());
  for (std::size_t k = 0; k < m; ++k) {
    Item& item = batch.items[begin + k];
    item.superseded = found[k].ok();
    item.has_fingerprint = opt.fingerprint_header && found[m + k].ok() &&
                           values[m + k].size() == kIdempotencyValueSize;
    if (item.has_fingerprint) {
      std::memcpy(item.fingerprint.data(), values[m + k].data() + 13, 32);
      item.fingerprint_hex = to_hex(item.fingerprint);
    }
    item.value.clear();  // the strings keep their capacity from batch to batch
    JsonWriter event(item.value);
    write_json(event, item.event);
    // The stored bytes only where the JSON cannot reproduce them: an event stored with an
    // older schema of its payload (re-encoding it would write the current one).
    item.body_base64.clear();
    if (item.event.schema != current_schema(item.event.type()))
      item.body_base64 = base64(item.body);
  }
}

void KafkaPublisher::Impl::fill(Batch& batch, Seq first, std::size_t n, bool background) {
  if (batch.items.size() < n) batch.items.resize(n);
  batch.errors.assign(n, std::nullopt);
  batch.first = first;
  batch.size = n;
  auto part = [this, &batch](std::size_t begin, std::size_t end) { fill_part(batch, begin, end); };
  if (background) {
    next_batch = &batch;
    pool.start_parts(n, part);
  } else {
    pool.run_parts(n, part);
  }
}

void KafkaPublisher::Impl::join_fill() {
  if (next_batch == nullptr) return;
  pool.wait();
}

bool KafkaPublisher::Impl::produce_batch() {
  const std::size_t room = opt.max_in_flight - window.size();
  const std::uint64_t head = ledger.head().seq.value;
  if (room == 0 || head <= read_pos.value) return false;

  // The batch filled in the background while the previous one was produced, if it starts at
  // read_pos (a rewind moves read_pos back); else fill one now, on every thread.
  Batch* batch = nullptr;
  if (next_batch != nullptr) {
    join_fill();
    if (next_batch->first == read_pos.next()) batch = next_batch;
    next_batch = nullptr;
  }
  if (batch == nullptr) {
    batch = &batches[0];
    fill(*batch, read_pos.next(), std::min<std::size_t>(opt.read_batch, head - read_pos.value),
         false);
  }

  // Check that it follows on from read_pos without a gap.
  std::size_t n = std::min(batch->size, room);
  for (std::size_t i = 0; i < n; ++i) {
    const Seq expected(read_pos.value + i + 1);
    if (batch->errors[i] || batch->items[i].event.seq != expected) {
      const std::string why =
          batch->errors[i] ? batch->errors[i]->message : "the log is not gapless";
      note_error("cannot read seq " + std::to_string(expected.value) + ": " + why);
      spdlog::error("kafka publisher: cannot read seq {}: {}", expected.value, why);
      n = i;
      break;
    }
  }
  if (n == 0) return false;

  // Fill the next batch in the background while this one is folded and produced.
  const std::uint64_t end = read_pos.value + n;
  if (pool.has_workers() && head > end)
    fill(batch == &batches[0] ? batches[1] : batches[0], Seq(end + 1),
         std::min<std::size_t>(opt.read_batch, head - end), true);

  // The statuses as of each event, a sequential fold. Only an event that is its filing's
  // latest carries the status: a superseded one's status would be replaced, in the compacted
  // topic, by the status its successor carries, which is published after it.
  for (std::size_t i = 0; i < n; ++i) {
    Item& item = batch->items[i];
    const FilingStatus* status = status_after(item.event);
    if (status == nullptr) client_errors.fetch_add(1);
    item.with_status = status != nullptr && !item.superseded;
    if (item.with_status) {
      item.status_value.clear();
      JsonWriter writer(item.status_value);
      write_json(writer, *status, false);
    }
  }

  // Produce, in seq order.
  for (std::size_t i = 0; i < n; ++i)
    if (!produce_item(batch->items[i])) return false;
  return true;
}

// ---- topics ----------------------------------------------------------------------------------

bool KafkaPublisher::Impl::probe_brokers(int timeout_ms) {
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, events_rkt, &md, timeout_ms);
  if (md != nullptr) rd_kafka_metadata_destroy(md);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) brokers_up = true;
  return err == RD_KAFKA_RESP_ERR_NO_ERROR;
}

// Topics the cluster does not have yet, from a full listing (asking for the topics by name
// could auto-create them with the broker's defaults, i.e. a status topic without compaction).
// nullopt if the cluster did not answer.
std::optional<std::vector<std::string>> KafkaPublisher::Impl::missing_topics() {
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, nullptr, &md, kAdminTimeoutMs);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (md != nullptr) rd_kafka_metadata_destroy(md);
    note_error(std::string("cannot reach the cluster: ") + rd_kafka_err2str(err));
    return std::nullopt;
  }
  brokers_up = true;
  std::vector<std::string> missing = {opt.events_topic, opt.status_topic};
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (md->topics[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    std::erase(missing, std::string(md->topics[i].topic));
  }
  rd_kafka_metadata_destroy(md);
  return missing;
}

void KafkaPublisher::Impl::ensure_topics() {
  Steady::duration wait = kMinBackoff;
  int attempts = 0;
  auto pause = [&] {
    std::unique_lock lock(mu);
    cv.wait_for(lock, wait, [&] { return stopping; });
    wait = std::min<Steady::duration>(wait * 2, kMaxBackoff);
  };
  while (!should_stop()) {
    auto missing = missing_topics();
    if (!missing) {
      spdlog::warn("kafka publisher: cannot reach {} yet; retrying", opt.brokers);
      pause();
      continue;
    }
    if (missing->empty()) return;
    if (++attempts > kCreateAttempts) {
      // A cluster without a reachable controller or Admin API: producing auto-creates the
      // topics where the broker allows it, with its defaults (the status topic then needs
      // cleanup.policy=compact set by hand).
      spdlog::warn("kafka publisher: could not create the topics; producing anyway");
      return;
    }
    char errstr[512];
    std::vector<rd_kafka_NewTopic_t*> topics;
    for (const std::string& name : *missing) {
      rd_kafka_NewTopic_t* t = rd_kafka_NewTopic_new(name.c_str(), opt.partitions,
                                                     opt.replication_factor, errstr, sizeof errstr);
      if (t == nullptr) {
        spdlog::warn("kafka publisher: cannot create topic {}: {}", name, errstr);
        continue;
      }
      if (name == opt.status_topic) rd_kafka_NewTopic_set_config(t, "cleanup.policy", "compact");
      topics.push_back(t);
    }
    if (topics.empty()) return;
    rd_kafka_AdminOptions_t* options =
        rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(options, kAdminTimeoutMs, errstr, sizeof errstr);
    rd_kafka_AdminOptions_set_request_timeout(options, kAdminTimeoutMs, errstr, sizeof errstr);
    rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, topics.data(), topics.size(), options, queue);
    rd_kafka_NewTopic_destroy_array(topics.data(), topics.size());
    rd_kafka_AdminOptions_destroy(options);

    rd_kafka_event_t* ev = nullptr;
    // Short slices, so stop() is not held up by an unresponsive cluster.
    for (int waited = 0; ev == nullptr && waited < 2 * kAdminTimeoutMs && !should_stop();
         waited += 200) {
      ev = rd_kafka_queue_poll(queue, 200);
      serve(0);
    }
    rd_kafka_queue_destroy(queue);
    if (ev == nullptr) continue;  // timed out, or stopping
    const rd_kafka_resp_err_t err = rd_kafka_event_error(ev);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      const std::string why = rd_kafka_event_error_string(ev);
      rd_kafka_event_destroy(ev);
      if (retriable_admin_error(err)) {
        spdlog::warn("kafka publisher: cannot create topics yet ({}); retrying", why);
        pause();
        continue;
      }
      spdlog::warn("kafka publisher: topics not created ({}); producing anyway", why);
      return;
    }
    std::size_t n = 0;
    const rd_kafka_topic_result_t** results =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    for (std::size_t i = 0; i < n; ++i) {
      const rd_kafka_resp_err_t terr = rd_kafka_topic_result_error(results[i]);
      const char* name = rd_kafka_topic_result_name(results[i]);
      if (terr == RD_KAFKA_RESP_ERR_NO_ERROR)
        spdlog::info("kafka publisher: created topic {}", name);
      else if (terr != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        spdlog::warn("kafka publisher: cannot create topic {}: {}", name,
                     rd_kafka_topic_result_error_string(results[i]));
    }
    rd_kafka_event_destroy(ev);
    return;
  }
}

// ---- the thread ------------------------------------------------------------------------------

void KafkaPublisher::Impl::run() {
  if (opt.create_topics)
    ensure_topics();
  else
    probe_brokers(2'000);
  for (;;) {
    if (rk != nullptr) serve(0);  // delivery reports and errors, on this thread
    // Once every message of a failed round has reported, send the tail again (after a
    // back-off that grows while rounds keep failing).
    if (failed && outstanding == 0) rewind();
    persist(false);
    {
      std::lock_guard lock(mu);
      if (stopping) break;
    }
    const Steady::time_point now = Steady::now();
    // With the window nearly full, wait for room for a whole batch rather than trickling.
    const std::size_t room = opt.max_in_flight - window.size();
    const bool may_produce =
        rk != nullptr && !failed && now >= retry_at &&
        (window.empty() || room >= std::min(opt.read_batch, opt.max_in_flight / 2));
    if (may_produce && read_pos < ledger.head().seq && produce_batch()) continue;

    Steady::time_point until = now + kIdleWait;
    until = std::min(until, persist_due);
    if (now < retry_at) until = std::min(until, retry_at);
    std::unique_lock lock(mu);
    cv.wait_until(lock, until, [&] { return wake || stopping; });
    wake = false;
    lock.unlock();
    // Idle with the brokers marked down and nothing in flight to prove otherwise: probe.
    if (!brokers_up && outstanding == 0 && rk != nullptr && !should_stop()) probe_brokers(500);
  }
  bool abrupt_stop;
  {
    std::lock_guard lock(mu);
    abrupt_stop = abrupt;
  }
  finish(!abrupt_stop);
}

void KafkaPublisher::Impl::finish(bool graceful) {
  join_fill();
  next_batch = nullptr;
  if (rk != nullptr && graceful) {
    // rd_kafka_flush serves delivery reports (on_delivery) while it waits.
    const rd_kafka_resp_err_t err = rd_kafka_flush(rk, static_cast<int>(opt.flush_timeout.count()));
    advance_cursor();
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
      spdlog::warn(
          "kafka publisher: {} messages not confirmed within {} ms; they will be "
          "re-sent after the next start",
          rd_kafka_outq_len(rk), opt.flush_timeout.count());
  }
  if (graceful) persist(true);
  destroy_producer();
}

// ---- public --------------------------------------------------------------------------------

KafkaPublisher::KafkaPublisher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

KafkaPublisher::~KafkaPublisher() { stop(); }

KafkaPublisher::Options KafkaPublisher::Options::embedded(
    std::string bootstraps, std::vector<std::pair<std::string, std::string>> properties) {
  Options o;
  o.brokers = std::move(bootstraps);
  o.resume = false;
  o.create_topics = false;
  o.fingerprint_header = false;
  o.properties = {{"compression.type", "none"}};
  o.properties.insert(o.properties.end(), properties.begin(), properties.end());
  return o;
}

Result<std::unique_ptr<KafkaPublisher>> KafkaPublisher::start(Ledger& ledger, Options options) {
  if (options.max_in_flight == 0 || options.read_batch == 0)
    return make_error(ErrorCode::invalid, "max_in_flight and read_batch must be positive");
  auto impl = std::make_unique<Impl>(ledger, std::move(options));
  if (impl->opt.resume) {
    auto c = persisted_cursor(ledger.store());
    if (!c) return c.take_error();
    impl->cursor = c->value;
    impl->persisted = c->value;
  }
  impl->acked = impl->cursor.load();
  impl->read_pos = Seq(impl->acked);
  if (auto ok = impl->start_producer(); !ok) return ok.take_error();

  Impl* raw = impl.get();
  raw->link->self = raw;
  ledger.add_commit_listener([link = raw->link](Seq) {
    std::lock_guard lock(link->mu);
    if (link->self) link->self->notify();
  });
  raw->thread = std::thread([raw] {
    pthread_setname_np(pthread_self(), "kafka-publish");
    raw->run();
  });
  spdlog::info("kafka publisher: publishing to {} and {} from seq {} (ledger head {})",
               raw->opt.events_topic, raw->opt.status_topic, raw->cursor.load() + 1,
               ledger.head().seq.value);
  return std::unique_ptr<KafkaPublisher>(new KafkaPublisher(std::move(impl)));
}

void KafkaPublisher::stop() {
  if (!impl_->thread.joinable()) return;
  {
    std::lock_guard lock(impl_->link->mu);
    impl_->link->self = nullptr;
  }
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_one();
  impl_->thread.join();
  spdlog::info("kafka publisher: stopped at seq {} (lag {})", impl_->cursor.load(), lag());
}

void KafkaPublisher::stop_abruptly() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->abrupt = true;
  }
  stop();
}

Seq KafkaPublisher::cursor() const { return Seq(impl_->cursor.load()); }

std::uint64_t KafkaPublisher::lag() const {
  const std::uint64_t head = impl_->ledger.head().seq.value;
  const std::uint64_t c = impl_->cursor.load();
  return head > c ? head - c : 0;
}

KafkaPublisherStats KafkaPublisher::stats() const {
  KafkaPublisherStats s;
  s.head = impl_->ledger.head().seq;
  s.cursor = Seq(impl_->cursor.load());
  s.persisted = Seq(impl_->persisted.load());
  s.produced = impl_->produced.load();
  s.status_messages = impl_->status_messages.load();
  s.delivered = impl_->delivered.load();
  s.errors = impl_->delivery_errors.load() + impl_->client_errors.load();
  s.rewinds = impl_->rewinds.load();
  s.brokers_up = impl_->brokers_up.load();
  std::lock_guard lock(impl_->error_mu);
  s.last_error = impl_->last_error;
  return s;
}

bool KafkaPublisher::wait_for_cursor(Seq seq, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->progress_mu);
  return impl_->progress_cv.wait_for(lock, timeout,
                                     [&] { return impl_->cursor.load() >= seq.value; });
}

void KafkaPublisher::render_metrics(std::string& out) const {
  const KafkaPublisherStats s = stats();
  auto line = [&](const char* name, const char* type, const char* help, std::uint64_t v,
                  const char* labels = "") {
    out += std::string("# HELP ") + name + " " + help + "\n";
    out += std::string("# TYPE ") + name + " " + type + "\n";
    out += std::string(name) + labels + " " + std::to_string(v) + "\n";
  };
  line("filingd_kafka_lag_events", "gauge",
       "Events appended but not yet confirmed by Kafka (ledger head - publisher cursor).", s.lag());
  line("filingd_kafka_cursor_seq", "gauge",
       "Highest seq such that every event up to it is confirmed delivered.", s.cursor.value);
  line("filingd_kafka_produced_events_total", "counter",
       "Events handed to the producer, re-sends included.", s.produced);
  line("filingd_kafka_status_messages_total", "counter",
       "Status messages handed to the producer (a batch's last event per filing carries one).",
       s.status_messages);
  line("filingd_kafka_delivered_events_total", "counter",
       "Events confirmed delivered (event and status messages).", s.delivered);
  out += "# HELP filingd_kafka_errors_total Failed deliveries and Kafka client errors.\n";
  out += "# TYPE filingd_kafka_errors_total counter\n";
  out += "filingd_kafka_errors_total{kind=\"delivery\"} " +
         std::to_string(impl_->delivery_errors.load()) + "\n";
  out += "filingd_kafka_errors_total{kind=\"client\"} " +
         std::to_string(impl_->client_errors.load()) + "\n";
  line("filingd_kafka_rewinds_total", "counter",
       "Times the unconfirmed tail was sent again after a delivery error.", s.rewinds);
  line("filingd_kafka_brokers_up", "gauge", "1 if the Kafka cluster is reachable.",
       s.brokers_up ? 1 : 0);
  out +=
      "# HELP filingd_kafka_publish_latency_seconds Time from an event's recording to its "
      "confirmed delivery.\n";
  out += "# TYPE filingd_kafka_publish_latency_seconds histogram\n";
  impl_->latency.render(out, "filingd_kafka_publish_latency_seconds", "");
}

Result<Seq> KafkaPublisher::persisted_cursor(const Store& store) {
  auto raw = store.get(Cf::meta, kPublisherCursorKey);
  if (!raw) return raw.take_error();
  if (!*raw) return Seq(0);
  if ((*raw)->size() != 8)
    return make_error(ErrorCode::internal, "corrupt publisher cursor in the ledger metadata");
  return Seq(keys::get_u64(**raw));
}

}  // namespace filingd
