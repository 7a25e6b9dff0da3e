#include "ledger/personal_data.hpp"

#include <rocksdb/iterator.h>
#include <spdlog/spdlog.h>

#include "events/personal.hpp"
#include "ledger/format/keys.hpp"
#include "ledger/format/values.hpp"

namespace filingd {

Result<KeyFound> find_data_key(Keyring* keyring, std::string_view ref, const KeyLookup& lookup) {
  KeyFound found;
  if (keyring != nullptr) {
    if (auto key = keyring->cached(ref)) {
      found.current = key->generation;
      found.key = std::move(*key);
      return found;
    }
  }
  auto stored = lookup(Cf::keys, ref);
  if (!stored) return stored.take_error();
  if (*stored) {
    const auto value = decode_data_key(**stored);
    if (!value)
      return make_error(ErrorCode::internal, "corrupt data key of subject " + std::string(ref));
    found.current = value->generation;
    if (keyring == nullptr) return found;
    auto key = keyring->data_key(ref, **stored);
    if (!key) return key.take_error();
    found.key = std::move(*key);
    return found;
  }
  auto erasures = lookup(Cf::projections, keys::erased(ref));
  if (!erasures) return erasures.take_error();
  if (*erasures) {
    const auto n = decode_count(**erasures);
    if (!n) return make_error(ErrorCode::internal, "corrupt erasure count of subject " + std::string(ref));
    found.current = static_cast<std::uint32_t>(*n);
  }
  return found;
}

Status check_master_key(const Store& store, Keyring& keyring, const std::string& where) {
  const Error wrong = make_error(ErrorCode::invalid,
                                 "the master key is not the one the personal data in " + where +
                                     " is encrypted with (the key file holds another key)",
                                 "privacy.master_key_file");
  auto stored = store.get(Cf::meta, keys::kMasterKeyCheck);
  if (!stored) return stored.take_error();
  if (*stored) return **stored == keyring.check_value() ? Status{} : Status(wrong);
  if (store.cf(Cf::keys) == nullptr) return {};
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(rocksdb::ReadOptions(), store.cf(Cf::keys)));
  it->SeekToFirst();
  if (!it->Valid()) return {};
  if (!keyring.data_key(it->key().ToStringView(), it->value().ToStringView())) return wrong;
  return {};
}

bool PersonalData::erased(const FilingStatus& s) const {
  if (s.personal.box.empty()) return false;  // stored in clear: never erased
  // Without the keyring: the erasure count is read, no data key unwrapped.
  auto found = find_data_key(nullptr, s.personal.subject_ref,
                             [this](Cf cf, std::string_view key) { return store_.get(cf, key); });
  return found && found->erased(s.personal);
}

void PersonalData::open(const SealedPersonal& sealed,
                        const std::function<void(std::string_view)>& mark,
                        const std::function<Status(std::string_view)>& fill) const {
  if (sealed.box.empty()) return;  // stored in clear (before personal data was sealed)
  auto found = find_data_key(keyring_.get(), sealed.subject_ref,
                             [this](Cf cf, std::string_view key) { return store_.get(cf, key); });
  if (!found) {
    // Never the data itself in a log line: the subject's reference is not personal.
    spdlog::warn("personal data of subject {} cannot be opened: {}", sealed.subject_ref,
                 found.error().message);
    return mark(kEncrypted);
  }
  if (found->erased(sealed)) return mark(kErased);
  if (!found->key || found->key->generation != sealed.generation) return mark(kEncrypted);
  if (auto ok = Keyring::open(sealed, found->key->key, fill); !ok) {
    spdlog::warn("personal data of subject {} does not open: {}", sealed.subject_ref,
                 ok.error().message);
    mark(kEncrypted);
  }
}

void PersonalData::open(Event& e) const {
  const SealedPersonal* sealed = sealed_of(e.data);
  if (sealed == nullptr) return;
  open(
      *sealed,
      [&](std::string_view marker) {
        for_each_personal(e.data, [&](std::string& v) { v = marker; });
      },
      [&](std::string_view plaintext) { return decode_personal(plaintext, e.data); });
}

void PersonalData::open(FilingStatus& s) const {
  open(
      s.personal,
      [&](std::string_view marker) {
        for_each_personal(s.subject, s.websites, [&](std::string& v) { v = marker; });
      },
      [&](std::string_view plaintext) { return decode_personal(plaintext, s.subject, s.websites); });
}

}  // namespace filingd
