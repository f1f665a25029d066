#include "stream/channel_plan.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mpe::stream {
namespace {

using Channels = std::vector<std::string>;
using Connections = std::vector<Channels>;

TEST(ChannelPlanTest, FirstPlanPacksChannelsInOrderIntoFullConnections) {
  const ChannelPlan plan = PlanChannels({}, {"a", "b", "c", "d", "e"}, 2);
  EXPECT_EQ(plan.kept, Connections{});
  EXPECT_EQ(plan.changed, std::vector<bool>{});
  EXPECT_EQ(plan.opened, (Connections{{"a", "b"}, {"c", "d"}, {"e"}}));
}

TEST(ChannelPlanTest, UnchangedSetChangesNothing) {
  const Connections current{{"a", "b"}, {"c"}};
  const ChannelPlan plan = PlanChannels(current, {"c", "b", "a"}, 2);
  EXPECT_EQ(plan.kept, current);
  EXPECT_EQ(plan.changed, (std::vector<bool>{false, false}));
  EXPECT_EQ(plan.opened, Connections{});
}

TEST(ChannelPlanTest, KeptChannelsStayAndNewOnesFillFreeSlotsInConnectionOrderFirst) {
  const ChannelPlan plan = PlanChannels({{"a", "b", "c"}, {"d"}, {"e", "f"}},
                                        {"a", "c", "d", "e", "f", "x", "y", "z", "w"}, 3);
  EXPECT_EQ(plan.kept, (Connections{{"a", "c", "x"}, {"d", "y", "z"}, {"e", "f", "w"}}));
  EXPECT_EQ(plan.changed, (std::vector<bool>{true, true, true}));
  EXPECT_EQ(plan.opened, Connections{});
}

TEST(ChannelPlanTest, RemovedChannelsLeaveTheirConnectionAndEmptiedConnectionsClose) {
  const ChannelPlan plan = PlanChannels({{"a", "b"}, {"c", "d"}, {"e"}}, {"a", "e"}, 2);
  EXPECT_EQ(plan.kept, (Connections{{"a"}, {}, {"e"}}));
  EXPECT_EQ(plan.changed, (std::vector<bool>{true, true, false}));
  EXPECT_EQ(plan.opened, Connections{});
}

TEST(ChannelPlanTest, AnEmptiedConnectionIsRefilledBeforeANewOneOpens) {
  const ChannelPlan plan = PlanChannels({{"a", "b"}, {"c"}}, {"c", "x", "y", "z"}, 2);
  EXPECT_EQ(plan.kept, (Connections{{"x", "y"}, {"c", "z"}}));
  EXPECT_EQ(plan.changed, (std::vector<bool>{true, true}));
  EXPECT_EQ(plan.opened, Connections{});
}

TEST(ChannelPlanTest, OverflowOpensNewConnectionsOfAtMostTheLimit) {
  const ChannelPlan plan = PlanChannels({{"a"}}, {"a", "b", "c", "d", "e", "f"}, 2);
  EXPECT_EQ(plan.kept, (Connections{{"a", "b"}}));
  EXPECT_EQ(plan.changed, std::vector<bool>{true});
  EXPECT_EQ(plan.opened, (Connections{{"c", "d"}, {"e", "f"}}));
}

TEST(ChannelPlanTest, ALimitBelowOneCountsAsOne) {
  EXPECT_EQ(PlanChannels({}, {"a", "b"}, 0).opened, (Connections{{"a"}, {"b"}}));
  EXPECT_EQ(PlanChannels({}, {"a", "b"}, -5).opened, (Connections{{"a"}, {"b"}}));
}

TEST(ChannelPlanTest, NothingWantedClosesEveryConnection) {
  const ChannelPlan plan = PlanChannels({{"a"}, {"b", "c"}}, {}, 4);
  EXPECT_EQ(plan.kept, (Connections{{}, {}}));
  EXPECT_EQ(plan.changed, (std::vector<bool>{true, true}));
  EXPECT_EQ(plan.opened, Connections{});
}

}  // namespace
}  // namespace mpe::stream
