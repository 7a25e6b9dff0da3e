// The access log (SPEC §5.6): one JSON line per request, in server.access_log. Attributes every
// request to its principal without recording what it carried: no bodies, no query strings, no
// personal data; the route template stands for the path, and only a filing id is named.
//
// Lines go through a buffered file (spdlog's) flushed every second and when the log closes, so
// logging costs a request a formatted line and a lock, not a write() call.
// Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "events/result.hpp"
#include "events/time.hpp"

namespace spdlog {
class logger;
}

namespace filingd {

struct AccessEntry {
  Timestamp time;  // when the request's header was in
  std::string_view request_id;
  std::string_view principal;  // empty: none (a public route, or refused before one was known)
  std::string_view remote;     // the peer's address
  std::string_view method;
  std::string_view route;      // the route's template, "unmatched" if none
  std::string_view filing_id;  // empty: none
  int status = 0;
  std::uint64_t bytes = 0;  // of the response body
  std::uint64_t micros = 0;
};

class AccessLog {
 public:
  // Opens (appends to) `path`, created 0600. Errors: io, naming the path.
  static Result<std::unique_ptr<AccessLog>> open(const std::string& path);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  void write(const AccessEntry& e);
  // The JSON line of an entry, without its newline.
  static std::string line(const AccessEntry& e);

 private:
  explicit AccessLog(std::shared_ptr<spdlog::logger> logger) : logger_(std::move(logger)) {}
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace filingd
