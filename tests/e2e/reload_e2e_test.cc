// Config reload end to end over loopback: the simulated Mist cloud and the exporter App started
// from a real config file, which the test rewrites, breaks and deletes between reloads
// (POST /-/reload and App::Reload, the SIGHUP path). The simulator's own stats say which sites
// are polled and subscribed; /metrics must agree.
#include <gtest/gtest.h>
#include <httplib.h>
#include <rapidjson/document.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "app/app.h"
#include "config/config_loader.h"
#include "e2e/metrics_text.h"
#include "fakes/sim_exporter.h"
#include "fakes/temp_dir.h"
#include "fakes/wait.h"
#include "sim/cloud_sim.h"

namespace mpe {
namespace {

using testing::FindSample;
using testing::Sample;
using Ids = std::set<std::string>;

constexpr char kHq[] = "978c48e6-6ef6-11e6-8bbf-02e208b2d34f";
constexpr char kBranch[] = "a1b2c3d4-0000-4000-8000-000000000002";
constexpr char kWarehouse[] = "a1b2c3d4-0000-4000-8000-000000000003";
constexpr char kToken[] = "e2e-reload-token-31b7";
constexpr auto kPollInterval = std::chrono::milliseconds(300);

bool WaitUntil(const std::function<bool()>& done, std::chrono::seconds timeout) {
  return fakes::WaitUntil(done, timeout, std::chrono::milliseconds(20));
}

class ReloadE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("exporter.yaml");
    ASSERT_TRUE(env_.StartSim());
    sim_ = &env_.sim();
  }
  void TearDown() override { env_.Stop(); }

  void WriteConfig(const std::vector<std::pair<std::string, std::string>>& sites) {
    std::ofstream out(path_, std::ios::trunc);
    out << "mist:\n  api_url: " << sim_->base_url()
        << "\n  timeout: 2s\n  max_requests_per_hour: 100000\n"
        << "poll:\n  status_interval: 300ms\n  list_interval: 300ms\n  idle_interval: 300ms\n"
        << "stream:\n  reconnect_min: 50ms\n  reconnect_max: 500ms\n"
        << "web:\n  listen_address: 127.0.0.1:0\n"
        << "sites:\n";
    for (const auto& [id, name] : sites) out << "  - {id: " << id << ", name: " << name << "}\n";
  }

  void ReplaceInConfig(const std::string& from, const std::string& to) {
    std::string text;
    {
      std::ifstream in(path_);
      text.assign(std::istreambuf_iterator<char>(in), {});
    }
    const auto at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    std::ofstream(path_, std::ios::trunc) << text;
  }

  void StartApp() {
    app::ReloadSource source;
    source.path = path_;
    source.command_line.config_file = path_;
    source.command_line.web_enable_lifecycle = true;  // POST /-/reload is served
    source.load_options.env = [](const std::string& name) -> std::optional<std::string> {
      if (name == "MIST_API_TOKEN") return std::string(kToken);
      return std::nullopt;
    };
    auto cfg = config::LoadConfigFile(path_, source.command_line, source.load_options);
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    ASSERT_TRUE(env_.StartApp(std::move(cfg).value(), common::SystemClock::Instance(),
                              [&](app::App& app) { app.EnableReload(source); }));
    app_ = &env_.app();
  }

  httplib::Result PostReload() {
    httplib::Client client("127.0.0.1", app_->http_port());
    client.set_read_timeout(std::chrono::seconds(10));
    return client.Post("/-/reload");
  }

  std::vector<Sample> Scrape() { return env_.Scrape(); }

  double Value(const std::vector<Sample>& m, const std::string& name,
               const std::map<std::string, std::string>& labels = {}) {
    const Sample* s = FindSample(m, name, labels);
    return s ? s->value : -1;
  }

  // Site ids of every series of `name` with value 1.
  static Ids SitesAtOne(const std::vector<Sample>& m, const std::string& name) {
    Ids out;
    for (const auto& s : m) {
      if (s.name == name && s.value == 1) out.insert(s.labels.at("site_id"));
    }
    return out;
  }
  // Site ids of every series of `name`, whatever the value.
  static Ids SitesOf(const std::vector<Sample>& m, const std::string& name) {
    Ids out;
    for (const auto& s : m) {
      if (s.name == name) out.insert(s.labels.at("site_id"));
    }
    return out;
  }

  // The simulator's view: sites with a subscribed stream connection now.
  Ids SimSubscribed() {
    rapidjson::Document stats;
    stats.Parse(sim_->StatsJson().c_str());
    Ids out;
    for (const auto& m : stats["subscribed"].GetObject()) out.insert(m.name.GetString());
    return out;
  }
  // The simulator's view: status + list polls of one site so far.
  int SimPolls(const std::string& site) {
    rapidjson::Document stats;
    stats.Parse(sim_->StatsJson().c_str());
    const auto& r = stats["site_requests"];
    return r.HasMember(site.c_str()) ? r[site.c_str()].GetInt() : 0;
  }

  // Both views show exactly `sites`: polled up, subscribed, and nothing else.
  bool ServesExactly(const Ids& sites, std::vector<Sample>* m) {
    *m = Scrape();
    return SitesAtOne(*m, "mist_pcap_up") == sites && SitesOf(*m, "mist_pcap_up") == sites &&
           SitesAtOne(*m, "mist_pcap_stream_subscribed") == sites &&
           SitesOf(*m, "mist_pcap_stream_subscribed") == sites && SimSubscribed() == sites;
  }

  // For `d` of real time the served set stays `sites` and every one of them is still polled.
  void ExpectStillServes(const Ids& sites, std::chrono::milliseconds d) {
    std::map<std::string, int> before;
    for (const auto& id : sites) before[id] = SimPolls(id);
    std::this_thread::sleep_for(d);
    std::vector<Sample> m;
    EXPECT_TRUE(ServesExactly(sites, &m));
    for (const auto& id : sites) EXPECT_GT(SimPolls(id), before[id]) << id;
  }

  fakes::TempDir dir_;
  std::string path_;
  // Stops the App, then the simulator (TearDown, before the config file goes).
  fakes::SimAndExporter env_{kToken};
  sim::CloudSim* sim_ = nullptr;  // env_'s, once SetUp has started it
  app::App* app_ = nullptr;       // env_'s, once StartApp has started it
};

TEST_F(ReloadE2ETest, SitesFollowTheFileAndBadOrMissingFilesKeepTheRunningSites) {
  WriteConfig({{kHq, "HQ"}, {kBranch, "Branch-01"}});
  StartApp();
  std::vector<Sample> m;
  ASSERT_TRUE(WaitUntil(
      [&] {
        return ServesExactly({kHq, kBranch}, &m);
      },
      std::chrono::seconds(20)));
  EXPECT_EQ(Value(m, "mist_pcap_exporter_config_last_reload_successful"), 1);
  EXPECT_EQ(Value(m, "mist_pcap_exporter_config_reloads_total", {{"result", "success"}}), 0);
  EXPECT_EQ(Value(m, "mist_pcap_exporter_config_reloads_total", {{"result", "failure"}}), 0);
  EXPECT_EQ(Value(m, "mist_pcap_exporter_config_restart_required"), 0);
  const double started_at =
      Value(m, "mist_pcap_exporter_config_last_reload_success_timestamp_seconds");
  EXPECT_GT(started_at, 1.7e9);
  EXPECT_EQ(SimPolls(kWarehouse), 0);

  // A, B -> B, C.
  WriteConfig({{kBranch, "Branch-01"}, {kWarehouse, "Warehouse"}});
  const auto t0 = std::chrono::steady_clock::now();
  auto res = PostReload();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "config reloaded from " + path_ + ": applied sites\n");
  ASSERT_TRUE(WaitUntil(
      [&] {
        return SimPolls(kWarehouse) >= 1 && SimSubscribed() == Ids{kBranch, kWarehouse};
      },
      std::chrono::seconds(10)))
      << "warehouse polls " << SimPolls(kWarehouse);
  // New sites are polled and subscribed at once, not after a restart or a full interval.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, kPollInterval + std::chrono::seconds(1));
  ASSERT_TRUE(WaitUntil(
      [&] {
        return ServesExactly({kBranch, kWarehouse}, &m);
      },
      std::chrono::seconds(10)));
  EXPECT_EQ(Value(m, "mist_pcap_exporter_config_last_reload_successful"), 1);
  EXPECT_EQ(Value(m, "mist_pcap_exporter_config_reloads_total", {{"result", "success"}}), 1);
  EXPECT_GE(Value(m, "mist_pcap_exporter_config_last_reload_success_timestamp_seconds"),
            started_at);
  // HQ is dropped everywhere: no series, no subscription, no more polls (one may be in flight).
  for (const auto& s : m) {
    auto it = s.labels.find("site_id");
    EXPECT_FALSE(it != s.labels.end() && it->second == kHq) << s.name;
  }
  const int hq_polls = SimPolls(kHq);
  ExpectStillServes({kBranch, kWarehouse}, 4 * kPollInterval);
  EXPECT_LE(SimPolls(kHq), hq_polls + 1);

  // A broken file: 500 with file:line: key: problem, metric 0, B and C still served.
  ReplaceInConfig("status_interval: 300ms", "status_interval: soon");
  res = PostReload();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  EXPECT_EQ(res->body, path_ +
                           ":6: poll.status_interval: invalid duration \"soon\" (use a number "
                           "with unit ms, s, m, h or d, e.g. 30s)\n");
  m = Scrape();
  EXPECT_EQ(Value(m, "mist_pcap_exporter_config_last_reload_successful"), 0);
  EXPECT_EQ(Value(m, "mist_pcap_exporter_config_reloads_total", {{"result", "failure"}}), 1);
  ExpectStillServes({kBranch, kWarehouse}, 3 * kPollInterval);

  // The file is gone: the same.
  std::filesystem::remove(path_);
  res = PostReload();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  EXPECT_EQ(res->body, path_ + ": cannot read config file: No such file or directory\n");
  m = Scrape();
  EXPECT_EQ(Value(m, "mist_pcap_exporter_config_last_reload_successful"), 0);
  EXPECT_EQ(Value(m, "mist_pcap_exporter_config_reloads_total", {{"result", "failure"}}), 2);
  ExpectStillServes({kBranch, kWarehouse}, 3 * kPollInterval);

  // GET is not a reload.
  httplib::Client client("127.0.0.1", app_->http_port());
  auto get = client.Get("/-/reload");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 405);

  // The SIGHUP path (App::Reload) with a good file again: all three.
  WriteConfig({{kHq, "HQ"}, {kBranch, "Branch-01"}, {kWarehouse, "Warehouse"}});
  auto [ok, message] = app_->Reload();
  EXPECT_TRUE(ok) << message;
  ASSERT_TRUE(WaitUntil(
      [&] {
        return ServesExactly({kHq, kBranch, kWarehouse}, &m);
      },
      std::chrono::seconds(10)));
  EXPECT_EQ(Value(m, "mist_pcap_exporter_config_last_reload_successful"), 1);
  EXPECT_EQ(Value(m, "mist_pcap_exporter_config_reloads_total", {{"result", "success"}}), 2);
  EXPECT_EQ(Value(m, "mist_pcap_exporter_config_reloads_total", {{"result", "failure"}}), 2);
}

TEST_F(ReloadE2ETest, RestartOnlyKeysKeepTheirValueAndRaiseRestartRequired) {
  WriteConfig({{kHq, "HQ"}});
  StartApp();
  std::vector<Sample> m;
  ASSERT_TRUE(WaitUntil([&] { return ServesExactly({kHq}, &m); }, std::chrono::seconds(20)));
  const int port = app_->http_port();
  {
    std::ofstream out(path_, std::ios::app);
    out << "metrics:\n  max_series_per_family: 10\n";
  }
  ReplaceInConfig("listen_address: 127.0.0.1:0", "listen_address: 127.0.0.1:1");

  auto res = PostReload();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "config reloaded from " + path_ +
                           ": nothing to apply; restart required for "
                           "metrics.max_series_per_family, web.listen_address (running values "
                           "kept)\n");
  EXPECT_EQ(app_->http_port(), port);
  m = Scrape();
  EXPECT_EQ(Value(m, "mist_pcap_exporter_config_last_reload_successful"), 1);
  EXPECT_EQ(Value(m, "mist_pcap_exporter_config_restart_required"), 1);
  EXPECT_TRUE(ServesExactly({kHq}, &m));
}

}  // namespace
}  // namespace mpe
