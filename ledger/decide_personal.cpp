// The personal-data part of deciding a command (SPEC §5.2, §5.4): sealing a submission's or a
// confirmation's personal fields under the subject's data key (created with its first filing),
// and an erasure's checks and effects. Internal to the ledger (decide.hpp).
#include "events/mask.hpp"
#include "events/personal.hpp"
#include "ledger/decide.hpp"
#include "ledger/format/keys.hpp"
#include "ledger/personal_data.hpp"
#include "ledger/projector.hpp"

namespace filingd {
namespace {

Error conflict(std::string msg, std::string field) {
  return make_error(ErrorCode::conflict, std::move(msg), std::move(field));
}

KeyLookup staged(Staging& txn) {
  return [&txn](Cf cf, std::string_view key) { return txn.get(cf, key); };
}

// The subject's data key, created (and staged) with the subject's first keyed filing, and again
// with its first filing after an erasure (a new generation).
Result<Keyring::DataKey> data_key_for(Staging& txn, Keyring& keyring, const std::string& ref) {
  auto found = find_data_key(&keyring, ref, staged(txn));
  if (!found) return found.take_error();
  if (found->key) return std::move(*found->key);
  auto made = keyring.new_data_key(ref, found->current);
  if (!made) return made.take_error();
  txn.put(Cf::keys, ref, std::move(made->stored));
  return std::move(made->key);
}

// The clear fields of `before` (its stored personal fields are sealed under its subject's key).
Status open_status(Staging& txn, Keyring& keyring, FilingStatus& s) {
  if (s.personal.box.empty()) return {};
  auto key = data_key_for(txn, keyring, s.personal.subject_ref);
  if (!key) return key.take_error();
  return Keyring::open(s.personal, key->key, [&](std::string_view plaintext) {
    return decode_personal(plaintext, s.subject, s.websites);
  });
}

// A submission under a keyed identity while the same subject has data stored before personal
// data was sealed (kept under its certificate in clear): the rules the projector checks by
// identity are checked here for that clear identity too, while the certificate is at hand.
Status check_clear_identity(Staging& txn, const Event& e, const FilingSubmitted& f) {
  const std::string clear = f.subject.id_type + ':' + f.subject.id_number;
  auto open = txn.get(Cf::projections, keys::open_filing(clear));
  if (!open) return open.take_error();
  if (*open && **open != e.filing_id)
    return conflict("this subject already has an open filing " + **open, "data.subject.id_number");
  if (f.filing_type == FilingType::first_filing) {
    auto number = txn.get(Cf::projections, keys::subject_number(clear));
    if (!number) return number.take_error();
    if (*number)
      return make_error(ErrorCode::invalid,
                        "the subject already has record number " + **number +
                            "; file add_website or an access filing instead",
                        "data.filing_type");
  }
  return {};
}

}  // namespace

Status seal_personal_data(Staging& txn, Keyring& keyring, Event& e, const FilingStatus& before,
                          bool clear_identities) {
  SealedPersonal* sealed = sealed_of(e.data);
  if (sealed == nullptr) return {};
  if (!sealed->subject_ref.empty() || !sealed->box.empty())
    return make_error(ErrorCode::invalid, "data.subject_ref is computed by the ledger",
                      "data.subject_ref");
  std::string ref;
  if (auto* f = std::get_if<FilingSubmitted>(&e.data)) {
    ref = keyring.subject_ref(f->subject.id_type, f->subject.id_number);
    f->name_ref = keyring.name_ref(f->subject.name);
    if (clear_identities) {
      if (auto ok = check_clear_identity(txn, e, *f); !ok) return ok;
    }
    // A resubmission keeps its certificate: compared by reference, or in clear for a filing
    // stored before personal data was sealed.
    if (before.exists() && (is_keyed_identity(before.identity)
                                ? before.identity != ref
                                : before.identity != f->subject.id_type + ':' + f->subject.id_number))
      return make_error(ErrorCode::invalid, "a resubmission cannot change the subject's certificate",
                        "data.subject.id_number");
  } else if (auto* c = std::get_if<SmsConfirmed>(&e.data)) {
    FilingStatus opened = before;
    if (auto ok = open_status(txn, keyring, opened); !ok) return ok;
    if (c->phone.empty() && !opened.websites.empty())
      c->phone = mask_tail(opened.websites.front().responsible.mobile);
    ref = !before.personal.subject_ref.empty()
              ? before.personal.subject_ref
              : keyring.subject_ref(opened.subject.id_type, opened.subject.id_number);
  }
  auto key = data_key_for(txn, keyring, ref);
  if (!key) return key.take_error();
  return keyring.seal(e.data, ref, *key);
}

Result<Version> decide_erasure(Staging& txn, Keyring* keyring, const SubjectErased& erased) {
  if (keyring == nullptr)
    return make_error(ErrorCode::unavailable, "erasure needs the master key");
  const std::string& ref = erased.subject_ref;
  auto wrapped = txn.get(Cf::keys, ref);
  if (!wrapped) return wrapped.take_error();
  auto count = txn.get(Cf::projections, keys::erased(ref));
  if (!count) return count.take_error();
  if (!*wrapped) {
    if (*count) return conflict("the subject's personal data is already erased", "id_number");
    return make_error(ErrorCode::not_found, "no filing of this subject holds personal data",
                      "id_number");
  }
  auto open = txn.get(Cf::projections, keys::open_filing(ref));
  if (!open) return open.take_error();
  if (*open)
    return conflict("the subject has an open filing " + **open + "; erase it once it is closed",
                    "id_number");
  auto number = txn.get(Cf::projections, keys::subject_number(ref));
  if (!number) return number.take_error();
  if (*number)
    return conflict("the subject has the active record number " + **number +
                        "; the bureau's register must stay reachable while it is filed",
                    "id_number");
  // Destroyed in this batch; no reader caches the key again from here on.
  txn.del(Cf::keys, ref);
  txn.put(Cf::meta, keys::purge(ref), "");
  keyring->forget(ref);
  const std::uint64_t erasures = *count ? decode_count(**count).value_or(0) : 0;
  return Version(static_cast<std::uint32_t>(erasures + 1));
}

}  // namespace filingd
