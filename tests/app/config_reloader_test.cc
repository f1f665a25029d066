#include "app/config_reloader.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "fakes/mist_fake_server.h"
#include "fakes/mist_metrics_probe.h"

namespace mpe::app {
namespace {

using Keys = std::vector<std::string>;

constexpr char kSecret[] = "tok-RELOAD-SECRET-5e1f";
constexpr char kNewSecret[] = "tok-RELOAD-ROTATED-9a0c";
constexpr char kSiteA[] = "aaaaaaaa-0000-4000-8000-00000000000a";
constexpr char kSiteB[] = "bbbbbbbb-0000-4000-8000-00000000000b";
constexpr char kSiteC[] = "cccccccc-0000-4000-8000-00000000000c";
constexpr double kStart = 1700000000;

// The exporter config of these tests; line 6 holds poll.status_interval.
std::string Yaml(const std::vector<std::string>& site_ids, const std::string& status_interval,
                 const std::string& listen = "127.0.0.1:0", const std::string& token_file = "") {
  std::string y = "mist:\n  api_url: http://127.0.0.1:1\n";
  y += token_file.empty() ? "" : "  token_file: " + token_file + "\n";
  y += "log:\n  level: info\npoll:\n  status_interval: " + status_interval + "\n";
  y += "web:\n  listen_address: \"" + listen + "\"\nsites:\n";
  for (const auto& id : site_ids) y += "  - {id: " + id + ", name: N-" + id.substr(0, 1) + "}\n";
  return y;
}

class ConfigReloaderTest : public ::testing::Test {
 protected:
  ConfigReloaderTest() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mpe-reload-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    path_ = dir_ + "/exporter.yaml";
  }
  ~ConfigReloaderTest() override { std::filesystem::remove_all(dir_); }

  void Write(const std::string& text) { std::ofstream(path_, std::ios::trunc) << text; }

  ReloadSource Source() const {
    ReloadSource source;
    source.path = path_;
    source.command_line = cl_;
    source.command_line.config_file = path_;
    source.load_options.env =
        [token = env_token_](const std::string& name) -> std::optional<std::string> {
      if (name == "MIST_API_TOKEN") return token;
      return std::nullopt;
    };
    return source;
  }

  // Loads the current file as the start config and builds the reloader over it.
  ConfigReloader& Start() {
    auto running = config::LoadConfigFile(path_, Source().command_line, Source().load_options);
    EXPECT_TRUE(running.ok()) << running.error().message;
    reloader_ = std::make_unique<ConfigReloader>(Source(), *running, registry_, clock_,
                                                 [this](const config::ReloadPlan& plan) {
                                                   plans_.push_back(plan);
                                                   return apply_status_;
                                                 });
    return *reloader_;
  }

  double Metric(const std::string& name, const fakes::LabelMap& labels = {}) {
    return fakes::Value(registry_, name, labels).value_or(-1);
  }
  double LastOk() { return Metric("mist_pcap_exporter_config_last_reload_successful"); }
  double LastOkTime() {
    return Metric("mist_pcap_exporter_config_last_reload_success_timestamp_seconds");
  }
  double Reloads(const char* result) {
    return Metric("mist_pcap_exporter_config_reloads_total", {{"result", result}});
  }
  double RestartRequired() { return Metric("mist_pcap_exporter_config_restart_required"); }

  static size_t Count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) {
      ++n;
    }
    return n;
  }

  std::string dir_;
  std::string path_;
  config::CommandLine cl_;
  std::optional<std::string> env_token_ = kSecret;  // $MIST_API_TOKEN (wins over token_file)
  prometheus::Registry registry_;
  common::ManualClock clock_;
  std::vector<config::ReloadPlan> plans_;
  common::Status apply_status_ = common::Ok{};
  std::unique_ptr<ConfigReloader> reloader_;
};

std::vector<std::string> SiteIds(const config::Config& c) {
  std::vector<std::string> ids;
  for (const auto& s : c.sites) ids.push_back(s.id);
  return ids;
}

TEST_F(ConfigReloaderTest, TheStartCountsAsTheLastSuccessfulLoad) {
  Write(Yaml({kSiteA, kSiteB}, "30s"));
  Start();
  EXPECT_EQ(LastOk(), 1);
  EXPECT_EQ(LastOkTime(), kStart);
  EXPECT_EQ(Reloads("success"), 0);
  EXPECT_EQ(Reloads("failure"), 0);
  EXPECT_EQ(RestartRequired(), 0);
  EXPECT_EQ(fakes::LabelSets(registry_, "mist_pcap_exporter_config_reloads_total").size(), 2u);
}

TEST_F(ConfigReloaderTest, AGoodFileIsPlannedAppliedAndRecorded) {
  Write(Yaml({kSiteA, kSiteB}, "30s"));
  auto& reloader = Start();
  Write(Yaml({kSiteB, kSiteC}, "5s"));
  clock_.Advance(std::chrono::seconds(60));
  fakes::LogCapture log;
  const ReloadOutcome outcome = reloader.Reload();
  EXPECT_TRUE(outcome.ok);
  EXPECT_EQ(outcome.message,
            "config reloaded from " + path_ + ": applied sites, poll.status_interval");
  ASSERT_EQ(plans_.size(), 1u);
  EXPECT_EQ(plans_[0].applied, (Keys{"sites", "poll.status_interval"}));
  EXPECT_EQ(plans_[0].restart_required, Keys{});
  EXPECT_EQ(SiteIds(plans_[0].next), (Keys{kSiteB, kSiteC}));
  EXPECT_EQ(plans_[0].next.poll.status_interval, std::chrono::seconds(5));
  EXPECT_EQ(SiteIds(reloader.running()), (Keys{kSiteB, kSiteC}));
  EXPECT_EQ(LastOk(), 1);
  EXPECT_EQ(LastOkTime(), kStart + 60);
  EXPECT_EQ(Reloads("success"), 1);
  EXPECT_EQ(Reloads("failure"), 0);
  EXPECT_EQ(RestartRequired(), 0);
  EXPECT_EQ(Count(log.Text(), outcome.message), 1u) << log.Text();

  // The same file again: nothing changes, still a success.
  const ReloadOutcome again = reloader.Reload();
  EXPECT_TRUE(again.ok);
  EXPECT_EQ(again.message, "config reloaded from " + path_ + ": nothing to apply");
  ASSERT_EQ(plans_.size(), 2u);
  EXPECT_EQ(plans_[1].applied, Keys{});
  EXPECT_EQ(Reloads("success"), 2);
}

TEST_F(ConfigReloaderTest, ABadFileKeepsTheRunningConfigAndLogsFileLineAndKey) {
  Write(Yaml({kSiteA, kSiteB}, "30s"));
  auto& reloader = Start();
  Write(Yaml({kSiteB, kSiteC}, "soon"));
  clock_.Advance(std::chrono::seconds(60));
  fakes::LogCapture log;
  const ReloadOutcome outcome = reloader.Reload();
  EXPECT_FALSE(outcome.ok);
  const std::string expected =
      path_ +
      ":6: poll.status_interval: invalid duration \"soon\" (use a number with unit ms, s, m, h "
      "or d, e.g. 30s)";
  EXPECT_EQ(outcome.message, expected);
  EXPECT_TRUE(plans_.empty());
  EXPECT_EQ(SiteIds(reloader.running()), (Keys{kSiteA, kSiteB}));
  EXPECT_EQ(LastOk(), 0);
  EXPECT_EQ(LastOkTime(), kStart);
  EXPECT_EQ(Reloads("success"), 0);
  EXPECT_EQ(Reloads("failure"), 1);
  const std::string text = log.Text();
  EXPECT_EQ(Count(text, "\n"), 1u) << text;
  EXPECT_EQ(Count(text, "config reload failed, keeping the running config: " + expected), 1u)
      << text;
  EXPECT_EQ(text.find(kSecret), std::string::npos);

  // Fixed: the next reload succeeds and the gauge goes back to 1.
  Write(Yaml({kSiteB, kSiteC}, "30s"));
  clock_.Advance(std::chrono::seconds(5));
  EXPECT_TRUE(reloader.Reload().ok);
  EXPECT_EQ(LastOk(), 1);
  EXPECT_EQ(LastOkTime(), kStart + 65);
  EXPECT_EQ(Reloads("success"), 1);
  EXPECT_EQ(Reloads("failure"), 1);
  ASSERT_EQ(plans_.size(), 1u);
  EXPECT_EQ(plans_[0].applied, Keys{"sites"});
}

TEST_F(ConfigReloaderTest, ARemovedFileAndBrokenYamlFailTheSameWay) {
  Write(Yaml({kSiteA}, "30s"));
  auto& reloader = Start();
  std::filesystem::remove(path_);
  const ReloadOutcome missing = reloader.Reload();
  EXPECT_FALSE(missing.ok);
  EXPECT_EQ(missing.message, path_ + ": cannot read config file: No such file or directory");
  EXPECT_EQ(LastOk(), 0);

  Write("sites: [\n");
  const ReloadOutcome broken = reloader.Reload();
  EXPECT_FALSE(broken.ok);
  EXPECT_EQ(broken.message.rfind(path_ + ":", 0), 0u) << broken.message;
  EXPECT_NE(broken.message.find("yaml syntax error"), std::string::npos) << broken.message;
  EXPECT_EQ(LastOk(), 0);
  EXPECT_EQ(Reloads("failure"), 2);
  EXPECT_TRUE(plans_.empty());
  EXPECT_EQ(SiteIds(reloader.running()), Keys{kSiteA});
}

TEST_F(ConfigReloaderTest, RestartOnlyChangesWarnKeepTheRunningValueAndNeverShowTheToken) {
  env_token_.reset();
  const std::string token_file = dir_ + "/token";
  std::ofstream(token_file) << kSecret << "\n";
  Write(Yaml({kSiteA}, "30s", "127.0.0.1:0", token_file));
  auto& reloader = Start();
  std::ofstream(token_file, std::ios::trunc) << kNewSecret << "\n";
  Write(Yaml({kSiteA, kSiteB}, "30s", "127.0.0.1:9999", token_file));
  fakes::LogCapture log;
  const ReloadOutcome outcome = reloader.Reload();
  EXPECT_TRUE(outcome.ok);
  EXPECT_EQ(outcome.message, "config reloaded from " + path_ +
                                 ": applied sites; restart required for mist token, "
                                 "web.listen_address (running values kept)");
  ASSERT_EQ(plans_.size(), 1u);
  EXPECT_EQ(plans_[0].restart_required, (Keys{"mist token", "web.listen_address"}));
  const config::Config running = reloader.running();
  EXPECT_EQ(running.web.listen_address, "127.0.0.1:0");
  EXPECT_EQ(running.token, kSecret);
  EXPECT_EQ(SiteIds(running), (Keys{kSiteA, kSiteB}));
  EXPECT_EQ(LastOk(), 1);
  EXPECT_EQ(RestartRequired(), 1);
  const std::string text = log.Text();
  EXPECT_EQ(Count(text,
                  "config reload: web.listen_address changed; restart required, keeping "
                  "the running value"),
            1u)
      << text;
  EXPECT_EQ(Count(text, "config reload: mist token changed; restart required"), 1u) << text;
  EXPECT_EQ(text.find(kSecret), std::string::npos);
  EXPECT_EQ(text.find(kNewSecret), std::string::npos);
  EXPECT_EQ(outcome.message.find("tok-"), std::string::npos);

  // Back to the running values: nothing needs a restart any more.
  std::ofstream(token_file, std::ios::trunc) << kSecret << "\n";
  Write(Yaml({kSiteA, kSiteB}, "30s", "127.0.0.1:0", token_file));
  EXPECT_TRUE(reloader.Reload().ok);
  EXPECT_EQ(RestartRequired(), 0);
  EXPECT_EQ(plans_.back().applied, Keys{});
  EXPECT_EQ(plans_.back().restart_required, Keys{});
}

TEST_F(ConfigReloaderTest, FlagOverridesStillWinAfterAReload) {
  cl_.listen_address = "127.0.0.1:0";
  cl_.log_level = "warn";
  Write(Yaml({kSiteA}, "30s", "127.0.0.1:1111"));
  auto& reloader = Start();
  Write(Yaml({kSiteA}, "30s", "127.0.0.1:2222"));
  const ReloadOutcome outcome = reloader.Reload();
  EXPECT_TRUE(outcome.ok);
  EXPECT_EQ(outcome.message, "config reloaded from " + path_ + ": nothing to apply");
  EXPECT_EQ(reloader.running().web.listen_address, "127.0.0.1:0");
  EXPECT_EQ(reloader.running().log.level, "warn");
  EXPECT_EQ(RestartRequired(), 0);
}

TEST_F(ConfigReloaderTest, AnApplyErrorCountsAsAFailure) {
  Write(Yaml({kSiteA}, "30s"));
  auto& reloader = Start();
  Write(Yaml({kSiteB}, "30s"));
  apply_status_ = common::MakeError("stream: cannot start");
  const ReloadOutcome outcome = reloader.Reload();
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.message, "applying " + path_ + ": stream: cannot start");
  EXPECT_EQ(LastOk(), 0);
  EXPECT_EQ(Reloads("failure"), 1);
  // What was applied stays: the next reload of the same file has nothing to apply.
  EXPECT_EQ(SiteIds(reloader.running()), Keys{kSiteB});
  apply_status_ = common::Ok{};
  EXPECT_TRUE(reloader.Reload().ok);
  EXPECT_EQ(plans_.back().applied, Keys{});
  EXPECT_EQ(LastOk(), 1);
}

TEST_F(ConfigReloaderTest, AfterCloseReloadsAreRefusedWithoutTouchingTheMetrics) {
  Write(Yaml({kSiteA}, "30s"));
  auto& reloader = Start();
  reloader.Close();
  Write(Yaml({kSiteB}, "30s"));
  const ReloadOutcome outcome = reloader.Reload();
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.message, "config reload refused: shutting down");
  EXPECT_TRUE(plans_.empty());
  EXPECT_EQ(LastOk(), 1);
  EXPECT_EQ(Reloads("failure"), 0);
}

TEST_F(ConfigReloaderTest, ConcurrentReloadsRunOneAtATime) {
  Write(Yaml({kSiteA}, "30s"));
  std::atomic<int> inside{0};
  std::atomic<int> most{0};
  auto running = config::LoadConfigFile(path_, Source().command_line, Source().load_options);
  ASSERT_TRUE(running.ok());
  ConfigReloader reloader(Source(), *running, registry_, clock_,
                          [&](const config::ReloadPlan&) -> common::Status {
                            const int now = ++inside;
                            most = std::max(most.load(), now);
                            std::this_thread::sleep_for(std::chrono::milliseconds(2));
                            --inside;
                            return common::Ok{};
                          });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) EXPECT_TRUE(reloader.Reload().ok);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(most.load(), 1);
  EXPECT_EQ(Reloads("success"), 20);
}

}  // namespace
}  // namespace mpe::app
