#include "events/hash.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace filingd {

namespace {

// Fetched once: OpenSSL 3 looks EVP_sha256() up in its provider tables on every call.
const EVP_MD* sha256_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

}  // namespace

struct Sha256::Ctx {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  if (ctx_->md == nullptr || EVP_DigestInit_ex(ctx_->md, sha256_md(), nullptr) != 1)
    throw std::runtime_error("SHA-256 unavailable in OpenSSL");
}

Sha256::~Sha256() = default;

Sha256& Sha256::update(std::string_view bytes) {
  EVP_DigestUpdate(ctx_->md, bytes.data(), bytes.size());
  return *this;
}

Hash Sha256::finish() {
  Hash out{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_->md, out.data(), &len);
  EVP_DigestInit_ex(ctx_->md, sha256_md(), nullptr);
  return out;
}

Hash sha256(std::string_view bytes) { return Sha256().update(bytes).finish(); }

Hash chain_hash(std::string_view body, const Hash& prev_hash) {
  // One context per thread: EVP context creation costs more than hashing a small event.
  thread_local Sha256 hasher;
  return hasher.update(body).update(prev_hash).finish();
}

}  // namespace filingd
