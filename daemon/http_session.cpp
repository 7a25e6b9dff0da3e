// One connection's request loop: read a header, check it, admit it, read its body if admitted,
// answer, log. See http_server.hpp for the rules.
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <random>

#include "daemon/api.hpp"
#include "daemon/http_server_impl.hpp"
#include "daemon/router.hpp"

namespace filingd {

using namespace http_internal;

namespace {

constexpr std::uint32_t kHeaderLimit = 16 * 1024;
// A connection waiting for a request reads its first bytes into a buffer this size in its
// frame: between requests a connection holds no heap read buffer, so idle clients cost little.
constexpr std::size_t kFirstRead = 512;
// What a busy connection reads at once into a buffer lent by its worker: a whole request of
// nearly any client.
constexpr std::size_t kReadSize = 4096;
constexpr std::size_t kMaxRequestId = 64;
// A worker writes out its access log lines at the latest when they fill this.
constexpr std::size_t kAccessBatch = 16 * 1024;

using Request = http::request<http::string_body>;
using Parser = http::request_parser<http::string_body>;
using boost::system::error_code;

// The body limit of an admitted request's route (an unmatched one has the common limit).
std::uint64_t body_limit_of(const Admission& a, const LimitsConfig& limits) {
  const auto& routes = all_routes();
  if (a.route_index < routes.size() && routes[a.route_index].body_limit == BodyLimit::import)
    return limits.max_import_bytes;
  return limits.max_body_bytes;
}

HttpResponse too_large(std::uint64_t limit) {
  HttpResponse r = error_response(
      make_error(ErrorCode::too_large, "request body exceeds " + std::to_string(limit) + " bytes"));
  r.close = true;
  return r;
}

HttpResponse refusal(ErrorCode code, std::string message, int status) {
  HttpResponse r = error_response(make_error(code, std::move(message)));
  r.status = status;
  r.close = true;
  if (status == 503) r.headers.emplace_back("Retry-After", "1");
  return r;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

// A header two parties could read differently (request smuggling), or one HTTP/1.1 requires:
// the reason to refuse it, or nothing.
std::optional<std::string> ambiguous_header(const Request& req) {
  std::string codings;
  const auto range = req.equal_range(http::field::transfer_encoding);
  for (auto f = range.first; f != range.second; ++f)
    codings += (codings.empty() ? "" : ",") + lower(f->value());
  if (req.count(http::field::transfer_encoding) > 0) {
    // Only "chunked", alone: any other coding, before it or after it, is either unsupported or
    // a body whose end two parsers would find in different places.
    std::string trimmed;
    for (char ch : codings)
      if (ch != ' ' && ch != '\t') trimmed.push_back(ch);
    if (trimmed != "chunked")
      return "Transfer-Encoding must be exactly \"chunked\" (the last coding of a request must be "
             "chunked, and no other is supported)";
    if (req.count(http::field::content_length) > 0)
      return "a request may not carry both Transfer-Encoding and Content-Length";
  }
  if (req.count(http::field::authorization) > 1) return "more than one Authorization header";
  if (req.version() >= 11 && req.count(http::field::host) != 1)
    return req.count(http::field::host) == 0 ? "an HTTP/1.1 request needs a Host header"
                                             : "more than one Host header";
  return std::nullopt;
}

// The client's X-Request-Id if it is a sane token, else a new one: a per-process random prefix
// and a counter, unique and cheap.
std::string request_id(const Request& req) {
  const auto given = req["X-Request-Id"];
  const bool sane = !given.empty() && given.size() <= kMaxRequestId &&
                    std::all_of(given.begin(), given.end(), [](char ch) {
                      return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' ||
                             ch == '_' || ch == '.' || ch == ':';
                    });
  if (sane) return std::string(given);
  static const unsigned prefix = std::random_device{}();
  static std::atomic<std::uint64_t> next{0};
  char id[32];
  std::snprintf(id, sizeof id, "%08x-%llx", prefix,
                static_cast<unsigned long long>(next.fetch_add(1) + 1));
  return id;
}

void append_number(std::string& out, std::uint64_t n) {
  char digits[20];
  const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out.append(digits, end);
}

// The status line and header fields of a response, as Beast's serializer writes them, so that
// the head and the body go out in one write.
std::string response_head(const HttpResponse& r, unsigned version, bool keep_alive,
                          std::string_view id) {
  std::string out;
  out.reserve(192);
  out += "HTTP/";
  append_number(out, version / 10);
  out += '.';
  append_number(out, version % 10);
  out += ' ';
  append_number(out, static_cast<unsigned>(r.status));
  out += ' ';
  out += http::obsolete_reason(static_cast<http::status>(r.status));
  out += "\r\nServer: filingd\r\nContent-Type: ";
  out += r.content_type;
  if (!id.empty()) {
    out += "\r\nX-Request-Id: ";
    out += id;
  }
  for (const auto& [name, value] : r.headers) {
    out += "\r\n";
    out += name;
    out += ": ";
    out += value;
  }
  // HTTP/1.1 keeps a connection open unless told; HTTP/1.0 closes it unless told.
  if (version >= 11 && !keep_alive) out += "\r\nConnection: close";
  if (version < 11 && keep_alive) out += "\r\nConnection: keep-alive";
  out += "\r\nContent-Length: ";
  append_number(out, r.body.size());
  out += "\r\n\r\n";
  return out;
}

// The filing a route's path names ("/v1/filings/{id}/..."), if any.
std::string_view path_filing(const Admission& a) {
  if (a.route_index >= all_routes().size() || a.params.empty()) return {};
  return all_routes()[a.route_index].pattern.starts_with("/v1/filings/{id}")
             ? std::string_view(a.params.front())
             : std::string_view();
}

// The connection's next I/O must end within `ms` (the worker's sweep enforces it).
void arm(Connection& c, std::uint32_t ms) {
  c.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  c.timed_out = false;
}

// The I/O ended: a failure because the sweep cancelled it is a timeout.
void disarm(Connection& c, error_code& ec) {
  c.deadline = std::chrono::steady_clock::time_point::max();
  if (ec && c.timed_out) ec = beast::error::timeout;
  c.timed_out = false;
}

// Feeds the parser what `buffer` holds, without reading: the header, or (`eager`) as much of
// the body as has arrived. need_more means it wants more bytes than are in hand.
void parse_in_hand(Parser& parser, beast::flat_buffer& buffer, bool eager, error_code& ec) {
  if (buffer.size() == 0) {
    ec = http::error::need_more;
    return;
  }
  parser.eager(eager);
  buffer.consume(parser.put(buffer.data(), ec));
  if (!ec && !parser.is_done() && eager) ec = http::error::need_more;
}

}  // namespace

Task<bool> HttpServer::Impl::answer(Connection& c, HttpResponse response, const Exchange& x,
                                    unsigned version, bool keep_alive) {
  keep_alive = keep_alive && !response.close && !stopping;
  const std::string head = response_head(response, version, keep_alive, x.request_id);
  const std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(response.body)};
  const std::size_t size = head.size() + response.body.size();
  // Written at once if the socket has room (it nearly always has): no wait, one system call.
  error_code ec;
  std::size_t sent = c.socket.write_some(buffers, ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    ec = {};
    sent = 0;
  }
  if (!ec && sent < size) {
    beast::buffers_suffix<std::array<asio::const_buffer, 2>> rest(buffers);
    rest.consume(sent);
    arm(c, limits.read_timeout_ms);
    co_await asio::async_write(c.socket, rest, asio::redirect_error(use_task, ec));
    disarm(c, ec);
  }
  if (access_log != nullptr) {
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - x.start);
    AccessLog::append(c.worker.access_batch,
                      {.time = x.time,
                       .request_id = x.request_id,
                       .principal = x.principal,
                       .remote = c.remote,
                       .method = x.method,
                       .route = x.route,
                       .filing_id = !x.filing_id.empty() ? x.filing_id : response.filing_id,
                       .status = response.status,
                       .bytes = response.body.size(),
                       .micros = static_cast<std::uint64_t>(micros.count())});
    if (c.worker.access_batch.size() >= kAccessBatch) write_access_log(c.worker);
  }
  co_return !ec && keep_alive;
}

Task<void> HttpServer::Impl::serve(std::shared_ptr<Connection> c) {
  Worker& worker = c->worker;
  c->slot = worker.connections.size();
  worker.connections.push_back(c.get());
  beast::flat_buffer buffer;  // lent by the worker while a request is in hand
  try {
    std::array<char, kFirstRead> first;
    error_code ec;
    bool listed = true;     // in a waiting list, as a new connection is from its admission
    bool answered = false;  // a request of this connection was answered
    for (;;) {
      c->idle = true;
      if (stopping) break;
      if (buffer.size() == 0) {
        if (answered) {
          // The client sends its next request once it has read this answer: reading at once would
          // mostly find nothing. The connections ready meanwhile go first; by then the next
          // request has usually arrived.
          co_await asio::post(use_task);
          if (stopping) break;
        }
        // What has arrived is read without waiting: a connection whose next request is there
        // neither joins the waiting lists nor waits in epoll.
        if (buffer.capacity() == 0) buffer = worker.take_buffer();
        buffer.commit(c->socket.read_some(buffer.prepare(kReadSize), ec));
        if (ec == asio::error::would_block || ec == asio::error::try_again) {
          // Nothing yet: wait for the first bytes of the next request with the idle timeout,
          // holding no heap buffer meanwhile. Until its header is complete, the connection may be
          // closed to make room at the connection cap.
          worker.give_buffer(std::move(buffer));
          if (!begin_wait(*c)) break;
          listed = true;
          arm(*c, limits.idle_timeout_ms);
          const std::size_t n = co_await c->socket.async_read_some(
              asio::buffer(first), asio::redirect_error(use_task, ec));
          disarm(*c, ec);
          if (ec) break;
          buffer = worker.take_buffer();
          buffer.commit(asio::buffer_copy(buffer.prepare(n), asio::buffer(first.data(), n)));
        } else if (ec) {
          break;  // closed by the client
        }
      }
      // (Pipelined requests already read are in hand: they are parsed at once.)
      c->idle = false;
      // The whole header must arrive within the header timeout (slowloris). It is nearly always
      // in hand already.
      Parser parser;
      parser.header_limit(kHeaderLimit);
      // The largest body any route takes, until the header names the route (below).
      parser.body_limit(std::max(limits.max_body_bytes, limits.max_import_bytes));
      parse_in_hand(parser, buffer, false, ec);
      if (ec == http::error::need_more) {
        // A header still coming: the connection may be closed to make room at the cap meanwhile.
        ec = {};
        // (Evicted: its eviction's cancel may have come after its last read had ended.)
        if (!heard(*c)) break;
        listed = true;
        arm(*c, limits.header_timeout_ms);
        co_await http::async_read_header(c->socket, buffer, parser,
                                         asio::redirect_error(use_task, ec));
        disarm(*c, ec);
      }
      if (listed) {
        listed = false;
        if (!end_wait(*c)) break;  // evicted at the connection cap while the header was coming
      }
      Exchange x;
      x.time = SystemClock().now();
      if (ec) {
        // A header we could not read: answered (if worth it) and the connection closed, since the
        // rest of the stream cannot be trusted to be in step.
        if (ec == http::error::header_limit)
          co_await answer(*c, refusal(ErrorCode::too_large, "request header too large", 431), x, 11,
                          false);
        else if (ec == http::error::body_limit)  // a Content-Length beyond it: never read
          co_await answer(*c, too_large(std::max(limits.max_body_bytes, limits.max_import_bytes)),
                          x, 11, false);
        else if (ec == beast::error::timeout && buffer.size() > 0)
          co_await answer(*c, refusal(ErrorCode::malformed, "request not received in time", 408), x,
                          11, false);
        else if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
                 ec != http::error::end_of_stream && ec != http::error::partial_message)
          co_await answer(*c, refusal(ErrorCode::malformed, "malformed HTTP: " + ec.message(), 400),
                          x, 11, false);
        break;
      }

      Request& req = parser.get();
      const unsigned version = req.version();
      const bool keep_alive = req.keep_alive();
      x.request_id = request_id(req);
      x.method = std::string(req.method_string());
      if (auto why = ambiguous_header(req)) {
        co_await answer(*c, refusal(ErrorCode::malformed, *why, 400), x, version, false);
        break;
      }
      HttpRequest request{x.method,
                          std::string(req.target()),
                          std::string(req[http::field::authorization]),
                          {},
                          c->remote,
                          x.request_id,
                          std::string(req[http::field::if_none_match])};
      Admission admission = api.admit(request);
      if (admission.route_index < all_routes().size())
        x.route = all_routes()[admission.route_index].pattern;
      x.principal = admission.who.name;
      x.filing_id = std::string(path_filing(admission));
      const bool has_body = !parser.is_done();
      if (!admission.refusal && has_body && !admission.authenticated())
        admission.refusal =
            refusal(ErrorCode::malformed, "this endpoint takes no request body", 400);
      // (Read without the lock: only this thread writes it.)
      if (admission.authenticated() && !c->authenticated) mark_authenticated(*c);

      const std::uint64_t body_limit = body_limit_of(admission, limits);
      BodyGrant body;
      if (admission.refusal && has_body) {
        // Refused from its headers: its body is never read, so the connection cannot go on.
        ++refused_unread;
        admission.refusal->close = true;
      } else if (has_body && parser.content_length().value_or(0) > body_limit) {
        ++refused_unread;
        co_await answer(*c, too_large(body_limit), x, version, false);
        break;
      } else if (has_body) {
        parser.body_limit(body_limit);  // what is left for a chunked body
        body = BodyGrant(*this, parser.content_length().value_or(body_limit));
        if (!body) {
          ++bodies_refused;
          co_await answer(*c,
                          refusal(ErrorCode::unavailable,
                                  "too many request bodies are being received; retry shortly", 503),
                          x, version, false);
          break;
        }
        // What has arrived of the body is parsed first; the rest is read.
        parse_in_hand(parser, buffer, true, ec);
        if (ec == http::error::need_more) {
          ec = {};
          arm(*c, limits.read_timeout_ms);
          co_await http::async_read(c->socket, buffer, parser, asio::redirect_error(use_task, ec));
          disarm(*c, ec);
        }
        if (ec == http::error::body_limit) {
          co_await answer(*c, too_large(body_limit), x, version, false);
          break;
        }
        if (ec == beast::error::timeout) {
          co_await answer(*c, refusal(ErrorCode::malformed, "request not received in time", 408), x,
                          version, false);
          break;
        }
        if (ec) {
          if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
              ec != http::error::end_of_stream && ec != http::error::partial_message)
            co_await answer(*c,
                            refusal(ErrorCode::malformed, "malformed HTTP: " + ec.message(), 400),
                            x, version, false);
          break;
        }
        request.body = std::move(req.body());
      }

      HttpResponse response;
      bool failed = false;
      try {
        response = co_await api.handle(std::move(admission), std::move(request));
      } catch (const std::exception& ex) {
        // A bug or an exhausted resource in one handler costs that request, not the daemon nor
        // the connection's bookkeeping below.
        spdlog::error("request handler failed: {}", ex.what());
        failed = true;
      }
      if (failed) response = error_response(make_error(ErrorCode::internal, "internal error"));
      if (!co_await answer(*c, std::move(response), x, version, keep_alive)) break;
      answered = true;
    }
  } catch (const std::exception& ex) {
    // (Out of memory, most likely: handlers' exceptions are answered 500.) What follows must
    // run all the same: a connection left in its worker's list would keep stop() waiting.
    spdlog::error("connection failed: {}", ex.what());
  }
  error_code ec;
  c->socket.shutdown(tcp::socket::shutdown_send, ec);
  c->socket.close(ec);
  worker.give_buffer(std::move(buffer));
  forget(c);
}

}  // namespace filingd
