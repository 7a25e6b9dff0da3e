#include "events/personal.hpp"

#include <cstdint>

namespace filingd {
namespace {

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

// Fills the visited fields from `bytes`, in order; false if the fields and the bytes disagree.
class FieldReader {
 public:
  explicit FieldReader(std::string_view bytes) : rest_(bytes) {}
  void operator()(std::string& value) {
    if (!ok_ || rest_.size() < 4) {
      ok_ = false;
      return;
    }
    std::uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n = n << 8 | static_cast<unsigned char>(rest_[i]);
    rest_.remove_prefix(4);
    if (n > rest_.size()) {
      ok_ = false;
      return;
    }
    value.assign(rest_.substr(0, n));
    rest_.remove_prefix(n);
  }
  bool done() const { return ok_ && rest_.empty(); }

 private:
  std::string_view rest_;
  bool ok_ = true;
};

Error corrupt() {
  return make_error(ErrorCode::internal, "corrupt personal data: the fields do not decode");
}

}  // namespace

void for_each_personal(Subject& subject, std::vector<Website>& websites,
                       const FieldVisitor& visit) {
  if (subject.kind == "individual") {
    visit(subject.name);
    visit(subject.address);
    visit(subject.id_number);
  }
  for (Website& w : websites) {
    visit(w.responsible.name);
    visit(w.responsible.id_number);
    visit(w.responsible.mobile);
    visit(w.responsible.email);
  }
}

void for_each_personal(Payload& payload, const FieldVisitor& visit) {
  if (auto* f = std::get_if<FilingSubmitted>(&payload)) {
    for_each_personal(f->subject, f->websites, visit);
  } else if (auto* c = std::get_if<SmsConfirmed>(&payload)) {
    visit(c->phone);
  }
}

SealedPersonal* sealed_of(Payload& payload) {
  if (auto* f = std::get_if<FilingSubmitted>(&payload)) return &f->personal;
  if (auto* c = std::get_if<SmsConfirmed>(&payload)) return &c->personal;
  return nullptr;
}

const SealedPersonal* sealed_of(const Payload& payload) {
  return sealed_of(const_cast<Payload&>(payload));
}

std::string encode_personal(Subject& subject, std::vector<Website>& websites) {
  std::string out;
  for_each_personal(subject, websites, [&](std::string& v) {
    put_u32(out, static_cast<std::uint32_t>(v.size()));
    out += v;
  });
  return out;
}

std::string encode_personal(Payload& payload) {
  std::string out;
  for_each_personal(payload, [&](std::string& v) {
    put_u32(out, static_cast<std::uint32_t>(v.size()));
    out += v;
  });
  return out;
}

Status decode_personal(std::string_view bytes, Subject& subject, std::vector<Website>& websites) {
  FieldReader read(bytes);
  for_each_personal(subject, websites, std::ref(read));
  if (!read.done()) return corrupt();
  return {};
}

Status decode_personal(std::string_view bytes, Payload& payload) {
  FieldReader read(bytes);
  for_each_personal(payload, std::ref(read));
  if (!read.done()) return corrupt();
  return {};
}

}  // namespace filingd
