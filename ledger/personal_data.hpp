// Reading personal data (SPEC §5.3-§5.4): the personal fields of a stored event or status are
// sealed; these fill them in for a reader, as the clear values when the subject's data key is at
// hand, "[erased]" once the subject was erased, "[encrypted]" otherwise (no master key, as a
// tool without --key-file, or a replica restored without it). Events and statuses stored before
// personal data was sealed keep their clear values.
//
// Thread-safe (the keyring is; the store reads are RocksDB's).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "events/event.hpp"
#include "events/result.hpp"
#include "ledger/keyring.hpp"
#include "ledger/store.hpp"
#include "projections/status.hpp"

namespace filingd {

// A point read of the ledger: the committed store, or a batch being decided (Staging).
using KeyLookup = std::function<Result<std::optional<std::string>>(Cf cf, std::string_view key)>;

// Subject `ref`'s current data key. `key` is set with a keyring when the subject has one;
// `current` is that key's generation, read without the keyring too, or, when the subject has no
// key, its erasures so far. A box of an earlier generation than `current` was erased.
// Errors: the lookup's, and a stored key that does not unwrap (another master key, an altered
// value).
struct KeyFound {
  std::optional<Keyring::DataKey> key;
  std::uint32_t current = 0;
  bool erased(const SealedPersonal& sealed) const { return sealed.generation < current; }
};
Result<KeyFound> find_data_key(Keyring* keyring, std::string_view ref, const KeyLookup& lookup);

// Whether `keyring` holds the master key the store's personal data is sealed under: its check
// value is the one recorded in the meta column family, or, where none is recorded (a restored
// replica), a stored data key unwraps under it. Errors: invalid "the master key is not the one
// ..." (naming `where`), and the store's read errors.
Status check_master_key(const Store& store, Keyring& keyring, const std::string& where);

class PersonalData {
 public:
  // `keyring` null: every sealed field reads "[encrypted]" (or "[erased]").
  PersonalData(const Store& store, std::shared_ptr<Keyring> keyring)
      : store_(store), keyring_(std::move(keyring)) {}

  void open(Event& e) const;
  void open(FilingStatus& s) const;
  // Whether the subject's personal data in `s` was erased: a search by a name or a certificate
  // must not find it (the filing itself stays listed, its fields "[erased]").
  bool erased(const FilingStatus& s) const;
  bool has_keyring() const { return keyring_ != nullptr; }

 private:
  // The marker for every field, or the plaintext filled in by `fill`.
  void open(const SealedPersonal& sealed, const std::function<void(std::string_view)>& mark,
            const std::function<Status(std::string_view)>& fill) const;
  const Store& store_;
  std::shared_ptr<Keyring> keyring_;
};

}  // namespace filingd
