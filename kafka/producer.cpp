#include "kafka/producer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "kafka/wire.hpp"

namespace filingd::kafka {
namespace {

constexpr auto kMinBackoff = std::chrono::milliseconds(500);
constexpr auto kMaxBackoff = std::chrono::seconds(30);
constexpr int kAdminTimeoutMs = 10'000;
constexpr int kCreateAttempts = 3;  // CreateTopics rounds before producing regardless

// Messages carry their event's seq as their opaque.
void* opaque_of(Seq seq) { return reinterpret_cast<void*>(static_cast<std::uintptr_t>(seq.value)); }
Seq seq_of_opaque(void* opaque) {
  return Seq(static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(opaque)));
}

bool retriable_admin_error(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NOT_CONTROLLER:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
      return true;
    default:
      return false;
  }
}

struct SeqText {
  explicit SeqText(Seq seq) {
    len = std::snprintf(text, sizeof text, "%llu", static_cast<unsigned long long>(seq.value));
  }
  char text[24];
  int len;
};

}  // namespace

Result<std::unique_ptr<Producer>> Producer::create(const Config& config, Listener& listener,
                                                   Progress& progress) {
  std::unique_ptr<Producer> p(new Producer(listener, progress, config));
  // Defaults first, then the pass-through properties, then the guarantees the outbox relies
  // on, which a property must not weaken.
  Properties props = {
      {"bootstrap.servers", config.brokers},
      // librdkafka's own default. In steady state each produce request carries a few
      // milliseconds of appends; at 1 ms, per-request costs (wake-ups, a compressed message set
      // per partition, the loopback round trip) took a third more CPU per event (PERFORMANCE.md).
      {"linger.ms", "5"},
      {"batch.num.messages", "10000"},
      {"compression.type", "lz4"},
      {"queue.buffering.max.kbytes", "2097151"},
  };
  props.insert(props.end(), config.properties.begin(), config.properties.end());
  const Properties guarantees = {
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"message.timeout.ms", "0"},  // infinite: an outage delays delivery, never fails it
      // One produce request in flight per broker. With more, a request that fails followed by
      // one that succeeds for the same partition makes librdkafka report the failed one's
      // messages delivered ("implicit ack"), trusting the broker to refuse a sequence gap;
      // librdkafka 2.0.2's mock broker accepts the gap and has lost them
      // (tests/kafka/mock_implicit_ack_loss.cpp).
      {"max.in.flight.requests.per.connection", "1"},
      // Room for every in-flight event and its status and key messages.
      {"queue.buffering.max.messages",
       std::to_string(std::min<std::size_t>(3 * config.max_in_flight + 16, 10'000'000))},
  };
  props.insert(props.end(), guarantees.begin(), guarantees.end());
  auto conf = make_conf(props);
  if (!conf) return conf.take_error();
  rd_kafka_conf_set_opaque(*conf, p.get());
  rd_kafka_conf_set_dr_msg_cb(*conf, &Producer::on_delivery);
  rd_kafka_conf_set_error_cb(*conf, &Producer::on_error);
  auto rk = make_client(RD_KAFKA_PRODUCER, *conf);
  if (!rk) return rk.take_error();
  p->rk_ = *rk;
  p->events_rkt_ = rd_kafka_topic_new(p->rk_, config.events_topic.c_str(), nullptr);
  p->status_rkt_ = rd_kafka_topic_new(p->rk_, config.status_topic.c_str(), nullptr);
  p->keys_rkt_ = rd_kafka_topic_new(p->rk_, config.keys_topic.c_str(), nullptr);
  if (!config.checkpoints_topic.empty())
    p->checkpoints_rkt_ = rd_kafka_topic_new(p->rk_, config.checkpoints_topic.c_str(), nullptr);
  p->main_queue_ = rd_kafka_queue_get_main(p->rk_);
  // Delivery reports land on the main queue: have librdkafka wake the publishing thread when
  // it goes from empty to non-empty, so the thread never polls on a timer.
  rd_kafka_queue_cb_event_enable(p->main_queue_, &Producer::on_queue_event, p.get());
  return p;
}

Producer::~Producer() {
  if (rk_ == nullptr) return;  // create() failed before the client existed
  rd_kafka_queue_cb_event_enable(main_queue_, nullptr, nullptr);
  rd_kafka_queue_destroy(main_queue_);
  rd_kafka_topic_destroy(events_rkt_);
  rd_kafka_topic_destroy(status_rkt_);
  rd_kafka_topic_destroy(keys_rkt_);
  if (checkpoints_rkt_ != nullptr) rd_kafka_topic_destroy(checkpoints_rkt_);
  rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  // Purged messages report (with an error) through the callback; they belong to this producer
  // and are ignored.
  discarding_ = true;
  rd_kafka_poll(rk_, 0);
  rd_kafka_destroy(rk_);
}

void Producer::on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  auto* self = static_cast<Producer*>(opaque);
  if (self->discarding_) return;
  // A success without an offset was inferred by librdkafka (an implicit ack, a duplicate
  // sequence), not confirmed by a broker that stored the message: it is sent again (a duplicate
  // at worst) rather than trusted.
  const bool delivered = msg->err == RD_KAFKA_RESP_ERR_NO_ERROR;
  const bool confirmed = delivered && msg->offset >= 0;
  self->listener_.delivered(seq_of_opaque(msg->_private), confirmed,
                            confirmed   ? nullptr
                            : delivered ? "reported delivered without an offset (not confirmed)"
                                        : rd_kafka_err2str(msg->err));
}

void Producer::on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* self = static_cast<Producer*>(opaque);
  const auto code = static_cast<rd_kafka_resp_err_t>(err);
  if (code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) self->progress_.brokers_up = false;
  if (code == RD_KAFKA_RESP_ERR__FATAL) {
    char detail[512];
    rd_kafka_fatal_error(rk, detail, sizeof detail);
    self->progress_.note_error(std::string("fatal: ") + detail);
    spdlog::error("kafka publisher: fatal producer error: {}", detail);
    self->listener_.fatal();
    return;
  }
  self->progress_.client_errors.fetch_add(1);
  self->progress_.note_error(reason);
  // Transport errors repeat every reconnect attempt during an outage: keep them at debug.
  if (code == RD_KAFKA_RESP_ERR__TRANSPORT || code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
    spdlog::debug("kafka publisher: {}", reason);
  else
    spdlog::warn("kafka publisher: {}", reason);
}

void Producer::on_queue_event(rd_kafka_t*, void* opaque) {
  static_cast<Producer*>(opaque)->listener_.wake();
}

rd_kafka_resp_err_t Producer::produce(const std::function<rd_kafka_resp_err_t()>& once,
                                      const std::function<bool()>& while_full) {
  for (;;) {
    const rd_kafka_resp_err_t err = once();
    // The queue is sized for max_in_flight, so this is rare: serve reports and retry.
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || !while_full()) return err;
  }
}

rd_kafka_resp_err_t Producer::produce_event(const EventMessage& m,
                                            const std::function<bool()>& while_full) {
  const Event& e = m.event;
  const std::string_view type = to_string(e.type());
  const SeqText seq(e.seq);
  char schema[12];
  const int schema_len = std::snprintf(schema, sizeof schema, "%u", e.schema);
  return produce(
      [&] {
        rd_kafka_headers_t* headers = rd_kafka_headers_new(6);
        auto add = [&](const char* name, std::string_view value) {
          rd_kafka_header_add(headers, name, -1, value.data(), static_cast<ssize_t>(value.size()));
        };
        add(kafka_wire::kEventType, type);
        add(kafka_wire::kEventId, e.event_id);
        add(kafka_wire::kSeq, std::string_view(seq.text, static_cast<std::size_t>(seq.len)));
        add(kafka_wire::kSchema, std::string_view(schema, static_cast<std::size_t>(schema_len)));
        if (!m.body_base64.empty()) add(kafka_wire::kBody, m.body_base64);
        if (!m.fingerprint_hex.empty()) add(kafka_wire::kFingerprint, m.fingerprint_hex);
        const rd_kafka_resp_err_t err = rd_kafka_producev(
            rk_, RD_KAFKA_V_RKT(events_rkt_), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(e.filing_id.data(), e.filing_id.size()),
            RD_KAFKA_V_VALUE(const_cast<char*>(m.value.data()), m.value.size()),
            RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(opaque_of(e.seq)), RD_KAFKA_V_END);
        // On success the message owns the headers; on failure they are still ours.
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) rd_kafka_headers_destroy(headers);
        return err;
      },
      while_full);
}

rd_kafka_resp_err_t Producer::produce_status(const Event& e, std::string_view filing_id,
                                             std::string_view status_json,
                                             const std::function<bool()>& while_full) {
  const SeqText seq(e.seq);
  return produce(
      [&] {
        return rd_kafka_producev(
            rk_, RD_KAFKA_V_RKT(status_rkt_), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(filing_id.data(), filing_id.size()),
            RD_KAFKA_V_VALUE(const_cast<char*>(status_json.data()), status_json.size()),
            RD_KAFKA_V_HEADER(kafka_wire::kSeq, seq.text, seq.len),
            RD_KAFKA_V_OPAQUE(opaque_of(e.seq)), RD_KAFKA_V_END);
      },
      while_full);
}

rd_kafka_resp_err_t Producer::produce_key(const Event& e, std::string_view subject_ref,
                                          const std::optional<std::string>& stored_key,
                                          const std::function<bool()>& while_full) {
  const SeqText seq(e.seq);
  // A null value (no RD_KAFKA_V_VALUE) is the tombstone compaction removes the key by.
  char* value = stored_key ? const_cast<char*>(stored_key->data()) : nullptr;
  const std::size_t size = stored_key ? stored_key->size() : 0;
  return produce(
      [&] {
        return rd_kafka_producev(
            rk_, RD_KAFKA_V_RKT(keys_rkt_), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(subject_ref.data(), subject_ref.size()), RD_KAFKA_V_VALUE(value, size),
            RD_KAFKA_V_HEADER(kafka_wire::kSeq, seq.text, seq.len),
            RD_KAFKA_V_OPAQUE(opaque_of(e.seq)), RD_KAFKA_V_END);
      },
      while_full);
}

rd_kafka_resp_err_t Producer::produce_checkpoint(const Event& e, std::string_view origin,
                                                 std::string_view note,
                                                 const std::function<bool()>& while_full) {
  const SeqText seq(e.seq);
  return produce(
      [&] {
        return rd_kafka_producev(rk_, RD_KAFKA_V_RKT(checkpoints_rkt_),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_KEY(origin.data(), origin.size()),
                                 RD_KAFKA_V_VALUE(const_cast<char*>(note.data()), note.size()),
                                 RD_KAFKA_V_HEADER(kafka_wire::kSeq, seq.text, seq.len),
                                 RD_KAFKA_V_OPAQUE(opaque_of(e.seq)), RD_KAFKA_V_END);
      },
      while_full);
}

void Producer::poll(int timeout_ms) { rd_kafka_poll(rk_, timeout_ms); }

rd_kafka_resp_err_t Producer::flush(std::chrono::milliseconds timeout) {
  return rd_kafka_flush(rk_, static_cast<int>(timeout.count()));
}

int Producer::queued() const { return rd_kafka_outq_len(rk_); }

bool Producer::probe(int timeout_ms) {
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk_, 0, events_rkt_, &md, timeout_ms);
  if (md != nullptr) rd_kafka_metadata_destroy(md);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) progress_.brokers_up = true;
  return err == RD_KAFKA_RESP_ERR_NO_ERROR;
}

// Topics the cluster does not have yet, from a full listing (asking for the topics by name
// could auto-create them with the broker's defaults, i.e. a status topic without compaction).
// False if the cluster did not answer.
bool Producer::missing_topics(std::vector<std::string>& missing) {
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk_, 1, nullptr, &md, kAdminTimeoutMs);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (md != nullptr) rd_kafka_metadata_destroy(md);
    progress_.note_error(std::string("cannot reach the cluster: ") + rd_kafka_err2str(err));
    return false;
  }
  progress_.brokers_up = true;
  missing = {config_.events_topic, config_.status_topic, config_.keys_topic};
  if (!config_.checkpoints_topic.empty()) missing.push_back(config_.checkpoints_topic);
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (md->topics[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    std::erase(missing, std::string(md->topics[i].topic));
  }
  rd_kafka_metadata_destroy(md);
  return true;
}

void Producer::ensure_topics(
    const std::function<bool()>& stop,
    const std::function<void(std::chrono::steady_clock::duration)>& pause) {
  std::chrono::steady_clock::duration wait = kMinBackoff;
  auto back_off = [&] {
    pause(wait);
    wait = std::min<std::chrono::steady_clock::duration>(wait * 2, kMaxBackoff);
  };
  int attempts = 0;
  while (!stop()) {
    std::vector<std::string> missing;
    if (!missing_topics(missing)) {
      spdlog::warn("kafka publisher: cannot reach {} yet; retrying", config_.brokers);
      back_off();
      continue;
    }
    if (missing.empty()) return;
    if (++attempts > kCreateAttempts) {
      // A cluster without a reachable controller or Admin API: producing auto-creates the
      // topics where the broker allows it, with its defaults (the status topic then needs
      // cleanup.policy=compact set by hand).
      spdlog::warn("kafka publisher: could not create the topics; producing anyway");
      return;
    }
    char errstr[512];
    std::vector<rd_kafka_NewTopic_t*> topics;
    for (const std::string& name : missing) {
      rd_kafka_NewTopic_t* t = rd_kafka_NewTopic_new(
          name.c_str(), config_.partitions, config_.replication_factor, errstr, sizeof errstr);
      if (t == nullptr) {
        spdlog::warn("kafka publisher: cannot create topic {}: {}", name, errstr);
        continue;
      }
      if (name == config_.status_topic || name == config_.keys_topic ||
          name == config_.checkpoints_topic)
        rd_kafka_NewTopic_set_config(t, "cleanup.policy", "compact");
      topics.push_back(t);
    }
    if (topics.empty()) return;
    rd_kafka_AdminOptions_t* options =
        rd_kafka_AdminOptions_new(rk_, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(options, kAdminTimeoutMs, errstr, sizeof errstr);
    rd_kafka_AdminOptions_set_request_timeout(options, kAdminTimeoutMs, errstr, sizeof errstr);
    rd_kafka_queue_t* queue = rd_kafka_queue_new(rk_);
    rd_kafka_CreateTopics(rk_, topics.data(), topics.size(), options, queue);
    rd_kafka_NewTopic_destroy_array(topics.data(), topics.size());
    rd_kafka_AdminOptions_destroy(options);

    rd_kafka_event_t* ev = nullptr;
    // Short slices, so a stop is not held up by an unresponsive cluster.
    for (int waited = 0; ev == nullptr && waited < 2 * kAdminTimeoutMs && !stop(); waited += 200) {
      ev = rd_kafka_queue_poll(queue, 200);
      poll(0);
    }
    rd_kafka_queue_destroy(queue);
    if (ev == nullptr) continue;  // timed out, or stopping
    const rd_kafka_resp_err_t err = rd_kafka_event_error(ev);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      const std::string why = rd_kafka_event_error_string(ev);
      rd_kafka_event_destroy(ev);
      if (retriable_admin_error(err)) {
        spdlog::warn("kafka publisher: cannot create topics yet ({}); retrying", why);
        back_off();
        continue;
      }
      spdlog::warn("kafka publisher: topics not created ({}); producing anyway", why);
      return;
    }
    std::size_t n = 0;
    const rd_kafka_topic_result_t** results =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    for (std::size_t i = 0; i < n; ++i) {
      const rd_kafka_resp_err_t terr = rd_kafka_topic_result_error(results[i]);
      const char* name = rd_kafka_topic_result_name(results[i]);
      if (terr == RD_KAFKA_RESP_ERR_NO_ERROR)
        spdlog::info("kafka publisher: created topic {}", name);
      else if (terr != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        spdlog::warn("kafka publisher: cannot create topic {}: {}", name,
                     rd_kafka_topic_result_error_string(results[i]));
    }
    rd_kafka_event_destroy(ev);
    return;
  }
}

}  // namespace filingd::kafka
