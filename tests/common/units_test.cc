#include "common/units.h"

#include <gtest/gtest.h>

#include "common/mac.h"

namespace mpe::common {
namespace {

TEST(UnitsTest, ParsesDurationsWithEveryUnit) {
  EXPECT_EQ(ParseDuration("250ms")->count(), 250);
  EXPECT_EQ(ParseDuration("30s")->count(), 30'000);
  EXPECT_EQ(ParseDuration("5m")->count(), 300'000);
  EXPECT_EQ(ParseDuration("2h")->count(), 7'200'000);
  EXPECT_EQ(ParseDuration("1d")->count(), 86'400'000);
  EXPECT_EQ(ParseDuration("1h30m")->count(), 5'400'000);
  EXPECT_EQ(ParseDuration("0")->count(), 0);
}

TEST(UnitsTest, RejectsBadDurations) {
  EXPECT_FALSE(ParseDuration(""));
  EXPECT_FALSE(ParseDuration("30"));
  EXPECT_FALSE(ParseDuration("5 m"));
  EXPECT_FALSE(ParseDuration("-5s"));
  EXPECT_FALSE(ParseDuration("10y"));
  EXPECT_FALSE(ParseDuration("s"));
}

TEST(UnitsTest, ParsesAndRejectsSizes) {
  EXPECT_EQ(*ParseSize("64MiB"), 64ULL << 20);
  EXPECT_EQ(*ParseSize("512KiB"), 512ULL << 10);
  EXPECT_EQ(*ParseSize("1GiB"), 1ULL << 30);
  EXPECT_EQ(*ParseSize("100"), 100ULL);
  EXPECT_FALSE(ParseSize("64MB"));
  EXPECT_FALSE(ParseSize("MiB"));
  EXPECT_FALSE(ParseSize("99999999999999999999GiB"));
}

TEST(MacTest, NormalisesEveryNotation) {
  EXPECT_EQ(NormaliseMac("5c5b350e001c"), "5c5b350e001c");
  EXPECT_EQ(NormaliseMac("D4:20:B0:81:99:2E"), "d420b081992e");
  EXPECT_EQ(NormaliseMac("d4-20-b0-81-99-2e"), "d420b081992e");
  EXPECT_FALSE(ParseMac("d4:20:b0:81:99"));
  EXPECT_FALSE(ParseMac("d4:20:b0:81:99:2e:ff"));
  EXPECT_FALSE(ParseMac("zz:20:b0:81:99:2e"));
  EXPECT_EQ(*ParseMac("00:00:00:00:00:01"), 1ULL);
  // The unrolled "xx:xx:xx:xx:xx:xx" form gives what the general loop gives.
  EXPECT_EQ(*ParseMac("D4:20:b0:81:99:2E"), 0xd420b081992eULL);
  EXPECT_EQ(*ParseMac("d4-20-b0-81-99-2e"), 0xd420b081992eULL);
  EXPECT_FALSE(ParseMac("d4:20:b0:81:99:2g"));
  EXPECT_FALSE(ParseMac("d4:20:b0:81:99::e"));  // a separator where a digit belongs
  EXPECT_FALSE(ParseMac("d4:20:b0:81:9 :2e"));
}

}  // namespace
}  // namespace mpe::common
