// The HTTP server's internals, shared by its two halves: the connection table and acceptor
// (http_server.cpp) and the request loop of one connection (http_session.cpp). Internal to the
// daemon.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/tcp_stream.hpp>
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

namespace filingd {

class Api;

namespace http_internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct Connection : std::enable_shared_from_this<Connection> {
  Connection(tcp::socket socket, std::string peer)
      : stream(std::move(socket)), remote(std::move(peer)) {}
  beast::tcp_stream stream;
  const std::string remote;  // the peer's address
  bool idle = true;  // waiting for the next request; touched only on the connection's strand
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
  using tcp = http_internal::tcp;

  Impl(Api& a, const LimitsConfig& l, AccessLog* log)
      : api(a), limits(l), access_log(log), max_connections(l.max_connections) {}

  Api& api;
  LimitsConfig limits;
  AccessLog* access_log;          // null: none
  std::uint64_t max_connections;  // limits.max_connections, or less if descriptors are short
  boost::asio::io_context io;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;
  boost::asio::strand<boost::asio::io_context::executor_type> accept_strand =
      boost::asio::make_strand(io);
  tcp::acceptor acceptor{accept_strand};
  boost::asio::steady_timer accept_pause{accept_strand};
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};

  std::mutex mu;
  std::unordered_set<std::shared_ptr<Connection>> connections;  // guarded by mu
  // Connections without a request header in hand (idle keep-alive, or headers still coming),
  // the longest waiting first, in two lists: at the cap the front one of `anonymous` (no request
  // of it was admitted with a token yet) is closed to admit a new connection, and only if there
  // is none the front one of `known`. So clients without a token cannot crowd out one with.
  std::list<Connection*> anonymous, known;  // guarded by mu

  std::atomic<std::uint64_t> accepted{0}, evicted{0}, refused{0}, accept_errors{0};
  std::atomic<std::uint64_t> body_bytes{0};  // reserved by bodies being received
  std::atomic<std::uint64_t> bodies_refused{0};
  std::atomic<std::uint64_t> refused_unread{0};  // answered without reading their body
  http_internal::RateLimitedLog accept_log, full_log;

  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(std::shared_ptr<Connection> c);  // http_session.cpp
  boost::asio::awaitable<bool> write(
      Connection& c, http_internal::http::response<http_internal::http::string_body>& res);
  // Answers, logs, and tells whether the connection may go on.
  boost::asio::awaitable<bool> answer(Connection& c, HttpResponse response,
                                      const http_internal::Exchange& x, unsigned version,
                                      bool keep_alive);
  // Admits a new connection, evicting a waiting one at the cap. False: refused.
  bool admit(const std::shared_ptr<Connection>& c);
  // c waits for a request (joins the back of its waiting list unless already in one: a new
  // connection waits from its admission). False if c was evicted meanwhile.
  bool begin_wait(Connection& c);
  // The first bytes of c's next request arrived (its header may still be coming).
  void heard(Connection& c);
  // c has a request header in hand (or gave up): leaves its list. False if c was evicted.
  bool end_wait(Connection& c);
  // A request of c was admitted with a token: it is evicted only after every anonymous one.
  void mark_authenticated(Connection& c);
  // c is done: out of the table and its list.
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
