#include "config/flags.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/config_loader.h"

namespace mpe::config {
namespace {

class FlagsTest : public ::testing::Test {
 protected:
  static common::Result<CommandLine> Parse(std::vector<std::string> args) {
    std::vector<const char*> argv = {"mist_pcap_exporter"};
    for (const std::string& a : args) argv.push_back(a.c_str());
    return ParseCommandLine(static_cast<int>(argv.size()), argv.data());
  }
  static std::string ErrorOf(std::vector<std::string> args) {
    auto r = Parse(std::move(args));
    return r.ok() ? "<ok>" : r.error().message;
  }
};

TEST_F(FlagsTest, NoArgumentsGiveDefaults) {
  auto r = Parse({});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->config_file, "config/mist_pcap_exporter.yaml");
  EXPECT_FALSE(r->listen_address.has_value());
  EXPECT_FALSE(r->web_config_file.has_value());
  EXPECT_FALSE(r->log_level.has_value());
  EXPECT_FALSE(r->log_format.has_value());
  EXPECT_FALSE(r->shard_index.has_value());
  EXPECT_FALSE(r->shard_count.has_value());
  EXPECT_FALSE(r->check_config);
  EXPECT_FALSE(r->version);
  EXPECT_FALSE(r->help);
  EXPECT_TRUE(r->subcommand.empty());
}

TEST_F(FlagsTest, AcceptsFlagEqualsValueForm) {
  auto r = Parse({"--config.file=/etc/mpe.yaml", "--web.listen-address=127.0.0.1:9000",
                  "--web.config.file=web.yml", "--log.level=debug", "--log.format=json",
                  "--shard.index=1", "--shard.count=3"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->config_file, "/etc/mpe.yaml");
  EXPECT_EQ(r->listen_address, "127.0.0.1:9000");
  EXPECT_EQ(r->web_config_file, "web.yml");
  EXPECT_EQ(r->log_level, "debug");
  EXPECT_EQ(r->log_format, "json");
  EXPECT_EQ(r->shard_index, 1);
  EXPECT_EQ(r->shard_count, 3);
}

TEST_F(FlagsTest, AcceptsFlagSpaceValueForm) {
  auto r = Parse({"--config.file", "demo.yaml", "--web.listen-address", ":0", "--log.level", "warn",
                  "--shard.count", "2"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->config_file, "demo.yaml");
  EXPECT_EQ(r->listen_address, ":0");
  EXPECT_EQ(r->log_level, "warn");
  EXPECT_EQ(r->shard_count, 2);
  EXPECT_FALSE(r->shard_index.has_value());
}

TEST_F(FlagsTest, SetsBooleanFlags) {
  auto r = Parse({"--check-config", "--version", "-h"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->check_config);
  EXPECT_TRUE(r->version);
  EXPECT_TRUE(r->help);
  EXPECT_TRUE(Parse({"--help"})->help);
}

TEST_F(FlagsTest, CapturesSubcommandWithoutParsingItsFlags) {
  auto r = Parse({"--config.file=c.yaml", "captures", "list", "--site", "HQ", "--bogus"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->config_file, "c.yaml");
  EXPECT_EQ(r->subcommand,
            (std::vector<std::string>{"captures", "list", "--site", "HQ", "--bogus"}));
}

TEST_F(FlagsTest, DoubleDashEndsFlags) {
  auto r = Parse({"--log.level=info", "--", "--weird", "x"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->subcommand, (std::vector<std::string>{"--weird", "x"}));
}

TEST_F(FlagsTest, RejectsUnknownFlags) {
  EXPECT_EQ(ErrorOf({"--foo"}), "unknown flag --foo (see --help)");
  EXPECT_EQ(ErrorOf({"--foo=bar"}), "unknown flag --foo (see --help)");
  EXPECT_EQ(ErrorOf({"-x"}), "unknown flag -x (see --help)");
}

TEST_F(FlagsTest, RejectsATokenFlag) {
  EXPECT_EQ(ErrorOf({"--mist.token=abc"}), "unknown flag --mist.token (see --help)");
}

TEST_F(FlagsTest, RejectsBadValues) {
  EXPECT_EQ(ErrorOf({"--log.level=verbose"}),
            "--log.level: must be one of debug, info, warn, error; got \"verbose\"");
  EXPECT_EQ(ErrorOf({"--log.format", "xml"}), "--log.format: must be text or json; got \"xml\"");
  EXPECT_EQ(ErrorOf({"--shard.index=one"}), "--shard.index: must be an integer; got \"one\"");
  EXPECT_EQ(ErrorOf({"--shard.count=2x"}), "--shard.count: must be an integer; got \"2x\"");
  EXPECT_EQ(ErrorOf({"--shard.count=0"}), "--shard.count: must be >= 1; got 0");
  EXPECT_EQ(ErrorOf({"--shard.index=-1"}), "--shard.index: must be >= 0; got -1");
  EXPECT_EQ(ErrorOf({"--shard.index=2", "--shard.count=2"}),
            "--shard.index: 2 must be less than --shard.count 2");
  EXPECT_EQ(ErrorOf({"--web.listen-address=10052"}),
            "--web.listen-address: must be HOST:PORT, :PORT or [IPv6]:PORT, got \"10052\"");
  EXPECT_EQ(ErrorOf({"--config.file="}), "--config.file: must not be empty");
}

TEST_F(FlagsTest, RejectsMissingValueAndValueOnBoolean) {
  EXPECT_EQ(ErrorOf({"--log.level"}), "flag --log.level needs a value");
  EXPECT_EQ(ErrorOf({"--version=yes"}), "flag --version takes no value");
}

TEST_F(FlagsTest, UsageMentionsEveryFlag) {
  std::string usage = UsageText();
  for (const char* flag :
       {"--config.file", "--web.listen-address", "--web.config.file", "--log.level", "--log.format",
        "--shard.index", "--shard.count", "--check-config", "--version", "--help", "captures"}) {
    EXPECT_NE(usage.find(flag), std::string::npos) << flag;
  }
}

TEST(TrailingOrdinalTest, ReadsTheNumberAtTheEndOfAPodName) {
  EXPECT_EQ(TrailingOrdinal("mpe-2"), 2);
  EXPECT_EQ(TrailingOrdinal("mist-pcap-exporter-17"), 17);
  EXPECT_EQ(TrailingOrdinal("7"), 7);
  EXPECT_EQ(TrailingOrdinal("mpe"), std::nullopt);
  EXPECT_EQ(TrailingOrdinal("mpe-"), std::nullopt);
  EXPECT_EQ(TrailingOrdinal(""), std::nullopt);
  EXPECT_EQ(TrailingOrdinal("mpe-99999999999999"), std::nullopt);
}

TEST(ListenAddressTest, AcceptsHostPortForms) {
  EXPECT_EQ(ListenAddressProblem(":10052"), std::nullopt);
  EXPECT_EQ(ListenAddressProblem("127.0.0.1:0"), std::nullopt);
  EXPECT_EQ(ListenAddressProblem("localhost:65535"), std::nullopt);
  EXPECT_EQ(ListenAddressProblem("[::1]:9000"), std::nullopt);
  EXPECT_EQ(ListenAddressProblem("[::]:9000"), std::nullopt);
}

TEST(ListenAddressTest, RejectsMalformedAddresses) {
  EXPECT_EQ(ListenAddressProblem("::1:9000"),
            "needs brackets around an IPv6 host (e.g. [::1]:10052), got \"::1:9000\"");
  EXPECT_EQ(ListenAddressProblem(":65536"),
            "port must be a number from 0 to 65535, got \":65536\"");
  EXPECT_EQ(ListenAddressProblem("host:"), "port must be a number from 0 to 65535, got \"host:\"");
  EXPECT_EQ(ListenAddressProblem("[::1]"),
            "must be HOST:PORT, :PORT or [IPv6]:PORT, got \"[::1]\"");
  EXPECT_EQ(ListenAddressProblem(""), "must be HOST:PORT, :PORT or [IPv6]:PORT, got \"\"");
  // The server refuses these (common::ParseListenAddress is the one rule): so does the config.
  EXPECT_EQ(ListenAddressProblem("[abc]:80"),
            "brackets need an IPv6 address (e.g. [::1]:10052), got \"[abc]:80\"");
  EXPECT_EQ(ListenAddressProblem("a/b:80"),
            "must be HOST:PORT, :PORT or [IPv6]:PORT, got \"a/b:80\"");
  EXPECT_EQ(ListenAddressProblem(":+80"), "port must be a number from 0 to 65535, got \":+80\"");
}

TEST_F(FlagsTest, WebEnableLifecycleIsAnOffByDefaultBoolean) {
  EXPECT_FALSE(Parse({})->web_enable_lifecycle);
  auto r = Parse({"--web.enable-lifecycle"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->web_enable_lifecycle);
  EXPECT_EQ(ErrorOf({"--web.enable-lifecycle=true"}), "flag --web.enable-lifecycle takes no value");
  EXPECT_NE(UsageText().find("--web.enable-lifecycle"), std::string::npos);
}

}  // namespace
}  // namespace mpe::config
