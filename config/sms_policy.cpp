#include "config/sms_policy.hpp"

#include <algorithm>
#include <set>

namespace filingd {
namespace {

bool allows(const std::vector<std::string>& set, std::string_view value) {
  return set.empty() || std::find(set.begin(), set.end(), value) != set.end();
}

// Errors name the configuration key, since policies only ever come from the config file.
Error policy_error(std::size_t index, std::string_view key, std::string_view what) {
  std::string field = "sms.policies[" + std::to_string(index) + "]";
  if (!key.empty()) field += "." + std::string(key);
  return make_error(ErrorCode::invalid, field + ": " + std::string(what), field);
}

}  // namespace

bool SmsPolicy::matches(std::string_view province, std::string_view provider, Timestamp at) const {
  return allows(provinces, province) && allows(providers, provider) && (!from || *from <= at) &&
         (!until || at < *until);
}

SmsPolicies::SmsPolicies() {
  SmsPolicy fallback;
  fallback.id = "default-24h";
  policies_.store(std::make_shared<const std::vector<SmsPolicy>>(1, std::move(fallback)));
}

Result<SmsPolicies> SmsPolicies::make(std::vector<SmsPolicy> policies) {
  if (policies.empty()) {
    return make_error(ErrorCode::invalid, "sms.policies: at least one policy is required",
                      "sms.policies");
  }
  std::set<std::string, std::less<>> ids;
  for (std::size_t i = 0; i < policies.size(); ++i) {
    const SmsPolicy& p = policies[i];
    if (p.id.empty()) return policy_error(i, "id", "must not be empty");
    if (!ids.insert(p.id).second) {
      return policy_error(i, "id", "duplicate policy id \"" + p.id + "\"");
    }
    if (p.window_micros <= 0) return policy_error(i, "window_hours", "must be positive");
    if (p.from && p.until && *p.from >= *p.until) {
      return policy_error(i, "until", "must be later than from");
    }
  }
  // A catch-all last policy is what lets select() always return one.
  const SmsPolicy& last = policies.back();
  if (!last.provinces.empty() || !last.providers.empty() || last.from || last.until) {
    return policy_error(policies.size() - 1, "",
                        "the last policy must have no provinces, providers, from or until, so "
                        "that some policy always applies");
  }
  SmsPolicies out;
  out.policies_.store(std::make_shared<const std::vector<SmsPolicy>>(std::move(policies)));
  return out;
}

SmsPolicy SmsPolicies::select(std::string_view province, std::string_view provider,
                              Timestamp at) const {
  const auto policies = policies_.load();
  for (const SmsPolicy& p : *policies) {
    if (p.matches(province, provider, at)) return p;
  }
  return policies->back();  // unreachable: make() guarantees a catch-all last policy
}

}  // namespace filingd
