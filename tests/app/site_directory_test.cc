#include "app/site_directory.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "app/shard.h"

namespace mpe::app {
namespace {

config::DiscoveryConfig Globs(std::vector<std::string> include, std::vector<std::string> exclude) {
  config::DiscoveryConfig d;
  d.org_id = "auto";
  d.include = std::move(include);
  d.exclude = std::move(exclude);
  return d;
}

std::vector<std::string> Ids(const std::vector<poll::SiteRef>& sites) {
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
  const std::vector<mist::Site> discovered = {
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
  std::vector<mist::Site> discovered;
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

}  // namespace
}  // namespace mpe::app
