#include "http/basic_auth.h"

#include <gtest/gtest.h>

#include "fakes/http_test_support.h"

namespace mpe::http {
namespace {

using testing::BasicHeader;

// Made once with Python's crypt module (libcrypt), "$2y$" as htpasswd -B writes it.
constexpr char kHunter2Hash2y[] = "$2y$05$mpeFixtureSaltForTesteA3Dle45T/ZhHkbIFSvpfRqKEmZ7Eu3.";

class BasicAuthTest : public ::testing::Test {
 protected:
  BasicAuth auth_{{{"alice", testing::BcryptHash("s3cret")}, {"carol", kHunter2Hash2y}}};
};

TEST_F(BasicAuthTest, AcceptsTheRightPassword) {
  EXPECT_TRUE(auth_.Check(BasicHeader("alice", "s3cret")));
  EXPECT_TRUE(auth_.Check(BasicHeader("carol", "hunter2")));
}

TEST_F(BasicAuthTest, RejectsAWrongPasswordAnUnknownUserAndSwappedUsers) {
  EXPECT_FALSE(auth_.Check(BasicHeader("alice", "s3cret!")));
  EXPECT_FALSE(auth_.Check(BasicHeader("alice", "")));
  EXPECT_FALSE(auth_.Check(BasicHeader("mallory", "s3cret")));
  EXPECT_FALSE(auth_.Check(BasicHeader("carol", "s3cret")));
}

TEST_F(BasicAuthTest, SpendsOneBcryptOnAnUnknownUser) {
  EXPECT_FALSE(auth_.Verify("mallory", "whatever"));
  EXPECT_EQ(auth_.bcrypt_runs(), 1u);
}

TEST_F(BasicAuthTest, CachesSuccessesButNeverFailures) {
  EXPECT_TRUE(auth_.Verify("alice", "s3cret"));
  EXPECT_TRUE(auth_.Verify("alice", "s3cret"));
  EXPECT_TRUE(auth_.Verify("alice", "s3cret"));
  EXPECT_EQ(auth_.bcrypt_runs(), 1u);
  EXPECT_FALSE(auth_.Verify("alice", "wrong"));
  EXPECT_FALSE(auth_.Verify("alice", "wrong"));
  EXPECT_EQ(auth_.bcrypt_runs(), 3u);
  // The cache is keyed by user and password together.
  EXPECT_FALSE(auth_.Verify("carol", "s3cret"));
  EXPECT_EQ(auth_.bcrypt_runs(), 4u);
}

TEST_F(BasicAuthTest, RejectsMalformedHeaders) {
  EXPECT_FALSE(auth_.Check(""));
  EXPECT_FALSE(auth_.Check("Bearer abc"));
  EXPECT_FALSE(auth_.Check("Basic"));
  EXPECT_FALSE(auth_.Check("Basic !!!!"));
  EXPECT_FALSE(auth_.Check("Basic YWxpY2U="));  // "alice" without a colon
  EXPECT_EQ(auth_.bcrypt_runs(), 0u);
}

TEST_F(BasicAuthTest, AcceptsTheSchemeInAnyCase) {
  std::string header = BasicHeader("alice", "s3cret");
  header.replace(0, 5, "bAsIc");
  EXPECT_TRUE(auth_.Check(header));
}

TEST_F(BasicAuthTest, RejectsAPasswordWithAnEmbeddedNul) {
  EXPECT_FALSE(auth_.Verify("alice", std::string("s3cret\0x", 8)));
}

TEST(Base64Test, DecodesPaddedInput) {
  std::string out;
  ASSERT_TRUE(DecodeBase64("YWxpY2U6czNjcmV0", &out));
  EXPECT_EQ(out, "alice:s3cret");
  ASSERT_TRUE(DecodeBase64("YTpi", &out));
  EXPECT_EQ(out, "a:b");
  ASSERT_TRUE(DecodeBase64("YTpiYw==", &out));
  EXPECT_EQ(out, "a:bc");
  ASSERT_TRUE(DecodeBase64("YTpiY2Q=", &out));
  EXPECT_EQ(out, "a:bcd");
  EXPECT_FALSE(DecodeBase64("YTpi=", &out));
  EXPECT_FALSE(DecodeBase64("", &out));
}

}  // namespace
}  // namespace mpe::http
