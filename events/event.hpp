// Typed events (SPEC §1.4) and the envelope (SPEC §2.2).
//
// Each event type has its own payload struct; `Payload` is a variant whose index is the
// EventType, so the type of an event is never stored apart from its data. Stored encoding:
// codec.hpp (cereal, per-type class versions). JSON form: json.hpp.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "events/domain.hpp"
#include "events/ids.hpp"
#include "events/time.hpp"

namespace filingd {

struct Person {
  std::string name;
  std::string id_type;  // resident_id, passport, ...
  std::string id_number;
  std::string mobile;
  std::string email;
};

struct Subject {
  std::string kind;  // individual, enterprise, government, ...
  std::string name;
  std::string id_type;
  std::string id_number;
  std::string address;
};

struct Website {
  std::string name;
  std::vector<std::string> domains;
  Person responsible;
  std::string record_number;  // access / change / cancel_website: the website's existing number
};

// The personal fields of a payload as stored (SPEC §5.2): encoded and sealed under the data key
// of the subject `subject_ref` names, in place of their clear values. Events stored before
// personal data was encrypted carry an empty ref and box, and their fields in clear.
struct SealedPersonal {
  std::string subject_ref;  // keyed hash of the subject's certificate (64 hex digits)
  // Which of the subject's data keys sealed it: the subject's erasures before. A box older than
  // the subject's latest erasure reads "[erased]", even once the subject files again.
  std::uint32_t generation = 0;
  std::string box;  // AES-256-GCM of the personal fields; empty: none sealed
};

// ---- payloads, one per EventType, in EventType order ------------------------------------

struct FilingSubmitted {
  FilingType filing_type = FilingType::first_filing;
  std::string province;  // canonical one-character abbreviation (aliases resolved on input)
  std::string provider;
  Subject subject;
  std::vector<Website> websites;
  std::string existing_record_number;  // the subject's number (access, add_website, change, cancel)
  SealedPersonal personal;             // schema 2; set by the ledger
  // Schema 3, set by the ledger when it seals: the keyed hash of subject.name, by which the desk
  // finds a filing by its subject's name (SPEC §6.2) without the name in clear in an index.
  std::string name_ref;
};

struct ReviewDecision {
  std::string reviewer;
  std::string reason_code;
  std::string reason;
};
struct InitialReviewApproved : ReviewDecision {};
struct InitialReviewRejected : ReviewDecision {};

struct PhotoDecision {
  std::string reviewer;
  PhotoMethod method = PhotoMethod::photo;
  std::string reason;
};
struct PhotoApproved : PhotoDecision {};
struct PhotoRejected : PhotoDecision {};

struct SubmittedToBureau {
  std::optional<Timestamp> sms_deadline;  // pinned at append time; none for cancel_access
  std::string policy_id;
};

struct SmsConfirmed {
  std::string phone;        // masked
  SealedPersonal personal;  // schema 2; set by the ledger
};

struct SmsAttemptFailed {
  std::uint32_t attempt = 0;  // 1-based count of failed attempts, pinned at append time
};

struct SmsExpired {
  Timestamp deadline;
};

struct WebsiteNumber {
  std::string domain;
  std::string record_number;
};

struct BureauApproved {
  std::string subject_record_number;
  std::vector<WebsiteNumber> websites;
};

struct BureauRejected {
  std::string reason_code;
  std::string reason;
};

struct FilingWithdrawn {
  std::string reason;
  std::string reason_code;  // schema 2; empty in events stored with schema 1
};

struct FilingAbandoned {};

struct RecordCancelled {
  std::string record_number;
  std::string reason;
};

// A subject's personal data erased (PIPL art. 47): its data key is destroyed in the same batch.
// Recorded in the stream subject_stream(subject_ref), not a filing's.
struct SubjectErased {
  std::string subject_ref;
  std::string reason;
};

using Payload =
    std::variant<FilingSubmitted, InitialReviewApproved, InitialReviewRejected, PhotoApproved,
                 PhotoRejected, SubmittedToBureau, SmsConfirmed, SmsAttemptFailed, SmsExpired,
                 BureauApproved, BureauRejected, FilingWithdrawn, FilingAbandoned, RecordCancelled,
                 SubjectErased>;
static_assert(std::variant_size_v<Payload> == kEventTypeCount);

inline EventType type_of(const Payload& p) { return static_cast<EventType>(p.index()); }

// Builds the default payload for a type (used by decoders).
Payload make_payload(EventType type);

inline constexpr std::size_t kHashSize = 32;  // SHA-256
inline constexpr std::uint8_t kCurrentEventFormat = 2;
using Hash = std::array<std::uint8_t, kHashSize>;

// One ledger event. Everything but `prev_hash`/`hash` is the canonical body that is hashed.
struct Event {
  Seq seq;
  std::string filing_id;
  Version version;
  std::string event_id;
  std::uint32_t schema = 1;  // schema version of the payload type as stored
  // The envelope's stored layout: 1 before events recorded their principal, 2 since. Re-encoding
  // an event writes the layout it was stored with, so its hash still holds.
  std::uint8_t format = kCurrentEventFormat;
  Timestamp occurred_at;
  Timestamp recorded_at;
  std::string actor;  // what the client says; "system" only for the daemon's timers
  // Who appended it: the token's name, "local", "system" or "filingctl" (an offline import);
  // format 2.
  std::string principal;
  Payload data;
  Hash prev_hash{};
  Hash hash{};

  EventType type() const { return type_of(data); }
};

}  // namespace filingd
