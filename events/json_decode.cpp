// The strict JSON decoders (json.hpp), driven by the field tables. Decoders record the first
// error in a shared Ctx and carry on; the caller reports that one.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "events/encoding.hpp"
#include "events/json.hpp"
#include "events/json_fields.hpp"

namespace filingd {
namespace json = boost::json;
namespace {

using namespace json_fields;

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

// ---- the envelope of a stored event, as published ----

Error bad_field(ErrorCode code, const std::string& field, const std::string& what) {
  return make_error(code, field + " " + what, field);
}

const json::value* field(const json::object& o, const char* name) { return o.if_contains(name); }

Result<std::uint64_t> read_u64(const json::object& o, const char* name) {
  const json::value* v = field(o, name);
  if (v == nullptr) return bad_field(ErrorCode::invalid, name, "is required");
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint64_t>(v->get_int64());
  return bad_field(ErrorCode::malformed, name, "must be a non-negative integer");
}

Result<std::string> read_string(const json::object& o, const char* name) {
  const json::value* v = field(o, name);
  if (v == nullptr) return bad_field(ErrorCode::invalid, name, "is required");
  if (!v->is_string()) return bad_field(ErrorCode::malformed, name, "must be a string");
  return std::string(v->get_string());
}

Result<Timestamp> read_time(const json::object& o, const char* name) {
  auto s = read_string(o, name);
  if (!s) return s.take_error();
  auto t = parse_rfc3339(*s);
  if (!t) return bad_field(ErrorCode::invalid, name, "is not an RFC 3339 time");
  return *t;
}

Result<Hash> read_hash(const json::object& o, const char* name) {
  auto s = read_string(o, name);
  if (!s) return s.take_error();
  Hash h{};
  if (!from_hex(*s, h)) return bad_field(ErrorCode::invalid, name, "is not 64 hex digits");
  return h;
}

}  // namespace

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

Result<Payload> action_from_json(const json::object& body) {
  const json::value* type = body.if_contains("type");
  if (!type) return make_error(ErrorCode::invalid, "type is required", "type");
  if (!type->is_string()) return make_error(ErrorCode::malformed, "type must be a string", "type");
  auto event_type = parse_event_type(type->as_string());
  if (!event_type)
    return make_error(ErrorCode::invalid, "unknown event type " + std::string(type->as_string()),
                      "type");
  // An erasure needs the privacy officer's route, which also purges the destroyed key's bytes.
  if (*event_type == EventType::subject_erased)
    return make_error(ErrorCode::invalid,
                      "subject_erased is appended by POST /v1/subjects/erase (privacy_officer)",
                      "type");
  const json::value* data = body.if_contains("data");
  return payload_from_json(*event_type, data ? *data : json::value(nullptr));
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

Result<Event> event_from_json(const json::value& envelope) {
  const json::object* o = envelope.if_object();
  if (o == nullptr) return make_error(ErrorCode::malformed, "an event must be a JSON object");
  Event e;
  auto seq = read_u64(*o, "seq");
  if (!seq) return seq.take_error();
  e.seq = Seq(*seq);
  auto filing_id = read_string(*o, "filing_id");
  if (!filing_id) return filing_id.take_error();
  e.filing_id = std::move(*filing_id);
  auto version = read_u64(*o, "version");
  if (!version) return version.take_error();
  if (*version > UINT32_MAX) return bad_field(ErrorCode::invalid, "version", "is out of range");
  e.version = Version(static_cast<std::uint32_t>(*version));
  auto event_id = read_string(*o, "event_id");
  if (!event_id) return event_id.take_error();
  e.event_id = std::move(*event_id);
  auto type_name = read_string(*o, "type");
  if (!type_name) return type_name.take_error();
  const auto type = parse_event_type(*type_name);
  if (!type) return bad_field(ErrorCode::invalid, "type", "is not a known event type");
  auto schema = read_u64(*o, "schema");
  if (!schema) return schema.take_error();
  if (*schema > UINT32_MAX) return bad_field(ErrorCode::invalid, "schema", "is out of range");
  e.schema = static_cast<std::uint32_t>(*schema);
  auto occurred = read_time(*o, "occurred_at");
  if (!occurred) return occurred.take_error();
  e.occurred_at = *occurred;
  auto recorded = read_time(*o, "recorded_at");
  if (!recorded) return recorded.take_error();
  e.recorded_at = *recorded;
  auto actor = read_string(*o, "actor");
  if (!actor) return actor.take_error();
  e.actor = std::move(*actor);
  if (field(*o, "principal") != nullptr) {
    auto principal = read_string(*o, "principal");
    if (!principal) return principal.take_error();
    e.principal = std::move(*principal);
  }
  static const json::value kNull;
  const json::value* data = field(*o, "data");
  auto payload = payload_from_json(*type, data ? *data : kNull);
  if (!payload) return payload.take_error();
  e.data = std::move(*payload);
  auto prev = read_hash(*o, "prev_hash");
  if (!prev) return prev.take_error();
  e.prev_hash = *prev;
  auto hash = read_hash(*o, "hash");
  if (!hash) return hash.take_error();
  e.hash = *hash;
  return e;
}

}  // namespace filingd
