#include "kafka/publisher.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "kafka/batch.hpp"
#include "kafka/delivery.hpp"
#include "kafka/producer.hpp"
#include "kafka/progress.hpp"
#include "ledger/format/keys.hpp"
#include "ledger/proofs.hpp"
#include "metrics/prometheus.hpp"

namespace filingd {

namespace {

using Steady = std::chrono::steady_clock;

// Idle wake-up when nothing signals: a safety net only; appends and delivery reports wake the
// thread through the condition variable.
constexpr auto kIdleWait = std::chrono::seconds(1);

}  // namespace

// What the ledger's commit listener holds (it cannot be removed from the ledger): stop()
// clears `self`, after which the listener does nothing.
struct KafkaPublisher::Link {
  std::mutex mu;
  Impl* self = nullptr;
};

// The publishing thread: reads batches, produces them, serves delivery reports, rewinds after a
// failure. Everything but the wake-up flags and Progress is owned by that thread.
struct KafkaPublisher::Impl final : kafka::Producer::Listener {
  Impl(Ledger& l, Options o, Seq cursor)
      : ledger(l),
        opt(std::move(o)),
        link(std::make_shared<Link>()),
        reader(l, progress,
               {.read_batch = opt.read_batch,
                .threads = opt.encode_threads,
                .status_cache = opt.status_cache,
                .fingerprints = opt.fingerprint_header,
                .personal = opt.personal_data,
                .calendar = opt.calendar}),
        delivery(l.store(), progress,
                 {.persist = opt.resume,
                  .persist_every = opt.persist_every,
                  .persist_interval = opt.persist_interval},
                 cursor) {}

  Ledger& ledger;
  Options opt;
  std::shared_ptr<Link> link;
  kafka::Progress progress;
  kafka::BatchReader reader;
  kafka::Delivery delivery;
  std::unique_ptr<kafka::Producer> producer;
  std::thread thread;
  std::mutex stop_mu;  // serialises stop()

  std::mutex mu;
  std::condition_variable cv;
  bool wake_flag = false;  // guarded by mu
  bool stopping = false;   // guarded by mu
  bool abrupt = false;     // guarded by mu

  // ---- Producer::Listener (delivered and fatal on this thread, wake on librdkafka's) ----
  void delivered(Seq seq, bool ok, const char* error) override { delivery.report(seq, ok, error); }
  void fatal() override { delivery.fatal(); }
  void wake() override { notify(); }

  Status start_producer() {
    auto made =
        kafka::Producer::create({.brokers = opt.brokers,
                                 .events_topic = opt.events_topic,
                                 .status_topic = opt.status_topic,
                                 .keys_topic = opt.keys_topic,
                                 .checkpoints_topic = opt.checkpoints ? opt.checkpoints_topic : "",
                                 .properties = opt.properties,
                                 .max_in_flight = opt.max_in_flight,
                                 .partitions = opt.partitions,
                                 .replication_factor = opt.replication_factor},
                                *this, progress);
    if (!made) return made.take_error();
    producer = std::move(*made);
    return {};
  }

  void notify() {
    {
      std::lock_guard lock(mu);
      wake_flag = true;
    }
    cv.notify_one();
  }

  bool should_stop() {
    std::lock_guard lock(mu);
    return stopping;
  }

  // Serves delivery reports, then publishes the progress they made once, not per report.
  void serve(int timeout_ms) {
    producer->poll(timeout_ms);
    delivery.advance();
  }

  // The signed checkpoint of the tree up to `last`, published after the batch that ends there;
  // empty without checkpoints (or when it cannot be made: noted, and the events still go).
  std::string checkpoint_after(Seq last) {
    if (opt.checkpoints == nullptr) return {};
    auto head = tree_head_at(ledger.tree_reader(), static_cast<std::int64_t>(last.value));
    auto note = head ? opt.checkpoints->sign(*head) : Result<std::string>(head.take_error());
    if (note) return std::move(*note);
    progress.note_error("cannot sign the checkpoint at seq " + std::to_string(last.value) + ": " +
                        note.error().message);
    return {};
  }

  // Produces the next batch; false when nothing was produced (nothing to read, or a failure).
  bool produce_batch() {
    kafka::Batch* batch = reader.next(delivery.read_pos(), ledger.head().seq.value,
                                      opt.max_in_flight - delivery.in_flight());
    if (batch == nullptr) return false;
    reader.fold_statuses(*batch, batch->usable);
    const auto while_full = [this] {
      serve(100);
      return !should_stop();
    };
    const std::string note =
        batch->usable > 0 ? checkpoint_after(batch->items[batch->usable - 1].event.seq) : "";
    for (std::size_t i = 0; i < batch->usable; ++i) {
      const kafka::Item& item = batch->items[i];
      const Event& e = item.event;
      const bool with_key = !item.key_ref.empty();
      const bool with_checkpoint = !note.empty() && i + 1 == batch->usable;
      delivery.begin(e, 1 + item.statuses.size() + (with_key ? 1 : 0) + (with_checkpoint ? 1 : 0));
      rd_kafka_resp_err_t err = producer->produce_event(
          {e, item.value, item.body_base64, item.fingerprint_hex}, while_full);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) delivery.message_queued();
      for (const auto& [filing_id, status] : item.statuses) {
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) break;
        err = producer->produce_status(e, filing_id, status, while_full);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) delivery.message_queued();
      }
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR && with_key) {
        err = producer->produce_key(e, item.key_ref, item.key_value, while_full);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) delivery.message_queued();
      }
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR && with_checkpoint) {
        err = producer->produce_checkpoint(e, opt.checkpoints->origin(), note, while_full);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) delivery.message_queued();
      }
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        delivery.fail();
        progress.delivery_errors.fetch_add(1);
        const std::string what = "seq " + std::to_string(e.seq.value);
        progress.note_error("cannot produce " + what + ": " + rd_kafka_err2str(err));
        spdlog::warn("kafka publisher: cannot produce {}: {}", what, rd_kafka_err2str(err));
        return false;
      }
      progress.status_messages.fetch_add(item.statuses.size());
      if (with_key) progress.key_messages.fetch_add(1);
      if (with_checkpoint) progress.checkpoint_messages.fetch_add(1);
      delivery.queued(e);
      progress.produced.fetch_add(1);
    }
    return true;
  }

  // After a failed round, once every message has reported: forget the window and send the tail
  // again (with a new producer after a fatal error: the idempotent producer cannot go on).
  void rewind() {
    reader.reset();  // it holds statuses as of events after the cursor
    if (!delivery.rewind()) return;
    producer.reset();
    if (auto ok = start_producer(); !ok) {
      progress.note_error(ok.error().message);
      spdlog::error("kafka publisher: cannot re-create the producer: {}", ok.error().message);
    }
  }

  void run() {
    const auto pause = [this](Steady::duration d) {
      std::unique_lock lock(mu);
      cv.wait_for(lock, d, [&] { return stopping; });
    };
    if (opt.create_topics)
      producer->ensure_topics([this] { return should_stop(); }, pause);
    else
      producer->probe(2'000);
    for (;;) {
      if (producer) serve(0);  // delivery reports and errors, on this thread
      if (delivery.failed() && delivery.outstanding() == 0) rewind();
      delivery.persist(false);
      if (should_stop()) break;
      const Steady::time_point now = Steady::now();
      // With the window nearly full, wait for room for a whole batch rather than trickling.
      const std::size_t room = opt.max_in_flight - delivery.in_flight();
      const bool may_produce =
          producer && !delivery.failed() && !delivery.waiting_to_retry(now) &&
          (delivery.in_flight() == 0 || room >= std::min(opt.read_batch, opt.max_in_flight / 2));
      if (may_produce && delivery.read_pos() < ledger.head().seq && produce_batch()) continue;

      Steady::time_point until = std::min(now + kIdleWait, delivery.persist_due());
      if (delivery.waiting_to_retry(now)) until = std::min(until, delivery.retry_at());
      {
        std::unique_lock lock(mu);
        cv.wait_until(lock, until, [&] { return wake_flag || stopping; });
        wake_flag = false;
      }
      // Idle with the brokers marked down and nothing in flight to prove otherwise: probe.
      if (!progress.brokers_up && delivery.outstanding() == 0 && producer && !should_stop())
        producer->probe(500);
    }
    bool graceful;
    {
      std::lock_guard lock(mu);
      graceful = !abrupt;
    }
    reader.reset();
    if (producer && graceful) {
      // flush() serves delivery reports while it waits.
      const rd_kafka_resp_err_t err = producer->flush(opt.flush_timeout);
      delivery.advance();
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        spdlog::warn(
            "kafka publisher: {} messages not confirmed within {} ms; they will be re-sent after "
            "the next start",
            producer->queued(), opt.flush_timeout.count());
    }
    if (graceful) delivery.persist(true);
    producer.reset();
  }
};

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
  Seq cursor;
  if (options.resume) {
    auto c = persisted_cursor(ledger.store());
    if (!c) return c.take_error();
    cursor = *c;
  }
  auto impl = std::make_unique<Impl>(ledger, std::move(options), cursor);
  impl->progress.cursor = cursor.value;
  impl->progress.persisted = cursor.value;
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
  spdlog::info("kafka publisher: publishing to {}, {} and {} from seq {} (ledger head {})",
               raw->opt.events_topic, raw->opt.status_topic, raw->opt.keys_topic, cursor.value + 1,
               ledger.head().seq.value);
  return std::unique_ptr<KafkaPublisher>(new KafkaPublisher(std::move(impl)));
}

void KafkaPublisher::stop() {
  std::lock_guard stop_lock(impl_->stop_mu);
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
  spdlog::info("kafka publisher: stopped at seq {} (lag {})", impl_->progress.cursor.load(), lag());
}

void KafkaPublisher::stop_abruptly() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->abrupt = true;
  }
  stop();
}

Seq KafkaPublisher::cursor() const { return Seq(impl_->progress.cursor.load()); }

std::uint64_t KafkaPublisher::lag() const { return stats().lag(); }

KafkaPublisherStats KafkaPublisher::stats() const {
  const kafka::Progress& p = impl_->progress;
  KafkaPublisherStats s;
  s.head = impl_->ledger.head().seq;
  s.cursor = Seq(p.cursor.load());
  s.persisted = Seq(p.persisted.load());
  s.produced = p.produced.load();
  s.status_messages = p.status_messages.load();
  s.key_messages = p.key_messages.load();
  s.checkpoint_messages = p.checkpoint_messages.load();
  s.delivered = p.delivered.load();
  s.errors = p.delivery_errors.load() + p.client_errors.load();
  s.rewinds = p.rewinds.load();
  s.brokers_up = p.brokers_up.load();
  s.last_error = p.last_error();
  return s;
}

bool KafkaPublisher::wait_for_cursor(Seq seq, std::chrono::milliseconds timeout) const {
  const kafka::Progress& p = impl_->progress;
  std::unique_lock lock(p.cursor_mu);
  return p.cursor_cv.wait_for(lock, timeout, [&] { return p.cursor.load() >= seq.value; });
}

void KafkaPublisher::render_metrics(prometheus::Writer& w) const {
  using prometheus::Type;
  const KafkaPublisherStats s = stats();
  const kafka::Progress& p = impl_->progress;
  w.gauge("filingd_kafka_lag_events",
          "Events appended but not yet confirmed by Kafka (ledger head - publisher cursor).",
          static_cast<double>(s.lag()));
  w.gauge("filingd_kafka_cursor_seq",
          "Highest seq such that every event up to it is confirmed delivered.",
          static_cast<double>(s.cursor.value));
  w.counter("filingd_kafka_produced_events_total",
            "Events handed to the producer, re-sends included.", s.produced);
  w.counter("filingd_kafka_status_messages_total",
            "Status messages handed to the producer (an event that is its filing's latest "
            "carries one).",
            s.status_messages);
  w.counter("filingd_kafka_key_messages_total",
            "Wrapped data keys and their tombstones handed to the producer.", s.key_messages);
  w.counter("filingd_kafka_checkpoint_messages_total",
            "Signed checkpoints handed to the producer (one after each published batch).",
            s.checkpoint_messages);
  w.counter("filingd_kafka_delivered_events_total",
            "Events confirmed delivered (event and status messages).", s.delivered);
  w.family("filingd_kafka_errors_total", Type::counter,
           "Failed deliveries and Kafka client errors.")
      .sample("filingd_kafka_errors_total", {{"kind", "delivery"}}, p.delivery_errors.load())
      .sample("filingd_kafka_errors_total", {{"kind", "client"}}, p.client_errors.load());
  w.counter("filingd_kafka_rewinds_total",
            "Times the unconfirmed tail was sent again after a delivery error.", s.rewinds);
  w.gauge("filingd_kafka_brokers_up", "1 if the Kafka cluster is reachable.", s.brokers_up ? 1 : 0);
  w.family("filingd_kafka_publish_latency_seconds", Type::histogram,
           "Time from an event's recording to its confirmed delivery.")
      .histogram("filingd_kafka_publish_latency_seconds", {}, p.latency);
}

Result<Seq> KafkaPublisher::persisted_cursor(const Store& store) {
  auto raw = store.get(Cf::meta, keys::kPublisherCursor);
  if (!raw) return raw.take_error();
  if (!*raw) return Seq(0);
  const auto cursor = decode_cursor(**raw);
  if (!cursor)
    return make_error(ErrorCode::internal, "corrupt publisher cursor in the ledger metadata");
  return *cursor;
}

}  // namespace filingd
