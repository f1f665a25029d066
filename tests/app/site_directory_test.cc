#include "app/site_directory.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "app/shard.h"
#include "fakes/mist_fake_server.h"
#include "fakes/mist_metrics_probe.h"
#include "mist/api_metrics.h"
#include "mist/mist_client.h"

namespace mpe::app {
namespace {

config::DiscoveryConfig Globs(std::vector<std::string> include, std::vector<std::string> exclude) {
  config::DiscoveryConfig d;
  d.org_id = "auto";
  d.include = std::move(include);
  d.exclude = std::move(exclude);
  return d;
}

std::vector<std::string> Ids(const std::vector<common::Site>& sites) {
  std::vector<std::string> ids;
  for (const auto& s : sites) ids.push_back(s.id);
  return ids;
}

TEST(SiteSelectionTest, IncludeAndExcludeGlobsMatchWholeNamesAndExcludeWins) {
  const auto d = Globs({"Branch-*", "HQ"}, {"Branch-9*"});
  EXPECT_TRUE(NameSelected("Branch-01", d));
  EXPECT_TRUE(NameSelected("HQ", d));
  EXPECT_FALSE(NameSelected("HQ2", d));
  EXPECT_FALSE(NameSelected("Branch-90", d));
  EXPECT_FALSE(NameSelected("Branch-9", d));
  EXPECT_FALSE(NameSelected("Warehouse", d));
  EXPECT_FALSE(NameSelected("branch-01", d));  // case matters, as in fnmatch
  EXPECT_TRUE(NameSelected("anything at all", Globs({"*"}, {})));
  EXPECT_FALSE(NameSelected("x", Globs({}, {})));
  EXPECT_TRUE(NameSelected("Lab [2]", Globs({"Lab ?2?"}, {})));
}

TEST(SiteSelectionTest, ExplicitSitesMergeWithDiscoveredOnesAndExplicitNamesWin) {
  config::Config c;
  c.discovery = Globs({"Branch-*"}, {"Branch-9*"});
  c.sites = {{"s-hq", "Head Office"}, {"s-b1", ""}, {"s-x", ""}};
  const std::vector<common::Site> discovered = {
      {"s-b1", "Branch-01", "o1"}, {"s-hq", "HQ", "o1"},       {"s-b2", "Branch-02", "o1"},
      {"s-b9", "Branch-90", "o1"}, {"s-w", "Warehouse", "o1"}, {"s-b2", "Branch-02", "o2"},
      {"s-nn", "", "o1"}};
  SiteSelection sel = SelectSites(c, discovered);
  EXPECT_EQ(Ids(sel.owned), (std::vector<std::string>{"s-hq", "s-b1", "s-x", "s-b2"}));
  EXPECT_EQ(sel.owned[0].name, "Head Office");  // explicit name wins
  EXPECT_EQ(sel.owned[1].name, "Branch-01");    // explicit without name: discovered name
  EXPECT_EQ(sel.owned[2].name, "s-x");          // unknown to Mist: its id
  EXPECT_EQ(sel.skipped, 0u);
}

TEST(SiteSelectionTest, TheShardFilterAppliesToExplicitAndDiscoveredSitesAlike) {
  std::vector<common::Site> discovered;
  config::Config base;
  for (int i = 0; i < 60; ++i) {
    const std::string id = "site-" + std::to_string(i);
    if (i % 2 == 0) {
      base.sites.push_back({id, ""});
    } else {
      discovered.push_back({id, "Name-" + std::to_string(i), "o1"});
    }
  }
  std::vector<std::string> all;
  size_t owned_total = 0;
  for (int index = 0; index < 3; ++index) {
    config::Config c = base;
    c.shard = {index, 3};
    SiteSelection sel = SelectSites(c, discovered);
    EXPECT_EQ(sel.owned.size() + sel.skipped, 60u);
    owned_total += sel.owned.size();
    for (const auto& s : sel.owned) {
      EXPECT_EQ(ShardOfSite(s.id, 3), index) << s.id;
      all.push_back(s.id);
    }
  }
  EXPECT_EQ(owned_total, 60u);
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::unique(all.begin(), all.end()), all.end());
}

constexpr char kOrgSites[] = R"([{"id": "d1", "name": "Branch-1", "org_id": "o1"},
  {"id": "d2", "name": "Lab-2", "org_id": "o1"}])";

// The directory against a fake Mist REST API; the listener records every published set.
class SiteDirectoryReconfigureTest : public ::testing::Test {
 protected:
  SiteDirectoryReconfigureTest() : api_metrics_(registry_) {
    config_.mist.api_url = server_.base_url();
    config_.mist.timeout = std::chrono::seconds(5);
    config_.sites = {{"x", "X"}};
    config_.discovery.org_id = "o1";
    config_.discovery.interval = std::chrono::hours(1);
    server_.SetJson("GET", "/api/v1/orgs/o1/sites", kOrgSites);
    server_.SetJson("GET", "/api/v1/orgs/o2/sites", R"([{"id": "e1", "name": "East-1"}])");
  }

  SiteDirectory& Make() {
    client_ = std::make_unique<mist::MistClient>(config_.mist, "tok", &api_metrics_,
                                                 common::SystemClock::Instance());
    directory_ = std::make_unique<SiteDirectory>(config_, *client_, registry_,
                                                 [this](std::vector<common::Site> owned) {
                                                   std::lock_guard<std::mutex> lock(mu_);
                                                   published_.push_back(Ids(owned));
                                                 });
    return *directory_;
  }
  std::vector<std::vector<std::string>> Published() {
    std::lock_guard<std::mutex> lock(mu_);
    return published_;
  }
  config::Config With(std::function<void(config::Config&)> change) const {
    config::Config c = config_;
    change(c);
    return c;
  }

  fakes::MistFakeServer server_;
  prometheus::Registry registry_;
  mist::ApiMetrics api_metrics_;
  config::Config config_;
  std::unique_ptr<mist::MistClient> client_;
  std::unique_ptr<SiteDirectory> directory_;
  std::mutex mu_;
  std::vector<std::vector<std::string>> published_;
};

using Sets = std::vector<std::vector<std::string>>;

TEST_F(SiteDirectoryReconfigureTest,
       NewGlobsAndSitesReselectTheLastDiscoveredListWithoutAMistCall) {
  auto& directory = Make();
  EXPECT_EQ(Ids(directory.InitialSites()), (std::vector<std::string>{"x"}));
  ASSERT_TRUE(directory.Refresh().ok());
  EXPECT_EQ(Published(), (Sets{{"x", "d1", "d2"}}));
  const int org_calls = server_.Count("/api/v1/orgs/o1/sites");

  directory.Reconfigure(With([](config::Config& c) { c.discovery.exclude = {"Lab*"}; }));
  EXPECT_EQ(Published(), (Sets{{"x", "d1", "d2"}, {"x", "d1"}}));
  directory.Reconfigure(With([](config::Config& c) {
    c.discovery.exclude = {"Lab*"};
    c.sites = {{"y", "Y"}, {"d2", "Lab two"}};  // explicit sites ignore the globs
  }));
  EXPECT_EQ(Published(), (Sets{{"x", "d1", "d2"}, {"x", "d1"}, {"y", "d2", "d1"}}));
  EXPECT_EQ(Ids(directory.Owned()), (std::vector<std::string>{"y", "d2", "d1"}));
  EXPECT_EQ(directory.Owned()[1].name, "Lab two");
  // The same settings again publish nothing.
  directory.Reconfigure(With([](config::Config& c) {
    c.discovery.exclude = {"Lab*"};
    c.sites = {{"y", "Y"}, {"d2", "Lab two"}};
  }));
  EXPECT_EQ(Published().size(), 3u);
  EXPECT_EQ(server_.Count("/api/v1/orgs/o1/sites"), org_calls);
  EXPECT_EQ(fakes::Value(registry_, "mist_pcap_exporter_sites", {{"state", "owned"}}), 3);
}

TEST_F(SiteDirectoryReconfigureTest, AnotherOrgDropsTheOldOrgsSitesAndIsDiscoveredAtOnce) {
  auto& directory = Make();
  directory.InitialSites();
  directory.Start();
  ASSERT_TRUE(fakes::WaitFor([&] { return Published() == Sets{{"x", "d1", "d2"}}; }));

  // The interval is an hour: only the reconfigure can make the next round happen now.
  directory.Reconfigure(With([](config::Config& c) { c.discovery.org_id = "o2"; }));
  EXPECT_EQ(Published().at(1), (std::vector<std::string>{"x"}));
  ASSERT_TRUE(fakes::WaitFor([&] { return Published().size() == 3; }));
  EXPECT_EQ(Published().at(2), (std::vector<std::string>{"x", "e1"}));
  EXPECT_EQ(server_.Count("/api/v1/orgs/o2/sites"), 1);
  EXPECT_TRUE(directory.discovery_enabled());
  directory.Stop();
}

TEST_F(SiteDirectoryReconfigureTest, DiscoveryStopsAndStartsWithTheOrgId) {
  auto& directory = Make();
  directory.InitialSites();
  directory.Start();
  ASSERT_TRUE(fakes::WaitFor([&] { return Published() == Sets{{"x", "d1", "d2"}}; }));

  directory.Reconfigure(With([](config::Config& c) { c.discovery.org_id = ""; }));
  EXPECT_FALSE(directory.discovery_enabled());
  EXPECT_EQ(Published(), (Sets{{"x", "d1", "d2"}, {"x"}}));
  const int calls = server_.Count("/api/v1/orgs/o1/sites");
  EXPECT_TRUE(directory.Refresh().ok());  // a no-op while off
  EXPECT_EQ(server_.Count("/api/v1/orgs/o1/sites"), calls);

  directory.Reconfigure(config_);
  EXPECT_TRUE(directory.discovery_enabled());
  ASSERT_TRUE(fakes::WaitFor([&] { return Published().size() == 3; }));
  EXPECT_EQ(Published().at(2), (std::vector<std::string>{"x", "d1", "d2"}));
  EXPECT_EQ(server_.Count("/api/v1/orgs/o1/sites"), calls + 1);
  directory.Stop();
}

}  // namespace
}  // namespace mpe::app
