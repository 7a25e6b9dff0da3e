#include "events/codec.hpp"

#include <cereal/types/variant.hpp>

#include "events/personal.hpp"
#include "events/serialize.hpp"

// Schema versions of the payload types. Bump one when its serialize() learns a new field, and
// read the new field only `if (version >= N)` so older events still decode (upcast).
CEREAL_CLASS_VERSION(filingd::FilingSubmitted, 3)  // 2: + personal (sealed); 3: + name_ref
CEREAL_CLASS_VERSION(filingd::InitialReviewApproved, 1)
CEREAL_CLASS_VERSION(filingd::InitialReviewRejected, 1)
CEREAL_CLASS_VERSION(filingd::PhotoApproved, 1)
CEREAL_CLASS_VERSION(filingd::PhotoRejected, 1)
CEREAL_CLASS_VERSION(filingd::SubmittedToBureau, 1)
CEREAL_CLASS_VERSION(filingd::SmsConfirmed, 2)  // 2: + personal
CEREAL_CLASS_VERSION(filingd::SmsAttemptFailed, 1)
CEREAL_CLASS_VERSION(filingd::SmsExpired, 1)
CEREAL_CLASS_VERSION(filingd::BureauApproved, 1)
CEREAL_CLASS_VERSION(filingd::BureauRejected, 1)
CEREAL_CLASS_VERSION(filingd::FilingWithdrawn, 2)  // 2: + reason_code
CEREAL_CLASS_VERSION(filingd::FilingAbandoned, 1)
CEREAL_CLASS_VERSION(filingd::RecordCancelled, 1)
CEREAL_CLASS_VERSION(filingd::SubjectErased, 1)

namespace filingd {

template <class A>
void fields(A& ar, ReviewDecision& r) {
  ar(r.reviewer, r.reason_code, r.reason);
}

template <class A>
void fields(A& ar, PhotoDecision& p) {
  ar(p.reviewer, p.method, p.reason);
}

// Schema 2 stores the personal fields sealed (SealedPersonal) and, in their places, empty
// strings: the clear values an event holds in memory never reach the stored bytes.
template <class A>
void save(A& ar, const FilingSubmitted& f, std::uint32_t v) {
  Subject subject = f.subject;
  std::vector<Website> websites = f.websites;
  if (!f.personal.box.empty()) for_each_personal(subject, websites, [](std::string& s) { s.clear(); });
  ar(f.filing_type, f.province, f.provider);
  fields(ar, subject, v);
  fields(ar, websites, v);
  ar(f.existing_record_number);
  if (v >= 2) ar(f.personal.subject_ref, f.personal.generation, f.personal.box);
  if (v >= 3) ar(f.name_ref);
}
template <class A>
void load(A& ar, FilingSubmitted& f, std::uint32_t v) {
  ar(f.filing_type, f.province, f.provider);
  fields(ar, f.subject, v);
  fields(ar, f.websites, v);
  ar(f.existing_record_number);
  if (v >= 2) ar(f.personal.subject_ref, f.personal.generation, f.personal.box);
  if (v >= 3) ar(f.name_ref);
}

template <class A>
void serialize(A& ar, InitialReviewApproved& r, std::uint32_t) {
  fields(ar, r);
}
template <class A>
void serialize(A& ar, InitialReviewRejected& r, std::uint32_t) {
  fields(ar, r);
}
template <class A>
void serialize(A& ar, PhotoApproved& p, std::uint32_t) {
  fields(ar, p);
}
template <class A>
void serialize(A& ar, PhotoRejected& p, std::uint32_t) {
  fields(ar, p);
}

template <class A>
void serialize(A& ar, SubmittedToBureau& s, std::uint32_t) {
  ar(s.sms_deadline, s.policy_id);
}
template <class A>
void save(A& ar, const SmsConfirmed& s, std::uint32_t v) {
  ar(s.personal.box.empty() ? s.phone : std::string());
  if (v >= 2) ar(s.personal.subject_ref, s.personal.generation, s.personal.box);
}
template <class A>
void load(A& ar, SmsConfirmed& s, std::uint32_t v) {
  ar(s.phone);
  if (v >= 2) ar(s.personal.subject_ref, s.personal.generation, s.personal.box);
}
template <class A>
void serialize(A& ar, SmsAttemptFailed& s, std::uint32_t) {
  ar(s.attempt);
}
template <class A>
void serialize(A& ar, SmsExpired& s, std::uint32_t) {
  ar(s.deadline);
}

template <class A>
void serialize(A& ar, BureauApproved& b, std::uint32_t) {
  cereal::size_type n = b.websites.size();
  ar(b.subject_record_number, cereal::make_size_tag(n));
  b.websites.resize(static_cast<std::size_t>(n));
  for (auto& w : b.websites) ar(w.domain, w.record_number);
}
template <class A>
void serialize(A& ar, BureauRejected& b, std::uint32_t) {
  ar(b.reason_code, b.reason);
}
template <class A>
void serialize(A& ar, FilingWithdrawn& f, std::uint32_t v) {
  ar(f.reason);
  if (v >= 2) ar(f.reason_code);  // schema 1 events upcast with an empty reason_code
}
template <class A>
void serialize(A&, FilingAbandoned&, std::uint32_t) {}
template <class A>
void serialize(A& ar, RecordCancelled& r, std::uint32_t) {
  ar(r.record_number, r.reason);
}
template <class A>
void serialize(A& ar, SubjectErased& e, std::uint32_t) {
  ar(e.subject_ref, e.reason);
}

namespace {


Error corrupt(const std::string& what) {
  return make_error(ErrorCode::internal, "corrupt stored event: " + what);
}

}  // namespace

std::uint32_t current_schema(EventType type) {
  std::uint32_t version = 1;
  std::visit(
      [&](const auto& p) {
        using T = std::decay_t<decltype(p)>;
        version = cereal::detail::Version<T>::version;
      },
      make_payload(type));
  return version;
}

std::string encode_body(const Event& e) {
  return cereal_encode([&](auto& ar) {
    ar(e.format, e.seq.value, e.filing_id, e.version.value, e.event_id, e.schema, e.occurred_at,
       e.recorded_at, e.actor);
    if (e.format >= 2) ar(e.principal);
    ar(e.data);
  });
}

std::string encode_payload(const Payload& p) {
  return cereal_encode([&](auto& ar) { ar(p); });
}

Result<Event> decode_body(std::string_view body) {
  Event e;
  std::string error;
  const bool ok = cereal_decode(
      body,
      [&](auto& ar) {
        ar(e.format);
        if (e.format < 1 || e.format > kCurrentEventFormat)
          throw std::runtime_error("unknown body format");
        ar(e.seq.value, e.filing_id, e.version.value, e.event_id, e.schema, e.occurred_at,
           e.recorded_at, e.actor);
        if (e.format >= 2) ar(e.principal);
        ar(e.data);
      },
      &error);
  if (!ok) return corrupt(error);
  return e;
}

}  // namespace filingd
