// ICP record numbers (备案号, SPEC §1.3): `<省>ICP备<8 or 10 digits>号` for a subject and
// `…号-N` (N ≥ 1) for its N-th website. Numbers are kept exactly as issued; the province
// character may be an alias (蜀ICP备…), which canonical_province() resolves for comparisons.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "events/result.hpp"

namespace filingd {

struct RecordNumber {
  std::string text;          // exactly as issued
  std::string province;      // canonical abbreviation
  std::string subject;       // the subject number's text (text without any "-N")
  std::uint32_t suffix = 0;  // 0 for a subject number, N for a website number

  bool is_website() const { return suffix != 0; }
};

// Parses and checks the format; `field` names the input field in the error.
Result<RecordNumber> parse_record_number(std::string_view text, std::string_view field);

}  // namespace filingd
