#include "ledger/format/event_record.hpp"

#include <cstring>

#include "events/codec.hpp"

namespace filingd {

std::string make_record(std::string_view body, const Hash& prev_hash, const Hash& hash) {
  std::string out;
  out.reserve(body.size() + 2 * kHashSize);
  out.append(body);
  out.append(reinterpret_cast<const char*>(prev_hash.data()), prev_hash.size());
  out.append(reinterpret_cast<const char*>(hash.data()), hash.size());
  return out;
}

Result<StoredRecord> split_record(std::string_view record) {
  if (record.size() < 2 * kHashSize + 1)
    return make_error(ErrorCode::internal, "corrupt stored event: record too short");
  StoredRecord r;
  r.body = record.substr(0, record.size() - 2 * kHashSize);
  std::memcpy(r.prev_hash.data(), record.data() + r.body.size(), kHashSize);
  std::memcpy(r.hash.data(), record.data() + r.body.size() + kHashSize, kHashSize);
  return r;
}

Result<Event> decode_record(std::string_view record) {
  auto parts = split_record(record);
  if (!parts) return parts.take_error();
  auto e = decode_body(parts->body);
  if (!e) return e;
  e->prev_hash = parts->prev_hash;
  e->hash = parts->hash;
  return e;
}

}  // namespace filingd
