// HMAC-SHA-256, KeyedHasher and HKDF-SHA-256 from crypto.hpp.
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <atomic>

#include "privacy/crypto.hpp"

namespace filingd::privacy {

namespace {

EVP_MAC* hmac_mac() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

EVP_KDF* hkdf_kdf() {
  static EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  return kdf;
}

const unsigned char* uc(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* uc(char* p) { return reinterpret_cast<unsigned char*>(p); }

Error openssl_failure(const char* what) {
  return make_error(ErrorCode::internal, std::string("OpenSSL failed: ") + what);
}

// A new HMAC context with SHA-256 set. Setting the digest parameter fetches SHA-256 from the
// provider, which costs more than hashing a 20-byte value, so it is done once per context.
EVP_MAC_CTX* new_hmac_sha256_ctx() {
  EVP_MAC_CTX* ctx = hmac_mac() != nullptr ? EVP_MAC_CTX_new(hmac_mac()) : nullptr;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_end()};
  if (ctx != nullptr && EVP_MAC_CTX_set_params(ctx, params) != 1) {
    EVP_MAC_CTX_free(ctx);
    ctx = nullptr;
  }
  return ctx;
}

struct MacCtx {
  EVP_MAC_CTX* ctx = new_hmac_sha256_ctx();
  ~MacCtx() { EVP_MAC_CTX_free(ctx); }
};

// Updates and finishes an initialised context.
Result<Digest> finish(EVP_MAC_CTX* ctx, std::string_view data) {
  Digest out{};
  std::size_t len = 0;
  if (EVP_MAC_update(ctx, uc(data), data.size()) != 1 ||
      EVP_MAC_final(ctx, out.data(), &len, out.size()) != 1 || len != out.size())
    return openssl_failure("HMAC-SHA-256");
  return out;
}

}  // namespace

Result<Digest> hmac_sha256(std::string_view key, std::string_view data) {
  thread_local MacCtx c;
  if (c.ctx == nullptr) return openssl_failure("HMAC-SHA-256 unavailable");
  // A non-null key pointer even for an empty key: a null key would mean "reuse the last one".
  static const unsigned char kEmpty = 0;
  if (EVP_MAC_init(c.ctx, key.empty() ? &kEmpty : uc(key), key.size(), nullptr) != 1)
    return openssl_failure("HMAC-SHA-256 init");
  return finish(c.ctx, data);
}

Result<Digest> hmac_sha256(const Key& key, std::string_view data) {
  return hmac_sha256(key.view(), data);
}

// ---- KeyedHasher

struct KeyedHasher::State {
  std::uint64_t id = 0;          // never reused, unlike an address: tells the threads' copies apart
  EVP_MAC_CTX* keyed = nullptr;  // initialised with the key; only ever read (duplicated)
  ~State() { EVP_MAC_CTX_free(keyed); }
};

namespace {

std::atomic<std::uint64_t> next_hasher_id{1};

// This thread's copy of the last hasher's keyed context.
struct HasherSlot {
  std::uint64_t id = 0;
  EVP_MAC_CTX* ctx = nullptr;
  void reset() {
    EVP_MAC_CTX_free(ctx);
    ctx = nullptr;
    id = 0;
  }
  ~HasherSlot() { reset(); }
};
thread_local HasherSlot hasher_slot;

}  // namespace

KeyedHasher::KeyedHasher(std::unique_ptr<State> state) : state_(std::move(state)) {}
KeyedHasher::KeyedHasher(KeyedHasher&& other) noexcept = default;
KeyedHasher& KeyedHasher::operator=(KeyedHasher&& other) noexcept = default;

KeyedHasher::~KeyedHasher() {
  if (state_ != nullptr && hasher_slot.id == state_->id) hasher_slot.reset();
}

Result<KeyedHasher> KeyedHasher::create(const Key& key) {
  auto state = std::make_unique<State>();
  state->id = next_hasher_id.fetch_add(1, std::memory_order_relaxed);
  state->keyed = new_hmac_sha256_ctx();
  if (state->keyed == nullptr) return openssl_failure("HMAC-SHA-256 unavailable");
  if (EVP_MAC_init(state->keyed, key.bytes().data(), key.bytes().size(), nullptr) != 1)
    return openssl_failure("HMAC-SHA-256 init");
  return KeyedHasher(std::move(state));
}

Result<Digest> KeyedHasher::hash(std::string_view data) const {
  if (hasher_slot.id != state_->id) {
    hasher_slot.reset();
    hasher_slot.ctx = EVP_MAC_CTX_dup(state_->keyed);
    if (hasher_slot.ctx == nullptr) return openssl_failure("HMAC-SHA-256 context copy");
    hasher_slot.id = state_->id;
  }
  // A null key restarts with the key already set: the padded key blocks are not hashed again.
  if (EVP_MAC_init(hasher_slot.ctx, nullptr, 0, nullptr) != 1)
    return openssl_failure("HMAC-SHA-256 init");
  return finish(hasher_slot.ctx, data);
}

// ---- HKDF

namespace {

// HKDF into out[0, length): shared by hkdf_sha256 and derive_key (which derives into a Key).
Status hkdf_into(std::string_view ikm, std::string_view salt, std::string_view info,
                 unsigned char* out, std::size_t length) {
  if (length == 0 || length > 255 * kDigestSize)
    return make_error(ErrorCode::invalid, "HKDF-SHA-256 output length must be 1..8160 bytes");
  if (hkdf_kdf() == nullptr) return openssl_failure("HKDF unavailable");
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(hkdf_kdf());
  if (ctx == nullptr) return openssl_failure("HKDF context");
  OSSL_PARAM params[5];
  std::size_t n = 0;
  params[n++] =
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>("SHA256"), 0);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(ikm.data()),
                                                  ikm.size());
  // Empty salt and info are left out rather than passed as empty strings: RFC 5869 treats a
  // missing salt as HashLen zero bytes, which is what OpenSSL does when none is set.
  if (!salt.empty())
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                    const_cast<char*>(salt.data()), salt.size());
  if (!info.empty())
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                    const_cast<char*>(info.data()), info.size());
  params[n] = OSSL_PARAM_construct_end();
  const int rc = EVP_KDF_derive(ctx, out, length, params);
  EVP_KDF_CTX_free(ctx);
  if (rc != 1) return openssl_failure("HKDF-SHA-256");
  return {};
}

}  // namespace

Result<std::string> hkdf_sha256(std::string_view ikm, std::string_view salt, std::string_view info,
                                std::size_t length) {
  if (length == 0 || length > 255 * kDigestSize)
    return make_error(ErrorCode::invalid, "HKDF-SHA-256 output length must be 1..8160 bytes");
  std::string out(length, '\0');
  if (Status s = hkdf_into(ikm, salt, info, uc(out.data()), length); !s) {
    cleanse(out);
    return s.take_error();
  }
  return out;
}

Result<Key> derive_key(const Key& master, std::string_view info) {
  unsigned char buf[kKeySize];
  Status s = hkdf_into(master.view(), {}, info, buf, sizeof buf);
  Result<Key> key =
      s ? Key::from_bytes(std::string_view(reinterpret_cast<const char*>(buf), sizeof buf))
        : Result<Key>(s.take_error());
  OPENSSL_cleanse(buf, sizeof buf);
  return key;
}

}  // namespace filingd::privacy
