#include "projections/state_machine.hpp"

#include <algorithm>
#include <array>
#include <string>

namespace filingd {
namespace {

using S = FilingState;
using E = EventType;

bool photo_approved(const FilingStatus& s, const Event&) { return s.photo == ReviewFlag::approved; }
bool initial_review_approved(const FilingStatus& s, const Event&) {
  return s.initial_review == ReviewFlag::approved;
}
bool without_sms(const FilingStatus& s, const Event&) { return skips_sms(s.filing_type); }
bool fifth_failure(const FilingStatus&, const Event& e) {
  return std::get<SmsAttemptFailed>(e.data).attempt >= 5;
}

constexpr std::array kTable = {
    Transition{S::none, E::filing_submitted, S::provider_review, nullptr},

    Transition{S::provider_review, E::initial_review_approved, S::ready_for_bureau, photo_approved},
    Transition{S::provider_review, E::initial_review_approved, S::provider_review, nullptr},
    Transition{S::provider_review, E::initial_review_rejected, S::returned, nullptr},
    Transition{S::provider_review, E::photo_approved, S::ready_for_bureau, initial_review_approved},
    Transition{S::provider_review, E::photo_approved, S::provider_review, nullptr},
    Transition{S::provider_review, E::photo_rejected, S::provider_review, nullptr},
    Transition{S::provider_review, E::filing_withdrawn, S::withdrawn, nullptr},

    // Withdrawal is allowed until the filing is submitted to the bureau (SPEC §1.1 step 7).
    Transition{S::ready_for_bureau, E::submitted_to_bureau, S::bureau_review, without_sms},
    Transition{S::ready_for_bureau, E::submitted_to_bureau, S::sms_pending, nullptr},
    Transition{S::ready_for_bureau, E::filing_withdrawn, S::withdrawn, nullptr},

    Transition{S::sms_pending, E::sms_confirmed, S::bureau_review, nullptr},
    Transition{S::sms_pending, E::sms_attempt_failed, S::returned, fifth_failure},
    Transition{S::sms_pending, E::sms_attempt_failed, S::sms_pending, nullptr},
    Transition{S::sms_pending, E::sms_expired, S::returned, nullptr},

    Transition{S::bureau_review, E::bureau_approved, S::approved, nullptr},
    Transition{S::bureau_review, E::bureau_rejected, S::returned, nullptr},

    Transition{S::returned, E::filing_submitted, S::provider_review, nullptr},
    Transition{S::returned, E::filing_withdrawn, S::withdrawn, nullptr},
    Transition{S::returned, E::filing_abandoned, S::abandoned, nullptr},

    Transition{S::approved, E::record_cancelled, S::approved, nullptr},
};

void set_returned(FilingStatus& s, const Event& e, ReturnCause cause, std::string code,
                  std::string reason) {
  s.return_cause = cause;
  s.return_reason_code = std::move(code);
  s.return_reason = std::move(reason);
  s.returned_at = e.occurred_at;
  s.abandon_at = Timestamp{e.occurred_at.micros + kAbandonAfterMicros};
}

// The effects of each event type beyond the state change. The transition table has already
// decided that the event is allowed; these only record what it says.
struct Effects {
  FilingStatus& s;
  const Event& e;
  bool resubmission;  // the filing existed before this event

  void operator()(const FilingSubmitted& f) const {
    s.filing_type = f.filing_type;
    s.province = f.province;
    s.provider = f.provider;
    s.subject = f.subject;
    s.websites = f.websites;
    s.personal = f.personal;
    if (!resubmission) s.identity = subject_identity(f);
    s.existing_record_number = f.existing_record_number;
    s.name_ref = f.name_ref;
    s.attempt = resubmission ? s.attempt + 1 : 1;
    s.initial_review = ReviewFlag::pending;
    s.photo = ReviewFlag::pending;
    s.sms_failures = 0;
    s.sms_deadline.reset();
    s.sms_policy_id.clear();
    s.return_cause = ReturnCause::none;
    s.return_reason_code.clear();
    s.return_reason.clear();
    s.abandon_at.reset();
    s.submitted_at = e.occurred_at;
  }
  void operator()(const InitialReviewApproved&) const { s.initial_review = ReviewFlag::approved; }
  void operator()(const InitialReviewRejected& r) const {
    s.initial_review = ReviewFlag::rejected;
    set_returned(s, e, ReturnCause::initial_review_rejected, r.reason_code, r.reason);
  }
  void operator()(const PhotoApproved&) const { s.photo = ReviewFlag::approved; }
  void operator()(const PhotoRejected&) const { s.photo = ReviewFlag::rejected; }
  void operator()(const SubmittedToBureau& b) const {
    s.sms_deadline = b.sms_deadline;
    s.sms_policy_id = b.policy_id;
  }
  void operator()(const SmsConfirmed&) const { s.sms_deadline.reset(); }
  void operator()(const SmsAttemptFailed& f) const {
    s.sms_failures = f.attempt;
    if (s.state == FilingState::returned) {
      s.sms_deadline.reset();
      set_returned(s, e, ReturnCause::sms_failed, "sms_failed",
                   "SMS verification failed " + std::to_string(f.attempt) + " times");
    }
  }
  void operator()(const SmsExpired& x) const {
    s.sms_deadline.reset();
    set_returned(s, e, ReturnCause::sms_expired, "sms_expired",
                 "SMS verification not completed by " + format_rfc3339(x.deadline));
  }
  void operator()(const BureauApproved& b) const {
    // Only a first filing gets a new subject number; every other type keeps the existing one.
    s.subject_record_number =
        b.subject_record_number.empty() ? s.existing_record_number : b.subject_record_number;
    for (const auto& wn : b.websites) {
      for (auto& w : s.websites) {
        if (std::find(w.domains.begin(), w.domains.end(), wn.domain) != w.domains.end())
          w.record_number = wn.record_number;
      }
    }
  }
  void operator()(const BureauRejected& r) const {
    set_returned(s, e, ReturnCause::bureau_rejected, r.reason_code, r.reason);
  }
  void operator()(const FilingWithdrawn&) const { s.abandon_at.reset(); }
  void operator()(const FilingAbandoned&) const { s.abandon_at.reset(); }
  void operator()(const RecordCancelled&) const {}
  void operator()(const SubjectErased&) const {}  // apply_event handles it
};

}  // namespace

std::vector<EventType> allowed_events(FilingState state) {
  std::vector<EventType> out;
  for (const auto& t : kTable) {
    if (t.from == state && std::find(out.begin(), out.end(), t.event) == out.end())
      out.push_back(t.event);
  }
  return out;
}

Result<const Transition*> find_transition(const FilingStatus& before, const Event& e) {
  const EventType type = e.type();
  for (const auto& t : kTable) {
    if (t.from == before.state && t.event == type && (t.guard == nullptr || t.guard(before, e)))
      return &t;
  }
  std::string allowed;
  for (EventType a : allowed_events(before.state)) {
    if (!allowed.empty()) allowed += ", ";
    allowed += to_string(a);
  }
  std::string msg;
  if (before.state == FilingState::none) {
    msg = "filing " + e.filing_id + " does not exist; the first event must be filing_submitted";
  } else {
    msg = std::string(to_string(type)) + " is not allowed in state " +
          std::string(to_string(before.state)) +
          "; allowed events: " + (allowed.empty() ? std::string("none (terminal state)") : allowed);
  }
  Error refused = make_error(ErrorCode::transition_not_allowed, std::move(msg), "type");
  if (before.state != FilingState::none) refused.state = before.state;
  return refused;
}

Status apply_event(FilingStatus& status, const Event& e) {
  // A subject's stream, not a filing's: it only counts the subject's erasures.
  if (std::holds_alternative<SubjectErased>(e.data)) {
    if (status.exists())
      return make_error(ErrorCode::transition_not_allowed,
                        "subject_erased belongs in a subject's stream, not a filing's", "type");
    status.version = e.version;
    status.last_seq = e.seq;
    return {};
  }
  auto t = find_transition(status, e);
  if (!t) return t.take_error();
  const bool existed = status.exists();
  if (!existed) status.filing_id = e.filing_id;
  if (status.state != (*t)->to) status.state_since = e.occurred_at;
  status.state = (*t)->to;
  std::visit(Effects{status, e, existed}, e.data);
  status.version = e.version;
  status.last_seq = e.seq;
  status.updated_at = e.occurred_at;
  return {};
}

}  // namespace filingd
