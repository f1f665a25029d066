#include "app/shard.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace mpe::app {
namespace {

std::vector<std::string> RandomSiteIds(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> ids;
  ids.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const uint64_t a = rng(), b = rng();
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-8%03x-%012llx", static_cast<unsigned>(a >> 32),
                  static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                  static_cast<unsigned>((b >> 48) & 0xfff),
                  static_cast<unsigned long long>(b & 0xffffffffffffULL));
    ids.emplace_back(buf);
  }
  return ids;
}

TEST(ShardTest, Fnv1a64MatchesThePublishedTestVectors) {
  EXPECT_EQ(Fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(Fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(Fnv1a64("foobar"), 0x85944171f73967e8ULL);
}

// Pinned: replicas of different versions must agree on ownership. Values from an independent
// implementation of Lamping & Veach's algorithm.
TEST(ShardTest, SiteBucketsAreStableAcrossVersions) {
  const std::string hq = "978c48e6-6ef6-11e6-8bbf-02e208b2d34f";
  EXPECT_EQ(Fnv1a64(hq), 0x9d19037393b1bb69ULL);
  const std::vector<int32_t> counts = {1, 2, 3, 5, 10, 100};
  const std::vector<int32_t> hq_buckets = {0, 0, 0, 4, 4, 26};
  const std::vector<int32_t> a_buckets = {0, 1, 2, 2, 2, 31};
  for (size_t i = 0; i < counts.size(); ++i) {
    EXPECT_EQ(ShardOfSite(hq, counts[i]), hq_buckets[i]) << counts[i];
    EXPECT_EQ(ShardOfSite("a", counts[i]), a_buckets[i]) << counts[i];
  }
}

TEST(ShardTest, OneShardOwnsEverySite) {
  for (const auto& id : RandomSiteIds(100, 7)) EXPECT_TRUE(OwnsSite(id, 0, 1));
  EXPECT_EQ(ShardOfSite("x", 0), 0);
}

TEST(ShardTest, EverySiteHasExactlyOneOwnerAndTheShardsAreBalanced) {
  const auto ids = RandomSiteIds(10000, 42);
  std::vector<int> per_shard(3, 0);
  for (const auto& id : ids) {
    int owners = 0;
    for (int i = 0; i < 3; ++i) owners += OwnsSite(id, i, 3);
    ASSERT_EQ(owners, 1) << id;
    ++per_shard[ShardOfSite(id, 3)];
  }
  for (int n : per_shard) EXPECT_NEAR(n, 10000 / 3.0, 200);
}

TEST(ShardTest, AddingAShardMovesAboutOneNthOfTheSitesAndOnlyToTheNewShard) {
  const auto ids = RandomSiteIds(10000, 20240611);
  for (int32_t n = 1; n <= 9; ++n) {
    int moved = 0;
    for (const auto& id : ids) {
      const int32_t before = ShardOfSite(id, n);
      const int32_t after = ShardOfSite(id, n + 1);
      if (before == after) continue;
      ++moved;
      EXPECT_EQ(after, n) << id << " moved from " << before << " to an old shard";
    }
    const double share = moved / static_cast<double>(ids.size());
    EXPECT_NEAR(share, 1.0 / (n + 1), 0.02) << n << " -> " << n + 1 << " shards";
  }
}

}  // namespace
}  // namespace mpe::app
