// The JSON encoders of events and payloads (json.hpp), driven by the field tables.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>

#include "events/encoding.hpp"
#include "events/json.hpp"
#include "events/json_fields.hpp"
#include "events/json_writer.hpp"
#include "events/mask.hpp"
#include "events/personal.hpp"

namespace filingd {
namespace json = boost::json;
namespace {

using namespace json_fields;

void write_value(JsonWriter& w, const std::string& s, PersonalView) { w.string(s); }
void write_value(JsonWriter& w, std::uint32_t n, PersonalView) { w.number(n); }
void write_value(JsonWriter& w, Timestamp t, PersonalView) { w.time(t); }
void write_value(JsonWriter& w, const std::optional<Timestamp>& t, PersonalView) { w.time(t); }
void write_value(JsonWriter& w, FilingType v, PersonalView) { w.string(to_string(v)); }
void write_value(JsonWriter& w, PhotoMethod v, PersonalView) { w.string(to_string(v)); }

template <class T>
void write_object(JsonWriter& w, const T& s, PersonalView view);

template <Nested T>
void write_value(JsonWriter& w, const T& s, PersonalView view) {
  write_object(w, s, view);
}

template <class T>
void write_value(JsonWriter& w, const std::vector<T>& v, PersonalView view) {
  w.begin_array();
  for (const auto& x : v) write_value(w, x, view);
  w.end_array();
}

struct Encoder {
  JsonWriter& w;
  PersonalView view;
  template <class T>
  void operator()(std::string_view key, const T& v, Rule rule = {}) {
    if constexpr (std::is_same_v<T, std::string>) {
      if (rule.omit_empty && v.empty()) return;
      if (rule.personal && view != PersonalView::clear) {
        if (view == PersonalView::omitted) return;
        w.key(key).string(mask_personal(v));
        return;
      }
    }
    w.key(key);
    write_value(w, v, view);
  }
};

template <class T>
void write_object(JsonWriter& w, const T& s, PersonalView view) {
  w.begin_object();
  Encoder e{w, view};
  describe(e, s);
  w.end_object();
}

}  // namespace

std::string mask_personal(std::string_view value) {
  // A marker says the value is unavailable; masking it would only garble that.
  if (value == kEncrypted || value == kErased) return std::string(value);
  return mask_tail(value);
}

void write_json(JsonWriter& w, const Payload& p, PersonalView view) {
  std::visit([&](const auto& payload) { write_object(w, payload, view); }, p);
}

void write_json(JsonWriter& w, const Event& e, PersonalView view) {
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
  // Events stored before principals were recorded (format 1) have none, and render as they did.
  if (e.format >= 2) w.key("principal").string(e.principal);
  w.key("data");
  write_json(w, e.data, view);
  w.key("prev_hash").string(hash(e.prev_hash));
  w.key("hash").string(hash(e.hash));
  w.end_object();
}

std::string event_json(const Event& e, PersonalView view) {
  std::string out;
  out.reserve(1024);
  JsonWriter w(out);
  write_json(w, e, view);
  return out;
}

std::string payload_json(const Payload& p, PersonalView view) {
  std::string out;
  JsonWriter w(out);
  write_json(w, p, view);
  return out;
}

json::object payload_to_json(const Payload& p) { return json::parse(payload_json(p)).as_object(); }

json::object event_to_json(const Event& e) { return json::parse(event_json(e)).as_object(); }

}  // namespace filingd
