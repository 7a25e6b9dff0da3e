#include "metrics/http_metrics.hpp"

#include <algorithm>

namespace filingd {

HttpMetrics::HttpMetrics(std::vector<std::string> routes)
    : routes_(std::move(routes)),
      requests_(new std::atomic<std::uint64_t>[routes_.size() * (kStatuses.size() + 1)]()),
      latency_(new prometheus::Histogram[routes_.size()]) {}

void HttpMetrics::observe_request(std::size_t route, int status, double seconds) {
  const auto s = static_cast<std::size_t>(std::find(kStatuses.begin(), kStatuses.end(), status) -
                                          kStatuses.begin());
  requests_[route * (kStatuses.size() + 1) + s].fetch_add(1, std::memory_order_relaxed);
  latency_[route].observe(seconds);
}

void HttpMetrics::render(prometheus::Writer& w) const {
  using prometheus::Type;
  w.family("filingd_http_requests_total", Type::counter, "HTTP requests by route and status.");
  for (std::size_t r = 0; r < routes_.size(); ++r) {
    for (std::size_t s = 0; s <= kStatuses.size(); ++s) {
      const auto n = requests_[r * (kStatuses.size() + 1) + s].load(std::memory_order_relaxed);
      if (n == 0) continue;
      const std::string status = s < kStatuses.size() ? std::to_string(kStatuses[s]) : "other";
      w.sample("filingd_http_requests_total", {{"route", routes_[r]}, {"status", status}}, n);
    }
  }
  w.family("filingd_http_request_duration_seconds", Type::histogram,
           "HTTP request latency by route.");
  for (std::size_t r = 0; r < routes_.size(); ++r)
    w.histogram("filingd_http_request_duration_seconds", {{"route", routes_[r]}}, latency_[r]);
  w.family("filingd_append_duration_seconds", Type::histogram,
           "Time from command to durable append.");
  w.histogram("filingd_append_duration_seconds", {}, append_latency_);
}

}  // namespace filingd
