// Shared by the libFuzzer targets: an oracle failure prints what differed and aborts, which
// libFuzzer reports as a crash and saves the input (crash-<sha1>).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "events/result.hpp"

namespace filingd::fuzz {

[[noreturn]] inline void oracle_failure(std::string_view what, std::string_view a = {},
                                        std::string_view b = {}) {
  std::fprintf(stderr, "\n==== ORACLE FAILURE: %.*s\n", static_cast<int>(what.size()), what.data());
  if (!a.empty()) std::fprintf(stderr, "  first:  %.*s\n", static_cast<int>(a.size()), a.data());
  if (!b.empty()) std::fprintf(stderr, "  second: %.*s\n", static_cast<int>(b.size()), b.data());
  std::abort();
}

#define FUZZ_CHECK(cond, ...) \
  ((cond) ? (void)0 : ::filingd::fuzz::oracle_failure("check failed: " #cond, ##__VA_ARGS__))

// A refusal of client input must be a clear 4xx: 400 malformed or 422 invalid, with a message
// and the offending field named (SPEC §1.7).
inline void check_client_error(const Error& e) {
  FUZZ_CHECK(e.code == ErrorCode::malformed || e.code == ErrorCode::invalid, e.message);
  FUZZ_CHECK(!e.message.empty());
  FUZZ_CHECK(!e.field.empty(), e.message);
}

}  // namespace filingd::fuzz
