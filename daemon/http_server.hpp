// The HTTP/1.1 server: Boost.Beast on Asio, one coroutine per connection on its own strand,
// the io_context run by several threads.
//
// Robustness: a deadline on every read (headers must arrive within header_timeout, the body
// within read_timeout, the next request on a kept-alive connection within idle_timeout), header
// and body size limits (431 / 413, then the connection is closed), a cap on open connections;
// a protocol error closes that connection only. Pipelined requests are answered in order.
//
// Lifecycle: start() binds and begins accepting (port 0 picks a free port: see port());
// stop() stops accepting, lets in-flight requests finish and closes idle connections, then
// returns once every connection is gone. Thread-safe: stop() may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "events/result.hpp"

namespace filingd {

class Api;
}  // namespace filingd
namespace boost::asio {
class io_context;
}
namespace filingd {

class HttpServer {
 public:
  HttpServer(Api& api, const LimitsConfig& limits);
  ~HttpServer();

  // Binds host:port and starts `threads` I/O threads.
  Status start(const std::string& host, std::uint16_t port, unsigned threads);
  std::uint16_t port() const;
  // The io_context the server runs on; other daemon services (timers) share it.
  boost::asio::io_context& io();
  // Graceful: stop accepting, finish in-flight requests, close idle connections, join threads.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace filingd
