// Fuzz target: the encrypted stored form of personal data (SPEC §5.2), as the ledger, filingctl,
// the publisher and a restore read it back. Whatever the bytes, reading them is a clean error or
// a value, never a crash, a hang or a huge allocation.
//
// The first input byte picks what the rest is:
//   0  a stored event body (events/codec.hpp) that may carry a sealed box: decoded, and its box
//      opened under a fixed data key (it never authenticates: the refusal must be clean);
//   1  the plaintext inside a box (events/personal.hpp decode_personal) for a submission with
//      0-3 websites, individual or not (the second byte): decoded; on success it re-encodes to
//      the same bytes, and seals and opens back to the same fields;
//   2  a stored data key (ledger/format/values.hpp): decoded and unwrapped under a fixed wrap
//      key (privacy/wrap.hpp): never authenticates, so invalid or io;
//   3  a box (privacy/crypto.hpp open) under a fixed key: invalid or io.

#include <cstdint>
#include <string>
#include <string_view>

#include "events/codec.hpp"
#include "events/personal.hpp"
#include "ledger/format/values.hpp"
#include "privacy/crypto.hpp"
#include "privacy/wrap.hpp"
#include "tests/fuzz/fuzz_util.hpp"

namespace {

using namespace filingd;

const privacy::Key& fixed_key() {
  static const privacy::Key key = *privacy::Key::from_bytes(std::string(privacy::kKeySize, '\x2a'));
  return key;
}

void check_refusal(const Error& e) {
  FUZZ_CHECK(e.code == ErrorCode::invalid || e.code == ErrorCode::io, e.message);
  FUZZ_CHECK(!e.message.empty());
}

void stored_body(std::string_view bytes) {
  auto e = decode_body(bytes);
  if (!e) {
    FUZZ_CHECK(e.error().code == ErrorCode::internal, e.error().message);
    return;
  }
  const SealedPersonal* sealed = sealed_of(e->data);
  if (sealed == nullptr || sealed->box.empty()) return;
  auto plaintext = privacy::open(fixed_key(), sealed->box, sealed->subject_ref);
  if (!plaintext) check_refusal(plaintext.error());
}

void plaintext(std::uint8_t shape, std::string_view bytes) {
  FilingSubmitted f;
  f.subject.kind = (shape & 4) ? "individual" : "enterprise";
  f.websites.resize(shape & 3);
  Payload payload = f;
  if (auto ok = decode_personal(bytes, payload); !ok) {
    FUZZ_CHECK(ok.error().code == ErrorCode::internal, ok.error().message);
    return;
  }
  const std::string again = encode_personal(payload);
  if (again != bytes) fuzz::oracle_failure("decode_personal then encode_personal differs");
  auto box = privacy::seal(fixed_key(), again, "aad");
  FUZZ_CHECK(box.ok());
  auto opened = privacy::open(fixed_key(), *box, "aad");
  FUZZ_CHECK(opened.ok() && *opened == again);
}

void stored_key(std::string_view bytes) {
  const auto value = decode_data_key(bytes);
  if (!value) return;
  auto key = privacy::unwrap_data_key(fixed_key(), value->wrapped, "subject");
  FUZZ_CHECK(!key.ok(), "a forged wrapped key authenticated");
  check_refusal(key.error());
}

void box(std::string_view bytes) {
  auto opened = privacy::open(fixed_key(), bytes, "aad");
  FUZZ_CHECK(!opened.ok(), "a forged box authenticated");
  check_refusal(opened.error());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);
  switch (data[0] % 4) {
    case 0:
      stored_body(rest);
      break;
    case 1:
      plaintext(data[1], rest);
      break;
    case 2:
      stored_key(rest);
      break;
    case 3:
      box(rest);
      break;
  }
  return 0;
}
