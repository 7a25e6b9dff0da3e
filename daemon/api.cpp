#include "daemon/api.hpp"

#include <chrono>

#include "daemon/router.hpp"
#include "ledger/ledger.hpp"
#include "ledger/personal_data.hpp"

namespace filingd {
namespace {

std::vector<std::string> route_names() {
  std::vector<std::string> names;
  for (const auto& r : all_routes()) names.emplace_back(r.name);
  names.emplace_back("unmatched");
  return names;
}

}  // namespace

void Readiness::set(Phase phase, std::string reason) {
  std::lock_guard lock(mu_);
  reason_ = std::move(reason);
  phase_.store(phase);
}

std::string Readiness::reason() const {
  std::lock_guard lock(mu_);
  return reason_;
}

void ApiContext::add_metrics(std::function<void(prometheus::Writer&)> render) {
  std::lock_guard lock(hooks_mu_);
  extra_metrics_.push_back(std::move(render));
}

void ApiContext::render_extra_metrics(prometheus::Writer& w) const {
  std::lock_guard lock(hooks_mu_);
  for (const auto& render : extra_metrics_) render(w);
}

void ApiContext::set_dependencies(std::function<bool(boost::json::object&)> check) {
  std::lock_guard lock(hooks_mu_);
  dependencies_ = std::move(check);
}

bool ApiContext::check_dependencies(boost::json::object& out) const {
  std::lock_guard lock(hooks_mu_);
  return !dependencies_ || dependencies_(out);
}

Api::Api(Authenticator auth, const WorkCalendar& calendar, const Clock& clock)
    : ctx_(std::make_unique<ApiContext>(calendar, clock, std::move(auth), route_names())) {}

Api::~Api() = default;

void Api::attach_ledger(Ledger& ledger) {
  personal_ = std::make_unique<PersonalData>(ledger.store(), ledger.keyring());
  ctx_->keyring = ledger.keyring();
  ctx_->personal_.store(personal_.get());
  ctx_->ledger.store(&ledger);
}

Task<HttpResponse> Api::handle(Admission admission, HttpRequest request) {
  const auto start = std::chrono::steady_clock::now();
  const std::size_t route_index = admission.route_index < all_routes().size()
                                      ? admission.route_index
                                      : all_routes().size();  // "unmatched"
  HttpResponse response = co_await dispatch(*ctx_, admission, request);
  ctx_->metrics.observe_request(
      route_index, response.status,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  co_return response;
}

Task<HttpResponse> Api::handle(HttpRequest request) {
  Admission admission = admit(request);
  HttpResponse response = co_await handle(std::move(admission), std::move(request));
  co_return response;
}

}  // namespace filingd
