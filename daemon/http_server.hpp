// The HTTP/1.1 server: Beast's parser on Asio, one coroutine per connection. Each I/O thread
// runs an io_context of its own; the acceptor hands new connections to them in turn, and a
// connection stays on its thread (http_server_impl.hpp).
//
// Robustness: a deadline on every read (headers must arrive within header_timeout, the body
// within read_timeout, the next request on a kept-alive connection within idle_timeout), header
// and body size limits (431 / 413, then the connection is closed); a protocol error closes that
// connection only. Pipelined requests are answered in order.
//
// Connection cap: at most limits.max_connections connections, lowered at start() to fit the
// open files limit less a reserve for the ledger and Kafka. At the cap, the connection that has
// waited longest without a request header in hand (an idle keep-alive connection, or a client
// still sending its headers: slowloris) is closed to admit the new one; if every connection is
// busy with a request, the new connection is closed at once. An evicted connection counts until
// its thread has closed it; while a few are still closing (a thread lagging), accepting waits
// for them rather than evicting more. Between requests a connection holds no heap read buffer.
// Accept failures for want of descriptors or memory pause accepting briefly instead of spinning.
// /metrics shows the counts (render_metrics).
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

class AccessLog;
class Api;
namespace prometheus {
class Writer;
}

// Raises the process's soft RLIMIT_NOFILE to its hard limit (each connection is a descriptor;
// the soft limit is often 1024). Returns the soft limit now in force.
std::uint64_t raise_open_files_limit();

class HttpServer {
 public:
  // `access_log` (may be null) must outlive the server.
  HttpServer(Api& api, const LimitsConfig& limits, AccessLog* access_log = nullptr);
  ~HttpServer();

  // Binds host:port and starts `threads` I/O threads.
  Status start(const std::string& host, std::uint16_t port, unsigned threads);
  std::uint16_t port() const;
  // The connection cap in force (after start()).
  std::uint64_t max_connections() const;
  // Open connections, the cap, accepted / evicted / refused, accept errors. Thread-safe.
  void render_metrics(prometheus::Writer& w) const;
  // Graceful: stop accepting, finish in-flight requests, close idle connections, join threads.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace filingd
