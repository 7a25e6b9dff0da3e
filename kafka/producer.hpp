// The publisher's Kafka producer: librdkafka's idempotent producer with the settings the outbox
// relies on, the topics' creation, and one call per message kind. Internal to the kafka module.
//
// Lifecycle: create() builds the producer; the destructor purges whatever is still queued (its
// delivery reports are discarded). Concurrency: owned by the publishing thread; librdkafka calls
// Listener::wake() from its own threads, everything else on the thread that calls poll() or
// flush().
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "events/event.hpp"
#include "events/result.hpp"
#include "kafka/client_config.hpp"
#include "kafka/progress.hpp"

namespace filingd::kafka {

class Producer {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    // A message of event `seq` was acknowledged (ok) or failed for good.
    virtual void delivered(Seq seq, bool ok, const char* error) = 0;
    // The idempotent producer hit a fatal error: it must be destroyed and created anew.
    virtual void fatal() = 0;
    // Delivery reports are waiting (from a librdkafka thread): call poll().
    virtual void wake() = 0;
  };

  struct Config {
    std::string brokers;
    std::string events_topic;
    std::string status_topic;
    std::string keys_topic;
    std::string checkpoints_topic;  // empty: no checkpoints
    Properties properties;          // applied after the defaults, before the guarantees
    std::size_t max_in_flight = 0;  // events produced but not yet confirmed
    int partitions = -1;            // for CreateTopics; -1 = the broker's default
    int replication_factor = -1;
  };

  // Errors: invalid, naming a property librdkafka refuses.
  static Result<std::unique_ptr<Producer>> create(const Config& config, Listener& listener,
                                                  Progress& progress);
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  struct EventMessage {
    const Event& event;
    std::string_view value;            // the JSON envelope
    std::string_view body_base64;      // empty: no `body` header
    std::string_view fingerprint_hex;  // empty: no `fingerprint` header
  };
  // Hands a message to librdkafka. While its queue is full, calls `while_full` (which should
  // serve delivery reports) and retries as long as it returns true.
  rd_kafka_resp_err_t produce_event(const EventMessage& m, const std::function<bool()>& while_full);
  // The status of `filing_id` as of event `e` (its own filing's, or an erased subject's).
  rd_kafka_resp_err_t produce_status(const Event& e, std::string_view filing_id,
                                     std::string_view status_json,
                                     const std::function<bool()>& while_full);
  // The signed checkpoint note of the tree up to event `e`, keyed by `origin`.
  rd_kafka_resp_err_t produce_checkpoint(const Event& e, std::string_view origin,
                                         std::string_view note,
                                         const std::function<bool()>& while_full);
  // A subject's stored data key, or with no value its tombstone, as of event `e`.
  rd_kafka_resp_err_t produce_key(const Event& e, std::string_view subject_ref,
                                  const std::optional<std::string>& stored_key,
                                  const std::function<bool()>& while_full);

  // Serves delivery reports and errors for up to `timeout_ms`.
  void poll(int timeout_ms);
  // Waits up to `timeout` for every queued message; serves reports meanwhile.
  rd_kafka_resp_err_t flush(std::chrono::milliseconds timeout);
  int queued() const;
  // A metadata round trip: true if the cluster answered.
  bool probe(int timeout_ms);
  // Creates the topics the cluster lacks (the status and keys topics compacted) through the Admin
  // API, retrying while the cluster is unreachable; gives up on a cluster that cannot create topics
  // (producing then auto-creates them where the broker allows). `stop` ends it early; `pause`
  // waits (at most) the given back-off.
  void ensure_topics(const std::function<bool()>& stop,
                     const std::function<void(std::chrono::steady_clock::duration)>& pause);

 private:
  Producer(Listener& listener, Progress& progress, Config config)
      : listener_(listener), progress_(progress), config_(std::move(config)) {}
  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque);
  static void on_error(rd_kafka_t*, int err, const char* reason, void* opaque);
  static void on_queue_event(rd_kafka_t*, void* opaque);
  rd_kafka_resp_err_t produce(const std::function<rd_kafka_resp_err_t()>& once,
                              const std::function<bool()>& while_full);
  bool missing_topics(std::vector<std::string>& missing);

  Listener& listener_;
  Progress& progress_;
  Config config_;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_queue_t* main_queue_ = nullptr;
  rd_kafka_topic_t* events_rkt_ = nullptr;
  rd_kafka_topic_t* status_rkt_ = nullptr;
  rd_kafka_topic_t* keys_rkt_ = nullptr;
  rd_kafka_topic_t* checkpoints_rkt_ = nullptr;
  bool discarding_ = false;  // being destroyed: reports are ignored
};

}  // namespace filingd::kafka
