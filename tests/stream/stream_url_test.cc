#include "stream/stream_url.h"

#include <gtest/gtest.h>

namespace mpe::stream {
namespace {

TEST(StreamUrlTest, ParsesAWssUrlWithTheDefaultPort) {
  auto url = ParseStreamUrl("wss://api-ws.mist.com/api-ws/v1/stream");
  ASSERT_TRUE(url.ok());
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->host, "api-ws.mist.com");
  EXPECT_EQ(url->port, "443");
  EXPECT_EQ(url->target, "/api-ws/v1/stream");
  EXPECT_EQ(url->HostHeader(), "api-ws.mist.com");
  EXPECT_EQ(url->Redacted(), "wss://api-ws.mist.com/api-ws/v1/stream");
}

TEST(StreamUrlTest, KeepsAnExplicitPortInTheHostHeader) {
  auto url = ParseStreamUrl("WS://127.0.0.1:8080");
  ASSERT_TRUE(url.ok());
  EXPECT_FALSE(url->tls);
  EXPECT_EQ(url->port, "8080");
  EXPECT_EQ(url->target, "/");
  EXPECT_EQ(url->HostHeader(), "127.0.0.1:8080");
}

TEST(StreamUrlTest, RedactionDropsUserInfoAndQuery) {
  auto url = ParseStreamUrl("ws://user:pw@host:80/p/q?token=abc#frag");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->host, "host");
  EXPECT_EQ(url->target, "/p/q?token=abc");
  EXPECT_EQ(url->Redacted(), "ws://host/p/q");
}

TEST(StreamUrlTest, ParsesIpv6Literals) {
  auto url = ParseStreamUrl("wss://[::1]:9443/s");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, "9443");
  EXPECT_EQ(url->HostHeader(), "[::1]:9443");
  EXPECT_TRUE(IsIpLiteral(url->host));
  EXPECT_FALSE(IsIpLiteral("localhost"));
}

TEST(StreamUrlTest, RejectsBadUrlsWithoutEchoingThem) {
  EXPECT_EQ(ParseStreamUrl("https://secret@host/").error().message,
            "stream url must start with ws:// or wss://");
  EXPECT_FALSE(ParseStreamUrl("ws://").ok());
  EXPECT_FALSE(ParseStreamUrl("ws://host:http/").ok());
  EXPECT_FALSE(ParseStreamUrl("ws://host:70000/").ok());
  EXPECT_FALSE(ParseStreamUrl("ws://[::1/").ok());
}

}  // namespace
}  // namespace mpe::stream
