// Result<T>: the one error-carrying return type of filingd.
//
// Every fallible function returns Result<T> (or Status = Result<void>). Library errors
// (rocksdb::Status, librdkafka codes, boost::system::error_code) are converted to Error at the
// module edge, so callers see one vocabulary. ErrorCode maps 1:1 onto the HTTP status the API
// reports, which keeps the error mapping in one place (the dispatcher).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "events/domain.hpp"

namespace filingd {

enum class ErrorCode {
  malformed,               // 400: not parseable / wrong JSON types
  unauthorized,            // 401
  forbidden,               // 403
  not_found,               // 404
  conflict,                // 409: version conflict, duplicate id, subject has an open filing
  too_large,               // 413
  invalid,                 // 422: a field value is invalid
  transition_not_allowed,  // 422: the event is not allowed in the filing's state
  io,                      // 500: storage failure
  unavailable,             // 503: shutting down, or projections need a rebuild
  internal,                // 500: a bug
};

// A failed operation. `field` names the offending input field (dotted path) when there is one.
struct Error {
  ErrorCode code = ErrorCode::internal;
  std::string message;
  std::string field;
  // transition_not_allowed: the filing's state when the event was refused (the API names it and
  // the events allowed in it, without reading the filing again).
  std::optional<FilingState> state;
  // An import's refusal (SPEC §6.6): the position of the refused event in the import's events.
  std::optional<std::size_t> index;
};

const char* to_string(ErrorCode code);

inline Error make_error(ErrorCode code, std::string message, std::string field = {}) {
  return Error{code, std::move(message), std::move(field)};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<1>(v_); }
  Error&& take_error() { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error)
      : err_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return err_; }
  Error&& take_error() { return std::move(err_); }

 private:
  Error err_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace filingd
