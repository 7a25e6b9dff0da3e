// Deciding one append command, on the ledger's writer thread (internal to the ledger): the checks
// that need the ledger's state (idempotency, expected version, existence, business time, the
// state machine and the cross-filing rules through the projector), the fields the ledger pins
// (SMS deadline, attempt count), seq, version, the hash chain, and the staged writes.
#pragma once

#include <string>

#include "config/sms_policy.hpp"
#include "events/event.hpp"
#include "events/result.hpp"
#include "ledger/format/values.hpp"
#include "ledger/ledger.hpp"
#include "ledger/store.hpp"

namespace filingd {

// The field checks that need no state, run on the caller's thread (normalises in place).
Status validate_command(AppendCommand& c);

// The idempotency fingerprint of a command: everything the client said.
Hash command_fingerprint(const AppendCommand& c);

// Decides `cmd` at `now` on top of `head` into `txn`: on success the event and all its effects
// are staged, `head` moves to it and the result says what was appended (or, for a retried
// event_id, what was appended before: nothing is staged). On an error `txn` must be discarded.
Result<AppendResult> decide(Staging& txn, const AppendCommand& cmd, const Hash& fingerprint,
                            const SmsPolicies& policies, Timestamp now, LedgerHead& head);

}  // namespace filingd
