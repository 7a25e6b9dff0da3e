#include "kafka/embedded_cluster.hpp"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>

#include "kafka/client_config.hpp"

namespace filingd {

Result<std::unique_ptr<EmbeddedKafka>> EmbeddedKafka::start(const Options& options) {
  if (options.brokers < 1)
    return make_error(ErrorCode::invalid, "the embedded cluster needs at least one broker");
  // This handle only hosts the cluster; it never connects anywhere, so silence its
  // "no bootstrap.servers" warning (level 4) while keeping errors.
  auto conf = kafka::make_conf({{"log_level", "3"}});
  if (!conf) return conf.take_error();
  auto client = kafka::make_client(RD_KAFKA_PRODUCER, *conf);
  if (!client) return client.take_error();
  rd_kafka_t* rk = *client;
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk, options.brokers);
  if (cluster == nullptr) {
    rd_kafka_destroy(rk);
    return make_error(ErrorCode::internal, "embedded kafka: cannot create the mock cluster");
  }
  std::unique_ptr<EmbeddedKafka> k(new EmbeddedKafka());
  k->rk_ = rk;
  k->cluster_ = cluster;
  k->brokers_ = options.brokers;
  k->bootstraps_ = rd_kafka_mock_cluster_bootstraps(cluster);
  for (const auto& topic : options.topics) {
    if (auto ok = k->create_topic(topic, options.partitions); !ok) return ok.take_error();
  }
  return k;
}

EmbeddedKafka::~EmbeddedKafka() {
  if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
  if (rk_ != nullptr) rd_kafka_destroy(rk_);
}

Status EmbeddedKafka::create_topic(const std::string& name, int partitions) {
  const rd_kafka_resp_err_t err =
      rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, std::min(brokers_, 3));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
    return make_error(ErrorCode::internal,
                      "embedded kafka: cannot create topic " + name + ": " + rd_kafka_err2str(err));
  return {};
}

}  // namespace filingd
