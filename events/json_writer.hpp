// JsonWriter: JSON text appended straight to a string. The encoder behind every event and status
// JSON the daemon serves (Kafka messages, HTTP responses, exports): building a
// boost::json::object and serializing it cost an allocation per member, and made JSON encoding
// the Kafka publisher's largest cost.
//
// The text is the canonical form boost::json::serialize prints (no whitespace; `"`, `\` and
// control characters escaped, the rest of UTF-8 as is), so parsing and re-serializing it gives
// it back unchanged. It is always valid JSON: a byte of a string that is not well-formed UTF-8
// (which only a corrupt record can hold; input is validated) is written as U+FFFD.
//
// The caller pairs begin/end calls and puts a key before each member value; the writer inserts
// the commas.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "events/time.hpp"

namespace filingd {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close(']'); }

  // `k` is an identifier-like literal: written without escaping.
  JsonWriter& key(std::string_view k) {
    comma();
    out_ += '"';
    out_ += k;
    out_ += "\":";
    need_comma_ = false;
    return *this;
  }

  JsonWriter& string(std::string_view s);
  JsonWriter& number(std::uint64_t n);
  JsonWriter& boolean(bool b) { return raw(b ? "true" : "false"); }
  JsonWriter& null() { return raw("null"); }
  JsonWriter& time(Timestamp t);
  JsonWriter& time(const std::optional<Timestamp>& t) { return t ? time(*t) : null(); }
  // A value that is already JSON text.
  JsonWriter& raw(std::string_view json) {
    comma();
    out_ += json;
    need_comma_ = true;
    return *this;
  }

 private:
  void comma() {
    if (need_comma_) out_ += ',';
  }
  JsonWriter& open(char c) {
    comma();
    out_ += c;
    need_comma_ = false;
    return *this;
  }
  JsonWriter& close(char c) {
    out_ += c;
    need_comma_ = true;
    return *this;
  }

  std::string& out_;
  bool need_comma_ = false;
};

}  // namespace filingd
