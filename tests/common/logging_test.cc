#include "common/logging.h"

#include <gtest/gtest.h>

namespace mpe::common {
namespace {

TEST(LoggingTest, SetLogLevelChangesTheLevelOfTheSameLogger) {
  SetupLogging("info", "text");
  spdlog::logger* before = spdlog::default_logger_raw();
  EXPECT_EQ(before->level(), spdlog::level::info);
  SetLogLevel("debug");
  EXPECT_EQ(spdlog::default_logger_raw(), before);
  EXPECT_EQ(before->level(), spdlog::level::debug);
  SetLogLevel("warn");
  EXPECT_EQ(before->level(), spdlog::level::warn);
  SetLogLevel("error");
  EXPECT_EQ(before->level(), spdlog::level::err);
  SetLogLevel("bogus");
  EXPECT_EQ(before->level(), spdlog::level::info);
}

}  // namespace
}  // namespace mpe::common
