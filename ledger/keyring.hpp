// The keys of personal data at rest (SPEC §5.2): the subkeys derived from the master key, each
// subject's data key (stored wrapped in the keys column family), and sealing and opening a
// payload's personal fields (events/personal.hpp) with them.
//
// Concurrency: thread-safe. Unwrapped data keys are cached (an LRU, bounded); forget() drops a
// subject's and keeps it from being cached again, which the ledger calls once an erasure is
// durable.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <functional>
#include <string_view>
#include <unordered_map>

#include "events/event.hpp"
#include "events/result.hpp"
#include "privacy/crypto.hpp"

namespace filingd {

class Keyring {
 public:
  // Errors: internal, if OpenSSL fails.
  static Result<std::shared_ptr<Keyring>> create(const privacy::Key& master,
                                                 std::size_t cache_size = 65'536);

  // The subject's reference: HMAC-SHA-256 under the index subkey of "<id_type>:<id_number>",
  // 64 hex digits. Stable for a master key; reveals nothing of the certificate without it.
  std::string subject_ref(std::string_view id_type, std::string_view id_number) const;
  // The keyed hash of a subject's name (FilingSubmitted::name_ref), under the same index key;
  // a domain separator no certificate type holds keeps it apart from subject_ref's inputs.
  std::string name_ref(std::string_view name) const;

  // A value that tells whether two master keys are the same, without revealing either: stored in
  // the ledger's meta at its first keyed append, compared at every open.
  std::string check_value() const;

  // A subject's data key and its generation (SealedPersonal::generation).
  struct DataKey {
    privacy::Key key;
    std::uint32_t generation = 0;
  };
  struct NewKey {
    DataKey key;
    std::string stored;  // as stored in the keys column family (values.hpp encode_data_key)
  };
  // A fresh data key for the subject `ref`, wrapped under the master key.
  Result<NewKey> new_data_key(std::string_view ref, std::uint32_t generation);
  // The data key of `ref` from its stored form (cached). Errors: invalid (truncated or unknown
  // format), io ("wrong master key, or the wrapped key was altered").
  Result<DataKey> data_key(std::string_view ref, std::string_view stored);
  // The data key of `ref` if it is cached.
  std::optional<DataKey> cached(std::string_view ref);
  // Drops ref's cached data key and keeps it from being cached again (it was destroyed).
  void forget(std::string_view ref);
  // Drops ref's cached data key: the key was made, or read from a batch, that will not be
  // written (its command was refused, or the write failed), so the cache must not outlive it.
  void evict(std::string_view ref);

  // Seals `payload`'s personal fields under `key`: sets payload.personal.{subject_ref, box}. The
  // clear values stay in memory; the stored encoding writes the box instead (events/codec.cpp).
  Status seal(Payload& payload, std::string_view ref, const DataKey& key) const;
  // Opens a box sealed for `ref` into the personal fields `fill` decodes (payload or status).
  static Status open(const SealedPersonal& sealed, const privacy::Key& key,
                     const std::function<Status(std::string_view plaintext)>& fill);

 private:
  Keyring(privacy::Key wrap, privacy::KeyedHasher index, std::string check, std::size_t cache_size)
      : wrap_(std::move(wrap)),
        index_(std::move(index)),
        check_(std::move(check)),
        cache_size_(cache_size) {}
  void remember(std::string_view ref, const DataKey& key);
  void drop(std::string_view ref);  // mu_ held

  privacy::Key wrap_;
  privacy::KeyedHasher index_;
  std::string check_;
  std::size_t cache_size_;
  std::mutex mu_;
  using Entry = std::pair<std::string, DataKey>;
  std::list<Entry> lru_;                                                 // guarded by mu_
  std::unordered_map<std::string_view, std::list<Entry>::iterator> at_;  // guarded by mu_
  std::set<std::string, std::less<>> forgotten_;                         // guarded by mu_
};

}  // namespace filingd
