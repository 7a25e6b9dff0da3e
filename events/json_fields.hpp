// The JSON field tables of the event payloads: each struct lists its JSON fields once, in
// describe(); the same list drives the encoder (json_encode.cpp) and the strict decoder
// (json_decode.cpp), so a field name cannot drift between the two directions. Internal to the
// events module.
#pragma once

#include <concepts>
#include <type_traits>

#include "events/event.hpp"

namespace filingd::json_fields {

struct Rule {
  bool required = false;    // decoding: absence is ErrorCode::invalid
  bool omit_empty = false;  // encoding: an empty string is left out
  bool personal = false;    // encoding: personal data (events/personal.hpp), masked or omitted
};
constexpr Rule kRequired{.required = true};
constexpr Rule kOmitEmpty{.omit_empty = true};
constexpr Rule kPersonal{.personal = true};

// S is T or const T (or, for the shared decision payloads, a type derived from T).
template <class S, class T>
concept Of = std::derived_from<std::remove_const_t<S>, T>;

template <class F, Of<Person> S>
void describe(F& f, S& s) {
  f("name", s.name, kPersonal);
  f("id_type", s.id_type);
  f("id_number", s.id_number, kPersonal);
  f("mobile", s.mobile, kPersonal);
  f("email", s.email, kPersonal);
}

// An organisation's name, address and certificate number are public registry data.
template <class F, Of<Subject> S>
void describe(F& f, S& s) {
  const Rule personal{.personal = s.kind == "individual"};
  f("kind", s.kind);
  f("name", s.name, personal);
  f("id_type", s.id_type);
  f("id_number", s.id_number, personal);
  f("address", s.address, personal);
}

template <class F, Of<Website> S>
void describe(F& f, S& s) {
  f("name", s.name);
  f("domains", s.domains);
  f("responsible", s.responsible);
  f("record_number", s.record_number, kOmitEmpty);
}

template <class F, Of<WebsiteNumber> S>
void describe(F& f, S& s) {
  f("domain", s.domain);
  f("record_number", s.record_number);
}

template <class F, Of<FilingSubmitted> S>
void describe(F& f, S& s) {
  f("filing_type", s.filing_type, kRequired);
  f("province", s.province, kRequired);
  f("provider", s.provider, kRequired);
  f("subject", s.subject, kRequired);
  f("websites", s.websites, kRequired);
  f("existing_record_number", s.existing_record_number, kOmitEmpty);
  f("subject_ref", s.personal.subject_ref, kOmitEmpty);  // schema 2
}

template <class F, Of<ReviewDecision> S>
void describe(F& f, S& s) {
  f("reviewer", s.reviewer);
  f("reason_code", s.reason_code);
  f("reason", s.reason);
}

template <class F, Of<PhotoDecision> S>
void describe(F& f, S& s) {
  f("reviewer", s.reviewer);
  f("method", s.method);
  f("reason", s.reason);
}

template <class F, Of<SubmittedToBureau> S>
void describe(F& f, S& s) {
  f("sms_deadline", s.sms_deadline);
  f("policy_id", s.policy_id);
}

template <class F, Of<SmsConfirmed> S>
void describe(F& f, S& s) {
  f("phone", s.phone, kPersonal);
  f("subject_ref", s.personal.subject_ref, kOmitEmpty);  // schema 2
}

template <class F, Of<SmsAttemptFailed> S>
void describe(F& f, S& s) {
  f("attempt", s.attempt);
}

template <class F, Of<SmsExpired> S>
void describe(F& f, S& s) {
  f("deadline", s.deadline);
}

template <class F, Of<BureauApproved> S>
void describe(F& f, S& s) {
  f("subject_record_number", s.subject_record_number);
  f("websites", s.websites);
}

template <class F, Of<BureauRejected> S>
void describe(F& f, S& s) {
  f("reason_code", s.reason_code);
  f("reason", s.reason);
}

template <class F, Of<FilingWithdrawn> S>
void describe(F& f, S& s) {
  f("reason_code", s.reason_code, kOmitEmpty);  // schema 2
  f("reason", s.reason);
}

template <class F, Of<FilingAbandoned> S>
void describe(F&, S&) {}

template <class F, Of<RecordCancelled> S>
void describe(F& f, S& s) {
  f("record_number", s.record_number, kRequired);
  f("reason", s.reason);
}

template <class F, Of<SubjectErased> S>
void describe(F& f, S& s) {
  f("subject_ref", s.subject_ref, kRequired);
  f("reason", s.reason);
}

template <class T>
concept Nested = std::same_as<T, Person> || std::same_as<T, Subject> || std::same_as<T, Website> ||
    std::same_as<T, WebsiteNumber>;

}  // namespace filingd::json_fields
