// The vocabulary of the filing domain (SPEC §1): filing types, states, event types and the
// sub-flags of the provider review. Each enum has one name table (domain.cpp) that the JSON
// codec, the error messages and the docs all read, so a name is spelled in one place.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace filingd {

enum class FilingType : std::uint8_t {
  first_filing,
  new_access,
  continued_access,
  add_website,
  change,
  cancel_website,
  cancel_subject,
  cancel_access,
};

enum class FilingState : std::uint8_t {
  none,  // the filing does not exist yet
  provider_review,
  ready_for_bureau,
  sms_pending,
  bureau_review,
  returned,
  approved,
  withdrawn,
  abandoned,
};

enum class EventType : std::uint8_t {
  filing_submitted,
  initial_review_approved,
  initial_review_rejected,
  photo_approved,
  photo_rejected,
  submitted_to_bureau,
  sms_confirmed,
  sms_attempt_failed,
  sms_expired,
  bureau_approved,
  bureau_rejected,
  filing_withdrawn,
  filing_abandoned,
  record_cancelled,
  subject_erased,
};
inline constexpr int kEventTypeCount = 15;

// Sub-flags of `provider_review`: both must be approved before `ready_for_bureau`.
enum class ReviewFlag : std::uint8_t { pending, approved, rejected };

// Why a filing is `returned`.
enum class ReturnCause : std::uint8_t {
  none,
  initial_review_rejected,
  sms_expired,
  sms_failed,
  bureau_rejected,
};

enum class PhotoMethod : std::uint8_t { photo, video, sh_app };

std::string_view to_string(FilingType v);
std::string_view to_string(FilingState v);
std::string_view to_string(EventType v);
std::string_view to_string(ReviewFlag v);
std::string_view to_string(ReturnCause v);
std::string_view to_string(PhotoMethod v);

std::optional<FilingType> parse_filing_type(std::string_view s);
std::optional<FilingState> parse_filing_state(std::string_view s);
std::optional<EventType> parse_event_type(std::string_view s);
std::optional<PhotoMethod> parse_photo_method(std::string_view s);

// Open = not terminal: at most one open filing per subject (SPEC §1.2).
bool is_open(FilingState s);
// Types that carry the subject's existing record number on submission.
bool carries_existing_record_number(FilingType t);
// Types that skip SMS verification (after submitted_to_bureau straight to bureau_review).
bool skips_sms(FilingType t);

}  // namespace filingd
