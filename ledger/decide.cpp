#include "ledger/decide.hpp"
#include "ledger/tree.hpp"

#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

#include "events/codec.hpp"
#include "events/hash.hpp"
#include "events/mask.hpp"
#include "events/validation.hpp"
#include "ledger/format/event_record.hpp"
#include "ledger/format/keys.hpp"
#include "ledger/format/values.hpp"
#include "ledger/projector.hpp"
#include "ledger/registry_rules.hpp"

namespace filingd {
namespace {

Error invalid(std::string msg, std::string field) {
  return make_error(ErrorCode::invalid, std::move(msg), std::move(field));
}

// Fields the ledger computes and pins; a client may omit them or repeat the exact value.
// `sealing`: the personal fields will be sealed (seal_personal_data pins the phone then).
Status pin_fields(Event& e, const FilingStatus& before, const SmsPolicies& policies, bool sealing) {
  const std::string when = format_rfc3339(e.occurred_at);
  // Once the SMS deadline has passed, only the expiry may be recorded for the verification.
  if (before.state == FilingState::sms_pending && before.sms_deadline &&
      e.occurred_at > *before.sms_deadline && e.type() != EventType::sms_expired)
    return invalid("occurred_at " + when + " is after the SMS deadline " +
                       format_rfc3339(*before.sms_deadline),
                   "occurred_at");
  if (auto* b = std::get_if<SubmittedToBureau>(&e.data)) {
    if (b->sms_deadline || !b->policy_id.empty())
      return invalid("sms_deadline and policy_id are computed by the ledger", "data.sms_deadline");
    if (!skips_sms(before.filing_type)) {
      const SmsPolicy& policy = policies.select(before.province, before.provider, e.occurred_at);
      b->sms_deadline = Timestamp{e.occurred_at.micros + policy.window_micros};
      b->policy_id = policy.id;
    }
  } else if (auto* f = std::get_if<SmsAttemptFailed>(&e.data)) {
    const std::uint32_t next = before.sms_failures + 1;
    if (f->attempt != 0 && f->attempt != next)
      return invalid("attempt must be " + std::to_string(next), "data.attempt");
    f->attempt = next;
  } else if (auto* c = std::get_if<SmsConfirmed>(&e.data); c && !sealing) {
    if (c->phone.empty() && !before.websites.empty())
      c->phone = mask_tail(before.websites.front().responsible.mobile);
  } else if (auto* x = std::get_if<SmsExpired>(&e.data)) {
    if (before.sms_deadline) {
      if (x->deadline.micros != 0 && x->deadline != *before.sms_deadline)
        return invalid(
            "deadline must be the pinned SMS deadline " + format_rfc3339(*before.sms_deadline),
            "data.deadline");
      x->deadline = *before.sms_deadline;
      if (e.occurred_at < x->deadline)
        return invalid(
            "the SMS deadline " + format_rfc3339(x->deadline) + " has not passed at " + when,
            "occurred_at");
    }
  } else if (std::holds_alternative<FilingAbandoned>(e.data)) {
    if (before.abandon_at && e.occurred_at < *before.abandon_at)
      return invalid(
          "a returned filing can be abandoned from " + format_rfc3339(*before.abandon_at),
          "occurred_at");
  }
  return {};
}

}  // namespace

Status validate_command(AppendCommand& c) {
  // An erasure's stream is its subject's (decide checks it), not a filing id a client chose.
  if (!std::holds_alternative<SubjectErased>(c.data)) {
    if (auto ok = validate_filing_id(c.filing_id); !ok) return ok;
  }
  if (!c.event_id.empty()) {
    if (auto ok = validate_event_id(c.event_id); !ok) return ok;
  }
  if (c.actor.empty()) return invalid("actor is required", "actor");
  if (c.actor.size() > kMaxShortText) return invalid("actor is too long", "actor");
  if (c.actor == kSystemPrincipal && c.principal != kSystemPrincipal)
    return invalid("actor \"system\" is reserved for the daemon's own events", "actor");
  if (c.must_create && type_of(c.data) != EventType::filing_submitted)
    return invalid("a new filing starts with filing_submitted", "type");
  return validate_payload(c.data);
}

// Everything the client said, so a retry with the same event_id is recognised as the same
// event and anything else as a reuse.
Hash command_fingerprint(const AppendCommand& c) {
  Sha256 h;
  std::string fixed;
  keys::put_u64(fixed, c.occurred_at ? static_cast<std::uint64_t>(c.occurred_at->micros) : 0);
  keys::put_u32(fixed, c.expected_version ? c.expected_version->value : 0);
  fixed.push_back(static_cast<char>((c.occurred_at ? 1 : 0) | (c.expected_version ? 2 : 0) |
                                    (c.must_create ? 4 : 0)));
  h.update(c.filing_id).update(std::string_view("\0", 1));
  h.update(c.actor).update(std::string_view("\0", 1));
  h.update(c.principal).update(std::string_view("\0", 1));
  h.update(fixed).update(encode_payload(c.data));
  return h.finish();
}

std::string new_event_id(Timestamp now) {
  // Seeded once from the system's entropy: boost's default generator makes a getrandom call
  // for every id, on the thread that decides every append.
  thread_local boost::uuids::random_generator_mt19937 gen;
  boost::uuids::uuid id = gen();  // the variant bits stay as the generator set them
  const auto micros = static_cast<std::uint64_t>(std::max<std::int64_t>(now.micros, 0));
  const std::uint64_t ms = micros / 1000;
  const auto fraction = static_cast<std::uint32_t>((micros % 1000) * 4096 / 1000);
  for (int i = 0; i < 6; ++i) id.data[i] = static_cast<std::uint8_t>(ms >> (40 - 8 * i));
  id.data[6] = static_cast<std::uint8_t>(0x70 | (fraction >> 8));
  id.data[7] = static_cast<std::uint8_t>(fraction);
  return boost::uuids::to_string(id);
}

Result<AppendResult> decide(Staging& txn, const AppendCommand& cmd, const Hash& fingerprint,
                            const DecideContext& ctx, Timestamp now, LedgerHead& head) {
  if (!cmd.event_id.empty()) {
    auto prior = txn.get(Cf::idempotency, cmd.event_id);
    if (!prior) return prior.take_error();
    if (*prior) {
      const auto entry = decode_idempotency(**prior);
      if (!entry)
        return make_error(ErrorCode::internal, "corrupt idempotency entry " + cmd.event_id);
      if (entry->fingerprint != fingerprint)
        return make_error(ErrorCode::conflict,
                          "event_id " + cmd.event_id + " was already used for a different event",
                          "event_id");
      AppendResult r;
      r.filing_id = cmd.filing_id;
      r.event_id = cmd.event_id;
      r.seq = entry->seq;
      r.version = entry->version;
      r.state = entry->state;
      r.duplicate = true;
      return r;
    }
  }

  Staging::ProjectionView view(txn);
  std::optional<Version> erasure;
  if (const auto* erased = std::get_if<SubjectErased>(&cmd.data)) {
    if (cmd.filing_id != keys::subject_stream(erased->subject_ref))
      return make_error(ErrorCode::internal, "an erasure belongs in its subject's stream");
    auto version = decide_erasure(txn, ctx.keyring, *erased);
    if (!version) return version.take_error();
    erasure = *version;
  }
  auto before = load_status(view, cmd.filing_id);
  if (!before) return before.take_error();
  if (view.error()) return *view.error();
  if (cmd.must_create && before->exists())
    return make_error(ErrorCode::conflict, "filing " + cmd.filing_id + " already exists",
                      "filing_id");
  if (!before->exists() && !erasure &&
      (cmd.must_exist || type_of(cmd.data) != EventType::filing_submitted))
    return make_error(ErrorCode::not_found, "filing " + cmd.filing_id + " does not exist",
                      "filing_id");
  if (cmd.expected_version && *cmd.expected_version != before->version)
    return make_error(ErrorCode::conflict,
                      "expected_version " + std::to_string(cmd.expected_version->value) +
                          " but filing " + cmd.filing_id + " is at version " +
                          std::to_string(before->version.value),
                      "expected_version");

  Event e;
  e.occurred_at = cmd.occurred_at.value_or(now);
  if (e.occurred_at.micros > now.micros + kMaxFutureSkewMicros)
    return invalid("occurred_at lies more than 5 minutes in the future", "occurred_at");
  if (before->exists() && e.occurred_at < before->updated_at)
    return invalid("occurred_at is before the filing's previous event (" +
                       format_rfc3339(before->updated_at) + ")",
                   "occurred_at");
  e.seq = head.seq.next();
  e.filing_id = cmd.filing_id;
  e.version = erasure ? *erasure : before->version.next();
  e.event_id = cmd.event_id.empty() ? new_event_id(now) : cmd.event_id;
  e.schema = current_schema(type_of(cmd.data));
  e.recorded_at = now;
  e.actor = cmd.actor;
  e.principal = cmd.principal;
  e.data = cmd.data;
  if (auto ok = pin_fields(e, *before, ctx.policies, ctx.keyring != nullptr); !ok)
    return ok.take_error();
  if (ctx.keyring != nullptr) {
    if (auto ok = seal_personal_data(txn, *ctx.keyring, e, *before, ctx.clear_identities);
        !ok) return ok.take_error();
  }

  if (const auto* f = std::get_if<FilingSubmitted>(&e.data)) {
    if (auto ok = check_desk_rules(view, e, *f); !ok) return ok.take_error();
    if (view.error()) return *view.error();
  }
  auto after = project(view, *before, e);
  if (!after) return after.take_error();
  if (view.error()) return *view.error();

  const std::string body = encode_body(e);
  e.prev_hash = head.hash;
  e.hash = chain_hash(body, e.prev_hash);
  txn.append(Cf::log, keys::seq(e.seq), make_record(body, e.prev_hash, e.hash));
  txn.append(Cf::streams, keys::stream(e.filing_id, e.version), encode_seq(e.seq));
  txn.put(Cf::idempotency, e.event_id,
          encode_idempotency({e.seq, e.version, after->state, fingerprint}));
  if (ctx.tree != nullptr) {
    if (auto ok = stage_leaf(txn, *ctx.tree, e.hash); !ok) return ok.take_error();
  }
  head = LedgerHead{e.seq, e.hash};

  AppendResult r;
  r.filing_id = e.filing_id;
  r.event_id = e.event_id;
  r.seq = e.seq;
  r.version = e.version;
  r.state = after->state;
  r.sms_deadline = after->sms_deadline;
  return r;
}

}  // namespace filingd
