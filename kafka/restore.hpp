// Restoring a ledger from the Kafka event topic (SPEC §2.3 "Replica / restore"): disaster
// recovery, or a read replica on another machine. `filingctl restore --from-kafka`.
//
// How: the topic is read from the beginning on every partition up to the high watermarks
// sampled at start. Each message is decoded (the JSON envelope back into an Event) and its
// link verified at once: the canonical body, i.e. the re-encoding of the decoded event, or the
// `body` header (base64) where the publisher sends one (for an event stored with an older
// schema, which re-encoding would not reproduce), must hash with `prev_hash` to `hash`, and a
// `body` header must describe the same event as the JSON. Messages are de-duplicated
// by seq (a re-sent copy must be identical). The log is then walked in seq order: a missing seq or
// a `prev_hash` that is not the previous event's `hash` refuses the restore, naming the seq.
// Streams, idempotency entries and the head follow from the log, and the projections are
// rebuilt with rebuild_projections(), so a restored ledger's projections digest equals the
// original's (for the same head).
//
// Idempotency: an append's fingerprint (what the client sent) is not part of the event; the
// publisher sends it in the `fingerprint` header, and a restore keeps it, so a retry of an
// event_id against the restored ledger behaves exactly as against the original. For a message
// without that header (a publisher with fingerprint_header off, another producer) a marker
// fingerprint is stored: a retry of such an event_id is then refused as a conflict even with
// the same content (never silently accepted as a new event).
//
// The subjects' data keys come from the compacted keys topic as it ends (the last message of a
// subject wins; a tombstone means erased), wrapped as they were: the master key never travels.
//
// The restore writes into `<data_dir>.partial` and renames it to `data_dir` only on success,
// so a failed or interrupted restore never leaves a directory that looks like a ledger.
// `data_dir` must not exist or be empty. Nothing is written to the cluster (no group commits).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "events/event.hpp"
#include "events/result.hpp"
#include "kafka/wire.hpp"
#include "ledger/keyring.hpp"
#include "ledger/ledger.hpp"

namespace filingd {

struct RestoreStats {
  std::uint64_t events = 0;               // distinct events restored (= head seq)
  std::uint64_t messages = 0;             // messages read, duplicates included
  std::uint64_t duplicates = 0;           // re-sent copies skipped
  std::uint64_t reencoded = 0;            // events without a `body` header
  std::uint64_t without_fingerprint = 0;  // idempotency entries given the marker
  std::uint64_t keys = 0;                 // subjects' data keys restored
  std::uint64_t erased_keys = 0;          // subjects whose key the keys topic erased
  LedgerHead head;
};

struct RestoreOptions {
  std::string brokers;  // bootstrap.servers
  std::string topic{kafka_wire::kEventsTopic};
  std::string keys_topic{kafka_wire::kKeysTopic};
  // The master key's keyring, to check that the data keys unwrap under it (a restore given
  // another master key is refused) and to record it. Null: the keys are restored as they are,
  // and the personal data reads "[encrypted]" until a daemon opens the ledger with its key.
  std::shared_ptr<Keyring> keyring;
  std::string data_dir;  // the new ledger directory
  // librdkafka properties for the consumer (TLS, SASL, ...); a refused one is named.
  std::vector<std::pair<std::string, std::string>> properties;
  // Give up when no message arrives for this long before the watermarks are reached.
  std::chrono::milliseconds stall_timeout{30'000};
};

// Errors: invalid (a refused property, a non-empty data_dir, a keyring the data keys do not
// unwrap under), not_found (no such topic, or an
// empty one: restoring nothing is never what was meant),
// unavailable (the cluster is unreachable or the topic stalls), conflict (the topic does not
// hold a valid chain: a gap, an altered event, a broken link; the message names the seq), io.
Result<RestoreStats> restore_from_kafka(const RestoreOptions& options);

}  // namespace filingd
