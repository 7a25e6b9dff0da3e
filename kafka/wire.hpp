// What filingd puts on Kafka, named once: the default topics, the message keys and the header
// names (SPEC §2.3). The publisher writes them and restore reads them.
//
// filing.events   key filing_id, value the event's JSON envelope, headers:
//                   event_type, event_id, seq, schema    (for consumers)
//                   body         the stored bytes the hash covers, base64; for an event whose
//                                JSON does not re-encode to them: sealed personal data, an
//                                older payload schema or envelope format
//                   fingerprint  hex idempotency fingerprint of the original command, so a
//                                restored ledger answers retries exactly as the original
// filing.status   key filing_id, value the filing's status JSON as of its latest event; header
//                 seq. Compacted.
// filing.keys     key subject_ref, value the subject's data key wrapped under the master key
//                 (61 bytes, binary); a tombstone (null value) once the subject is erased.
//                 Compacted.
#pragma once

#include <string_view>

namespace filingd::kafka_wire {

inline constexpr std::string_view kEventsTopic = "filing.events";
inline constexpr std::string_view kStatusTopic = "filing.status";
inline constexpr std::string_view kKeysTopic = "filing.keys";
// The ledger's signed checkpoint (SPEC §8) after each published batch; compacted, keyed by the
// checkpoint's origin, so its latest message is the newest checkpoint.
inline constexpr std::string_view kCheckpointsTopic = "filing.checkpoints";

inline constexpr const char* kEventType = "event_type";
inline constexpr const char* kEventId = "event_id";
inline constexpr const char* kSeq = "seq";
inline constexpr const char* kSchema = "schema";
inline constexpr const char* kBody = "body";
inline constexpr const char* kFingerprint = "fingerprint";

}  // namespace filingd::kafka_wire
