#include "kafka/topic_reader.hpp"

#include <memory>
#include <random>
#include <vector>

namespace filingd::kafka {
namespace {

using Steady = std::chrono::steady_clock;

struct ConsumerHandle {
  rd_kafka_t* rk = nullptr;
  ~ConsumerHandle() {
    if (rk != nullptr) {
      rd_kafka_consumer_close(rk);
      rd_kafka_destroy(rk);
    }
  }
};

Result<rd_kafka_t*> make_consumer(const TopicReadOptions& o) {
  std::random_device rd;
  Properties props = {
      {"bootstrap.servers", o.brokers},
      // A consumer needs a group id to poll; nothing is ever committed to it.
      {"group.id", "filingd-restore-" + std::to_string(rd())},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "true"},
      {"auto.offset.reset", "earliest"},
      {"allow.auto.create.topics", "false"},
  };
  props.insert(props.end(), o.properties.begin(), o.properties.end());
  auto conf = make_conf(props);
  if (!conf) return conf.take_error();
  return make_client(RD_KAFKA_CONSUMER, *conf);
}

}  // namespace

std::string where(const rd_kafka_message_t* m) {
  return "partition " + std::to_string(m->partition) + " offset " + std::to_string(m->offset);
}

std::optional<std::string_view> header(const rd_kafka_message_t* m, const char* name) {
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(m, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
  const void* value = nullptr;
  std::size_t size = 0;
  if (rd_kafka_header_get_last(headers, name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR)
    return std::nullopt;
  if (value == nullptr) return std::nullopt;
  return std::string_view(static_cast<const char*>(value), size);
}

Status read_topic(const TopicReadOptions& o, const TopicReader& reader) {
  auto made = make_consumer(o);
  if (!made) return made.take_error();
  ConsumerHandle h{*made};
  rd_kafka_t* rk = h.rk;

  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, o.topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 15'000);
  rd_kafka_topic_destroy(rkt);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    return make_error(ErrorCode::unavailable, "cannot read the metadata of topic " + o.topic +
                                                  " from " + o.brokers + ": " +
                                                  rd_kafka_err2str(err));
  std::unique_ptr<const rd_kafka_metadata_t, void (*)(const rd_kafka_metadata_t*)> md_guard(
      md, rd_kafka_metadata_destroy);
  if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR ||
      md->topics[0].partition_cnt == 0) {
    if (o.may_be_missing) {
      reader.on_count(0);
      return {};
    }
    return make_error(
        ErrorCode::not_found,
        "topic " + o.topic + " does not exist on " + o.brokers +
            (md->topic_cnt == 1 ? std::string(": ") + rd_kafka_err2str(md->topics[0].err)
                                : std::string()));
  }

  const int partitions = md->topics[0].partition_cnt;
  std::vector<std::int64_t> high(static_cast<std::size_t>(partitions), 0);
  std::vector<bool> done(static_cast<std::size_t>(partitions), true);
  int remaining = 0;
  std::uint64_t messages = 0;
  std::unique_ptr<rd_kafka_topic_partition_list_t, void (*)(rd_kafka_topic_partition_list_t*)>
      assignment(rd_kafka_topic_partition_list_new(partitions),
                 rd_kafka_topic_partition_list_destroy);
  for (int i = 0; i < partitions; ++i) {
    const std::int32_t p = md->topics[0].partitions[i].id;
    std::int64_t lo = 0, hi = 0;
    err = rd_kafka_query_watermark_offsets(rk, o.topic.c_str(), p, &lo, &hi, 15'000);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
      return make_error(ErrorCode::unavailable, "cannot read the offsets of " + o.topic + "[" +
                                                    std::to_string(p) +
                                                    "]: " + rd_kafka_err2str(err));
    if (p < 0 || p >= partitions || hi <= lo) continue;
    high[static_cast<std::size_t>(p)] = hi;
    messages += static_cast<std::uint64_t>(hi - lo);
    rd_kafka_topic_partition_list_add(assignment.get(), o.topic.c_str(), p)->offset = lo;
    done[static_cast<std::size_t>(p)] = false;
    ++remaining;
  }
  reader.on_count(messages);
  if (remaining == 0) {
    if (o.may_be_missing) return {};
    return make_error(ErrorCode::not_found, "topic " + o.topic + " on " + o.brokers +
                                                " holds no events: nothing to restore");
  }
  err = rd_kafka_assign(rk, assignment.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    return make_error(ErrorCode::unavailable,
                      std::string("cannot assign the partitions: ") + rd_kafka_err2str(err));

  auto last_progress = Steady::now();
  while (remaining > 0) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 200);
    if (m == nullptr) {
      if (Steady::now() - last_progress > o.stall_timeout)
        return make_error(ErrorCode::unavailable,
                          "no message from " + o.topic + " for " +
                              std::to_string(o.stall_timeout.count()) +
                              " ms before reaching its end; is the cluster reachable?");
      continue;
    }
    std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> guard(
        m, rd_kafka_message_destroy);
    last_progress = Steady::now();
    const auto p = static_cast<std::size_t>(m->partition);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (p < done.size() && !done[p] && m->offset >= high[p]) {
        done[p] = true;
        --remaining;
      }
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (rd_kafka_fatal_error(rk, nullptr, 0) != RD_KAFKA_RESP_ERR_NO_ERROR ||
          m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
          m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
          m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE)
        return make_error(ErrorCode::unavailable,
                          "consuming " + o.topic + " failed: " + rd_kafka_message_errstr(m));
      continue;  // transient (transport, leader change): librdkafka retries
    }
    if (p >= done.size() || done[p]) continue;
    if (auto ok = reader.on_message(m); !ok) return ok;
    if (m->offset + 1 >= high[p]) {
      done[p] = true;
      --remaining;
    }
  }
  return {};
}

}  // namespace filingd::kafka
