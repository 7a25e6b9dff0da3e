// Sample filings for the tests and the benchmarks. Subject n is a distinct enterprise with its
// own certificate number, one website with two domains (site<n>.<suffix>, www.site<n>.<suffix>)
// and a responsible person whose resident ID is valid (GB 11643) and distinct for each n below
// 14,600,000: every submission passes validation and the one-open-filing-per-subject rule.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "events/event.hpp"

namespace filingd::samples {

std::string resident_id(std::uint64_t n);
// A valid GB 32100 USCC derived from n.
std::string uscc(std::uint64_t n);
std::string domain_of(std::uint64_t n, std::string_view suffix = "cn");
FilingSubmitted submission(std::uint64_t n, std::string_view domain_suffix = "cn",
                           FilingType type = FilingType::first_filing);
PhotoRejected photo_rejected();

}  // namespace filingd::samples
