// The embedded Kafka cluster (SPEC §2.3, `--kafka embedded`): librdkafka's mock cluster, an
// in-process implementation of the Kafka protocol served on loopback, so any real Kafka client
// (kcat, librdkafka, kafka-python) can consume the daemon's topics without a broker install.
//
// It is a development and test convenience, not a durable broker: everything it holds lives in
// memory and is gone when the daemon stops, topics are not compacted, and the Admin API
// (CreateTopics) is not implemented by the mock, so topics are created here with
// create_topic(). Retention is bounded: the mock keeps the newest ~5 MB of batches per
// partition (librdkafka 2.0), so with the default 12 partitions and no compression (what the
// publisher sends it, KafkaPublisher::Options::embedded) a topic holds roughly the newest
// 90,000 events, and memory stays bounded whatever the ledger's size. Because the cluster
// starts empty, the publisher re-publishes the whole ledger into it on every start
// (KafkaPublisher::Options::resume = false); consumers see its tail.
//
// Lifecycle: start() creates a private librdkafka handle that owns the cluster and its broker
// threads; the destructor stops them (clients still connected see the brokers go away).
// Concurrency: all methods are thread-safe (librdkafka serialises them on the cluster thread).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "events/result.hpp"

struct rd_kafka_s;
struct rd_kafka_mock_cluster_s;

namespace filingd {

class EmbeddedKafka {
 public:
  struct Options {
    // One: brokers in one process add no fault tolerance (they share its memory and its fate),
    // and each more broker is one more produce request per linger.ms and one more producer
    // thread: with 3, a catch-up cost a third more CPU per event (docs/PERFORMANCE.md).
    // Tests that take brokers down ask for more.
    int brokers = 1;
    // Created at start with `partitions` partitions, replicated on up to 3 brokers.
    std::vector<std::string> topics;
    int partitions = 12;
  };

  // Errors: internal if librdkafka cannot create the handle or the cluster (e.g. no loopback
  // sockets).
  static Result<std::unique_ptr<EmbeddedKafka>> start(const Options& options);
  ~EmbeddedKafka();
  EmbeddedKafka(const EmbeddedKafka&) = delete;
  EmbeddedKafka& operator=(const EmbeddedKafka&) = delete;

  // "127.0.0.1:port,127.0.0.1:port,...": the bootstrap.servers of the cluster.
  const std::string& bootstraps() const { return bootstraps_; }

  // Creates a topic (replication factor = the broker count, capped at 3). Creating an
  // existing topic is not an error.
  Status create_topic(const std::string& name, int partitions);

  // The mock cluster, for fault injection in tests (rdkafka_mock.h: broker_set_down,
  // push_request_errors, ...). Owned by this object.
  rd_kafka_mock_cluster_s* cluster() const { return cluster_; }

 private:
  EmbeddedKafka() = default;
  rd_kafka_s* rk_ = nullptr;
  rd_kafka_mock_cluster_s* cluster_ = nullptr;
  int brokers_ = 0;
  std::string bootstraps_;
};

}  // namespace filingd
