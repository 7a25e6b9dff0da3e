// The HTTP API of SPEC §3.1: the state every handler shares (ApiContext) and the entry point the
// server calls (Api::handle). Routes and the dispatcher are in router.hpp, the handlers in
// api_*.cpp by resource.
//
// Lifecycle: the Api exists before the ledger is open, so the server can answer /healthz and a
// 503 /readyz while the daemon starts (a projection rebuild can take minutes); attach_ledger()
// makes the /v1 routes available. Concurrency: handle() may run on any number of threads at
// once; everything it touches is thread-safe (the ledger, atomics, the readiness lock).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include "config/calendar.hpp"
#include "daemon/auth.hpp"
#include "daemon/http.hpp"
#include "metrics/http_metrics.hpp"

namespace filingd {

class Ledger;

// What /readyz reports besides the ledger's own health.
class Readiness {
 public:
  enum class Phase { starting, serving, stopping };
  void set(Phase phase, std::string reason = {});
  Phase phase() const { return phase_.load(); }
  std::string reason() const;

 private:
  std::atomic<Phase> phase_{Phase::starting};
  mutable std::mutex mu_;
  std::string reason_ = "starting";  // guarded by mu_
};

struct ApiContext {
  ApiContext(const WorkCalendar& cal, const Clock& clk, Authenticator a,
             std::vector<std::string> route_names)
      : calendar(cal), clock(clk), auth(std::move(a)), metrics(std::move(route_names)) {}

  const WorkCalendar& calendar;
  const Clock& clock;
  Authenticator auth;
  HttpMetrics metrics;
  std::atomic<Ledger*> ledger{nullptr};  // null until attach_ledger()
  Readiness readiness;

  // Further /metrics sections (server, timer service, publisher), added while serving.
  void add_metrics(std::function<void(prometheus::Writer&)> render);
  void render_extra_metrics(prometheus::Writer& w) const;
  // Details of the daemon's dependencies for /readyz; returns false when degraded (still 200:
  // the ledger serves without them).
  void set_dependencies(std::function<bool(boost::json::object&)> check);
  bool check_dependencies(boost::json::object& out) const;

 private:
  mutable std::mutex hooks_mu_;
  std::vector<std::function<void(prometheus::Writer&)>> extra_metrics_;  // guarded by hooks_mu_
  std::function<bool(boost::json::object&)> dependencies_;                // guarded by hooks_mu_
};

class Api {
 public:
  // `calendar` and `clock` give the SLA due times and overdue flags; both must outlive the Api.
  Api(Authenticator auth, const WorkCalendar& calendar, const Clock& clock);
  ~Api();

  // Makes the /v1 routes available and the daemon ready. The ledger must outlive the Api.
  void attach_ledger(Ledger& ledger);
  boost::asio::awaitable<HttpResponse> handle(HttpRequest request);
  ApiContext& context() { return *ctx_; }

 private:
  std::unique_ptr<ApiContext> ctx_;
};

}  // namespace filingd
