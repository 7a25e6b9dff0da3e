#include "events/json.hpp"

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <openssl/evp.h>
#include <boost/json/parse.hpp>

#include "events/json_writer.hpp"

namespace filingd {
namespace json = boost::json;
namespace {

// ---- field tables ---------------------------------------------------------------------------
// Each struct lists its JSON fields once, in describe(); the same list drives the encoder and the
// strict decoder, so a field name cannot drift between the two directions.

struct Rule {
  bool required = false;    // decoding: absence is ErrorCode::invalid
  bool omit_empty = false;  // encoding: an empty string is left out
};
constexpr Rule kRequired{.required = true};
constexpr Rule kOmitEmpty{.omit_empty = true};

// S is T or const T (or, for the shared decision payloads, a type derived from T).
template <class S, class T>
concept Of = std::derived_from<std::remove_const_t<S>, T>;

template <class F, Of<Person> S>
void describe(F& f, S& s) {
  f("name", s.name);
  f("id_type", s.id_type);
  f("id_number", s.id_number);
  f("mobile", s.mobile);
  f("email", s.email);
}

template <class F, Of<Subject> S>
void describe(F& f, S& s) {
  f("kind", s.kind);
  f("name", s.name);
  f("id_type", s.id_type);
  f("id_number", s.id_number);
  f("address", s.address);
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
  f("phone", s.phone);
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

template <class T>
concept Nested = std::same_as<T, Person> || std::same_as<T, Subject> || std::same_as<T, Website> ||
    std::same_as<T, WebsiteNumber>;

// ---- encoding -------------------------------------------------------------------------------

void write_value(JsonWriter& w, const std::string& s) { w.string(s); }
void write_value(JsonWriter& w, std::uint32_t n) { w.number(n); }
void write_value(JsonWriter& w, Timestamp t) { w.time(t); }
void write_value(JsonWriter& w, const std::optional<Timestamp>& t) { w.time(t); }
void write_value(JsonWriter& w, FilingType v) { w.string(to_string(v)); }
void write_value(JsonWriter& w, PhotoMethod v) { w.string(to_string(v)); }

template <class T>
void write_object(JsonWriter& w, const T& s);

template <Nested T>
void write_value(JsonWriter& w, const T& s) {
  write_object(w, s);
}

template <class T>
void write_value(JsonWriter& w, const std::vector<T>& v) {
  w.begin_array();
  for (const auto& x : v) write_value(w, x);
  w.end_array();
}

struct Encoder {
  JsonWriter& w;
  template <class T>
  void operator()(std::string_view key, const T& v, Rule rule = {}) {
    if constexpr (std::is_same_v<T, std::string>) {
      if (rule.omit_empty && v.empty()) return;
    }
    w.key(key);
    write_value(w, v);
  }
};

template <class T>
void write_object(JsonWriter& w, const T& s) {
  w.begin_object();
  Encoder e{w};
  describe(e, s);
  w.end_object();
}

// ---- decoding -------------------------------------------------------------------------------
// Decoders record the first error in a shared Ctx and carry on; the caller reports that one.

struct Ctx {
  std::optional<Error> error;
  void fail(ErrorCode code, const std::string& field, std::string message) {
    if (!error) error = make_error(code, std::move(message), field);
  }
  void wrong_type(const std::string& field, std::string_view expected) {
    fail(ErrorCode::malformed, field, field + " must be " + std::string(expected));
  }
};

std::string member_path(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : std::string(path) + "." + std::string(key);
}

// Only integer payload field is an SMS attempt counter; anything larger is nonsense.
constexpr std::int64_t kMaxCount = 1000;

void read(Ctx& c, const json::value& v, const std::string& path, std::string& out) {
  if (!v.is_string()) return c.wrong_type(path, "a string");
  out.assign(v.get_string().data(), v.get_string().size());
}

void read(Ctx& c, const json::value& v, const std::string& path, std::uint32_t& out) {
  // Doubles are refused even when whole ("3.0", "3e0"): a count is written as an integer.
  // Boost.JSON keeps literals as int64 and only those beyond its range as uint64.
  if (!v.is_int64() && !v.is_uint64()) return c.wrong_type(path, "an integer");
  const bool in_range = v.is_int64() ? v.get_int64() >= 0 && v.get_int64() <= kMaxCount
                                     : v.get_uint64() <= static_cast<std::uint64_t>(kMaxCount);
  if (!in_range) {
    return c.fail(ErrorCode::invalid, path,
                  path + " must be between 0 and " + std::to_string(kMaxCount));
  }
  out = v.to_number<std::uint32_t>();
}

void read(Ctx& c, const json::value& v, const std::string& path, Timestamp& out) {
  if (!v.is_string()) return c.wrong_type(path, "an RFC 3339 time string");
  const json::string& s = v.get_string();
  auto t = parse_rfc3339(std::string_view(s.data(), s.size()));
  if (!t) return c.fail(ErrorCode::invalid, path, path + " must be an RFC 3339 time");
  out = *t;
}

void read(Ctx& c, const json::value& v, const std::string& path, std::optional<Timestamp>& out) {
  if (v.is_null()) return out.reset();
  Timestamp t;
  read(c, v, path, t);
  out = t;
}

template <class E>
void read_enum(Ctx& c, const json::value& v, const std::string& path, E& out,
               std::optional<E> (*parse)(std::string_view)) {
  std::string s;
  read(c, v, path, s);
  if (c.error) return;
  if (auto e = parse(s)) {
    out = *e;
    return;
  }
  // The enums are dense from 0 and to_string answers "unknown" past the end.
  std::string allowed;
  for (int i = 0;; ++i) {
    std::string_view name = to_string(static_cast<E>(i));
    if (name == "unknown") break;
    allowed += (i ? ", " : "") + std::string(name);
  }
  c.fail(ErrorCode::invalid, path, path + " must be one of " + allowed + " (got \"" + s + "\")");
}

void read(Ctx& c, const json::value& v, const std::string& path, FilingType& out) {
  read_enum(c, v, path, out, parse_filing_type);
}
void read(Ctx& c, const json::value& v, const std::string& path, PhotoMethod& out) {
  read_enum(c, v, path, out, parse_photo_method);
}

template <Nested T>
void read(Ctx& c, const json::value& v, const std::string& path, T& out);

template <class T>
void read(Ctx& c, const json::value& v, const std::string& path, std::vector<T>& out) {
  if (!v.is_array()) return c.wrong_type(path, "an array");
  const json::array& a = v.get_array();
  out.clear();
  out.reserve(a.size());
  for (std::size_t i = 0; i < a.size() && !c.error; ++i) {
    read(c, a[i], path + "[" + std::to_string(i) + "]", out.emplace_back());
  }
}

// Reads the members of one object as describe() names them, remembering which keys it consumed
// so finish() can refuse the rest (except the `skip` keys another layer owns).
class ObjectReader {
 public:
  ObjectReader(Ctx& c, const json::object& obj, std::string_view path,
               std::initializer_list<std::string_view> skip)
      : c_(c), obj_(obj), path_(path), skip_(skip) {}

  template <class T>
  void operator()(std::string_view key, T& out, Rule rule = {}) {
    known_.push_back(key);
    const std::string field = member_path(path_, key);
    if (const json::value* v = obj_.if_contains(key)) {
      read(c_, *v, field, out);
    } else if (rule.required) {
      c_.fail(ErrorCode::invalid, field, field + " is required");
    }
  }

  void finish() {
    for (const auto& member : obj_) {
      std::string_view key(member.key().data(), member.key().size());
      if (listed(known_, key) || listed(skip_, key)) continue;
      // An empty key is named "" so that the error still names a field (found by fuzzing).
      const std::string field = member_path(path_, key.empty() ? R"("")" : key);
      return c_.fail(ErrorCode::invalid, field, "unknown field " + field);
    }
  }

 private:
  template <class Keys>
  static bool listed(const Keys& keys, std::string_view key) {
    for (std::string_view k : keys) {
      if (k == key) return true;
    }
    return false;
  }

  Ctx& c_;
  const json::object& obj_;
  std::string_view path_;
  std::initializer_list<std::string_view> skip_;
  std::vector<std::string_view> known_;
};

template <class T>
void read_fields(Ctx& c, const json::object& obj, std::string_view path, T& out,
                 std::initializer_list<std::string_view> skip = {}) {
  ObjectReader r(c, obj, path, skip);
  describe(r, out);
  r.finish();
}

template <class T>
void read_object(Ctx& c, const json::value& v, std::string_view path, T& out) {
  if (!v.is_object()) {
    const std::string field(path);
    return c.wrong_type(field.empty() ? "body" : field, "an object");
  }
  read_fields(c, v.get_object(), path, out);
}

template <Nested T>
void read(Ctx& c, const json::value& v, const std::string& path, T& out) {
  read_object(c, v, path, out);
}

int hex_digit(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

}  // namespace

void to_hex(const Hash& h, char* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (std::uint8_t b : h) {
    *out++ = kDigits[b >> 4];
    *out++ = kDigits[b & 0xf];
  }
}

std::string to_hex(const Hash& h) {
  std::string out(2 * h.size(), '\0');
  to_hex(h, out.data());
  return out;
}

bool from_hex(std::string_view hex, Hash& out) {
  if (hex.size() != out.size() * 2) return false;
  Hash h{};
  for (std::size_t i = 0; i < h.size(); ++i) {
    const int hi = hex_digit(hex[2 * i]);
    const int lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    h[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  out = h;
  return true;
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> unbase64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  std::size_t size = static_cast<std::size_t>(n);
  // EVP_DecodeBlock counts the '=' padding as zero bytes.
  for (std::size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) --size;
  out.resize(size);
  return out;
}

void write_json(JsonWriter& w, const Payload& p) {
  std::visit([&w](const auto& payload) { write_object(w, payload); }, p);
}

void write_json(JsonWriter& w, const Event& e) {
  char hex[2 * kHashSize];
  auto hash = [&hex](const Hash& h) {
    to_hex(h, hex);
    return std::string_view(hex, sizeof hex);
  };
  w.begin_object();
  w.key("seq").number(e.seq.value);
  w.key("filing_id").string(e.filing_id);
  w.key("version").number(e.version.value);
  w.key("event_id").string(e.event_id);
  w.key("type").string(to_string(e.type()));
  w.key("schema").number(e.schema);
  w.key("occurred_at").time(e.occurred_at);
  w.key("recorded_at").time(e.recorded_at);
  w.key("actor").string(e.actor);
  w.key("data");
  write_json(w, e.data);
  w.key("prev_hash").string(hash(e.prev_hash));
  w.key("hash").string(hash(e.hash));
  w.end_object();
}

std::string event_json(const Event& e) {
  std::string out;
  out.reserve(1024);
  JsonWriter w(out);
  write_json(w, e);
  return out;
}

std::string payload_json(const Payload& p) {
  std::string out;
  JsonWriter w(out);
  write_json(w, p);
  return out;
}

json::object payload_to_json(const Payload& p) { return json::parse(payload_json(p)).as_object(); }

json::object event_to_json(const Event& e) { return json::parse(event_json(e)).as_object(); }

Result<Payload> payload_from_json(EventType type, const json::value& data, std::string_view path) {
  if (static_cast<int>(type) >= kEventTypeCount) {
    return make_error(ErrorCode::invalid, "unknown event type", "type");
  }
  // Absent data is an empty object: all-optional payloads take their defaults, the others
  // report their first missing required field.
  static const json::value kEmpty = json::object();
  const json::value& d = data.is_null() ? kEmpty : data;
  Ctx c;
  Payload p = make_payload(type);
  std::visit([&](auto& payload) { read_object(c, d, path, payload); }, p);
  if (c.error) return std::move(*c.error);
  return p;
}

Result<Envelope> envelope_from_json(const json::object& body) {
  Envelope env;
  auto str = [&](std::string_view key, std::string& out) -> Status {
    const json::value* v = body.if_contains(key);
    if (!v) return {};
    if (!v->is_string())
      return make_error(ErrorCode::malformed, std::string(key) + " must be a string",
                        std::string(key));
    out = std::string(v->as_string());
    return {};
  };
  if (auto ok = str("event_id", env.event_id); !ok) return ok.take_error();
  if (auto ok = str("actor", env.actor); !ok) return ok.take_error();
  std::string occurred;
  if (auto ok = str("occurred_at", occurred); !ok) return ok.take_error();
  if (body.contains("occurred_at")) {
    auto t = parse_rfc3339(occurred);
    if (!t)
      return make_error(ErrorCode::invalid, "occurred_at must be an RFC 3339 time", "occurred_at");
    env.occurred_at = *t;
  }
  if (const json::value* v = body.if_contains("expected_version")) {
    if (!v->is_int64() && !v->is_uint64())
      return make_error(ErrorCode::malformed, "expected_version must be an integer",
                        "expected_version");
    // Range-checked on the stored kind: to_number<std::int64_t>() throws on a uint64 above
    // INT64_MAX.
    const bool in_range = v->is_int64() ? v->get_int64() >= 0 && v->get_int64() <= UINT32_MAX
                                        : v->get_uint64() <= UINT32_MAX;
    if (!in_range)
      return make_error(ErrorCode::invalid, "expected_version is out of range", "expected_version");
    env.expected_version = Version(v->to_number<std::uint32_t>());
  }
  return env;
}

Result<FilingSubmitted> submission_from_json(const json::object& body,
                                             std::initializer_list<std::string_view> envelope_keys,
                                             std::string_view path) {
  Ctx c;
  FilingSubmitted s;
  read_fields(c, body, path, s, envelope_keys);
  if (c.error) return std::move(*c.error);
  return s;
}

}  // namespace filingd
