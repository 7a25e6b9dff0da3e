// Bearer-token access control (SPEC §3.1). Tokens are configured as SHA-256 hashes; a request's
// token is hashed and looked up, so the daemon never holds a token in clear.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace filingd {

// What a role may do. operator: append and read everything; auditor: read everything,
// including history and unmasked personal data; reader: projections, personal data masked;
// privacy_officer: erase a subject's personal data, and read projections masked.
enum Permission : unsigned {
  kReadProjections = 1,
  kReadHistory = 2,
  kUnmasked = 4,
  kAppend = 8,
  kErase = 16,
  // Health details and metrics (/readyz, /metrics): every role; nobody needs a token for them
  // while server.public_metrics is on.
  kOperational = 32,
};

unsigned permissions_of(Role role);

struct Principal {
  std::string name;  // token name; "local" when no tokens are configured
  unsigned permissions = 0;
};

class Authenticator {
 public:
  explicit Authenticator(std::vector<TokenConfig> tokens) : tokens_(std::move(tokens)) {}

  bool enabled() const { return !tokens_.empty(); }
  // `authorization` is the raw header value. With no tokens configured every request is the
  // full-permission principal "local" (allowed only on loopback, checked at start).
  std::optional<Principal> authenticate(std::string_view authorization) const;

 private:
  std::vector<TokenConfig> tokens_;
};

}  // namespace filingd
