// A plain librdkafka client for the tests: read a whole topic, write messages with headers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "events/ids.hpp"

namespace filingd::test {

struct Message {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string key;
  std::string value;
  bool null_value = false;  // a tombstone
  std::vector<std::pair<std::string, std::string>> headers;

  std::optional<std::string> header(const std::string& name) const {
    for (const auto& [n, v] : headers)
      if (n == name) return v;
    return std::nullopt;
  }
  Seq seq() const { return Seq(std::stoull(header("seq").value_or("0"))); }
};

// Every message of `topic`, up to the high watermarks sampled at the start, in partition order
// (each partition's messages in offset order).
std::vector<Message> read_topic(const std::string& brokers, const std::string& topic);

// Produces `messages` to `topic` (headers kept) and waits for them all.
void write_topic(const std::string& brokers, const std::string& topic,
                 const std::vector<Message>& messages);

}  // namespace filingd::test
