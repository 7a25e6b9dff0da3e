// Deciding one append command, on the ledger's writer thread (internal to the ledger): the checks
// that need the ledger's state (idempotency, expected version, existence, business time, the
// state machine and the cross-filing rules through the projector), the fields the ledger pins
// (SMS deadline, attempt count), seq, version, the hash chain, and the staged writes.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "config/sms_policy.hpp"
#include "events/event.hpp"
#include "events/result.hpp"
#include "ledger/format/values.hpp"
#include "ledger/keyring.hpp"
#include "ledger/ledger.hpp"
#include "ledger/store.hpp"

namespace filingd {

// The field checks that need no state, run on the caller's thread (normalises in place).
Status validate_command(AppendCommand& c);

// The idempotency fingerprint of a command: everything the client said.
Hash command_fingerprint(const AppendCommand& c);

// What deciding reads besides the command and the store.
struct DecideContext {
  const SmsPolicies& policies;
  Keyring* keyring;  // null: personal data is stored in clear
  // The Merkle tree up to `head`; the event's leaf is appended and its hashes staged. Null:
  // none (the tree is rebuilt with the projections).
  TreeBlocks* tree = nullptr;
  // A subject may have a clear identity (a filing stored before sealing): submissions check it.
  bool clear_identities = true;
};

// Decides `cmd` at `now` on top of `head` into `txn`: on success the event and all its effects
// are staged, `head` moves to it and the result says what was appended (or, for a retried
// event_id, what was appended before: nothing is staged). On an error `txn` must be discarded.
Result<AppendResult> decide(Staging& txn, const AppendCommand& cmd, const Hash& fingerprint,
                            const DecideContext& ctx, Timestamp now, LedgerHead& head);

// decide_import.cpp: an import's events as the append commands the writer decides, each with
// its fingerprint.
struct ImportStep {
  AppendCommand cmd;
  Hash fingerprint{};
};
// The field checks of every event (validate_command's, on the caller's thread) and the import's
// own: events present, at most kMaxImportEvents, the first creating the filing. Errors name
// the event: Error::index, and a field under "events[i].".
Result<std::vector<ImportStep>> import_steps(ImportCommand& c);

// Decides an import's events in order into `txn`, each on top of the one before; an event_id
// used before refuses it (an import is never a retry). Returns the last event's result. On an
// error, named as import_steps' are, `txn` must be discarded; `head` and `*ctx.tree` are as
// they were.
Result<AppendResult> decide_import(Staging& txn, std::span<const ImportStep> steps,
                                   const DecideContext& ctx, Timestamp now, LedgerHead& head);

// decide_personal.cpp: seals `e`'s personal fields (a submission's, a confirmation's) under its
// subject's data key, creating the key with the subject's first filing; refuses a client-sent
// subject_ref.
Status seal_personal_data(Staging& txn, Keyring& keyring, Event& e, const FilingStatus& before,
                          bool clear_identities);
// An erasure's checks (SPEC §5.4: 404 unknown, 409 open filing or active record number) and the
// data key's destruction, staged. Returns the erasure's version in the subject's stream.
Result<Version> decide_erasure(Staging& txn, Keyring* keyring, const SubjectErased& erased);

}  // namespace filingd
