#include "tests/kafka/kafka_client.hpp"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <map>
#include <set>

namespace filingd::test {

namespace {

constexpr int kWaitMs = 60'000;

rd_kafka_t* new_client(rd_kafka_type_t type, const std::string& brokers,
                       std::vector<std::pair<std::string, std::string>> extra = {}) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  extra.insert(extra.begin(), {"bootstrap.servers", brokers});
  for (const auto& [k, v] : extra)
    EXPECT_EQ(rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof errstr),
              RD_KAFKA_CONF_OK)
        << errstr;
  rd_kafka_t* rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
  EXPECT_NE(rk, nullptr) << errstr;
  return rk;
}

}  // namespace

std::vector<Message> read_topic(const std::string& brokers, const std::string& topic) {
  rd_kafka_t* rk = new_client(RD_KAFKA_CONSUMER, brokers,
                              {{"group.id", "kafka-test"}, {"enable.auto.commit", "false"}});
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  EXPECT_EQ(rd_kafka_metadata(rk, 0, rkt, &md, 10'000), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_destroy(rkt);
  const int partitions = md->topics[0].partition_cnt;
  rd_kafka_metadata_destroy(md);

  std::map<std::int32_t, std::int64_t> high;
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    std::int64_t lo = 0, hi = 0;
    EXPECT_EQ(rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &lo, &hi, 10'000),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    if (hi > lo) {
      high[p] = hi;
      rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = lo;
    }
  }
  EXPECT_EQ(rd_kafka_assign(rk, list), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(list);

  std::map<std::int32_t, std::vector<Message>> by_partition;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kWaitMs);
  for (auto& [p, hi] : high) by_partition[p];
  std::set<std::int32_t> finished;
  while (finished.size() < high.size() && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 200);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && !finished.count(m->partition)) {
      Message msg;
      msg.partition = m->partition;
      msg.offset = m->offset;
      msg.key.assign(static_cast<const char*>(m->key), m->key_len);
      msg.null_value = m->payload == nullptr;
      if (m->payload) msg.value.assign(static_cast<const char*>(m->payload), m->len);
      rd_kafka_headers_t* hdrs = nullptr;
      if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name;
        const void* val;
        std::size_t size;
        for (std::size_t i = 0; !rd_kafka_header_get_all(hdrs, i, &name, &val, &size); ++i)
          msg.headers.emplace_back(
              name, val ? std::string(static_cast<const char*>(val), size) : std::string());
      }
      by_partition[m->partition].push_back(std::move(msg));
      if (m->offset + 1 >= high[m->partition]) finished.insert(m->partition);
    }
    rd_kafka_message_destroy(m);
  }
  EXPECT_EQ(finished.size(), high.size()) << "topic " << topic << " not read to its end";
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  std::vector<Message> out;
  for (auto& [p, msgs] : by_partition)
    for (auto& m : msgs) out.push_back(std::move(m));
  return out;
}

void write_topic(const std::string& brokers, const std::string& topic,
                 const std::vector<Message>& messages) {
  rd_kafka_t* rk = new_client(RD_KAFKA_PRODUCER, brokers, {{"enable.idempotence", "true"}});
  for (const Message& m : messages) {
    rd_kafka_headers_t* hdrs = rd_kafka_headers_new(m.headers.size());
    for (const auto& [n, v] : m.headers)
      rd_kafka_header_add(hdrs, n.c_str(), -1, v.data(), static_cast<ssize_t>(v.size()));
    ASSERT_EQ(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_KEY(m.key.data(), m.key.size()),
                                RD_KAFKA_V_VALUE(const_cast<char*>(m.value.data()), m.value.size()),
                                RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  ASSERT_EQ(rd_kafka_flush(rk, 30'000), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(rk);
}

}  // namespace filingd::test
