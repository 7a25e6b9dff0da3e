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
#include "daemon/router.hpp"
#include "metrics/http_metrics.hpp"

namespace filingd {

class Ledger;
class Keyring;
class Checkpointer;
class PersonalData;

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
  std::shared_ptr<Keyring> keyring;      // set with the ledger
  // Signs the ledger's checkpoints (SPEC §8); null: the proof routes answer 503. Set before
  // serving; must outlive the Api.
  const Checkpointer* checkpoints = nullptr;
  // server.public_metrics: /readyz and /metrics without a token. Set before serving.
  bool public_metrics = true;
  // Opens stored personal data for the responses; set with the ledger.
  const PersonalData* personal() const { return personal_.load(); }
  Readiness readiness;

  // Further /metrics sections (server, timer service, publisher), added while serving.
  void add_metrics(std::function<void(prometheus::Writer&)> render);
  void render_extra_metrics(prometheus::Writer& w) const;
  // Details of the daemon's dependencies for /readyz; returns false when degraded (still 200:
  // the ledger serves without them).
  void set_dependencies(std::function<bool(boost::json::object&)> check);
  bool check_dependencies(boost::json::object& out) const;

 private:
  friend class Api;
  std::atomic<const PersonalData*> personal_{nullptr};
  mutable std::mutex hooks_mu_;
  std::vector<std::function<void(prometheus::Writer&)>> extra_metrics_;  // guarded by hooks_mu_
  std::function<bool(boost::json::object&)> dependencies_;               // guarded by hooks_mu_
};

class Api {
 public:
  // `calendar` and `clock` give the SLA due times and overdue flags; both must outlive the Api.
  Api(Authenticator auth, const WorkCalendar& calendar, const Clock& clock);
  ~Api();

  // Makes the /v1 routes available. The ledger must outlive the Api. Without the ledger's keyring
  // sealed fields read "[encrypted]" and nobody can be erased.
  void attach_ledger(Ledger& ledger);

  // What the request's headers decide (router.hpp), before its body is read.
  Admission admit(const HttpRequest& headers) const { return filingd::admit(*ctx_, headers); }
  // Runs an admitted request with its body.
  Task<HttpResponse> handle(Admission admission, HttpRequest request);
  // Both at once, for a request already read whole.
  Task<HttpResponse> handle(HttpRequest request);
  ApiContext& context() { return *ctx_; }

 private:
  std::unique_ptr<ApiContext> ctx_;
  std::unique_ptr<PersonalData> personal_;
};

}  // namespace filingd
