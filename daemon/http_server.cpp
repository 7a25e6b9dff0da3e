#include "daemon/http_server.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <future>
#include <limits>

#include "daemon/http_server_impl.hpp"
#include "metrics/prometheus.hpp"

namespace filingd {

using namespace http_internal;

namespace {

// After an accept failed for want of descriptors or memory, accepting pauses this long (the
// pending connections wait in the listen backlog) rather than failing again at once in a loop.
constexpr auto kAcceptPause = std::chrono::milliseconds(100);
// Connections accepted one after the other without returning to the thread's other handlers.
constexpr std::size_t kAcceptBurst = 64;
// Accept failures and a full connection table are logged at most once per period.
constexpr auto kLogPeriod = std::chrono::seconds(5);
// Connections evicted at the cap but not yet closed by their threads, beyond which accepting
// waits for them (kRoomWait at a time) rather than evicting more.
constexpr std::uint64_t kMaxClosing = 8;
constexpr auto kRoomWait = std::chrono::milliseconds(2);
// A spare read buffer larger than this (it held a large body) is freed rather than kept.
constexpr std::size_t kMaxSpareBuffer = 64 * 1024;

bool out_of_resources(const boost::system::error_code& ec) {
  return ec == asio::error::no_descriptors ||
         ec == boost::system::errc::too_many_files_open_in_system ||
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

// Descriptors kept back from the connection cap for RocksDB's files, Kafka's sockets, logs.
std::uint64_t reserved_fds(std::uint64_t open_files) {
  return std::clamp<std::uint64_t>(open_files / 4, 64, 1024);
}

// Timeouts fire up to one sweep period late: a quarter of the shortest, within 10-250 ms.
std::chrono::milliseconds sweep_period_for(const LimitsConfig& l) {
  const std::uint32_t shortest =
      std::min({l.header_timeout_ms, l.read_timeout_ms, l.idle_timeout_ms});
  return std::chrono::milliseconds(std::clamp<std::uint32_t>(shortest / 4, 10, 250));
}

}  // namespace

std::uint64_t http_internal::RateLimitedLog::tick() {
  std::lock_guard lock(mu_);
  ++count_;
  const auto now = std::chrono::steady_clock::now();
  if (logged_ && now - last_ < kLogPeriod) return 0;
  logged_ = true;
  last_ = now;
  return std::exchange(count_, 0);
}

beast::flat_buffer http_internal::Worker::take_buffer() {
  if (spare_buffers.empty()) {
    spare_low = 0;
    return {};
  }
  beast::flat_buffer b = std::move(spare_buffers.back());
  spare_buffers.pop_back();
  spare_low = std::min(spare_low, spare_buffers.size());
  return b;
}

void http_internal::Worker::give_buffer(beast::flat_buffer&& b) {
  b.clear();
  if (b.capacity() == 0 || b.capacity() > kMaxSpareBuffer ||
      spare_buffers.size() >= connections.size()) {
    b = beast::flat_buffer();  // frees it
    return;
  }
  spare_buffers.push_back(std::move(b));
}

void http_internal::Worker::trim_spare_buffers() {
  spare_buffers.erase(spare_buffers.end() - static_cast<std::ptrdiff_t>(spare_low),
                      spare_buffers.end());
  spare_low = spare_buffers.size();
}

HttpServer::Impl::Impl(Api& a, const LimitsConfig& l, AccessLog* log)
    : api(a),
      limits(l),
      access_log(log),
      max_connections(l.max_connections),
      sweep_period(sweep_period_for(l)) {}

void HttpServer::Impl::write_access_log(Worker& w) {
  if (access_log == nullptr || w.access_batch.empty()) return;
  access_log->write(w.access_batch);
  w.access_batch.clear();
}

void HttpServer::Impl::arm_sweep(Worker& w) {
  w.sweep.expires_after(sweep_period);
  w.sweep.async_wait([this, &w](const boost::system::error_code& ec) {
    write_access_log(w);
    if (ec || (w.draining && w.connections.empty())) return;
    const auto now = std::chrono::steady_clock::now();
    for (Connection* c : w.connections) {
      // Again at every sweep until it fails: a composed operation (a header read in several
      // parts) may have been between two reads at the previous one, and so may an evicted
      // connection's have been when its eviction cancelled it.
      const bool late = c->deadline <= now;
      if (late || c->closing) {
        if (late) c->timed_out = true;
        boost::system::error_code ignored;
        c->socket.cancel(ignored);
      }
    }
    w.trim_spare_buffers();
    arm_sweep(w);
  });
}

void HttpServer::Impl::join_waiting(Connection& c) {
  if (c.waiting) return;  // (a new connection waits from its admission on)
  auto& list = c.authenticated ? known : anonymous;
  c.waiting_pos = list.insert(list.end(), &c);
  c.waiting = true;
  c.waiting_since = std::chrono::steady_clock::now();
}

bool HttpServer::Impl::begin_wait(Connection& c) {
  std::lock_guard lock(mu);
  if (c.evicted) return false;
  join_waiting(c);
  c.heard_at.reset();
  return true;
}

bool HttpServer::Impl::heard(Connection& c) {
  std::lock_guard lock(mu);
  if (c.evicted) return false;
  join_waiting(c);
  c.heard_at = std::chrono::steady_clock::now();
  return true;
}

bool HttpServer::Impl::end_wait(Connection& c) {
  std::lock_guard lock(mu);
  if (c.waiting) (c.authenticated ? known : anonymous).erase(c.waiting_pos);
  c.waiting = false;
  return !c.evicted;
}

void HttpServer::Impl::mark_authenticated(Connection& c) {
  std::lock_guard lock(mu);
  c.authenticated = true;  // not waiting now: it has a request in hand
}

void HttpServer::Impl::forget(const std::shared_ptr<Connection>& c) {
  {
    std::lock_guard lock(mu);
    if (c->waiting) (c->authenticated ? known : anonymous).erase(c->waiting_pos);
    c->waiting = false;
    if (c->evicted) --evictions_pending;
    connections.erase(c);
  }
  Worker& w = c->worker;
  Connection* last = w.connections.back();
  last->slot = c->slot;
  w.connections[c->slot] = last;
  w.connections.pop_back();
  // The sweep keeps the worker's io_context running: once draining, until its last connection.
  if (w.draining && w.connections.empty()) w.sweep.cancel();
}

namespace {

// Which waiting connection of `list` to close at the cap. A connection accepted in a burst may
// hold a complete request nobody has read yet, so the oldest is not always the one to close:
// first one whose header has been coming for a while (a slowloris), then one that has sent
// nothing for a while (idle), and only then the oldest. Looks at the first few only.
std::list<Connection*>::iterator eviction_victim(std::list<Connection*>& list) {
  constexpr std::size_t kLook = 64;
  constexpr auto kStalled = std::chrono::milliseconds(50);
  const auto now = std::chrono::steady_clock::now();
  auto idle = list.end();
  std::size_t looked = 0;
  for (auto it = list.begin(); it != list.end() && looked < kLook; ++it, ++looked) {
    const Connection& c = **it;
    if (c.heard_at) {
      if (now - *c.heard_at >= kStalled) return it;
    } else if (idle == list.end() && now - c.waiting_since >= kStalled) {
      idle = it;
    }
  }
  return idle != list.end() ? idle : list.begin();
}

}  // namespace

HttpServer::Impl::Admit HttpServer::Impl::admit(const std::shared_ptr<Connection>& c) {
  std::shared_ptr<Connection> victim;
  {
    std::lock_guard lock(mu);
    if (connections.size() >= max_connections) {
      // Each eviction makes room only once the victim's thread has closed it. A thread that
      // lags (descheduled on a busy machine, or in a long handler) must not let a flood evict
      // ever more, over the cap, until no anonymous connection is left to evict and those
      // with a token are evicted or newcomers refused: accepting waits for it instead.
      if (evictions_pending >= kMaxClosing || (evictions_pending > 0 && anonymous.empty()))
        return Admit::wait;
      auto& list = !anonymous.empty() ? anonymous : known;
      if (list.empty()) return Admit::refused;  // every connection is busy with a request
      const auto at = eviction_victim(list);
      Connection* v = *at;
      list.erase(at);
      v->waiting = false;
      v->evicted = true;
      ++evictions_pending;
      victim = v->shared_from_this();  // alive: `connections` holds it until serve() ends
    }
    connections.insert(c);
    c->waiting_pos = anonymous.insert(anonymous.end(), c.get());  // no request in hand yet
    c->waiting = true;
    c->waiting_since = std::chrono::steady_clock::now();
  }
  if (victim) {
    ++evicted;
    // Aborts its wait for a request. If the read had just ended (its completion queued), this
    // cancels nothing: heard() or end_wait() tell it then, or the sweep cancels it again.
    asio::post(victim->socket.get_executor(), [victim] {
      victim->closing = true;
      boost::system::error_code ignored;
      victim->socket.cancel(ignored);
    });
  }
  return Admit::admitted;
}

Task<void> HttpServer::Impl::accept_loop() {
  // Connections already in the backlog are taken at once, up to kAcceptBurst: one asynchronous
  // accept a round of the thread's handlers would admit a burst one connection per round of
  // every busy connection's requests (at load, tens of ms each: the last of 64 waited 0.6 s).
  std::size_t burst = 0;
  for (;;) {
    Worker& w = *workers[next_worker++ % workers.size()];
    Socket socket(w.io.get_executor());
    boost::system::error_code ec;
    if (burst < kAcceptBurst) acceptor->accept(socket, ec);
    if (burst >= kAcceptBurst || ec == asio::error::would_block || ec == asio::error::try_again) {
      burst = 0;
      ec = {};
      co_await acceptor->async_accept(socket, asio::redirect_error(use_task, ec));
    }
    ++burst;
    if (ec) {
      if (stopping || ec == asio::error::operation_aborted) co_return;
      ++accept_errors;
      if (const auto n = accept_log.tick())
        spdlog::warn("accept failed ({} times since the last report): {}", n, ec.message());
      if (out_of_resources(ec)) {
        // The connection waits in the listen backlog; retrying at once would spin.
        accept_pause->expires_after(kAcceptPause);
        co_await accept_pause->async_wait(asio::redirect_error(use_task, ec));
        if (stopping) co_return;
      }
      continue;
    }
    ++accepted;
    const auto peer = socket.remote_endpoint(ec);
    std::string remote = ec ? std::string() : peer.address().to_string();
    // Requests are read and responses written first without waiting (http_session.cpp): a
    // socket that would block must say so, not block the thread and its other connections.
    // Each response is one write: Nagle's algorithm would only hold back the tail of one that
    // did not fit the socket's buffer, until the client's delayed acknowledgement.
    socket.set_option(tcp::no_delay(true), ec);
    if (socket.non_blocking(true, ec); ec) {
      socket.close(ec);
      continue;
    }
    auto c = std::make_shared<Connection>(std::move(socket), std::move(remote), w);
    Admit admitted = admit(c);
    while (admitted == Admit::wait) {  // (the next connections wait in the listen backlog)
      accept_pause->expires_after(kRoomWait);
      co_await accept_pause->async_wait(asio::redirect_error(use_task, ec));
      if (stopping) co_return;
      admitted = admit(c);
    }
    if (admitted == Admit::refused) {
      ++refused;
      if (const auto n = full_log.tick())
        spdlog::warn(
            "connection cap of {} reached with every connection busy: {} new "
            "connections refused since the last report",
            max_connections, n);
      c->socket.close(ec);
      continue;
    }
    asio::co_spawn(w.io, serve(std::move(c)), [](std::exception_ptr e) {
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

HttpServer::HttpServer(Api& api, const LimitsConfig& limits, AccessLog* access_log)
    : impl_(std::make_unique<Impl>(api, limits, access_log)) {}

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
  auto& workers = impl_->workers;
  for (unsigned i = 0; i < std::max(1u, threads); ++i)
    workers.push_back(std::make_unique<Worker>());
  boost::system::error_code ec;
  // An address, or a name such as localhost: its first address is the one listened on.
  asio::ip::basic_resolver<tcp, Executor> resolver(workers[0]->io.get_executor());
  const auto resolved = resolver.resolve(
      host, std::to_string(port), tcp::resolver::numeric_service | tcp::resolver::passive, ec);
  if (ec || resolved.empty())
    return make_error(ErrorCode::invalid, "bad listen address " + host + ": " + ec.message());
  const tcp::endpoint endpoint = resolved.begin()->endpoint();
  auto& acceptor = impl_->acceptor.emplace(workers[0]->io.get_executor());
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) acceptor.non_blocking(true, ec);  // accept_loop takes a burst without waiting
  if (ec)
    return make_error(ErrorCode::io, "cannot listen on " + host + ":" + std::to_string(port) +
                                         ": " + ec.message());
  impl_->bound_port = acceptor.local_endpoint(ec).port();
  impl_->accept_pause.emplace(workers[0]->io.get_executor());
  asio::co_spawn(workers[0]->io, impl_->accept_loop(), asio::detached);
  for (auto& w : workers) {
    impl_->arm_sweep(*w);
    w->thread = std::thread([this, &w = *w] {
      w.io.run();
      impl_->write_access_log(w);
    });
  }
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
  w.counter("filingd_http_refused_unread_total",
            "Requests refused from their headers (401, 403, 404, ...) and answered without "
            "reading their body; their connections were closed.",
            impl_->refused_unread.load());
}

std::uint16_t HttpServer::port() const { return impl_->bound_port; }

void HttpServer::stop() {
  if (impl_->stopping.exchange(true)) return;
  auto& workers = impl_->workers;
  if (workers.empty() || !workers[0]->thread.joinable()) return;  // never started
  // Accepting stops first: once the acceptor is closed on its thread, every connection it
  // accepted has been handed to its worker.
  std::promise<void> closed;
  asio::post(workers[0]->io, [this, &closed] {
    boost::system::error_code ec;
    impl_->acceptor->close(ec);
    impl_->accept_pause->cancel();
    closed.set_value();
  });
  closed.get_future().wait();
  // Idle connections are closed now; busy ones finish their request and then close. A worker
  // ends once its last connection has.
  for (auto& w : workers) {
    asio::post(w->io, [&w = *w] {
      w.draining = true;
      for (Connection* c : w.connections) {
        boost::system::error_code ignored;
        if (c->idle) c->socket.cancel(ignored);
      }
      if (w.connections.empty()) w.sweep.cancel();
    });
  }
  for (auto& w : workers) w->thread.join();
}

}  // namespace filingd
