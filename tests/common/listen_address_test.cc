#include "common/listen_address.h"

#include <gtest/gtest.h>

namespace mpe::common {
namespace {

using F = ListenAddressFault;

TEST(ListenAddressTest, ParsesTheUsualForms) {
  const ListenAddress any = ParseListenAddress(":10052");
  EXPECT_EQ(any.fault, F::kNone);
  EXPECT_EQ(any.host, "0.0.0.0");
  EXPECT_EQ(any.port, 10052);
  EXPECT_TRUE(any.host_empty);
  const ListenAddress v6 = ParseListenAddress("[::1]:9000");
  EXPECT_EQ(v6.fault, F::kNone);
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 9000);
  const ListenAddress name = ParseListenAddress("localhost:0");
  EXPECT_EQ(name.fault, F::kNone);
  EXPECT_EQ(name.host, "localhost");
  EXPECT_EQ(name.port, 0);
  EXPECT_FALSE(name.host_empty);
  EXPECT_EQ(ParseListenAddress("127.0.0.1:65535").port, 65535);
}

TEST(ListenAddressTest, NamesWhatIsWrong) {
  EXPECT_EQ(ParseListenAddress("").fault, F::kShape);
  EXPECT_EQ(ParseListenAddress("10052").fault, F::kShape);
  EXPECT_EQ(ParseListenAddress("[::1]").fault, F::kBracketShape);
  EXPECT_EQ(ParseListenAddress("[::1]9000").fault, F::kBracketShape);
  // The shape `--check-config` once accepted and the server then refused.
  EXPECT_EQ(ParseListenAddress("[abc]:80").fault, F::kBracketsNeedIpv6);
  EXPECT_EQ(ParseListenAddress("[]:80").fault, F::kBracketsNeedIpv6);
  EXPECT_EQ(ParseListenAddress("::1:9000").fault, F::kUnbracketedIpv6);
  EXPECT_EQ(ParseListenAddress("my host:80").fault, F::kBadHost);
  EXPECT_EQ(ParseListenAddress("a/b:80").fault, F::kBadHost);
  EXPECT_EQ(ParseListenAddress(":").fault, F::kBadPort);
  EXPECT_EQ(ParseListenAddress(":65536").fault, F::kBadPort);
  EXPECT_EQ(ParseListenAddress(":+80").fault, F::kBadPort);
  EXPECT_EQ(ParseListenAddress(":-1").fault, F::kBadPort);
  EXPECT_EQ(ParseListenAddress(":80x").fault, F::kBadPort);
  EXPECT_EQ(ParseListenAddress(":000080").fault, F::kBadPort);
}

}  // namespace
}  // namespace mpe::common
