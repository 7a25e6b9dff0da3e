// find_duplicate_key (json.hpp): a pass of Boost.JSON's SAX parser that remembers the keys of
// each open object. Boost.JSON's DOM parser keeps one of two equal keys silently, so the check
// cannot be made on the parsed value.
#include <boost/json/basic_parser_impl.hpp>

#include <algorithm>
#include <vector>

#include "events/json.hpp"

namespace filingd {
namespace json = boost::json;
namespace {

class DuplicateFinder {
 public:
  static constexpr std::size_t max_array_size = -1;
  static constexpr std::size_t max_object_size = -1;
  static constexpr std::size_t max_string_size = -1;
  static constexpr std::size_t max_key_size = -1;

  std::optional<std::string> duplicate;

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_array_begin(json::error_code&) {
    path_.push_back(Level{false, keys_.size()});
    return true;
  }
  bool on_array_end(std::size_t, json::error_code&) {
    path_.pop_back();
    return true;
  }
  bool on_object_begin(json::error_code&) {
    path_.push_back(Level{true, keys_.size()});
    return true;
  }
  bool on_object_end(std::size_t, json::error_code&) {
    keys_.resize(path_.back().first_key);
    path_.pop_back();
    return true;
  }
  bool on_string_part(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code& ec) {
    key_.append(s.data(), s.size());
    Level& level = path_.back();
    const auto begin = keys_.begin() + static_cast<std::ptrdiff_t>(level.first_key);
    if (std::find(begin, keys_.end(), key_) != keys_.end()) {
      duplicate = where() + key_;
      ec = json::error::syntax;  // stops the parse
      return false;
    }
    keys_.push_back(std::move(key_));
    key_.clear();
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, json::error_code&) { return true; }
  bool on_uint64(std::uint64_t, json::string_view, json::error_code&) { return true; }
  bool on_double(double, json::string_view, json::error_code&) { return true; }
  bool on_bool(bool, json::error_code&) { return true; }
  bool on_null(json::error_code&) { return true; }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  struct Level {
    bool object;
    std::size_t first_key;  // its keys are keys_[first_key..]
  };
  // "a.b." for the key being added inside {"a": {"b": {...}}}: the last key of each enclosing
  // object (arrays add nothing: "websites." for any element of websites).
  std::string where() const {
    std::string out;
    for (std::size_t i = 0; i + 1 < path_.size(); ++i) {
      if (!path_[i].object) continue;
      const std::size_t end = path_[i + 1].first_key;
      if (end > path_[i].first_key) out += keys_[end - 1] + ".";
    }
    return out;
  }
  std::vector<Level> path_;
  std::vector<std::string> keys_;  // of every open object, innermost last
  std::string key_;                // the key being read
};

}  // namespace

std::optional<std::string> find_duplicate_key(std::string_view text) {
  json::basic_parser<DuplicateFinder> parser{json::parse_options{}};
  json::error_code ec;
  parser.write_some(false, text.data(), text.size(), ec);
  return std::move(parser.handler().duplicate);
}

}  // namespace filingd
