#include <gtest/gtest.h>

#include "events/time.hpp"

namespace filingd {
namespace {

TEST(Time, FormatsUtcWithOptionalFraction) {
  EXPECT_EQ(format_rfc3339(Timestamp{0}), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(Timestamp{1'795'852'800'123'456}), "2026-11-28T08:00:00.123456Z");
  EXPECT_EQ(format_rfc3339(Timestamp{-1}), "1969-12-31T23:59:59.999999Z");
}

TEST(Time, ParsesOffsetsAndFractions) {
  auto z = parse_rfc3339("2026-11-22T08:00:00Z");
  auto shanghai = parse_rfc3339("2026-11-22T16:00:00+08:00");
  ASSERT_TRUE(z && shanghai);
  EXPECT_EQ(*z, *shanghai);
  auto frac = parse_rfc3339("2026-11-22T08:00:00.5Z");
  ASSERT_TRUE(frac);
  EXPECT_EQ(frac->micros - z->micros, 500'000);
  EXPECT_EQ(format_rfc3339(*parse_rfc3339("2024-02-29T23:59:59.000001Z")),
            "2024-02-29T23:59:59.000001Z");
}

TEST(Time, RefusesBadInput) {
  for (const char* bad : {"", "2026-11-22", "2026-11-22T08:00:00", "2026-13-01T00:00:00Z",
                          "2025-02-29T00:00:00Z", "2026-11-22T24:00:00Z", "2026-11-22T08:00:00+8",
                          "2026-11-22T08:00:00Zjunk", "2026-11-22T08:00:00.Z"}) {
    EXPECT_FALSE(parse_rfc3339(bad)) << bad;
  }
}

TEST(Time, ManualClockMovesOnlyWhenTold) {
  ManualClock clock(Timestamp{100});
  EXPECT_EQ(clock.now().micros, 100);
  clock.advance(50);
  EXPECT_EQ(clock.now().micros, 150);
  clock.set(Timestamp{7});
  EXPECT_EQ(clock.now().micros, 7);
}

}  // namespace
}  // namespace filingd
