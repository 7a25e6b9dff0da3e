// The synthetic filings the benchmarks append. Subject n is a distinct enterprise with its own
// certificate number, one website with two domains (s<n>.<suffix>, www.s<n>.<suffix>), and a
// responsible person whose resident ID is valid (GB 11643) and distinct for each n: every
// command passes validation and the one-open-filing-per-subject rule.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "events/event.hpp"

namespace filingd::bench {

std::string resident_id(std::uint64_t n);
std::string domain_of(std::uint64_t n, std::string_view suffix);
FilingSubmitted submission(std::uint64_t n, std::string_view domain_suffix);
PhotoRejected photo_rejected();

}  // namespace filingd::bench
