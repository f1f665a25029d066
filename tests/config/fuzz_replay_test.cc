// Replays the config fuzz corpus and regression inputs through the same invariant checks as
// the libFuzzer target (tests/fuzz/fuzz_checks.h), without libFuzzer, so every crash the
// fuzzer ever found stays a test in the normal build.

#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "config/config_loader.h"
#include "fuzz/fuzz_checks.h"
#include "fuzz/replay_inputs.h"

namespace mpe::fuzz {
namespace {

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class ConfigFuzzReplayTest : public ::testing::Test {
 protected:
  static std::vector<ReplayInput> Inputs(std::string_view folder) {
    return ReadReplayInputs(MPE_SOURCE_DIR, folder, kConfigTarget);
  }
};

TEST_F(ConfigFuzzReplayTest, CorpusKeepsEveryLoaderInvariant) {
  const auto inputs = Inputs("corpus");
  ASSERT_GE(inputs.size(), 20u) << "corpus folder not found or emptied";
  for (const ReplayInput& in : inputs) EXPECT_EQ(CheckConfig(Bytes(in.bytes)), "") << in.path;
}

TEST_F(ConfigFuzzReplayTest, RegressionsKeepEveryLoaderInvariant) {
  for (const ReplayInput& in : Inputs("regressions")) {
    EXPECT_EQ(CheckConfig(Bytes(in.bytes)), "") << in.path;
  }
}

// The shipped configs load, and the bad ones from tests/testdata fail: the seeds cover both
// the accepting and every rejecting path the unit tests know.
TEST_F(ConfigFuzzReplayTest, CorpusHoldsTheShippedConfigsAndRejectedOnes) {
  int ok = 0;
  int rejected = 0;
  config::LoadOptions opts;
  opts.require_token = false;
  opts.env = [](const std::string&) -> std::optional<std::string> { return "t"; };
  for (const ReplayInput& in : Inputs("corpus")) {
    auto r = config::LoadConfigString(in.bytes, "seed.yaml", config::CommandLine{}, opts);
    const bool shipped = in.path.find("/shipped_") != std::string::npos ||
                         in.path.find("/testdata_full.yaml") != std::string::npos;
    const bool bad = in.path.find("/testdata_bad_") != std::string::npos;
    if (shipped) {
      EXPECT_TRUE(r.ok()) << in.path << ": " << r.error().message;
    }
    if (bad) {
      EXPECT_FALSE(r.ok()) << in.path;
    }
    ok += r.ok();
    rejected += !r.ok();
  }
  EXPECT_GE(ok, 5);
  EXPECT_GE(rejected, 15);
}

}  // namespace
}  // namespace mpe::fuzz
