// The librdkafka configuration every filingd Kafka client is built from (the publisher's
// producer, restore's consumer): properties applied in order, a refused one named in the error,
// and librdkafka's log lines routed into the daemon's log. Internal to the kafka module.
#pragma once

#include <librdkafka/rdkafka.h>

#include <string>
#include <utility>
#include <vector>

#include "events/result.hpp"

namespace filingd::kafka {

using Properties = std::vector<std::pair<std::string, std::string>>;

// A new configuration with `properties` set in order (a later one overrides an earlier one).
// Errors: invalid, naming the property ("kafka property linger.ms: ...", field
// kafka.properties.<name>). The caller owns the result (rd_kafka_new takes it on success).
Result<rd_kafka_conf_t*> make_conf(const Properties& properties);

// Creates a client of `type` from `conf` (taken in every case). Errors: invalid.
Result<rd_kafka_t*> make_client(rd_kafka_type_t type, rd_kafka_conf_t* conf);

}  // namespace filingd::kafka
