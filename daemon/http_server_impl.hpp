// The HTTP server's internals, shared by its two halves: the workers, connection table and
// acceptor (http_server.cpp) and the request loop of one connection (http_session.cpp). Internal
// to the daemon.
//
// Threads: each I/O thread runs its own io_context (concurrency hint 1: no scheduler shared
// between threads) and serves the connections the acceptor hands it, round-robin. A connection
// lives on one thread, so its coroutine needs no strand. What threads share is the connection
// table and its waiting lists (Impl::mu, touched when a connection comes, goes, or starts and
// stops waiting for a request) and the counters.
//
// Timeouts: no timer per connection. A connection's I/O in progress carries a deadline; each
// worker sweeps its connections every sweep period and cancels the I/O of those past it, which
// then fails with beast::error::timeout. So timeouts fire up to one period late.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <atomic>
#include <chrono>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "daemon/access_log.hpp"
#include "daemon/http.hpp"
#include "daemon/http_server.hpp"
#include "daemon/router.hpp"

namespace filingd {

class Api;

namespace http_internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
// With the concrete executor type of router.hpp: no type-erased executor on the I/O path.
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock,
                                         asio::wait_traits<std::chrono::steady_clock>, Executor>;

struct Worker;

struct Connection : std::enable_shared_from_this<Connection> {
  Connection(Socket s, std::string peer, Worker& w)
      : socket(std::move(s)), remote(std::move(peer)), worker(w) {}
  Socket socket;
  const std::string remote;  // the peer's address
  Worker& worker;            // the thread it lives on
  // Touched only on the worker's thread.
  bool idle = true;        // waiting for the next request
  bool timed_out = false;  // the sweep cancelled its I/O
  bool closing = false;    // evicted: the sweep cancels its I/O until it ends
  std::size_t slot = 0;    // in worker.connections
  // When the I/O in progress must end (the sweep enforces it); max: no I/O in progress.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  // Guarded by HttpServer::Impl::mu.
  bool waiting = false;        // in a waiting list: no request header in hand (evictable)
  bool authenticated = false;  // a request of it was admitted with a valid token
  bool evicted = false;        // closed to make room at the connection cap
  std::list<Connection*>::iterator waiting_pos;
  // When it began waiting, and when the first bytes of its next request arrived (unset: none
  // yet): which waiting connection to evict first (HttpServer::Impl::admit).
  std::chrono::steady_clock::time_point waiting_since;
  std::optional<std::chrono::steady_clock::time_point> heard_at;
};

// One I/O thread and what only it touches.
struct Worker {
  asio::io_context io{1};
  Timer sweep{io.get_executor()};        // the deadline sweep, re-armed every period
  std::vector<Connection*> connections;  // served here, for the sweep
  // Read buffers of finished requests, lent to the next ones: a connection holds one only
  // while it has a request in hand, and no request allocates one anew.
  std::vector<beast::flat_buffer> spare_buffers;
  // The fewest spare buffers since the last sweep: so many went unused for a whole period. The
  // sweep frees them, so a burst (a slowloris wave holds one per connection) leaves none behind.
  std::size_t spare_low = 0;
  // Access log lines of requests answered here, written out at each sweep, when large, and when
  // the worker ends: no lock per request.
  std::string access_batch;
  // Set by stop() once no new connection can come: the sweep ends with the last connection,
  // and with it the io_context's run().
  bool draining = false;
  std::thread thread;

  beast::flat_buffer take_buffer();
  void give_buffer(beast::flat_buffer&& b);
  // At each sweep: frees the spare buffers unused since the last one.
  void trim_spare_buffers();
};

// What the access log says of one request, gathered as it goes.
struct Exchange {
  Timestamp time;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::string request_id;
  std::string method;
  std::string principal;
  std::string_view route = "unmatched";
  std::string filing_id;
};

// For a warning logged at most once per period: tick() at each occurrence returns how many
// occurrences to report now (this one included), or 0 to stay quiet.
class RateLimitedLog {
 public:
  std::uint64_t tick();

 private:
  std::mutex mu_;
  bool logged_ = false;
  std::chrono::steady_clock::time_point last_;
  std::uint64_t count_ = 0;
};

}  // namespace http_internal

struct HttpServer::Impl {
  using Connection = http_internal::Connection;
  using Worker = http_internal::Worker;
  using tcp = http_internal::tcp;

  Impl(Api& a, const LimitsConfig& l, AccessLog* log);

  Api& api;
  LimitsConfig limits;
  AccessLog* access_log;          // null: none
  std::uint64_t max_connections;  // limits.max_connections, or less if descriptors are short
  std::chrono::milliseconds sweep_period;
  // Created by start(); the acceptor and its pause timer live on the first worker.
  std::vector<std::unique_ptr<Worker>> workers;
  std::optional<http_internal::Acceptor> acceptor;
  std::optional<http_internal::Timer> accept_pause;
  std::size_t next_worker = 0;  // round-robin; touched by the accept loop only
  std::uint16_t bound_port = 0;
  std::atomic<bool> stopping{false};

  std::mutex mu;
  std::unordered_set<std::shared_ptr<Connection>> connections;  // guarded by mu
  // Connections without a request header in hand (idle keep-alive, or headers still coming),
  // the longest waiting first, in two lists: at the cap the front one of `anonymous` (no request
  // of it was admitted with a token yet) is closed to admit a new connection, and only if there
  // is none the front one of `known`. So clients without a token cannot crowd out one with.
  std::list<Connection*> anonymous, known;  // guarded by mu
  std::uint64_t evictions_pending = 0;      // evicted connections not closed yet; guarded by mu

  std::atomic<std::uint64_t> accepted{0}, evicted{0}, refused{0}, accept_errors{0};
  std::atomic<std::uint64_t> body_bytes{0};  // reserved by bodies being received
  std::atomic<std::uint64_t> bodies_refused{0};
  std::atomic<std::uint64_t> refused_unread{0};  // answered without reading their body
  http_internal::RateLimitedLog accept_log, full_log;

  Task<void> accept_loop();
  Task<void> serve(std::shared_ptr<Connection> c);  // http_session.cpp
  // Answers, logs, and tells whether the connection may go on.
  Task<bool> answer(Connection& c, HttpResponse response, const http_internal::Exchange& x,
                    unsigned version, bool keep_alive);
  // Every sweep period: cancels the I/O of w's connections past their deadline, writes out
  // their access log lines.
  void arm_sweep(Worker& w);
  void write_access_log(Worker& w);
  // Admits a new connection, evicting a waiting one at the cap; or refuses it (every
  // connection busy); or says to wait, evicted connections being still about to close.
  enum class Admit { admitted, refused, wait };
  Admit admit(const std::shared_ptr<Connection>& c);
  // c waits for a request (joins the back of its waiting list unless already in one: a new
  // connection waits from its admission). False if c was evicted meanwhile.
  bool begin_wait(Connection& c);
  // The first bytes of c's next request arrived, not its whole header: c waits for the rest
  // (and joins its waiting list unless already in one). False if c was evicted meanwhile.
  bool heard(Connection& c);
  // c has a request header in hand (or gave up): leaves its list. False if c was evicted.
  bool end_wait(Connection& c);
  // A request of c was admitted with a token: it is evicted only after every anonymous one.
  void mark_authenticated(Connection& c);
  // c joins the back of its waiting list unless already in one. Under mu.
  void join_waiting(Connection& c);
  // c is done: out of the table, its list and its worker.
  void forget(const std::shared_ptr<Connection>& c);

  // A share of limits.max_bodies_in_flight_bytes, held while one request body is received and
  // handled. Empty if the budget has no room.
  class BodyGrant {
   public:
    BodyGrant() = default;
    BodyGrant(Impl& impl, std::uint64_t bytes) {
      std::uint64_t now = impl.body_bytes.load();
      do {
        if (now + bytes > impl.limits.max_bodies_in_flight_bytes) return;
      } while (!impl.body_bytes.compare_exchange_weak(now, now + bytes));
      impl_ = &impl;
      bytes_ = bytes;
    }
    BodyGrant(BodyGrant&& o) noexcept : impl_(std::exchange(o.impl_, nullptr)), bytes_(o.bytes_) {}
    BodyGrant& operator=(BodyGrant&& o) noexcept {
      std::swap(impl_, o.impl_);
      std::swap(bytes_, o.bytes_);
      return *this;
    }
    ~BodyGrant() {
      if (impl_) impl_->body_bytes -= bytes_;
    }
    explicit operator bool() const { return impl_ != nullptr; }

   private:
    Impl* impl_ = nullptr;
    std::uint64_t bytes_ = 0;
  };
};

}  // namespace filingd
