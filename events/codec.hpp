// The stored encoding of events (SPEC §2.2): cereal portable binary, with a class version per
// payload type so that newer code reads (upcasts) events written by older code.
//
// `body` is the canonical encoding of everything but the hashes, and hash = SHA-256(body ||
// prev_hash); ledger/format/event_record.hpp frames it in the log. The chain is verified over
// the stored body bytes, never over a re-encoding, so upcasting an old event on read can never
// break its hash.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "events/event.hpp"
#include "events/result.hpp"

namespace filingd {

// The schema version new events of `type` are written with.
std::uint32_t current_schema(EventType type);

std::string encode_body(const Event& e);
// Fills everything but the hashes. Fails (ErrorCode::internal) on truncated or corrupt bytes.
Result<Event> decode_body(std::string_view body);

// Encodes just a payload (for idempotency fingerprints of a command).
std::string encode_payload(const Payload& p);

}  // namespace filingd
