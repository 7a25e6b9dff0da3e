#include "ledger/keyring.hpp"

#include "events/encoding.hpp"
#include "events/personal.hpp"
#include "ledger/format/keys.hpp"
#include "ledger/format/values.hpp"
#include "privacy/wrap.hpp"

namespace filingd {
namespace {

// A box is bound to its subject and its key's generation: moved onto another subject's record,
// or relabelled with another generation, it fails to open.
std::string box_aad(std::string_view ref, std::uint32_t generation) {
  std::string aad("filingd/v1/personal");
  aad.push_back('\0');
  aad.append(ref);
  keys::put_u32(aad, generation);
  return aad;
}

}  // namespace

Result<std::shared_ptr<Keyring>> Keyring::create(const privacy::Key& master,
                                                 std::size_t cache_size) {
  auto wrap = privacy::derive_key(master, privacy::kWrapKeyInfo);
  if (!wrap) return wrap.take_error();
  auto index_key = privacy::derive_key(master, privacy::kIndexKeyInfo);
  if (!index_key) return index_key.take_error();
  auto index = privacy::KeyedHasher::create(*index_key);
  if (!index) return index.take_error();
  auto check = privacy::derive_key(master, privacy::kKeyCheckInfo);
  if (!check) return check.take_error();
  return std::shared_ptr<Keyring>(new Keyring(std::move(*wrap), std::move(*index),
                                              to_hex(check->view().substr(0, 16)),
                                              std::max<std::size_t>(cache_size, 1)));
}

namespace {
// Hex of the keyed hash of `input`, which is wiped afterwards.
std::string keyed_ref(const privacy::KeyedHasher& index, std::string& input) {
  auto digest = index.hash(input);
  privacy::cleanse(input);
  // OpenSSL's HMAC fails only when it cannot allocate: no reference can be made then.
  if (!digest) throw std::runtime_error("keyed hash failed: " + digest.error().message);
  return to_hex(std::string_view(reinterpret_cast<const char*>(digest->data()), digest->size()));
}
}  // namespace

std::string Keyring::subject_ref(std::string_view id_type, std::string_view id_number) const {
  std::string certificate;
  certificate.reserve(id_type.size() + 1 + id_number.size());
  certificate.append(id_type).push_back(':');
  certificate.append(id_number);
  return keyed_ref(index_, certificate);
}

std::string Keyring::name_ref(std::string_view name) const {
  std::string input = "name\x1f";
  input.append(name);
  return keyed_ref(index_, input);
}

std::string Keyring::check_value() const { return check_; }

Result<Keyring::NewKey> Keyring::new_data_key(std::string_view ref, std::uint32_t generation) {
  auto key = privacy::Key::random();
  if (!key) return key.take_error();
  auto wrapped = privacy::wrap_data_key(wrap_, *key, ref);
  if (!wrapped) return wrapped.take_error();
  DataKey made{std::move(*key), generation};
  remember(ref, made);
  return NewKey{std::move(made), encode_data_key(generation, *wrapped)};
}

std::optional<Keyring::DataKey> Keyring::cached(std::string_view ref) {
  std::lock_guard lock(mu_);
  auto it = at_.find(ref);
  if (it == at_.end()) return std::nullopt;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

Result<Keyring::DataKey> Keyring::data_key(std::string_view ref, std::string_view stored) {
  if (auto key = cached(ref)) return std::move(*key);
  const auto value = decode_data_key(stored);
  if (!value)
    return make_error(ErrorCode::invalid,
                      "stored data key is truncated (" + std::to_string(stored.size()) + " bytes)");
  auto key = privacy::unwrap_data_key(wrap_, value->wrapped, ref);
  if (!key) return key.take_error();
  DataKey found{std::move(*key), value->generation};
  remember(ref, found);
  return found;
}

void Keyring::remember(std::string_view ref, const DataKey& key) {
  std::lock_guard lock(mu_);
  if (forgotten_.contains(ref) || at_.contains(ref)) return;
  lru_.emplace_front(std::string(ref), key);
  at_.emplace(lru_.front().first, lru_.begin());
  if (lru_.size() > cache_size_) {
    at_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

void Keyring::forget(std::string_view ref) {
  std::lock_guard lock(mu_);
  forgotten_.emplace(ref);
  drop(ref);
}

void Keyring::evict(std::string_view ref) {
  std::lock_guard lock(mu_);
  drop(ref);
}

void Keyring::drop(std::string_view ref) {
  if (auto it = at_.find(ref); it != at_.end()) {
    lru_.erase(it->second);
    at_.erase(it);
  }
}

Status Keyring::seal(Payload& payload, std::string_view ref, const DataKey& key) const {
  SealedPersonal* sealed = sealed_of(payload);
  if (sealed == nullptr) return {};
  std::string plaintext = encode_personal(payload);
  auto box = privacy::seal(key.key, plaintext, box_aad(ref, key.generation));
  privacy::cleanse(plaintext);
  if (!box) return box.take_error();
  sealed->subject_ref = std::string(ref);
  sealed->generation = key.generation;
  sealed->box = std::move(*box);
  return {};
}

Status Keyring::open(const SealedPersonal& sealed, const privacy::Key& key,
                     const std::function<Status(std::string_view plaintext)>& fill) {
  auto plaintext = privacy::open(key, sealed.box, box_aad(sealed.subject_ref, sealed.generation));
  if (!plaintext) return plaintext.take_error();
  Status filled = fill(*plaintext);
  privacy::cleanse(*plaintext);
  return filled;
}

}  // namespace filingd
