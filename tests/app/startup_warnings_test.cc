#include "app/startup_warnings.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace mpe::app {
namespace {

class StartupWarningsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mpe-warn-" + std::to_string(::getpid()) + "-" + std::to_string(std::rand()));
    std::filesystem::create_directories(dir_);
    token_ = (dir_ / "token").string();
    std::ofstream(token_) << "secret-token\n";
    config_.mist.token_file = token_;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::string token_;
  config::Config config_;
};

TEST_F(StartupWarningsTest, APrivateTokenFileAndHttpsGiveNoWarning) {
  ::chmod(token_.c_str(), 0600);
  config_.mist.api_url = "https://api.mist.com";
  EXPECT_TRUE(StartupWarnings(config_).empty());
}

TEST_F(StartupWarningsTest, ATokenFileOthersCanReadGivesOneWarning) {
  ::chmod(token_.c_str(), 0644);
  auto w = StartupWarnings(config_);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0],
            "token file " + token_ + " is readable by group or others (mode 0644); chmod 600 it");
  ::chmod(token_.c_str(), 0640);
  EXPECT_EQ(StartupWarnings(config_).size(), 1u);
  EXPECT_EQ(w[0].find("secret-token"), std::string::npos);
}

TEST_F(StartupWarningsTest, CleartextToAnotherHostWarnsButLoopbackDoesNot) {
  ::chmod(token_.c_str(), 0600);
  for (const char* url : {"http://api.mist.com", "HTTP://10.0.0.5:8080", "http://[2001:db8::1]:80",
                          "http://127.0.0.1.evil.example"}) {
    config_.mist.api_url = url;
    auto w = StartupWarnings(config_);
    ASSERT_EQ(w.size(), 1u) << url;
    EXPECT_EQ(w[0].rfind(std::string("mist.api_url ") + url + " is cleartext", 0), 0u) << w[0];
  }
  for (const char* url :
       {"http://127.0.0.1:8080", "http://localhost:9000", "http://[::1]:80", "https://10.0.0.5"}) {
    config_.mist.api_url = url;
    EXPECT_TRUE(StartupWarnings(config_).empty()) << url;
  }
}

}  // namespace
}  // namespace mpe::app
