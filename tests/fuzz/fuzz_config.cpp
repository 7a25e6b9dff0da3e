// Fuzz target: the TOML configuration (config/config.hpp parse_config). Bad config must fail
// with ErrorCode::invalid and a message naming the source; never a crash or an exception.
//
// Invariants on success: the SMS policies end with one that matches everything (so select()
// always has an answer), policy ids are unique, and token hashes are 64 lower-case hex digits.

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "tests/fuzz/fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = filingd::parse_config(text, "fuzz.toml");
  if (!config) {
    FUZZ_CHECK(config.error().code == filingd::ErrorCode::invalid, config.error().message);
    FUZZ_CHECK(std::string_view(config.error().message).starts_with("fuzz.toml"),
               config.error().message);
    return 0;
  }
  const auto& policies = config->sms_policies.all();
  FUZZ_CHECK(!policies.empty());
  const auto& last = policies.back();
  FUZZ_CHECK(last.provinces.empty() && last.providers.empty() && !last.from && !last.until,
             last.id);
  std::set<std::string> ids;
  for (const auto& p : policies) {
    FUZZ_CHECK(ids.insert(p.id).second, p.id);
    FUZZ_CHECK(p.window_micros > 0, p.id);
  }
  // select() answers for any input, and with the catch-all at the latest.
  (void)config->sms_policies.select("京", "any", filingd::Timestamp{0});
  for (const auto& t : config->tokens) {
    FUZZ_CHECK(t.sha256_hex.size() == 64, t.sha256_hex);
    for (char c : t.sha256_hex) {
      FUZZ_CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'), t.sha256_hex);
    }
  }
  FUZZ_CHECK(!config->data_dir.empty());
  return 0;
}
