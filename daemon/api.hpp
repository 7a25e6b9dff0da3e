// The HTTP API of SPEC §3.1 as a route table and one dispatcher.
//
// Each route names its method, path pattern, the permission it needs and a handler; the
// dispatcher parses the target, authenticates, checks the permission, runs the handler and maps
// any Error to its JSON error response and status, and records metrics. Handlers are functions
// of (call) -> response; appends co_await the ledger's group commit without blocking an I/O
// thread.
//
// Concurrency: handle() may run on any number of threads at once; all state it touches is
// thread-safe (the ledger, atomics in Metrics).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include "config/calendar.hpp"
#include "daemon/auth.hpp"
#include "daemon/http.hpp"
#include "daemon/metrics.hpp"
#include "ledger/ledger.hpp"

namespace filingd {

struct ApiContext {
  Ledger& ledger;
  const WorkCalendar& calendar;
  const Clock& clock;
  Authenticator auth;
  Metrics metrics;
  std::atomic<bool> ready{true};
  // Further /metrics sections (timer service, publisher); set before serving.
  std::vector<std::function<void(std::string&)>> extra_metrics;
  // Adds details to /readyz; returns false when degraded (still 200: the ledger serves).
  std::function<bool(boost::json::object&)> readiness;
};

class Api {
 public:
  // `calendar` and `clock` give the SLA due times and overdue flags; both must outlive the Api.
  Api(Ledger& ledger, Authenticator auth, const WorkCalendar& calendar, const Clock& clock);
  ~Api();

  boost::asio::awaitable<HttpResponse> handle(HttpRequest request);
  ApiContext& context() { return *ctx_; }

 private:
  std::unique_ptr<ApiContext> ctx_;
};

// The JSON error body and status for an error (used by the server for transport errors too).
HttpResponse error_response(const Error& error);

}  // namespace filingd
