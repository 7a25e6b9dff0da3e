// Fuzz target: ICP record numbers (events/record_number.hpp), as they arrive in request bodies
// (bureau_approved, record_cancelled, access filings) and in GET /v1/records/{number}.
//
// Oracles on success: `text` is the input; re-parsing it gives the same fields; `subject` is a
// subject number and text == subject + ("-" + suffix if a website number); the province is
// canonical. Failures are ErrorCode::invalid naming the field.

#include <cstdint>
#include <string>
#include <string_view>

#include "events/record_number.hpp"
#include "events/validation.hpp"
#include "tests/fuzz/fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using filingd::parse_record_number;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto rn = parse_record_number(text, "record_number");
  if (!rn) {
    const auto& e = rn.error();
    FUZZ_CHECK(e.code == filingd::ErrorCode::invalid, e.message);
    FUZZ_CHECK(e.field == "record_number", e.field);
    FUZZ_CHECK(!e.message.empty());
    return 0;
  }
  FUZZ_CHECK(rn->text == text, rn->text);
  FUZZ_CHECK(rn->suffix <= 9999);
  const std::string expected =
      rn->subject + (rn->is_website() ? "-" + std::to_string(rn->suffix) : std::string());
  FUZZ_CHECK(rn->text == expected, rn->text, expected);
  FUZZ_CHECK(filingd::canonical_province(rn->province) == rn->province, rn->province);

  auto again = parse_record_number(rn->text, "record_number");
  FUZZ_CHECK(again.ok(), rn->text);
  FUZZ_CHECK(again->text == rn->text && again->province == rn->province &&
                 again->subject == rn->subject && again->suffix == rn->suffix,
             rn->text);

  // The subject part is itself a valid subject number of the same province.
  auto subject = parse_record_number(rn->subject, "record_number");
  FUZZ_CHECK(subject.ok(), rn->subject);
  FUZZ_CHECK(!subject->is_website() && subject->subject == rn->subject &&
                 subject->province == rn->province,
             rn->subject);
  return 0;
}
