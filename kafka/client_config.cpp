#include "kafka/client_config.hpp"

#include <spdlog/spdlog.h>

namespace filingd::kafka {
namespace {

// librdkafka's own log lines (syslog levels), from its threads, into the daemon's log.
void on_log(const rd_kafka_t*, int level, const char* facility, const char* message) {
  const auto spd = level <= 3   ? spdlog::level::err
                   : level == 4 ? spdlog::level::warn
                   : level <= 6 ? spdlog::level::info
                                : spdlog::level::debug;
  spdlog::log(spd, "kafka: [{}] {}", facility, message);
}

}  // namespace

Result<rd_kafka_conf_t*> make_conf(const Properties& properties) {
  // librdkafka's threads log through on_log. Build spdlog's registry before they start, so that
  // its construction happens before their first use of it (in a process that has not logged
  // yet: a test or a tool).
  spdlog::default_logger_raw();
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [name, value] : properties) {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return make_error(ErrorCode::invalid, "kafka property " + name + ": " + errstr,
                        "kafka.properties." + name);
    }
  }
  rd_kafka_conf_set_log_cb(conf, &on_log);
  return conf;
}

Result<rd_kafka_t*> make_client(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return make_error(ErrorCode::invalid,
                      std::string(type == RD_KAFKA_PRODUCER ? "kafka producer: " : "kafka consumer: ") +
                          errstr,
                      "kafka");
  }
  return rk;
}

}  // namespace filingd::kafka
