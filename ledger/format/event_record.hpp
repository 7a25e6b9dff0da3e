// How an event is stored in the log column family:  body || prev_hash (32) || hash (32),  with
// `body` the canonical encoding of events/codec.hpp and hash = SHA-256(body || prev_hash).
#pragma once

#include <string>
#include <string_view>

#include "events/event.hpp"
#include "events/result.hpp"

namespace filingd {

struct StoredRecord {
  std::string_view body;
  Hash prev_hash{};
  Hash hash{};
};

std::string make_record(std::string_view body, const Hash& prev_hash, const Hash& hash);
// Fails (ErrorCode::internal) for a record too short to hold a body and two hashes.
Result<StoredRecord> split_record(std::string_view record);
// split_record + decode_body, hashes filled in.
Result<Event> decode_record(std::string_view record);

}  // namespace filingd
