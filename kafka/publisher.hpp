// The Kafka publisher (SPEC §2.3): a transactional outbox from the ledger to Kafka.
//
// What it produces, for every event of the ledger in seq order (kafka/wire.hpp names it all):
// the event to the events topic, and, if no later event of its filing exists yet, the filing's
// status as of that event to the compacted status topic (kafka/batch.hpp). A steady-state
// append carries its status; a catch-up publishes each filing's status once. A submission
// sealed under its subject's data key also sends the wrapped key to the compacted keys topic,
// and an erasure its tombstone.
//
// Delivery: librdkafka's idempotent producer (enable.idempotence=true, acks=all,
// message.timeout.ms=0 i.e. retry until delivered), so a filing's events, which share a key and
// hence a partition, are written in order without gaps or duplicates through broker outages
// and retriable errors. The durable cursor is the highest seq such that every event <= it
// (and its status message, if it carries one) is acknowledged; delivery reports arrive in any
// order across partitions, so a window of in-flight seqs is kept and the cursor advances over
// its delivered prefix only (kafka/delivery.hpp). The cursor is stored in the ledger's meta
// column family (keys::kPublisherCursor) with a plain RocksDB Put, every `persist_every` events
// or `persist_interval`, and on stop. After a restart the publisher resumes after it: at most
// the unconfirmed tail is sent again (at-least-once; consumers de-duplicate by seq). A delivery
// error (a non-retriable broker error, or a fatal idempotence error) stops the cursor; once
// every in-flight message has reported, the publisher rewinds to the cursor (re-creating the
// producer after a fatal error) and sends the tail again after a back-off.
//
// Appends never wait for Kafka: the ledger's commit listener only sets a flag and signals a
// condition variable. With brokers down, produced messages wait in librdkafka's queue up to
// `max_in_flight` events; the publisher then stops reading, the lag (head - cursor) grows and
// is reported by lag()/render_metrics(), and everything drains when the brokers return.
//
// Lifecycle: start() creates the producer and the publishing thread, which first creates the
// topics (Admin API; the status topic with cleanup.policy=compact; an existing topic is fine,
// a cluster that cannot create topics is logged and skipped) and then publishes from the
// cursor. stop() stops reading, flushes what is in flight for at most `flush_timeout`, persists
// the cursor and joins the thread; the destructor calls stop(). The commit listener registered
// on the ledger outlives the publisher and reaches it only through a Link that stop() clears,
// so the ledger may outlive the publisher (not the reverse: stop the publisher first).
// Concurrency: the publishing thread owns the producer and all bookkeeping. Reading, decoding
// and encoding a batch (all but the status fold) runs on `encode_threads` (itself included):
// while it folds and produces one batch, the other threads fill the next. The accessors
// (cursor, lag, stats, render_metrics, wait_for_cursor) are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "events/json.hpp"
#include "events/result.hpp"
#include "kafka/wire.hpp"
#include "ledger/ledger.hpp"

namespace filingd {
namespace prometheus {
class Writer;
}
class Checkpointer;
class WorkCalendar;

struct KafkaPublisherStats {
  Seq head;                               // ledger head when sampled
  Seq cursor;                             // contiguous delivered prefix
  Seq persisted;                          // cursor value last written to the meta column family
  std::uint64_t produced = 0;             // events handed to the producer (re-sends included)
  std::uint64_t status_messages = 0;      // status messages handed to the producer
  std::uint64_t key_messages = 0;         // key messages (and tombstones) handed to the producer
  std::uint64_t checkpoint_messages = 0;  // signed checkpoints handed to the producer
  std::uint64_t delivered = 0;            // events confirmed (their event and status messages)
  std::uint64_t errors = 0;               // failed delivery reports and client errors
  std::uint64_t rewinds = 0;              // times the tail was sent again after an error
  bool brokers_up = false;  // false after "all brokers down" until a delivery succeeds
  std::string last_error;   // empty if none since start
  std::uint64_t lag() const { return head.value > cursor.value ? head.value - cursor.value : 0; }
};

class KafkaPublisher {
 public:
  struct Options {
    std::string brokers;  // bootstrap.servers
    std::string events_topic{kafka_wire::kEventsTopic};
    std::string status_topic{kafka_wire::kStatusTopic};
    std::string keys_topic{kafka_wire::kKeysTopic};
    std::string checkpoints_topic{kafka_wire::kCheckpointsTopic};
    // Signs the checkpoint published after each batch; null: no checkpoints topic. Must outlive
    // the publisher.
    const Checkpointer* checkpoints = nullptr;
    // How the topics show personal data (SPEC §5.5): masked as the reader role sees it, omitted,
    // or in clear (for a trusted cluster). The stored form travels in the `body` header where
    // the JSON is not it, so a restore is byte for byte in every mode.
    PersonalView personal_data = PersonalView::masked;
    // The working-day calendar of the statuses' SLA (SPEC §6.7); null: they carry "sla": null.
    // Must outlive the publisher.
    const WorkCalendar* calendar = nullptr;
    // librdkafka properties applied after the publisher's own defaults (so they may override
    // e.g. linger.ms or compression.type; not the idempotence guarantees, which are re-applied).
    std::vector<std::pair<std::string, std::string>> properties;
    // true: resume after the persisted cursor and persist it. false: start from seq 0 and
    // never persist (the embedded cluster starts empty on every run).
    bool resume = true;
    bool create_topics = true;            // Admin API CreateTopics at start
    int partitions = -1;                  // for CreateTopics; -1 = the broker's default
    int replication_factor = -1;          // for CreateTopics; -1 = the broker's default
    std::size_t max_in_flight = 100'000;  // events produced but not yet confirmed
    std::size_t read_batch = 2048;        // events read from the log per round
    // Threads reading and encoding batches, the publishing one included; 0 = one per core, at
    // most 4.
    unsigned encode_threads = 0;
    std::uint64_t persist_every = 10'000;  // persist the cursor after this many events ...
    std::chrono::milliseconds persist_interval{250};  // ... or this long after it moved
    std::chrono::milliseconds flush_timeout{5'000};   // bound on stop()'s flush
    std::size_t status_cache = 16'384;  // filings whose latest published status is kept
    // Send the `fingerprint` header, so that a ledger restored from the topic answers an
    // idempotent retry exactly as the original (without it, such a retry is refused as a
    // conflict). A point read per event: about a quarter of the publisher's CPU on a
    // 1,000,000-event ledger. Pointless for the embedded cluster (nothing restores from it).
    bool fingerprint_header = true;

    // What `--kafka embedded` publishes with: the in-process cluster at `bootstraps` starts
    // empty on every run (so no cursor, no topic creation, no fingerprints), and compressing
    // for a broker in the same process only costs CPU (a third of the producer's at 20,000
    // appends/s; its retention is counted in bytes, so it keeps fewer events). `properties`
    // then follow, so a user's [kafka.properties] still win.
    static Options embedded(std::string bootstraps,
                            std::vector<std::pair<std::string, std::string>> properties);
  };

  // Creates the producer (errors: invalid naming the property that librdkafka refuses, or
  // internal) and starts publishing. The ledger must outlive the publisher.
  static Result<std::unique_ptr<KafkaPublisher>> start(Ledger& ledger, Options options);
  ~KafkaPublisher();
  KafkaPublisher(const KafkaPublisher&) = delete;
  KafkaPublisher& operator=(const KafkaPublisher&) = delete;

  // Stops reading, waits up to options.flush_timeout for in-flight messages, persists the
  // cursor and joins the thread. Idempotent, and safe to call from several threads at once.
  void stop();
  // Test seam for a crash: stops at once, discards in-flight messages (some may still reach
  // the brokers) and does NOT persist the cursor beyond what was already persisted.
  void stop_abruptly();

  Seq cursor() const;
  // Events appended but not yet confirmed delivered: ledger head - cursor.
  std::uint64_t lag() const;
  KafkaPublisherStats stats() const;
  // Waits until the cursor reaches `seq` or `timeout` passes; true if it did.
  bool wait_for_cursor(Seq seq, std::chrono::milliseconds timeout) const;

  // Lag, cursor, delivered, errors, brokers up, delivery latency.
  void render_metrics(prometheus::Writer& w) const;

  // The cursor persisted in a ledger's meta column family (0 if none).
  static Result<Seq> persisted_cursor(const Store& store);

 private:
  struct Impl;
  struct Link;
  explicit KafkaPublisher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace filingd
