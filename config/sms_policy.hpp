// SMS-verification policies (SPEC §1.6): the window in which the responsible person must confirm
// the MIIT's SMS code after `submitted_to_bureau`. A policy applies to a set of provinces and
// providers (empty = all) during [from, until). Policies are checked in configuration order and
// the first that matches wins; the last must match everything, so a choice always exists.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/result.hpp"
#include "events/time.hpp"

namespace filingd {

struct SmsPolicy {
  std::string id;
  std::int64_t window_micros = 24 * kMicrosPerHour;
  std::vector<std::string> provinces;  // canonical abbreviations; empty = every province
  std::vector<std::string> providers;  // empty = every provider
  std::optional<Timestamp> from;       // inclusive
  std::optional<Timestamp> until;      // exclusive

  bool matches(std::string_view province, std::string_view provider, Timestamp at) const;
};

class SmsPolicies {
 public:
  SmsPolicies();  // the built-in default: one 24 h policy "default-24h"
  SmsPolicies(const SmsPolicies& other) : policies_(other.policies_.load()) {}
  SmsPolicies& operator=(const SmsPolicies& other) {
    replace_with(other);
    return *this;
  }
  // Fails (ErrorCode::invalid, naming the index) if ids repeat or the last policy has
  // restrictions.
  static Result<SmsPolicies> make(std::vector<SmsPolicy> policies);

  // The policy in force for a submission to the bureau at `at`.
  SmsPolicy select(std::string_view province, std::string_view provider, Timestamp at) const;
  std::vector<SmsPolicy> all() const { return *policies_.load(); }

  // Takes `other`'s policies. Thread-safe against select() on other threads (a SIGHUP reload).
  // Deadlines already pinned in events never change.
  void replace_with(const SmsPolicies& other) { policies_.store(other.policies_.load()); }

 private:
  std::atomic<std::shared_ptr<const std::vector<SmsPolicy>>> policies_;
};

}  // namespace filingd
