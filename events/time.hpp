// Time in filingd: microseconds since the Unix epoch, UTC, and the clock seam.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace filingd {

// Microseconds since 1970-01-01T00:00:00Z. A plain struct so it can be stored and compared
// without conversions; 0 is "unset" only where a field says so.
struct Timestamp {
  std::int64_t micros = 0;
  friend auto operator<=>(const Timestamp&, const Timestamp&) = default;
};

constexpr std::int64_t kMicrosPerSecond = 1'000'000;
constexpr std::int64_t kMicrosPerMinute = 60 * kMicrosPerSecond;
constexpr std::int64_t kMicrosPerHour = 3600 * kMicrosPerSecond;
constexpr std::int64_t kMicrosPerDay = 24 * kMicrosPerHour;

// RFC 3339, always UTC with a 'Z'. Fractional seconds are printed only when non-zero
// ("2026-11-22T08:00:00Z", "2026-11-22T08:00:00.123456Z").
std::string format_rfc3339(Timestamp t);
// The same into `out`, which has room for kRfc3339Max chars; returns the end.
constexpr std::size_t kRfc3339Max = 48;
char* format_rfc3339(Timestamp t, char* out);

// Accepts RFC 3339 with 'Z' or a numeric offset and up to 9 fractional digits (truncated to
// microseconds). Returns nullopt on any syntax or range error.
std::optional<Timestamp> parse_rfc3339(std::string_view text);

// The clock seam: production uses SystemClock; tests and the timer service's unit tests use
// ManualClock and move time by hand. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp now() const = 0;
};

class SystemClock final : public Clock {
 public:
  Timestamp now() const override;
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(Timestamp start) : now_(start.micros) {}
  Timestamp now() const override { return Timestamp{now_.load()}; }
  void set(Timestamp t) { now_.store(t.micros); }
  void advance(std::int64_t micros) { now_.fetch_add(micros); }

 private:
  std::atomic<std::int64_t> now_;
};

}  // namespace filingd
