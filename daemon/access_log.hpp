// The access log (SPEC §5.6): one JSON line per request, in server.access_log. Attributes every
// request to its principal without recording what it carried: no bodies, no query strings, no
// personal data; the route template stands for the path, and only a filing id is named.
//
// Each writer gathers lines into a batch of its own and hands it over whole (the HTTP server: each
// I/O thread, at least every sweep period, see http_server_impl.hpp), through a buffered file
// (spdlog's) flushed every second and when the log closes: a request costs a formatted line, not
// a lock nor a write() call. Thread-safe.
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

  // Appends the JSON line of `e`, with its newline, to a batch.
  static void append(std::string& batch, const AccessEntry& e);
  // Writes a batch of lines made by append().
  void write(std::string_view batch);

 private:
  explicit AccessLog(std::shared_ptr<spdlog::logger> logger) : logger_(std::move(logger)) {}
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace filingd
