#include "privacy/wrap.hpp"

namespace filingd::privacy {

namespace {

std::string wrap_aad(std::uint8_t version, std::string_view subject_ref) {
  std::string aad;
  aad.reserve(1 + subject_ref.size());
  aad.push_back(static_cast<char>(version));
  aad.append(subject_ref);
  return aad;
}

}  // namespace

Result<std::string> wrap_data_key(const Key& wrap_key, const Key& data_key,
                                  std::string_view subject_ref) {
  Result<std::string> sealed =
      seal(wrap_key, data_key.view(), wrap_aad(kWrapVersion1, subject_ref));
  if (!sealed) return sealed.take_error();
  std::string out;
  out.reserve(kWrappedKeySize);
  out.push_back(static_cast<char>(kWrapVersion1));
  out.append(*sealed);
  return out;
}

Result<Key> unwrap_data_key(const Key& wrap_key, std::string_view wrapped,
                            std::string_view subject_ref) {
  const std::string expected = std::to_string(kWrappedKeySize);
  // The version is checked before the length so that a future format of another size is
  // reported as what it is, not as truncated.
  if (!wrapped.empty() && static_cast<std::uint8_t>(wrapped[0]) != kWrapVersion1) {
    return make_error(ErrorCode::invalid,
                      "wrapped key has unknown format version " +
                          std::to_string(static_cast<std::uint8_t>(wrapped[0])));
  }
  if (wrapped.size() < kWrappedKeySize) {
    return make_error(ErrorCode::invalid, "wrapped key is truncated (" +
                                              std::to_string(wrapped.size()) + " of " + expected +
                                              " bytes)");
  }
  if (wrapped.size() > kWrappedKeySize) {
    return make_error(ErrorCode::invalid, "wrapped key is too long (" +
                                              std::to_string(wrapped.size()) + " bytes, expected " +
                                              expected + ")");
  }
  Result<std::string> plain =
      open(wrap_key, wrapped.substr(1), wrap_aad(kWrapVersion1, subject_ref));
  if (!plain) {
    if (plain.error().code == ErrorCode::io)
      return make_error(ErrorCode::io, "wrong master key, or the wrapped key was altered");
    return plain.take_error();
  }
  Result<Key> key = Key::from_bytes(*plain);
  cleanse(*plain);
  return key;
}

}  // namespace filingd::privacy
