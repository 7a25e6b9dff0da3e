// Validation of input (SPEC §1.7, §1.3). Every check names the offending field in Error::field
// and uses ErrorCode::invalid; nothing here touches storage. Functions that normalise (province
// aliases, case of domains) do so in place, so what is stored is canonical.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "events/event.hpp"
#include "events/provinces.hpp"
#include "events/result.hpp"

namespace filingd {

// Upper bounds on free-text fields, in bytes of UTF-8.
inline constexpr std::size_t kMaxShortText = 128;  // names, codes, ids, actor
inline constexpr std::size_t kMaxLongText = 2048;  // reasons, addresses
inline constexpr std::size_t kMaxWebsites = 64;
inline constexpr std::size_t kMaxDomainsPerWebsite = 32;

// [A-Za-z0-9._-]{1,64}
Status validate_filing_id(std::string_view id, std::string_view field = "filing_id");
// 1..128 printable bytes.
Status validate_event_id(std::string_view id, std::string_view field = "event_id");
// GB 11643-1999: 17 digits + check digit (0-9 or X), birth date plausible.
Status validate_resident_id(std::string_view id, std::string_view field);
// The GB 11643 check character of the first 17 digits of a resident ID.
char resident_id_check_char(std::string_view first17);
// GB 32100-2015 unified social credit code: 18 characters of 0-9 A-H J-N P-R T U W-Y, the last
// a check character over the first 17.
Status validate_uscc(std::string_view code, std::string_view field);
// The check character of a USCC's first 17 characters ('\0' if one is outside the alphabet).
char uscc_check_char(std::string_view first17);
// SPEC §6.1: subject kinds, certificate types, and which certificates each kind may hold.
bool is_subject_kind(std::string_view kind);
bool is_personal_certificate(std::string_view id_type);
bool is_organisation_certificate(std::string_view id_type);
// 11 digits starting 13..19.
Status validate_mobile(std::string_view mobile, std::string_view field);
// RFC 1123 host name with at least two labels; lowercased in place. IDN must be given as
// punycode (xn--...).
Status validate_domain(std::string& domain, std::string_view field);

// Checks every field of a payload and normalises it in place (province to its canonical
// abbreviation, domains to lower case). Fields are named as under an event's `data`
// ("data.websites[0].name"). Cross-event rules (state, registry) are the ledger's.
Status validate_payload(Payload& payload);

}  // namespace filingd
