#include "daemon/auth.hpp"

#include <openssl/crypto.h>

#include "events/hash.hpp"
#include "events/encoding.hpp"

namespace filingd {

unsigned permissions_of(Role role) {
  switch (role) {
    case Role::operator_:
      return kOperational | kReadProjections | kReadHistory | kUnmasked | kAppend;
    case Role::auditor:
      return kOperational | kReadProjections | kReadHistory | kUnmasked;
    case Role::reader:
      return kOperational | kReadProjections;
    case Role::privacy_officer:
      return kOperational | kReadProjections | kErase;
  }
  return 0;
}

std::optional<Principal> Authenticator::authenticate(std::string_view authorization) const {
  if (tokens_.empty())
    return Principal{"local",  // ledger.hpp kLocalPrincipal
                     kOperational | kReadProjections | kReadHistory | kUnmasked | kAppend | kErase};
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size() || authorization.substr(0, kBearer.size()) != kBearer)
    return std::nullopt;
  const std::string digest = to_hex(sha256(authorization.substr(kBearer.size())));
  for (const auto& t : tokens_) {
    // Constant-time compare: the hash is not secret, but there is no reason to leak timing.
    if (t.sha256_hex.size() == digest.size() &&
        CRYPTO_memcmp(t.sha256_hex.data(), digest.data(), digest.size()) == 0)
      return Principal{t.name, permissions_of(t.role)};
  }
  return std::nullopt;
}

}  // namespace filingd
