// SHA-256 for the hash chain (SPEC §2.1) and for digests. OpenSSL's EVP interface underneath.
#pragma once

#include <memory>
#include <string_view>

#include "events/event.hpp"

namespace filingd {

// Incremental SHA-256. Not thread-safe; cheap to create.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  Sha256& update(std::string_view bytes);
  Sha256& update(const Hash& h) {
    return update(std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
  }
  Hash finish();  // the object is reset and can be reused

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

Hash sha256(std::string_view bytes);

// The chain link: hash = SHA-256(canonical body || prev_hash).
Hash chain_hash(std::string_view body, const Hash& prev_hash);

}  // namespace filingd
