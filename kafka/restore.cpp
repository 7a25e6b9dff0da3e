#include "kafka/restore.hpp"

#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>
#include <boost/json/parse.hpp>

#include <filesystem>
#include <memory>
#include <map>
#include <unordered_map>

#include "events/codec.hpp"
#include "events/encoding.hpp"
#include "events/hash.hpp"
#include "events/json.hpp"
#include "kafka/topic_reader.hpp"
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

using kafka::header;
using kafka::where;

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
      // The JSON shows personal data opened, masked or omitted as the publisher was told, and
      // the stored body holds it sealed: everything else must agree.
      stored->prev_hash = e.prev_hash;
      stored->hash = e.hash;
      e.format = stored->format;  // not in the JSON, which renders each format its own way
      if (event_json(*stored, PersonalView::omitted) != event_json(e, PersonalView::omitted))
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

  // A message of the keys topic: a subject's stored data key, or its tombstone.
  Status add_key(const rd_kafka_message_t* m) {
    const std::string ref(static_cast<const char*>(m->key), m->key_len);
    if (m->key == nullptr || ref.empty())
      return make_error(ErrorCode::conflict,
                        "restore refused: the key message at " + where(m) + " names no subject");
    if (m->payload == nullptr) {
      keys_[ref].reset();
      return {};
    }
    std::string value(static_cast<const char*>(m->payload), m->len);
    if (!decode_data_key(value))
      return make_error(ErrorCode::conflict, "restore refused: the data key at " + where(m) +
                                                 " is truncated (" + std::to_string(m->len) +
                                                 " bytes)");
    keys_[ref] = std::move(value);
    return {};
  }

  // The subjects' data keys as the keys topic ends; with a keyring, each must unwrap under it.
  Status put_keys(Keyring* keyring) {
    for (const auto& [ref, value] : keys_) {
      if (!value) {
        ++stats_.erased_keys;
        continue;
      }
      if (keyring != nullptr) {
        if (auto key = keyring->data_key(ref, *value); !key)
          return make_error(ErrorCode::invalid,
                            "the master key given is not the one the data keys on the keys topic "
                            "are wrapped with (" + key.error().message + ")",
                            "key_file");
      }
      batch_.Put(store_.cf(Cf::keys), ref, *value).PermitUncheckedError();
      ++stats_.keys;
    }
    return flush();
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
  std::map<std::string, std::optional<std::string>> keys_;  // null: erased
};

// Phase 1: every message of the events topic, and the subjects' data keys from the keys topic
// (a compacted topic: the last message of a subject wins, a tombstone removes its key).
Status consume(const RestoreOptions& o, Collector& collector) {
  auto consumer = [&](const std::string& topic) {
    return kafka::TopicReadOptions{.brokers = o.brokers,
                                   .topic = topic,
                                   .properties = o.properties,
                                   .stall_timeout = o.stall_timeout};
  };
  auto events = consumer(o.topic);
  if (auto ok = kafka::read_topic(
          events, {.on_count = [&](std::uint64_t n) { collector.set_message_count(n); },
                   .on_message = [&](const rd_kafka_message_t* m) { return collector.add(m); }});
      !ok)
    return ok;
  auto keys_topic = consumer(o.keys_topic);
  keys_topic.may_be_missing = true;  // a ledger without sealed personal data has none
  if (auto ok = kafka::read_topic(keys_topic, {.on_message = [&](const rd_kafka_message_t* m) {
                                                 return collector.add_key(m);
                                               }});
      !ok)
    return ok;
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
  if (auto ok = collector.put_keys(o.keyring.get()); !ok) return ok.take_error();
  auto head = verify_chain(store, o.topic);
  if (!head) return head.take_error();
  stats.head = *head;
  if (stats.head.seq.value != stats.events)
    return make_error(ErrorCode::internal, "restore: event count and head disagree");
  if (auto ok = complete_streams(store); !ok) return ok.take_error();
  rocksdb::WriteOptions sync;
  sync.sync = true;
  rocksdb::WriteBatch meta;
  meta.Put(store.cf(Cf::meta), keys::kHead, encode_head(stats.head)).PermitUncheckedError();
  if (o.keyring)
    meta.Put(store.cf(Cf::meta), keys::kMasterKeyCheck, o.keyring->check_value())
        .PermitUncheckedError();
  rocksdb::Status s = store.db()->Write(sync, &meta);
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
