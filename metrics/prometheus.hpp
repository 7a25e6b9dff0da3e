// Prometheus text exposition (format 0.0.4): the one writer of /metrics for every module, and a
// lock-free histogram. Names follow Prometheus' rules (checked by `promtool check metrics` in the
// black-box tests): counters end in _total, units are base units (_seconds, _bytes), and no
// gauge is named like a summary's or histogram's series (_count, _sum, _bucket).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace filingd::prometheus {

enum class Type { counter, gauge, histogram };

struct Label {
  std::string_view name;
  std::string_view value;  // escaped when written
};
using Labels = std::initializer_list<Label>;

// Latency buckets in seconds (upper bounds), shared by every histogram filingd exports.
inline constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                    0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

// Observations are lock-free (relaxed atomics): recording costs no contention on hot paths.
class Histogram {
 public:
  void observe(double seconds);

 private:
  friend class Writer;
  std::array<std::atomic<std::uint64_t>, kBuckets.size() + 1> buckets_{};
  std::atomic<std::uint64_t> sum_micros_{0};
};

// Appends exposition text to a string. A family's HELP and TYPE come first, then its samples;
// the caller keeps a family's samples together.
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  Writer& family(std::string_view name, Type type, std::string_view help);
  Writer& sample(std::string_view name, Labels labels, double value);
  Writer& sample(std::string_view name, Labels labels, std::uint64_t value);
  // The _bucket, _sum and _count series of one labelled histogram of family `name`.
  Writer& histogram(std::string_view name, Labels labels, const Histogram& h);

  // A family with one unlabelled sample.
  Writer& counter(std::string_view name, std::string_view help, std::uint64_t value);
  Writer& gauge(std::string_view name, std::string_view help, double value);

 private:
  void series(std::string_view name, Labels labels, std::string_view extra_name = {},
              std::string_view extra_value = {});
  std::string& out_;
};

}  // namespace filingd::prometheus
