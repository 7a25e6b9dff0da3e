// The 31 provincial-level divisions of the mainland, as record numbers (SPEC §1.3) and filings
// name them: the one-character abbreviation, real-world aliases and full names.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace filingd {

// Canonical one-character province abbreviation for an abbreviation, an alias (蜀→川, 黔→贵,
// 滇→云, 陇→甘) or a full name (北京, 北京市, 广东省, 内蒙古自治区, ...); nullopt if unknown.
std::optional<std::string> canonical_province(std::string_view input);


}  // namespace filingd
