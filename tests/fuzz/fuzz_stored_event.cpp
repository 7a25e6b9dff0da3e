// Fuzz target: stored event bytes (events/codec.hpp), as read back from RocksDB by replay,
// rebuild, verify and the publisher. Corrupt bytes must be a clean ErrorCode::internal error,
// never a crash, a hang or a huge allocation.
//
// Oracles on success: the decoded event re-encodes (encode_body) to bytes that decode again to
// the same encoding (the stored form is a fixed point after one upcast), and its JSON form
// (event_to_json, what Kafka and the API serve) can be produced.
//
// Input: the whole input is tried as a record (body || prev_hash || hash) and as a bare body.

#include <boost/json/serialize.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "events/codec.hpp"
#include "events/json.hpp"
#include "ledger/format/event_record.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace {

using filingd::fuzz::oracle_failure;

void check_reencoding(const filingd::Event& e) {
  const std::string body = filingd::encode_body(e);
  auto again = filingd::decode_body(body);
  if (!again) oracle_failure("encode_body output does not decode", again.error().message);
  if (filingd::encode_body(*again) != body) {
    oracle_failure("decode_body(encode_body(e)) re-encodes differently");
  }
  FUZZ_CHECK(again->type() == e.type());
  // The record framing keeps the hashes.
  auto record = filingd::decode_record(filingd::make_record(body, e.prev_hash, e.hash));
  FUZZ_CHECK(record.ok());
  FUZZ_CHECK(record->prev_hash == e.prev_hash && record->hash == e.hash);
  (void)boost::json::serialize(filingd::event_to_json(e));
}

void check_failure(const filingd::Error& error) {
  FUZZ_CHECK(error.code == filingd::ErrorCode::internal, error.message);
  FUZZ_CHECK(!error.message.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto e = filingd::decode_record(bytes)) {
    check_reencoding(*e);
  } else {
    check_failure(e.error());
  }
  if (auto e = filingd::decode_body(bytes)) {
    check_reencoding(*e);
  } else {
    check_failure(e.error());
  }
  return 0;
}
