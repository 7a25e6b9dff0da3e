#include "events/domain.hpp"

#include <array>

namespace filingd {
namespace {

// One name table per enum, indexed by the enum's value.
constexpr std::array<std::string_view, 8> kFilingTypes = {
    "first_filing", "new_access",     "continued_access", "add_website",
    "change",       "cancel_website", "cancel_subject",   "cancel_access"};
constexpr std::array<std::string_view, 9> kStates = {
    "none",     "provider_review", "ready_for_bureau", "sms_pending", "bureau_review",
    "returned", "approved",        "withdrawn",        "abandoned"};
constexpr std::array<std::string_view, kEventTypeCount> kEventTypes = {
    "filing_submitted", "initial_review_approved", "initial_review_rejected", "photo_approved",
    "photo_rejected",   "submitted_to_bureau",     "sms_confirmed",           "sms_attempt_failed",
    "sms_expired",      "bureau_approved",         "bureau_rejected",         "filing_withdrawn",
    "filing_abandoned", "record_cancelled",        "subject_erased"};
constexpr std::array<std::string_view, 3> kReviewFlags = {"pending", "approved", "rejected"};
constexpr std::array<std::string_view, 5> kReturnCauses = {
    "none", "initial_review_rejected", "sms_expired", "sms_failed", "bureau_rejected"};
constexpr std::array<std::string_view, 3> kPhotoMethods = {"photo", "video", "sh_app"};

template <class E, std::size_t N>
std::string_view name_of(const std::array<std::string_view, N>& names, E v) {
  auto i = static_cast<std::size_t>(v);
  return i < N ? names[i] : std::string_view("unknown");
}

template <class E, std::size_t N>
std::optional<E> parse(const std::array<std::string_view, N>& names, std::string_view s) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == s) return static_cast<E>(i);
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(FilingType v) { return name_of(kFilingTypes, v); }
std::string_view to_string(FilingState v) { return name_of(kStates, v); }
std::string_view to_string(EventType v) { return name_of(kEventTypes, v); }
std::string_view to_string(ReviewFlag v) { return name_of(kReviewFlags, v); }
std::string_view to_string(ReturnCause v) { return name_of(kReturnCauses, v); }
std::string_view to_string(PhotoMethod v) { return name_of(kPhotoMethods, v); }

std::optional<FilingType> parse_filing_type(std::string_view s) {
  return parse<FilingType>(kFilingTypes, s);
}
std::optional<FilingState> parse_filing_state(std::string_view s) {
  auto st = parse<FilingState>(kStates, s);
  return st == FilingState::none ? std::nullopt : st;
}
std::optional<EventType> parse_event_type(std::string_view s) {
  return parse<EventType>(kEventTypes, s);
}
std::optional<PhotoMethod> parse_photo_method(std::string_view s) {
  return parse<PhotoMethod>(kPhotoMethods, s);
}

bool is_open(FilingState s) {
  switch (s) {
    case FilingState::provider_review:
    case FilingState::ready_for_bureau:
    case FilingState::sms_pending:
    case FilingState::bureau_review:
    case FilingState::returned:
      return true;
    default:
      return false;
  }
}

bool carries_existing_record_number(FilingType t) { return t != FilingType::first_filing; }

bool skips_sms(FilingType t) { return t == FilingType::cancel_access; }

}  // namespace filingd
