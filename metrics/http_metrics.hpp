// Metrics of the HTTP API: requests by route and status, latency by route, and append latency.
// Lock-free (atomics over fixed tables), so recording costs no contention on the request path.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "metrics/prometheus.hpp"

namespace filingd {

class HttpMetrics {
 public:
  // `routes`: the route labels, by route index.
  explicit HttpMetrics(std::vector<std::string> routes);

  void observe_request(std::size_t route, int status, double seconds);
  void observe_append(double seconds) { append_latency_.observe(seconds); }
  void render(prometheus::Writer& w) const;

 private:
  static constexpr std::array<int, 15> kStatuses = {200, 201, 400, 401, 403, 404, 405, 408,
                                                    409, 413, 422, 431, 500, 501, 503};
  std::vector<std::string> routes_;
  // [route][status index], the last status index counts anything else.
  std::unique_ptr<std::atomic<std::uint64_t>[]> requests_;
  std::unique_ptr<prometheus::Histogram[]> latency_;
  prometheus::Histogram append_latency_;
};

}  // namespace filingd
