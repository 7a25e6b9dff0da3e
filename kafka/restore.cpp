#include "kafka/restore.hpp"

#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>
#include <boost/json/parse.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <random>
#include <unordered_map>

#include "events/codec.hpp"
#include "events/encoding.hpp"
#include "events/hash.hpp"
#include "events/json.hpp"
#include "kafka/client_config.hpp"
#include "kafka/wire.hpp"
#include "ledger/format/event_record.hpp"
#include "ledger/format/keys.hpp"
#include "ledger/format/values.hpp"
#include "ledger/ledger.hpp"
#include "projections/state_machine.hpp"
#include "replay/rebuild.hpp"

namespace filingd {
namespace json = boost::json;
namespace fs = std::filesystem;

// ---- restore -------------------------------------------------------------------------------

namespace {

using Steady = std::chrono::steady_clock;

// Stored when the original fingerprint is unknown: no client command hashes to it, so any
// retry of the event_id is refused as a conflict.
const Hash& marker_fingerprint() {
  static const Hash h = sha256("filingd restore: the original command's fingerprint is unknown");
  return h;
}

Error chain_error(Seq seq, const std::string& what) {
  return make_error(ErrorCode::conflict,
                    "restore refused at seq " + std::to_string(seq.value) + ": " + what);
}

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

struct KafkaHandle {
  rd_kafka_t* rk = nullptr;
  ~KafkaHandle() {
    if (rk != nullptr) {
      rd_kafka_consumer_close(rk);
      rd_kafka_destroy(rk);
    }
  }
};

Result<rd_kafka_t*> make_consumer(const RestoreOptions& o) {
  std::random_device rd;
  kafka::Properties props = {
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
  auto conf = kafka::make_conf(props);
  if (!conf) return conf.take_error();
  return kafka::make_client(RD_KAFKA_CONSUMER, *conf);
}

// Phase 1 state: what has been read, and the batch being written.
class Collector {
 public:
  Collector(Store& store, RestoreStats& stats) : store_(store), stats_(stats) {}

  // A valid topic of M messages holds seqs 1..N with N <= M: the de-duplication table is
  // sized for that, and a seq beyond (a gap, or a forged seq) goes to an overflow map, so a
  // message cannot make it allocate more than the topic's size.
  void set_message_count(std::uint64_t m) { seen_.assign(m + 1, Hash{}); }

  Status add(const rd_kafka_message_t* m) {
    ++stats_.messages;
    json::error_code ec;
    const json::value v =
        json::parse(std::string_view(static_cast<const char*>(m->payload), m->len), ec);
    if (ec)
      return make_error(ErrorCode::conflict, "restore refused: the message at " + where(m) +
                                                 " is not JSON: " + ec.message());
    auto decoded = event_from_json(v);
    if (!decoded) {
      const json::value* s = v.is_object() ? v.get_object().if_contains("seq") : nullptr;
      const std::string at =
          s && s->is_uint64() ? "seq " + std::to_string(s->get_uint64()) : where(m);
      return make_error(ErrorCode::conflict,
                        "restore refused at " + at + ": not an event: " + decoded.error().message);
    }
    Event& e = *decoded;
    if (e.seq.value == 0) return chain_error(e.seq, "seq 0 is not a ledger position");

    // The canonical body the hash covers: sent as is, or re-encoded from the JSON.
    std::string body;
    if (auto sent = header(m, kafka_wire::kBody)) {
      auto bytes = unbase64(*sent);
      if (!bytes) return chain_error(e.seq, "its body header is not base64");
      body = std::move(*bytes);
      auto stored = decode_body(body);
      if (!stored) return chain_error(e.seq, "its body header does not decode");
      stored->prev_hash = e.prev_hash;
      stored->hash = e.hash;
      if (encode_body(*stored) != encode_body(e))
        return chain_error(e.seq, "its JSON does not match its stored body (altered)");
    } else {
      body = encode_body(e);
      ++stats_.reencoded;
    }
    if (chain_hash(body, e.prev_hash) != e.hash)
      return chain_error(e.seq, "its hash does not match its content (altered)");

    // De-duplicate: a re-sent copy is identical, anything else is a forgery.
    static const Hash kNone{};
    Hash& seen = e.seq.value < seen_.size() ? seen_[e.seq.value] : overflow_[e.seq.value];
    if (seen != kNone) {
      if (seen != e.hash)
        return chain_error(e.seq, "the topic holds two different events with this seq");
      ++stats_.duplicates;
      return {};
    }
    seen = e.hash;
    ++stats_.events;

    Hash fp{};
    const auto sent_fp = header(m, kafka_wire::kFingerprint);
    if (!sent_fp || !from_hex(*sent_fp, fp)) {
      fp = marker_fingerprint();
      ++stats_.without_fingerprint;
    }
    auto put = [&](Cf cf, const std::string& key, const std::string& value) {
      batch_.Put(store_.cf(cf), key, value).PermitUncheckedError();
    };
    put(Cf::log, keys::seq(e.seq), make_record(body, e.prev_hash, e.hash));
    put(Cf::streams, keys::stream(e.filing_id, e.version), encode_seq(e.seq));
    // The state is filled in by the stream pass.
    put(Cf::idempotency, e.event_id, encode_idempotency({e.seq, e.version, FilingState::none, fp}));
    if (batch_.Count() >= 30'000) return flush();
    return {};
  }

  Status flush() {
    if (batch_.Count() == 0) return {};
    rocksdb::Status s = store_.db()->Write(rocksdb::WriteOptions(), &batch_);
    batch_.Clear();
    if (!s.ok()) return from_rocksdb(s, "restore write failed");
    return {};
  }

 private:
  Store& store_;
  RestoreStats& stats_;
  rocksdb::WriteBatch batch_;
  std::vector<Hash> seen_;  // by seq: the hash of the copy kept, zero if none yet
  std::unordered_map<std::uint64_t, Hash> overflow_;  // seqs beyond the message count
};

// Phase 1: every message of every partition up to the high watermarks.
Status consume(const RestoreOptions& o, Collector& collector) {
  auto made = make_consumer(o);
  if (!made) return made.take_error();
  KafkaHandle h{*made};
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
      md->topics[0].partition_cnt == 0)
    return make_error(
        ErrorCode::not_found,
        "topic " + o.topic + " does not exist on " + o.brokers +
            (md->topic_cnt == 1 ? std::string(": ") + rd_kafka_err2str(md->topics[0].err)
                                : std::string()));

  const int partitions = md->topics[0].partition_cnt;
  std::vector<std::int64_t> high(static_cast<std::size_t>(partitions), 0);
  std::vector<bool> done(static_cast<std::size_t>(partitions), true);
  int remaining = 0;
  std::uint64_t messages = 0;
  rd_kafka_topic_partition_list_t* assignment = rd_kafka_topic_partition_list_new(partitions);
  for (int i = 0; i < partitions; ++i) {
    const std::int32_t p = md->topics[0].partitions[i].id;
    std::int64_t lo = 0, hi = 0;
    err = rd_kafka_query_watermark_offsets(rk, o.topic.c_str(), p, &lo, &hi, 15'000);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_topic_partition_list_destroy(assignment);
      return make_error(ErrorCode::unavailable, "cannot read the offsets of " + o.topic + "[" +
                                                    std::to_string(p) +
                                                    "]: " + rd_kafka_err2str(err));
    }
    if (p < 0 || p >= partitions) continue;
    high[static_cast<std::size_t>(p)] = hi;
    if (hi > lo) messages += static_cast<std::uint64_t>(hi - lo);
    if (hi > lo) {
      rd_kafka_topic_partition_list_add(assignment, o.topic.c_str(), p)->offset = lo;
      done[static_cast<std::size_t>(p)] = false;
      ++remaining;
    }
  }
  if (remaining == 0) {
    rd_kafka_topic_partition_list_destroy(assignment);
    return make_error(ErrorCode::not_found, "topic " + o.topic + " on " + o.brokers +
                                                " holds no events: nothing to restore");
  }
  collector.set_message_count(messages);
  err = rd_kafka_assign(rk, assignment);
  rd_kafka_topic_partition_list_destroy(assignment);
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
    if (auto ok = collector.add(m); !ok) return ok;
    if (m->offset + 1 >= high[p]) {
      done[p] = true;
      --remaining;
    }
  }
  return collector.flush();
}

// Phase 2: the log in seq order: gapless from 1, each prev_hash the previous hash.
Result<LedgerHead> verify_chain(Store& store, const std::string& topic) {
  LedgerHead head;
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(rocksdb::ReadOptions(), store.cf(Cf::log)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const auto key = keys::parse_seq(it->key().ToStringView());
    if (!key) return make_error(ErrorCode::internal, "restore: bad log key");
    const Seq seq = *key;
    if (seq != head.seq.next())
      return chain_error(head.seq.next(), "it is missing from topic " + topic + " (a gap)");
    auto parts = split_record(it->value().ToStringView());
    if (!parts) return parts.take_error();
    if (parts->prev_hash != head.hash)
      return chain_error(seq, "its prev_hash is not the hash of seq " +
                                  std::to_string(head.seq.value) + " (broken chain)");
    head = LedgerHead{seq, parts->hash};
  }
  if (!it->status().ok()) return from_rocksdb(it->status(), "restore read failed");
  return head;
}

// Phase 3: each filing's stream in version order: versions 1..n, each pointing at an event of
// that filing and version; the idempotency entries get the state after their event.
Status complete_streams(Store& store) {
  rocksdb::WriteBatch batch;
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(rocksdb::ReadOptions(), store.cf(Cf::streams)));
  std::string filing;
  FilingStatus status;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const auto key = keys::parse_stream(it->key().ToStringView());
    const auto value = decode_seq(it->value().ToStringView());
    if (!key || !value) return make_error(ErrorCode::internal, "restore: bad stream entry");
    const std::string_view id = key->filing_id;
    const Version version = key->version;
    const Seq seq = *value;
    if (id != filing) {
      filing.assign(id);
      status = FilingStatus{};
    }
    auto record = store.get(Cf::log, keys::seq(seq));
    if (!record) return record.take_error();
    if (!*record) return chain_error(seq, "missing from the log");
    auto e = decode_record(**record);
    if (!e) return chain_error(seq, "does not decode: " + e.error().message);
    if (version != status.version.next() || e->version != version || e->filing_id != id)
      return chain_error(seq, "filing " + filing + " has no version " +
                                  std::to_string(status.version.next().value) +
                                  " in the topic (a gap in its stream)");
    if (auto ok = apply_event(status, *e); !ok)
      return chain_error(seq, "does not replay: " + ok.error().message);
    auto idem = store.get(Cf::idempotency, e->event_id);
    if (!idem) return idem.take_error();
    auto entry = *idem ? decode_idempotency(**idem) : std::nullopt;
    if (!entry || entry->seq != seq)
      return chain_error(seq, "its event_id " + e->event_id + " is used by another event");
    entry->state = status.state;
    batch.Put(store.cf(Cf::idempotency), e->event_id, encode_idempotency(*entry))
        .PermitUncheckedError();
    if (batch.Count() >= 30'000) {
      rocksdb::Status s = store.db()->Write(rocksdb::WriteOptions(), &batch);
      batch.Clear();
      if (!s.ok()) return from_rocksdb(s, "restore write failed");
    }
  }
  if (!it->status().ok()) return from_rocksdb(it->status(), "restore read failed");
  rocksdb::Status s = store.db()->Write(rocksdb::WriteOptions(), &batch);
  if (!s.ok()) return from_rocksdb(s, "restore write failed");
  return {};
}

Result<RestoreStats> restore_into(const RestoreOptions& o, const std::string& dir) {
  auto opened = Store::open({.path = dir});
  if (!opened) return opened.take_error();
  Store& store = **opened;
  RestoreStats stats;
  Collector collector(store, stats);
  if (auto ok = consume(o, collector); !ok) return ok.take_error();
  auto head = verify_chain(store, o.topic);
  if (!head) return head.take_error();
  stats.head = *head;
  if (stats.head.seq.value != stats.events)
    return make_error(ErrorCode::internal, "restore: event count and head disagree");
  if (auto ok = complete_streams(store); !ok) return ok.take_error();
  rocksdb::WriteOptions sync;
  sync.sync = true;
  rocksdb::Status s =
      store.db()->Put(sync, store.cf(Cf::meta), keys::kHead, encode_head(stats.head));
  if (!s.ok()) return from_rocksdb(s, "restore write failed");
  auto rebuilt = rebuild_projections(store);
  if (!rebuilt) return rebuilt.take_error();
  if (rebuilt->head != stats.head.seq)
    return make_error(ErrorCode::internal, "restore: the rebuild saw a different head");
  s = store.db()->FlushWAL(true);
  if (!s.ok()) return from_rocksdb(s, "restore sync failed");
  return stats;
}

}  // namespace

Result<RestoreStats> restore_from_kafka(const RestoreOptions& o) {
  if (o.data_dir.empty())
    return make_error(ErrorCode::invalid, "restore needs a data directory", "data_dir");
  std::error_code ec;
  if (fs::exists(o.data_dir, ec) && !fs::is_empty(o.data_dir, ec))
    return make_error(ErrorCode::invalid,
                      "refusing to restore into " + o.data_dir + ": it is not empty", "data_dir");
  const std::string partial = o.data_dir + ".partial";
  fs::remove_all(partial, ec);
  fs::create_directories(partial, ec);
  if (ec) return make_error(ErrorCode::io, "cannot create " + partial + ": " + ec.message());
  auto stats = restore_into(o, partial);  // the Store is closed when this returns
  if (!stats) {
    fs::remove_all(partial, ec);
    return stats;
  }
  if (fs::exists(o.data_dir, ec)) fs::remove(o.data_dir, ec);  // empty, checked above
  fs::rename(partial, o.data_dir, ec);
  if (ec)
    return make_error(ErrorCode::io,
                      "cannot move " + partial + " to " + o.data_dir + ": " + ec.message());
  return stats;
}

}  // namespace filingd
