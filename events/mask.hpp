// Masking personal values for readers (SPEC §5): only the tail stays readable.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace filingd {

inline constexpr std::size_t kMaskKeepChars = 4;

// Keeps the last kMaskKeepChars characters of `utf8` and replaces each earlier character by one
// '*'; a value of kMaskKeepChars characters or fewer becomes all '*', one per character, so that
// a short name is not shown whole. Characters are Unicode code points, not bytes:
//   "110101199003074514" -> "**************4514",  "张三" -> "**",
//   "欧阳娜娜丽莎" -> "**娜娜丽莎",                  "13800138000" -> "*******8000".
// Never fails. Input that is not valid UTF-8 is handled byte by byte: each byte that does not
// start a well-formed sequence (Unicode Table 3-7: no overlongs, surrogates or values above
// U+10FFFF) counts as one character and, if it falls in the kept tail, is shown as U+FFFD, so
// the result is always valid UTF-8. Combining marks and emoji sequences count per code point,
// so a tail may begin mid-cluster. Pure function, thread-safe.
std::string mask_tail(std::string_view utf8);

}  // namespace filingd
