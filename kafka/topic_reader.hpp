// Reading a whole topic once, as a restore does: every partition from its low watermark up to
// the high watermark sampled at the start, then stop. Internal to the kafka module.
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "events/result.hpp"
#include "kafka/client_config.hpp"

namespace filingd::kafka {

struct TopicReadOptions {
  std::string brokers;
  std::string topic;
  Properties properties;  // the consumer's, after the reader's own (TLS, SASL, ...)
  // Give up when no message arrives for this long before the watermarks are reached.
  std::chrono::milliseconds stall_timeout{30'000};
  // A topic that does not exist, or holds nothing, reads as empty rather than not_found.
  bool may_be_missing = false;
};

struct TopicReader {
  // Called once, before any message, with the number of messages the watermarks enclose.
  std::function<void(std::uint64_t messages)> on_count = [](std::uint64_t) {};
  // Called for each message, in offset order within a partition; an error ends the read.
  std::function<Status(const rd_kafka_message_t* m)> on_message;
};

// Errors: invalid (a refused property), not_found (no such topic, or an empty one, unless
// may_be_missing), unavailable (the cluster is unreachable or the topic stalls), and on_message's.
Status read_topic(const TopicReadOptions& o, const TopicReader& reader);

// The value of header `name` of `m` (its last), if it has one.
std::optional<std::string_view> header(const rd_kafka_message_t* m, const char* name);

// "partition P offset O", to name a message in an error.
std::string where(const rd_kafka_message_t* m);

}  // namespace filingd::kafka
