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

namespace filingd {
namespace json = boost::json;
namespace {

using namespace json_fields;

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

}  // namespace

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

}  // namespace filingd
