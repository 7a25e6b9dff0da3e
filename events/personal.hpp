// The personal fields of the filing domain (SPEC §5.1), in one place: an individual subject's
// name, address and ID number (an organisation's are public registry data); every website's
// responsible person's name, ID number, mobile and email; sms_confirmed's phone. Sealing them,
// opening them and masking them (ledger/personal_data.hpp, the JSON writers) all walk them here.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "events/event.hpp"
#include "events/result.hpp"

namespace filingd {

// What a personal field reads as when its subject's data key is not at hand (a tool without the
// master key, a replica restored without it), and after the subject was erased.
inline constexpr std::string_view kEncrypted = "[encrypted]";
inline constexpr std::string_view kErased = "[erased]";

// How personal fields appear in JSON (events/json.hpp): as the event holds them (clear, or a
// marker such as "[encrypted]"), masked to their last four characters (the reader role, Kafka's
// default), or left out.
enum class PersonalView { clear, masked, omitted };

using FieldVisitor = std::function<void(std::string& value)>;

// Calls `visit` for each personal field, always in the same order.
void for_each_personal(Subject& subject, std::vector<Website>& websites, const FieldVisitor& visit);
void for_each_personal(Payload& payload, const FieldVisitor& visit);

// The sealed form of a payload's personal fields, or null for a payload that has none.
SealedPersonal* sealed_of(Payload& payload);
const SealedPersonal* sealed_of(const Payload& payload);

// The personal fields as one plaintext (length-prefixed strings in visit order), and back.
// decode_personal fails (ErrorCode::internal) for bytes that do not hold exactly that many
// fields.
std::string encode_personal(Subject& subject, std::vector<Website>& websites);
std::string encode_personal(Payload& payload);
Status decode_personal(std::string_view bytes, Subject& subject, std::vector<Website>& websites);
Status decode_personal(std::string_view bytes, Payload& payload);

}  // namespace filingd
