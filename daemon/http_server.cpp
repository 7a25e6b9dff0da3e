#include "daemon/http_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>
#include <vector>

#include "daemon/api.hpp"

namespace filingd {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::uint32_t kHeaderLimit = 16 * 1024;

struct Connection {
  explicit Connection(tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
  bool idle = true;  // waiting for the next request; touched only on the connection's strand
};

}  // namespace

struct HttpServer::Impl {
  Impl(Api& a, const LimitsConfig& l) : api(a), limits(l) {}

  Api& api;
  LimitsConfig limits;
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};

  std::mutex mu;
  std::unordered_set<std::shared_ptr<Connection>> connections;  // guarded by mu

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(std::shared_ptr<Connection> c);
  asio::awaitable<bool> write(Connection& c, http::response<http::string_body>& res);
  asio::awaitable<void> reject(Connection& c, Error e, http::status status);
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
  auto res = to_beast(std::move(r), 11, false);
  co_await write(c, res);
}

asio::awaitable<void> HttpServer::Impl::serve(std::shared_ptr<Connection> c) {
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  for (;;) {
    c->idle = true;
    if (stopping) break;
    if (buffer.size() == 0) {
      // Wait for the first byte of the next request with the idle timeout...
      c->stream.expires_after(ms(limits.idle_timeout_ms));
      const std::size_t n = co_await c->stream.async_read_some(
          buffer.prepare(4096), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      buffer.commit(n);
    }
    c->idle = false;
    // ...then the whole header must arrive within the header timeout (slowloris).
    http::request_parser<http::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(limits.max_body_bytes);
    c->stream.expires_after(ms(limits.header_timeout_ms));
    co_await http::async_read_header(c->stream, buffer, parser,
                                     asio::redirect_error(asio::use_awaitable, ec));
    if (!ec && !parser.is_done()) {
      c->stream.expires_after(ms(limits.read_timeout_ms));
      co_await http::async_read(c->stream, buffer, parser,
                                asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec == http::error::body_limit) {
      co_await reject(*c,
                      make_error(ErrorCode::too_large, "request body exceeds " +
                                                           std::to_string(limits.max_body_bytes) +
                                                           " bytes"),
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
    HttpResponse response = co_await api.handle(std::move(request));
    auto res = to_beast(std::move(response), version, keep_alive && !stopping);
    if (!co_await write(*c, res) || !res.keep_alive()) break;
  }
  c->stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  c->stream.close();
  std::lock_guard lock(mu);
  connections.erase(c);
}

asio::awaitable<void> HttpServer::Impl::accept_loop() {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket socket = co_await acceptor.async_accept(
        asio::make_strand(io), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (stopping || ec == asio::error::operation_aborted) co_return;
      spdlog::warn("accept failed: {}", ec.message());
      continue;
    }
    auto c = std::make_shared<Connection>(std::move(socket));
    {
      std::lock_guard lock(mu);
      if (connections.size() >= limits.max_connections) {
        c->stream.close();  // over the cap: refuse cheaply
        continue;
      }
      connections.insert(c);
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

HttpServer::HttpServer(Api& api, const LimitsConfig& limits)
    : impl_(std::make_unique<Impl>(api, limits)) {}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::start(const std::string& host, std::uint16_t port, unsigned threads) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return make_error(ErrorCode::invalid, "bad listen address " + host + ": " + ec.message());
  const tcp::endpoint endpoint(address, port);
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return make_error(ErrorCode::io, "cannot listen on " + host + ":" + std::to_string(port) +
                                         ": " + ec.message());
  impl_->work.emplace(impl_->io.get_executor());
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
  for (unsigned i = 0; i < std::max(1u, threads); ++i)
    impl_->threads.emplace_back([this] { impl_->io.run(); });
  return {};
}

asio::io_context& HttpServer::io() { return impl_->io; }

std::uint16_t HttpServer::port() const {
  boost::system::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

void HttpServer::stop() {
  if (impl_->stopping.exchange(true)) return;
  asio::post(impl_->io, [this] {
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
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
