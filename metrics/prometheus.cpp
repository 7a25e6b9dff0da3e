#include "metrics/prometheus.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace filingd::prometheus {
namespace {

std::string_view type_name(Type t) {
  switch (t) {
    case Type::counter:
      return "counter";
    case Type::gauge:
      return "gauge";
    case Type::histogram:
      return "histogram";
  }
  return "untyped";
}

// Label values escape backslash, double quote and line feed; HELP text backslash and line feed.
void escaped(std::string& out, std::string_view s, bool quotes) {
  for (const char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

void number(std::string& out, double v) {
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%.17g", v);
  out.append(buf, static_cast<std::size_t>(n));
}

void number(std::string& out, std::uint64_t v) {
  char buf[24];
  const auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  out.append(buf, end);
}

}  // namespace

void Histogram::observe(double seconds) {
  const auto i = static_cast<std::size_t>(
      std::lower_bound(kBuckets.begin(), kBuckets.end(), seconds) - kBuckets.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<std::uint64_t>(std::max(seconds, 0.0) * 1e6),
                        std::memory_order_relaxed);
}

Writer& Writer::family(std::string_view name, Type type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  escaped(out_, help, false);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type_name(type);
  out_ += '\n';
  return *this;
}

void Writer::series(std::string_view name, Labels labels, std::string_view extra_name,
                    std::string_view extra_value) {
  out_ += name;
  if (labels.size() == 0 && extra_name.empty()) {
    out_ += ' ';
    return;
  }
  out_ += '{';
  bool first = true;
  auto label = [&](std::string_view n, std::string_view v) {
    if (!first) out_ += ',';
    first = false;
    out_ += n;
    out_ += "=\"";
    escaped(out_, v, true);
    out_ += '"';
  };
  for (const Label& l : labels) label(l.name, l.value);
  if (!extra_name.empty()) label(extra_name, extra_value);
  out_ += "} ";
}

Writer& Writer::sample(std::string_view name, Labels labels, double value) {
  series(name, labels);
  number(out_, value);
  out_ += '\n';
  return *this;
}

Writer& Writer::sample(std::string_view name, Labels labels, std::uint64_t value) {
  series(name, labels);
  number(out_, value);
  out_ += '\n';
  return *this;
}

Writer& Writer::histogram(std::string_view name, Labels labels, const Histogram& h) {
  const std::string bucket = std::string(name) + "_bucket";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= kBuckets.size(); ++i) {
    cumulative += h.buckets_[i].load(std::memory_order_relaxed);
    char le[32];
    if (i < kBuckets.size()) {
      std::snprintf(le, sizeof le, "%g", kBuckets[i]);
    } else {
      std::snprintf(le, sizeof le, "+Inf");
    }
    series(bucket, labels, "le", le);
    number(out_, cumulative);
    out_ += '\n';
  }
  sample(std::string(name) + "_sum", labels,
         static_cast<double>(h.sum_micros_.load(std::memory_order_relaxed)) / 1e6);
  // The count is the +Inf bucket's: read once, so the two never disagree.
  return sample(std::string(name) + "_count", labels, cumulative);
}

Writer& Writer::counter(std::string_view name, std::string_view help, std::uint64_t value) {
  return family(name, Type::counter, help).sample(name, {}, value);
}

Writer& Writer::gauge(std::string_view name, std::string_view help, double value) {
  return family(name, Type::gauge, help).sample(name, {}, value);
}

}  // namespace filingd::prometheus
