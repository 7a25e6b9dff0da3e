#include "daemon/http_server.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <limits>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include "daemon/api.hpp"
#include "daemon/router.hpp"
#include "metrics/prometheus.hpp"

namespace filingd {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::uint32_t kHeaderLimit = 16 * 1024;
// The first bytes of each request are read into a buffer this size in the connection's frame;
// between requests a connection holds no heap read buffer, so idle clients cost little.
constexpr std::size_t kFirstRead = 512;
// After an accept failed for want of descriptors or memory, accepting pauses this long (the
// pending connections wait in the listen backlog) rather than failing again at once in a loop.
constexpr auto kAcceptPause = std::chrono::milliseconds(100);
// Accept failures and a full connection table are logged at most once per period.
constexpr auto kLogPeriod = std::chrono::seconds(5);

struct Connection : std::enable_shared_from_this<Connection> {
  explicit Connection(tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
  bool idle = true;  // waiting for the next request; touched only on the connection's strand
  // Guarded by HttpServer::Impl::mu.
  bool waiting = false;  // in Impl::waiting: no request header in hand yet (evictable)
  bool evicted = false;  // closed to make room at the connection cap
  std::list<Connection*>::iterator waiting_pos;
};

bool out_of_resources(const boost::system::error_code& ec) {
  return ec == asio::error::no_descriptors ||
         ec == boost::system::errc::too_many_files_open_in_system ||
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

// Descriptors kept back from the connection cap for RocksDB's files, Kafka's sockets, logs.
std::uint64_t reserved_fds(std::uint64_t open_files) {
  return std::clamp<std::uint64_t>(open_files / 4, 64, 1024);
}

// For a warning logged at most once per kLogPeriod: tick() at each occurrence returns how many
// occurrences to report now (this one included), or 0 to stay quiet.
class RateLimitedLog {
 public:
  std::uint64_t tick() {
    std::lock_guard lock(mu_);
    ++count_;
    const auto now = std::chrono::steady_clock::now();
    if (logged_ && now - last_ < kLogPeriod) return 0;
    logged_ = true;
    last_ = now;
    return std::exchange(count_, 0);
  }

 private:
  std::mutex mu_;
  bool logged_ = false;
  std::chrono::steady_clock::time_point last_;
  std::uint64_t count_ = 0;
};

}  // namespace

struct HttpServer::Impl {
  Impl(Api& a, const LimitsConfig& l) : api(a), limits(l), max_connections(l.max_connections) {}

  Api& api;
  LimitsConfig limits;
  std::uint64_t max_connections;  // limits.max_connections, or less if descriptors are short
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  asio::strand<asio::io_context::executor_type> accept_strand = asio::make_strand(io);
  tcp::acceptor acceptor{accept_strand};
  asio::steady_timer accept_pause{accept_strand};
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};

  std::mutex mu;
  std::unordered_set<std::shared_ptr<Connection>> connections;  // guarded by mu
  // Connections without a request header in hand (idle keep-alive, or headers still coming),
  // the longest waiting first: at the cap the front one is closed to admit a new connection.
  std::list<Connection*> waiting;  // guarded by mu

  std::atomic<std::uint64_t> accepted{0}, evicted{0}, refused{0}, accept_errors{0};
  std::atomic<std::uint64_t> body_bytes{0};  // reserved by bodies being received
  std::atomic<std::uint64_t> bodies_refused{0};
  RateLimitedLog accept_log, full_log;

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(std::shared_ptr<Connection> c);
  asio::awaitable<bool> write(Connection& c, http::response<http::string_body>& res);
  asio::awaitable<void> reject(Connection& c, Error e, http::status status);
  // Admits a new connection, evicting the longest-waiting one at the cap. False: refused.
  bool admit(const std::shared_ptr<Connection>& c);
  // c waits for a request (joins the back of `waiting` unless already in it: a new connection
  // waits from its admission). False if c was evicted meanwhile.
  bool begin_wait(Connection& c);
  // c has a request header in hand (or gave up): leaves `waiting`. False if c was evicted.
  bool end_wait(Connection& c);

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

namespace {

std::chrono::milliseconds ms(std::uint32_t v) { return std::chrono::milliseconds(v); }

http::response<http::string_body> to_beast(HttpResponse r, unsigned version, bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "filingd");
  res.set(http::field::content_type, r.content_type);
  for (auto& [k, v] : r.headers) res.set(k, v);
  res.body() = std::move(r.body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

}  // namespace

asio::awaitable<bool> HttpServer::Impl::write(Connection& c,
                                              http::response<http::string_body>& res) {
  boost::system::error_code ec;
  c.stream.expires_after(ms(limits.read_timeout_ms));
  co_await http::async_write(c.stream, res, asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec;
}

// Answers a request we could not read (too large, malformed) and closes the connection: the
// rest of the stream cannot be trusted to be in step.
asio::awaitable<void> HttpServer::Impl::reject(Connection& c, Error e, http::status status) {
  HttpResponse r = error_response(e);
  r.status = static_cast<int>(status);
  if (status == http::status::service_unavailable) r.headers.emplace_back("Retry-After", "1");
  auto res = to_beast(std::move(r), 11, false);
  co_await write(c, res);
}

bool HttpServer::Impl::begin_wait(Connection& c) {
  std::lock_guard lock(mu);
  if (c.evicted) return false;
  if (!c.waiting) {  // (a new connection waits from its admission on)
    c.waiting_pos = waiting.insert(waiting.end(), &c);
    c.waiting = true;
  }
  return true;
}

bool HttpServer::Impl::end_wait(Connection& c) {
  std::lock_guard lock(mu);
  if (c.waiting) waiting.erase(c.waiting_pos);
  c.waiting = false;
  return !c.evicted;
}

bool HttpServer::Impl::admit(const std::shared_ptr<Connection>& c) {
  std::shared_ptr<Connection> victim;
  {
    std::lock_guard lock(mu);
    if (connections.size() >= max_connections) {
      if (waiting.empty()) return false;  // every connection is busy with a request
      Connection* v = waiting.front();
      waiting.pop_front();
      v->waiting = false;
      v->evicted = true;
      victim = v->shared_from_this();  // alive: `connections` holds it until serve() ends
    }
    connections.insert(c);
    c->waiting_pos = waiting.insert(waiting.end(), c.get());  // no request in hand yet
    c->waiting = true;
  }
  if (victim) {
    ++evicted;
    // Aborts its wait for a request; if a header arrived meanwhile, end_wait() tells it.
    asio::post(victim->stream.get_executor(), [victim] { victim->stream.cancel(); });
  }
  return true;
}

asio::awaitable<void> HttpServer::Impl::serve(std::shared_ptr<Connection> c) {
  beast::flat_buffer buffer;
  std::array<char, kFirstRead> first;
  boost::system::error_code ec;
  for (;;) {
    c->idle = true;
    if (stopping) break;
    if (buffer.size() == 0) {
      // No request in hand: wait for the first bytes of the next one with the idle timeout,
      // holding no heap buffer meanwhile. Until its header is complete, the connection may be
      // closed to make room at the connection cap. (Pipelined requests already read are in
      // hand: they are parsed at once.)
      if (!begin_wait(*c)) break;
      buffer.shrink_to_fit();
      c->stream.expires_after(ms(limits.idle_timeout_ms));
      const std::size_t n = co_await c->stream.async_read_some(
          asio::buffer(first), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      buffer.commit(asio::buffer_copy(buffer.prepare(n), asio::buffer(first.data(), n)));
    }
    c->idle = false;
    // ...then the whole header must arrive within the header timeout (slowloris).
    http::request_parser<http::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(limits.max_body_bytes);
    c->stream.expires_after(ms(limits.header_timeout_ms));
    co_await http::async_read_header(c->stream, buffer, parser,
                                     asio::redirect_error(asio::use_awaitable, ec));
    if (!end_wait(*c)) break;  // evicted at the connection cap while the header was coming
    BodyGrant body;
    if (!ec && !parser.is_done()) {
      body = BodyGrant(*this, parser.content_length().value_or(limits.max_body_bytes));
      if (!body) {
        ++bodies_refused;
        co_await reject(*c,
                        make_error(ErrorCode::unavailable,
                                   "too many request bodies are being received; retry shortly"),
                        http::status::service_unavailable);
        break;
      }
      c->stream.expires_after(ms(limits.read_timeout_ms));
      co_await http::async_read(c->stream, buffer, parser,
                                asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec == http::error::body_limit) {
      co_await reject(
          *c,
          make_error(ErrorCode::too_large,
                     "request body exceeds " + std::to_string(limits.max_body_bytes) + " bytes"),
          http::status::payload_too_large);
      break;
    }
    if (ec == http::error::header_limit) {
      co_await reject(*c, make_error(ErrorCode::too_large, "request header too large"),
                      http::status::request_header_fields_too_large);
      break;
    }
    if (ec == beast::error::timeout && buffer.size() > 0) {
      co_await reject(*c, make_error(ErrorCode::malformed, "request not received in time"),
                      http::status::request_timeout);
      break;
    }
    if (ec && ec.category() == http::make_error_code(http::error::bad_target).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      co_await reject(*c, make_error(ErrorCode::malformed, "malformed HTTP: " + ec.message()),
                      http::status::bad_request);
      break;
    }
    if (ec) break;

    auto& req = parser.get();
    HttpRequest request{std::string(req.method_string()), std::string(req.target()),
                        std::string(req[http::field::authorization]), std::move(req.body())};
    const unsigned version = req.version();
    const bool keep_alive = req.keep_alive();
    HttpResponse response;
    bool failed = false;
    try {
      response = co_await api.handle(std::move(request));
    } catch (const std::exception& ex) {
      // A bug or an exhausted resource in one handler costs that request, not the daemon nor
      // the connection's bookkeeping below.
      spdlog::error("request handler failed: {}", ex.what());
      failed = true;
    }
    if (failed) response = error_response(make_error(ErrorCode::internal, "internal error"));
    auto res = to_beast(std::move(response), version, keep_alive && !stopping);
    if (!co_await write(*c, res) || !res.keep_alive()) break;
  }
  c->stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  c->stream.close();
  std::lock_guard lock(mu);
  if (c->waiting) waiting.erase(c->waiting_pos);
  c->waiting = false;
  connections.erase(c);
}

asio::awaitable<void> HttpServer::Impl::accept_loop() {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket socket = co_await acceptor.async_accept(
        asio::make_strand(io), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (stopping || ec == asio::error::operation_aborted) co_return;
      ++accept_errors;
      if (const auto n = accept_log.tick())
        spdlog::warn("accept failed ({} times since the last report): {}", n, ec.message());
      if (out_of_resources(ec)) {
        // The connection waits in the listen backlog; retrying at once would spin.
        accept_pause.expires_after(kAcceptPause);
        co_await accept_pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (stopping) co_return;
      }
      continue;
    }
    ++accepted;
    auto c = std::make_shared<Connection>(std::move(socket));
    if (!admit(c)) {
      ++refused;
      if (const auto n = full_log.tick())
        spdlog::warn(
            "connection cap of {} reached with every connection busy: {} new "
            "connections refused since the last report",
            max_connections, n);
      c->stream.close();
      continue;
    }
    auto executor = c->stream.get_executor();
    asio::co_spawn(executor, serve(std::move(c)), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::error("connection failed: {}", ex.what());
      }
    });
  }
}

std::uint64_t raise_open_files_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur != rl.rlim_max) {
    rlimit raised{rl.rlim_max, rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  return rl.rlim_cur == RLIM_INFINITY ? std::numeric_limits<std::uint64_t>::max() : rl.rlim_cur;
}

HttpServer::HttpServer(Api& api, const LimitsConfig& limits)
    : impl_(std::make_unique<Impl>(api, limits)) {}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::start(const std::string& host, std::uint16_t port, unsigned threads) {
  // Every connection is a descriptor: the cap must leave room for the ledger's and Kafka's.
  if (rlimit rl{}; getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    const std::uint64_t reserve = reserved_fds(rl.rlim_cur);
    const std::uint64_t room = rl.rlim_cur > reserve ? rl.rlim_cur - reserve : 1;
    if (impl_->max_connections > room) {
      spdlog::warn(
          "limits.max_connections {} does not fit the open files limit {} (keeping {} for the "
          "ledger and Kafka): at most {} connections; raise the hard limit (ulimit -Hn, "
          "systemd LimitNOFILE=) to allow more",
          impl_->max_connections, rl.rlim_cur, reserve, room);
      impl_->max_connections = room;
    }
  }
  boost::system::error_code ec;
  // An address, or a name such as localhost: its first address is the one listened on.
  tcp::resolver resolver(impl_->io);
  const auto resolved = resolver.resolve(host, std::to_string(port),
                                         tcp::resolver::numeric_service | tcp::resolver::passive, ec);
  if (ec || resolved.empty())
    return make_error(ErrorCode::invalid, "bad listen address " + host + ": " + ec.message());
  const tcp::endpoint endpoint = resolved.begin()->endpoint();
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return make_error(ErrorCode::io, "cannot listen on " + host + ":" + std::to_string(port) +
                                         ": " + ec.message());
  impl_->work.emplace(impl_->io.get_executor());
  asio::co_spawn(impl_->accept_strand, impl_->accept_loop(), asio::detached);
  for (unsigned i = 0; i < std::max(1u, threads); ++i)
    impl_->threads.emplace_back([this] { impl_->io.run(); });
  return {};
}

std::uint64_t HttpServer::max_connections() const { return impl_->max_connections; }

void HttpServer::render_metrics(prometheus::Writer& w) const {
  std::size_t open = 0;
  {
    std::lock_guard lock(impl_->mu);
    open = impl_->connections.size();
  }
  w.gauge("filingd_http_connections", "Open HTTP connections.", static_cast<double>(open));
  w.gauge("filingd_http_connections_max",
          "The connection cap in force (limits.max_connections, lowered to fit the open files "
          "limit).",
          static_cast<double>(impl_->max_connections));
  w.counter("filingd_http_connections_accepted_total", "Connections accepted.",
            impl_->accepted.load());
  w.counter("filingd_http_connections_evicted_total",
            "Connections waiting for a request that were closed to admit a new one at the cap.",
            impl_->evicted.load());
  w.counter("filingd_http_connections_refused_total",
            "New connections closed at once: the cap was reached and every connection was busy.",
            impl_->refused.load());
  w.counter("filingd_http_accept_errors_total", "Failed accept calls (e.g. EMFILE).",
            impl_->accept_errors.load());
  w.gauge("filingd_http_body_bytes_in_flight",
          "Request body bytes reserved by requests being received and handled.",
          static_cast<double>(impl_->body_bytes.load()));
  w.counter("filingd_http_bodies_refused_total",
            "Requests answered 503: limits.max_bodies_in_flight_bytes was reached.",
            impl_->bodies_refused.load());
}

std::uint16_t HttpServer::port() const {
  boost::system::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

void HttpServer::stop() {
  if (impl_->stopping.exchange(true)) return;
  asio::post(impl_->accept_strand, [this] {
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
    impl_->accept_pause.cancel();
  });
  {
    // Idle connections are closed now; busy ones finish their request and then close.
    std::lock_guard lock(impl_->mu);
    for (const auto& c : impl_->connections) {
      asio::post(c->stream.get_executor(), [c] {
        if (c->idle) c->stream.cancel();
      });
    }
  }
  impl_->work.reset();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

}  // namespace filingd
