#include "daemon/metrics.hpp"

#include <algorithm>
#include <cstdio>

namespace filingd {

void Histogram::observe(double seconds) {
  const auto i = static_cast<std::size_t>(
      std::lower_bound(kBounds.begin(), kBounds.end(), seconds) - kBounds.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  const std::string sep = labels.empty() ? "" : ",";
  std::uint64_t cumulative = 0;
  char buf[64];
  for (std::size_t i = 0; i <= kBounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    if (i < kBounds.size()) {
      std::snprintf(buf, sizeof buf, "%g", kBounds[i]);
    } else {
      std::snprintf(buf, sizeof buf, "+Inf");
    }
    out += name + "_bucket{" + labels + sep + "le=\"" + buf + "\"} " + std::to_string(cumulative) +
           "\n";
  }
  std::snprintf(buf, sizeof buf, "%.6f", static_cast<double>(sum_micros_.load()) / 1e6);
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out += name + "_sum" + braces + " " + buf + "\n";
  out += name + "_count" + braces + " " + std::to_string(count_.load()) + "\n";
}

Metrics::Metrics(std::vector<std::string> routes)
    : routes_(std::move(routes)),
      requests_(new std::atomic<std::uint64_t>[routes_.size() * (kStatuses.size() + 1)]()),
      latency_(new Histogram[routes_.size()]) {}

void Metrics::observe_request(std::size_t route, int status, double seconds) {
  const auto s = static_cast<std::size_t>(std::find(kStatuses.begin(), kStatuses.end(), status) -
                                          kStatuses.begin());
  requests_[route * (kStatuses.size() + 1) + s].fetch_add(1, std::memory_order_relaxed);
  latency_[route].observe(seconds);
}

void Metrics::render(std::string& out) const {
  out += "# HELP filingd_http_requests_total HTTP requests by route and status.\n";
  out += "# TYPE filingd_http_requests_total counter\n";
  for (std::size_t r = 0; r < routes_.size(); ++r) {
    for (std::size_t s = 0; s <= kStatuses.size(); ++s) {
      const auto n = requests_[r * (kStatuses.size() + 1) + s].load(std::memory_order_relaxed);
      if (n == 0) continue;
      const std::string status = s < kStatuses.size() ? std::to_string(kStatuses[s]) : "other";
      out += "filingd_http_requests_total{route=\"" + routes_[r] + "\",status=\"" + status +
             "\"} " + std::to_string(n) + "\n";
    }
  }
  out += "# HELP filingd_http_request_duration_seconds HTTP request latency by route.\n";
  out += "# TYPE filingd_http_request_duration_seconds histogram\n";
  for (std::size_t r = 0; r < routes_.size(); ++r)
    latency_[r].render(out, "filingd_http_request_duration_seconds",
                       "route=\"" + routes_[r] + "\"");
  out += "# HELP filingd_append_duration_seconds Time from command to durable append.\n";
  out += "# TYPE filingd_append_duration_seconds histogram\n";
  append_latency_.render(out, "filingd_append_duration_seconds", "");
}

}  // namespace filingd
