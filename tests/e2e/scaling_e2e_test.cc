// Scale-out end to end (docs/spec.md §8): site discovery, sharding over replicas, several stream
// connections per process, and the request budget, against the simulated Mist cloud on
// loopback with the App (or the PollerSet) in-process.
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <rapidjson/document.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "app/app.h"
#include "app/shard.h"
#include "config/config.h"
#include "e2e/metrics_text.h"
#include "fakes/sim_exporter.h"
#include "fakes/wait.h"
#include "mist/mist_client.h"
#include "poll/capture_metrics.h"
#include "poll/site_poller.h"
#include "sim/cloud_sim.h"

namespace mpe {
namespace {

using testing::FindSample;
using testing::Sample;
using Clock = std::chrono::steady_clock;

constexpr char kToken[] = "scale-token-51f0";

bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  return fakes::WaitUntil(done, timeout, std::chrono::milliseconds(50));
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string SiteId(int i) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "5ca1ab1e-0000-4000-8000-%012d", i);
  return buf;
}

std::vector<Sample> Scrape(const app::App& app) {
  return fakes::ScrapeMetrics(app.http_port(), std::chrono::seconds(10));
}

// site_id of every sample of `name` whose value is `value`.
std::set<std::string> SitesWith(const std::vector<Sample>& m, const std::string& name,
                                double value = 1) {
  std::set<std::string> out;
  for (const auto& s : m) {
    if (s.name != name || s.value != value) continue;
    auto it = s.labels.find("site_id");
    if (it != s.labels.end()) out.insert(it->second);
  }
  return out;
}

// Every site_id that appears in any family.
std::set<std::string> SitesAnywhere(const std::vector<Sample>& m) {
  std::set<std::string> out;
  for (const auto& s : m) {
    auto it = s.labels.find("site_id");
    if (it != s.labels.end()) out.insert(it->second);
  }
  return out;
}

double Value(const std::vector<Sample>& m, const std::string& name,
             const std::map<std::string, std::string>& labels) {
  const Sample* s = FindSample(m, name, labels);
  return s ? s->value : -1;
}

int64_t SimStat(const sim::CloudSim& sim, const char* group, const char* key) {
  rapidjson::Document doc;
  doc.Parse(sim.StatsJson().c_str());
  if (!doc.IsObject() || !doc.HasMember(group)) return -1;
  const auto& g = doc[group];
  if (key == nullptr) return g.IsInt64() ? g.GetInt64() : -1;
  if (!g.IsObject() || !g.HasMember(key) || !g[key].IsInt64()) return 0;
  return g[key].GetInt64();
}

// Resident set size of this process in KiB (VmRSS, VmHWM for the peak).
long ProcStatusKib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0)
      return std::strtol(line.c_str() + std::strlen(field), nullptr, 10);
  }
  return -1;
}

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

class ScalingE2ETest : public ::testing::Test {
 protected:
  void StartSim(const std::string& yaml) {
    env_.sim_options().scenario_yaml = yaml;
    ASSERT_TRUE(env_.StartSim());
    sim_ = &env_.sim();
  }

  config::Config BaseConfig() {
    config::Config c = env_.Config();
    c.mist.timeout = std::chrono::seconds(5);
    c.mist.max_requests_per_hour = 10'000'000;
    c.discovery.org_id = "auto";
    return c;
  }

  app::App& StartApp(config::Config c) {
    EXPECT_TRUE(env_.StartApp(std::move(c)));
    return env_.app(env_.app_count() - 1);
  }

  // Stops every App, then the simulator, when the test ends.
  fakes::SimAndExporter env_{kToken};
  sim::CloudSim* sim_ = nullptr;  // env_'s, once StartSim has run
};

TEST_F(ScalingE2ETest, ThreeShardsPollAndSubscribeEachOfThreeThousandSitesExactlyOnce) {
  constexpr int kSites = 3000;
  constexpr int kShards = 3;
  std::string yaml = "orgs: [{id: org-east, name: East}, {id: org-west, name: West}]\nsites:\n";
  std::set<std::string> all;
  for (int i = 0; i < kSites; ++i) {
    const std::string id = SiteId(i);
    all.insert(id);
    yaml += "  - {id: " + id + ", name: Store-" + std::to_string(i) +
            ", org: " + (i % 2 ? "org-west" : "org-east") + "}\n";
  }
  StartSim(yaml);
  const double cpu0 = CpuSeconds();
  const auto t0 = Clock::now();
  for (int index = 0; index < kShards; ++index) {
    auto c = BaseConfig();
    c.shard = {index, kShards};
    c.poll.status_interval = std::chrono::seconds(8);
    c.poll.list_interval = std::chrono::seconds(120);
    c.poll.idle_interval = c.poll.status_interval;  // every site polled within 8 s, as before
    StartApp(c);
  }

  std::vector<std::vector<Sample>> scraped(kShards);
  auto all_polled_and_subscribed = [&] {
    size_t up = 0, subscribed = 0;
    for (int i = 0; i < kShards; ++i) {
      scraped[i] = Scrape(env_.app(i));
      up += SitesWith(scraped[i], "mist_pcap_up").size();
      subscribed += SitesWith(scraped[i], "mist_pcap_stream_subscribed").size();
    }
    return up >= kSites && subscribed >= kSites;
  };
  const bool done = WaitUntil(all_polled_and_subscribed, std::chrono::seconds(90));
  const double elapsed = Seconds(Clock::now() - t0);
  const double cpu = CpuSeconds() - cpu0;
  std::printf(
      "[ scale    ] %d sites, %d shards: all polled and subscribed after %.1f s; "
      "process (sim + 3 apps) CPU %.1f s, RSS %ld KiB (peak %ld KiB); "
      "sim requests: status %lld list %lld org_sites %lld self %lld; ws connections "
      "%lld\n",
      kSites, kShards, elapsed, cpu, ProcStatusKib("VmRSS:"), ProcStatusKib("VmHWM:"),
      static_cast<long long>(SimStat(*sim_, "requests", "capture_status")),
      static_cast<long long>(SimStat(*sim_, "requests", "capture_list")),
      static_cast<long long>(SimStat(*sim_, "requests", "org_sites")),
      static_cast<long long>(SimStat(*sim_, "requests", "self")),
      static_cast<long long>(SimStat(*sim_, "ws_connections", nullptr)));

  std::set<std::string> up_union, subscribed_union;
  size_t up_total = 0, subscribed_total = 0;
  double owned_total = 0;
  for (int i = 0; i < kShards; ++i) {
    const auto up = SitesWith(scraped[i], "mist_pcap_up");
    const auto subscribed = SitesWith(scraped[i], "mist_pcap_stream_subscribed");
    std::set<std::string> expected;
    for (const auto& id : all) {
      if (app::ShardOfSite(id, kShards) == i) expected.insert(id);
    }
    // Exactly the shard's sites: not one more (label sets of other shards' sites would show
    // up here with any value), not one less.
    EXPECT_EQ(SitesAnywhere(scraped[i]), expected) << "shard " << i;
    EXPECT_EQ(up, expected) << "shard " << i;
    EXPECT_EQ(subscribed, expected) << "shard " << i;
    const double owned = Value(scraped[i], "mist_pcap_exporter_sites", {{"state", "owned"}});
    EXPECT_EQ(owned, static_cast<double>(expected.size()));
    EXPECT_EQ(Value(scraped[i], "mist_pcap_exporter_sites", {{"state", "skipped"}}),
              static_cast<double>(kSites - expected.size()));
    EXPECT_EQ(Value(scraped[i], "mist_pcap_exporter_shard",
                    {{"index", std::to_string(i)}, {"count", std::to_string(kShards)}}),
              1);
    EXPECT_EQ(Value(scraped[i], "mist_pcap_stream_connected", {}), 1);
    size_t with_site = 0;
    for (const auto& s : scraped[i]) with_site += s.labels.count("site_id");
    std::printf("[ scale    ] shard %d: %zu sites, %zu samples (%zu site-scoped)\n", i,
                expected.size(), scraped[i].size(), with_site);
    owned_total += owned;
    up_total += up.size();
    subscribed_total += subscribed.size();
    up_union.insert(up.begin(), up.end());
    subscribed_union.insert(subscribed.begin(), subscribed.end());
  }
  ASSERT_TRUE(done) << "up " << up_union.size() << ", subscribed " << subscribed_union.size();
  EXPECT_EQ(up_union, all);
  EXPECT_EQ(subscribed_union, all);
  EXPECT_EQ(up_total, static_cast<size_t>(kSites));  // disjoint: the sum equals the union
  EXPECT_EQ(subscribed_total, static_cast<size_t>(kSites));
  EXPECT_EQ(owned_total, kSites);
  // One connection per (up to) 1,000 channels: 3 or 4 in total for ~1,000 sites per shard.
  EXPECT_LE(SimStat(*sim_, "ws_connections", nullptr), 2 * kShards);
}

TEST_F(ScalingE2ETest, DiscoveredSitesComeAndGoWithinOneRefreshAndHonourTheGlobs) {
  std::string yaml = "orgs: [{id: org-1, name: One}]\nsites:\n";
  std::map<std::string, std::string> names;
  auto add = [&](int i, const std::string& name) {
    names[SiteId(i)] = name;
    yaml += "  - {id: " + SiteId(i) + ", name: " + name + ", org: org-1}\n";
  };
  for (int i = 1; i <= 5; ++i) add(i, "Branch-0" + std::to_string(i));
  add(90, "Branch-90");
  add(91, "Branch-91x");
  add(100, "HQ");
  add(101, "branch-07");  // globs are case sensitive
  StartSim(yaml);
  auto c = BaseConfig();
  c.discovery.org_id = "org-1";
  c.discovery.include = {"Branch-*"};
  c.discovery.exclude = {"Branch-9*"};
  c.discovery.interval = std::chrono::milliseconds(500);
  c.poll.status_interval = std::chrono::milliseconds(300);
  c.poll.list_interval = std::chrono::milliseconds(600);
  c.poll.idle_interval = c.poll.status_interval;
  c.stream.max_channels_per_connection = 2;  // 5 sites -> 3 connections
  app::App& app = StartApp(c);

  auto expect_exactly = [&](const std::set<std::string>& want, std::chrono::milliseconds within) {
    std::vector<Sample> m;
    const auto t0 = Clock::now();
    const bool ok = WaitUntil(
        [&] {
          m = Scrape(app);
          return SitesWith(m, "mist_pcap_up") == want &&
                 SitesWith(m, "mist_pcap_stream_subscribed") == want && SitesAnywhere(m) == want;
        },
        within);
    std::printf("[ discovery] site set reached in %.2f s\n", Seconds(Clock::now() - t0));
    return ok;
  };
  std::set<std::string> want;
  for (int i = 1; i <= 5; ++i) want.insert(SiteId(i));
  ASSERT_TRUE(expect_exactly(want, std::chrono::seconds(20)));
  EXPECT_EQ(SimStat(*sim_, "ws_connections", nullptr), 3);

  // Branch-02 goes, Branch-06 comes (it takes Branch-02's free slot: no new connection),
  // Branch-95 is excluded and Lab-1 not included.
  sim_->RemoveSite(SiteId(2));
  sim_->AddSite("org-1", SiteId(6), "Branch-06");
  sim_->AddSite("org-1", SiteId(95), "Branch-95");
  sim_->AddSite("org-1", SiteId(200), "Lab-1");
  want.erase(SiteId(2));
  want.insert(SiteId(6));
  // One refresh (500 ms) plus one status poll (300 ms spread) plus the subscribe round trip.
  ASSERT_TRUE(expect_exactly(want, std::chrono::milliseconds(2500)));
  EXPECT_EQ(SimStat(*sim_, "ws_connections", nullptr), 3);
  auto m = Scrape(app);
  EXPECT_EQ(Value(m, "mist_pcap_exporter_sites", {{"state", "owned"}}), 5);
  EXPECT_EQ(Value(m, "mist_pcap_exporter_sites", {{"state", "skipped"}}), 0);
  EXPECT_EQ(
      Value(m, "mist_pcap_stream_subscribed", {{"site_id", SiteId(6)}, {"site", "Branch-06"}}), 1);

  // Three more sites: the last connection fills up, then a fourth one opens.
  for (int i = 7; i <= 9; ++i) {
    sim_->AddSite("org-1", SiteId(i), "Branch-0" + std::to_string(i));
    want.insert(SiteId(i));
  }
  ASSERT_TRUE(expect_exactly(want, std::chrono::milliseconds(2500)));
  EXPECT_EQ(SimStat(*sim_, "ws_connections", nullptr), 4);

  // Every site goes: the series go with them.
  for (const auto& id : std::set<std::string>(want)) sim_->RemoveSite(id);
  ASSERT_TRUE(expect_exactly({}, std::chrono::milliseconds(2500)));
  EXPECT_EQ(Value(Scrape(app), "mist_pcap_discovery_refresh_errors_total", {}), 0);
}

TEST_F(ScalingE2ETest, DiscoveryFailuresKeepThePreviousSitesAndCount) {
  std::string yaml = "orgs: [{id: org-1, name: One}]\nsites:\n";
  for (int i = 1; i <= 3; ++i) {
    yaml += "  - {id: " + SiteId(i) + ", name: Site-" + std::to_string(i) + ", org: org-1}\n";
  }
  StartSim(yaml);
  auto c = BaseConfig();
  c.discovery.interval = std::chrono::milliseconds(200);
  c.poll.status_interval = std::chrono::milliseconds(300);
  c.poll.list_interval = std::chrono::seconds(1);
  c.poll.idle_interval = c.poll.status_interval;
  c.mist.timeout = std::chrono::seconds(1);
  app::App& app = StartApp(c);
  ASSERT_TRUE(WaitUntil([&] { return SitesWith(Scrape(app), "mist_pcap_up").size() == 3; },
                        std::chrono::seconds(20)));
  sim::Faults faults;
  faults.error_5xx_every = 1;
  faults.error_code = 503;
  sim_->SetFaults(faults);
  ASSERT_TRUE(WaitUntil(
      [&] { return Value(Scrape(app), "mist_pcap_discovery_refresh_errors_total", {}) >= 2; },
      std::chrono::seconds(20)));
  // The sites stay: polled (now failing), subscribed, counted.
  auto m = Scrape(app);
  EXPECT_EQ(SitesAnywhere(m).size(), 3u);
  EXPECT_EQ(SitesWith(m, "mist_pcap_stream_subscribed").size(), 3u);
  EXPECT_EQ(Value(m, "mist_pcap_exporter_sites", {{"state", "owned"}}), 3);
  sim_->SetFaults(sim::Faults{});
}

// 1,000 sites on a 4,000 requests/hour budget, polled for 1.25 simulated hours on a clock the
// test moves: from one due poll to the next, each time only once every poll due so far has
// been answered (PollerSet::Quiescent), so a loaded machine slows the test down but cannot
// change what it counts. The client's own budget is switched off, so only the schedule keeps
// the request rate down; the simulator counts what arrives.
TEST_F(ScalingE2ETest, ThousandSitesStayWithinFourThousandRequestsPerSimulatedHour) {
  constexpr int kSites = 1000;
  std::string yaml = "orgs: [{id: org-1, name: One}]\nsites:\n";
  std::vector<common::Site> sites;
  for (int i = 0; i < kSites; ++i) {
    yaml += "  - {id: " + SiteId(i) + ", name: S" + std::to_string(i) + ", org: org-1}\n";
    sites.push_back(common::Site{SiteId(i), "S" + std::to_string(i)});
  }
  StartSim(yaml);

  config::Config c = BaseConfig();
  c.mist.max_requests_per_hour = 4000;
  c.poll.status_interval = std::chrono::seconds(30);
  c.poll.list_interval = std::chrono::minutes(5);
  // The fixed schedule's budget arithmetic (the events schedule's is PlanEventIntervalsTest's
  // and bench/api_economy.sh's).
  c.poll.schedule = config::PollSchedule::kFixed;
  config::MistConfig unlimited = c.mist;
  unlimited.max_requests_per_hour = 0;
  common::ManualClock clock;
  prometheus::Registry registry;
  poll::CaptureMetrics metrics(registry);
  mist::MistClient client(unlimited, kToken, nullptr, clock);
  poll::PollerSet poller(c, client, metrics, clock, 4);
  poller.SetMaxIdleWait(std::chrono::milliseconds(1));
  poller.SetSites(sites);
  const poll::PollIntervals p = poller.intervals();
  EXPECT_EQ(p.status, std::chrono::seconds(1100));
  EXPECT_EQ(p.list, std::chrono::seconds(11000));
  EXPECT_NEAR(p.stretch, 132000.0 / 3600.0, 1e-9);

  struct Point {
    double t;  // simulated seconds
    int64_t requests;
  };
  std::vector<Point> points;
  auto count = [&] {
    return SimStat(*sim_, "requests", "capture_status") +
           SimStat(*sim_, "requests", "capture_list");
  };
  const auto t0 = clock.SteadyNow();
  auto simulated = [&] { return std::chrono::duration<double>(clock.SteadyNow() - t0).count(); };
  poller.Start();
  while (simulated() < 1.25 * 3600) {
    std::chrono::steady_clock::time_point next;
    ASSERT_TRUE(WaitUntil([&] { return poller.Quiescent(&next); }, std::chrono::seconds(30)))
        << "polls due at simulated " << simulated() << " s were not answered";
    points.push_back({simulated(), count()});
    if (next == std::chrono::steady_clock::time_point::max()) break;
    clock.Advance(next - clock.SteadyNow());
  }
  poller.Stop();

  // For every sample, the requests between it and the first sample at least one simulated
  // hour later: an over-estimate of that hour's count (the window is slightly longer).
  int64_t worst = 0;
  int64_t first_hour = -1;
  for (size_t i = 0; i < points.size(); ++i) {
    size_t j = i;
    while (j < points.size() && points[j].t < points[i].t + 3600) ++j;
    if (j == points.size()) break;
    const int64_t n = points[j].requests - points[i].requests;
    worst = std::max(worst, n);
    if (i == 0) first_hour = n;
  }
  const double t_end = points.back().t;
  std::printf(
      "[ budget   ] %zu samples over %.0f simulated s; first hour %lld requests, worst "
      "sliding hour <= %lld; total %lld (status %lld, list %lld)\n",
      points.size(), t_end, static_cast<long long>(first_hour), static_cast<long long>(worst),
      static_cast<long long>(points.back().requests),
      static_cast<long long>(SimStat(*sim_, "requests", "capture_status")),
      static_cast<long long>(SimStat(*sim_, "requests", "capture_list")));
  ASSERT_GE(first_hour, 0) << "ran for less than one simulated hour";
  EXPECT_LE(worst, 4000);
  // The schedule really runs at the budget (about 3,600 per hour): the bound above is not met
  // by falling behind. Generous, for a loaded machine.
  EXPECT_GE(first_hour, 3000);
  std::map<std::string, double> exported;
  for (const auto& family : registry.Collect()) {
    if (family.name != "mist_pcap_poll_interval_seconds") continue;
    for (const auto& m : family.metric) exported[m.label.at(0).value] = m.gauge.value;
  }
  // On the fixed schedule every site's status runs on the status interval: "idle" says so.
  EXPECT_EQ(exported,
            (std::map<std::string, double>{{"idle", 1100}, {"list", 11000}, {"status", 1100}}));
}

}  // namespace
}  // namespace mpe
