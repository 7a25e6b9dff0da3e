// The ledger's fixed-layout stored values (keys.hpp says where each lives). Each has one
// encoder and one decoder; a decoder answers nullopt for bytes of the wrong size or content,
// which callers report as corruption.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "events/domain.hpp"
#include "events/event.hpp"
#include "events/ids.hpp"

namespace filingd {

// meta "head": the last durable event, seq(8) hash(32). Seq 0: an empty ledger.
struct LedgerHead {
  Seq seq;
  Hash hash{};
  friend bool operator==(const LedgerHead&, const LedgerHead&) = default;
};
std::string encode_head(const LedgerHead& h);
std::optional<LedgerHead> decode_head(std::string_view value);

// idempotency[event_id]: seq(8) version(4) state after the event(1) fingerprint of the
// command(32).
struct IdempotencyEntry {
  Seq seq;
  Version version;
  FilingState state = FilingState::none;
  Hash fingerprint{};
};
std::string encode_idempotency(const IdempotencyEntry& e);
std::optional<IdempotencyEntry> decode_idempotency(std::string_view value);

// streams[filing_id, version] and the log's keys: a seq(8).
std::string encode_seq(Seq s);
std::optional<Seq> decode_seq(std::string_view value);

// meta "publisher_cursor": the seq(8) up to which every event is confirmed delivered to Kafka.
inline std::string encode_cursor(Seq s) { return encode_seq(s); }
inline std::optional<Seq> decode_cursor(std::string_view value) { return decode_seq(value); }

// projections C<name>: a counter, u64(8).
std::string encode_count(std::uint64_t n);
std::optional<std::uint64_t> decode_count(std::string_view value);

// keys[subject_ref]: the subject's current data key, generation(4) wrapped key (privacy/wrap.hpp).
// The generation is the subject's erasures before the key was made (SealedPersonal::generation).
struct StoredDataKey {
  std::uint32_t generation = 0;
  std::string_view wrapped;  // into the decoded value
};
std::string encode_data_key(std::uint32_t generation, std::string_view wrapped);
std::optional<StoredDataKey> decode_data_key(std::string_view value);

}  // namespace filingd
