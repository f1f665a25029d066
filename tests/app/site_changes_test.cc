#include "app/site_changes.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mpe::app {
namespace {

using common::Site;
using Ids = std::vector<std::string>;

Ids IdsOf(const std::vector<Site>& sites) {
  Ids ids;
  for (const auto& s : sites) ids.push_back(s.id);
  return ids;
}

TEST(SiteChangesTest, FirstSetAddsEverySiteInOrder) {
  const SiteChanges c = DiffSites({}, {{"s2", "Two"}, {"s1", "One"}});
  EXPECT_EQ(IdsOf(c.sites), (Ids{"s2", "s1"}));
  EXPECT_EQ(IdsOf(c.upserted), (Ids{"s2", "s1"}));
  EXPECT_EQ(c.removed, Ids{});
  EXPECT_EQ(c.added, 2u);
}

TEST(SiteChangesTest, DropsEmptyIdsNamesUnnamedSitesByIdAndKeepsTheFirstOfDuplicates) {
  const SiteChanges c = DiffSites({}, {{"", "Nobody"}, {"s1", ""}, {"s2", "Two"}, {"s2", "Dup"}});
  ASSERT_EQ(c.sites.size(), 2u);
  EXPECT_EQ(c.sites[0].id, "s1");
  EXPECT_EQ(c.sites[0].name, "s1");
  EXPECT_EQ(c.sites[1].id, "s2");
  EXPECT_EQ(c.sites[1].name, "Two");
  EXPECT_EQ(c.added, 2u);
}

TEST(SiteChangesTest, SameSetChangesNothing) {
  const std::vector<Site> previous{{"s1", "One"}, {"s2", "Two"}};
  const SiteChanges c = DiffSites(previous, {{"s2", "Two"}, {"s1", "One"}});
  EXPECT_EQ(IdsOf(c.sites), (Ids{"s2", "s1"}));
  EXPECT_EQ(IdsOf(c.upserted), Ids{});
  EXPECT_EQ(c.removed, Ids{});
  EXPECT_EQ(c.added, 0u);
}

TEST(SiteChangesTest, ReportsRemovedSitesSortedAndRenamedSitesAsUpsertedNotAdded) {
  const std::vector<Site> previous{{"s3", "Three"}, {"s1", "One"}, {"s2", "Two"}};
  const SiteChanges c = DiffSites(previous, {{"s2", "Deux"}, {"s4", "Four"}});
  EXPECT_EQ(c.removed, (Ids{"s1", "s3"}));
  ASSERT_EQ(c.upserted.size(), 2u);
  EXPECT_EQ(c.upserted[0].id, "s2");
  EXPECT_EQ(c.upserted[0].name, "Deux");
  EXPECT_EQ(c.upserted[1].id, "s4");
  EXPECT_EQ(c.added, 1u);
}

TEST(SiteChangesTest, EmptySetRemovesEverything) {
  const SiteChanges c = DiffSites({{"s1", "One"}, {"s2", "Two"}}, {});
  EXPECT_EQ(c.sites.size(), 0u);
  EXPECT_EQ(c.removed, (Ids{"s1", "s2"}));
  EXPECT_EQ(c.added, 0u);
}

}  // namespace
}  // namespace mpe::app
