// Prometheus metrics of the HTTP API: requests and latency by route and status, and append
// latency. Lock-free (atomics over fixed tables), so recording costs no contention on the
// request path. Gauges read from the ledger (head seq, projection counts) are rendered by the
// /metrics handler itself.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace filingd {

class Histogram {
 public:
  static constexpr std::array<double, 12> kBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                     0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
  void observe(double seconds);
  // Appends the _bucket/_sum/_count lines for `name` with `labels` ("" or `a="b",c="d"`).
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_micros_{0};
};

class Metrics {
 public:
  explicit Metrics(std::vector<std::string> routes);

  void observe_request(std::size_t route, int status, double seconds);
  void observe_append(double seconds) { append_latency_.observe(seconds); }
  void render(std::string& out) const;

 private:
  static constexpr std::array<int, 14> kStatuses = {200, 201, 400, 401, 403, 404, 405,
                                                    408, 409, 413, 422, 431, 500, 503};
  std::vector<std::string> routes_;
  // [route][status index], the last status index counts anything else.
  std::unique_ptr<std::atomic<std::uint64_t>[]> requests_;
  std::unique_ptr<Histogram[]> latency_;
  Histogram append_latency_;
};

}  // namespace filingd
