#include "poll/usage_watcher.h"

#include <gtest/gtest.h>

#include "fakes/mist_fake_server.h"
#include "fakes/mist_metrics_probe.h"
#include "poll/site_poller.h"

namespace mpe::poll {
namespace {

using fakes::LabelMap;
using fakes::MistFakeServer;
using std::chrono::milliseconds;

TEST(UsageWatcherTest, EffectiveBudgetLeavesWhatOthersUse) {
  // Others made 3,000 of Mist's 5,000 this hour (4,000 counted, 1,000 of them ours): 2,000
  // are left, less than our 4,000.
  EXPECT_EQ(UsageWatcher::EffectiveBudget(4000, 5000, 1000, 4000), 2000);
  // Only our own requests: our budget stands.
  EXPECT_EQ(UsageWatcher::EffectiveBudget(1000, 5000, 1000, 4000), 4000);
  // Our count may run ahead of Mist's (sliding hour vs clock hour): never negative others.
  EXPECT_EQ(UsageWatcher::EffectiveBudget(10, 5000, 900, 4000), 4000);
  // The token is used up by others: a floor, so polling notices when room comes back.
  EXPECT_EQ(UsageWatcher::EffectiveBudget(6000, 5000, 0, 4000), UsageWatcher::kMinBudget);
  // A budget above Mist's limit leaves the others nothing: any use of theirs comes out of it.
  EXPECT_EQ(UsageWatcher::EffectiveBudget(20, 5000, 10, 100000), 99990);
  EXPECT_EQ(UsageWatcher::EffectiveBudget(10, 5000, 10, 100000), 100000);
  // Others within the 1,000 our 4,000 leave them: unchanged.
  EXPECT_EQ(UsageWatcher::EffectiveBudget(1900, 5000, 900, 4000), 4000);
  EXPECT_EQ(UsageWatcher::EffectiveBudget(1901, 5000, 900, 4000), 3999);
  // Unknown limit, or no self-imposed budget: unchanged.
  EXPECT_EQ(UsageWatcher::EffectiveBudget(4000, 0, 0, 4000), 4000);
  EXPECT_EQ(UsageWatcher::EffectiveBudget(4000, 5000, 0, 0), 0);
}

class UsageWatcherPollTest : public ::testing::Test {
 protected:
  UsageWatcherPollTest() : api_metrics_(registry_) {
    config_.api_url = server_.base_url();
    config_.max_requests_per_hour = 4000;
    client_ = std::make_unique<mist::MistClient>(config_, "tok-USAGE", &api_metrics_, clock_);
  }
  std::optional<double> Get(const std::string& name) {
    return fakes::Value(registry_, name, LabelMap{});
  }

  MistFakeServer server_;
  prometheus::Registry registry_;
  mist::ApiMetrics api_metrics_;
  config::MistConfig config_;
  common::ManualClock clock_;
  std::unique_ptr<mist::MistClient> client_;
};

TEST_F(UsageWatcherPollTest, ExportsUsageAndHandsOnTheRoomLeft) {
  server_.SetJson("GET", "/api/v1/self/usage", R"({"request_limit": 5000, "requests": 3501})");
  std::vector<int> budgets;
  UsageWatcher watcher(*client_, registry_, clock_, std::chrono::minutes(5), 4000,
                       [&](int b) { budgets.push_back(b); });
  ASSERT_TRUE(watcher.PollOnce());
  EXPECT_EQ(Get("mist_pcap_api_usage_requests"), 3501);
  EXPECT_EQ(Get("mist_pcap_api_usage_request_limit"), 5000);
  // 3,501 counted by Mist, 1 of them ours (this poll): others 3,500, room 1,500.
  EXPECT_EQ(budgets, std::vector<int>{1500});

  server_.SetJson("GET", "/api/v1/self/usage", R"({"request_limit": 5000, "requests": 10})");
  ASSERT_TRUE(watcher.PollOnce());
  EXPECT_EQ(budgets, (std::vector<int>{1500, 4000}));
  EXPECT_EQ(server_.Count("/api/v1/self/usage"), 2);
}

TEST_F(UsageWatcherPollTest, AFailedPollChangesNothing) {
  MistFakeServer::Reply r;
  r.status = 500;
  server_.Set("GET", "/api/v1/self/usage", r);
  int calls = 0;
  UsageWatcher watcher(*client_, registry_, clock_, std::chrono::minutes(5), 4000,
                       [&](int) { ++calls; });
  EXPECT_FALSE(watcher.PollOnce());
  EXPECT_EQ(calls, 0);
  // No series until a poll succeeds: a 0 would read as "nobody uses the token".
  EXPECT_EQ(Get("mist_pcap_api_usage_requests"), std::nullopt);
  EXPECT_EQ(Get("mist_pcap_api_usage_request_limit"), std::nullopt);
}

TEST_F(UsageWatcherPollTest, ASmallerBudgetStretchesThePollIntervals) {
  config::Config config;
  config.mist = config_;
  config.poll.status_interval = std::chrono::seconds(30);
  config.poll.list_interval = std::chrono::minutes(5);
  config.poll.schedule = config::PollSchedule::kFixed;
  for (int i = 0; i < 20; ++i) config.sites.push_back({"s" + std::to_string(i), ""});
  CaptureMetrics metrics(registry_);
  PollerSet poller(config, *client_, metrics, clock_);
  // 20 sites need 20 * (120 + 12) = 2,640 requests/hour: within 0.9 * 4,000.
  EXPECT_EQ(poller.intervals().status, milliseconds(30000));
  poller.SetRequestBudget(1000);  // 900 usable: stretched x2.9333
  EXPECT_EQ(poller.intervals().status, milliseconds(88000));
  EXPECT_EQ(poller.intervals().list, milliseconds(880000));
  EXPECT_EQ(
      fakes::Value(registry_, "mist_pcap_poll_interval_seconds", LabelMap{{"kind", "status"}}), 88);
  poller.SetRequestBudget(4000);
  EXPECT_EQ(poller.intervals().status, milliseconds(30000));
}

}  // namespace
}  // namespace mpe::poll
