#include "poll/poll_budget.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "fakes/mist_metrics_probe.h"
#include "poll/site_poller.h"

namespace mpe::poll {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(PollBudgetTest, IntervalsStayAsConfiguredWhileTheyFitNinetyPercentOfTheBudget) {
  // 54 sites * (60 + 6) = 3,564 requests/hour <= 3,600.
  PollIntervals p = EffectiveIntervals(54, seconds(60), minutes(10), 4000);
  EXPECT_EQ(p.status, seconds(60));
  EXPECT_EQ(p.list, minutes(10));
  EXPECT_EQ(p.stretch, 1);
  EXPECT_FALSE(p.stretched());
  EXPECT_DOUBLE_EQ(p.required_per_hour, 3564);
  EXPECT_DOUBLE_EQ(p.usable_per_hour, 3600);
  // An immediate first list poll per site (54 more) would not fit in the first hour.
  EXPECT_FALSE(p.list_follows_first_status);
  // 50 * 66 + 50 = 3,350: it does.
  EXPECT_TRUE(EffectiveIntervals(50, seconds(60), minutes(10), 4000).list_follows_first_status);
}

TEST(PollBudgetTest, ThousandSitesOnFourThousandRequestsStretchBothIntervalsByTheSameFactor) {
  // 1,000 * (120 + 12) = 132,000/h against 3,600/h usable: x36.67.
  PollIntervals p = EffectiveIntervals(1000, seconds(30), minutes(5), 4000);
  EXPECT_TRUE(p.stretched());
  EXPECT_DOUBLE_EQ(p.required_per_hour, 132000);
  EXPECT_NEAR(p.stretch, 132000.0 / 3600.0, 1e-9);
  EXPECT_EQ(p.status, milliseconds(1100000));
  EXPECT_EQ(p.list, milliseconds(11000000));
  EXPECT_FALSE(p.list_follows_first_status);
  const double per_hour = 1000 * (3600.0 / 1100 + 3600.0 / 11000);
  EXPECT_LE(per_hour, 3600.0 + 1e-6);
}

TEST(PollBudgetTest, TenThousandSitesEveryThirtySecondsNeedOnePointTwoMillionRequests) {
  PollIntervals p = EffectiveIntervals(10000, seconds(30), minutes(5), 4000);
  EXPECT_DOUBLE_EQ(p.required_per_hour, 1320000);
  EXPECT_EQ(p.status, milliseconds(11000000));  // about 3 h between two status polls
  EXPECT_EQ(p.list, milliseconds(110000000));
}

TEST(PollBudgetTest, NoBudgetOrNoSitesNeverStretches) {
  EXPECT_FALSE(EffectiveIntervals(100000, seconds(1), seconds(1), 0).stretched());
  PollIntervals none = EffectiveIntervals(0, seconds(30), minutes(5), 4000);
  EXPECT_FALSE(none.stretched());
  EXPECT_EQ(none.status, seconds(30));
}

TEST(PollBudgetTest, PollerSetRecomputesAndExportsTheIntervalsWhenTheSitesChange) {
  prometheus::Registry registry;
  CaptureMetrics metrics(registry);
  config::Config config;
  config.mist.api_url = "http://127.0.0.1:9";  // never called: the poller is not started
  config.mist.max_requests_per_hour = 4000;
  config.poll.schedule = config::PollSchedule::kFixed;
  mist::MistClient client(config.mist, "tok", nullptr, common::SystemClock::Instance());
  PollerSet poller(config, client, metrics, common::SystemClock::Instance());
  std::vector<common::Site> sites;
  for (int i = 0; i < 1000; ++i) sites.push_back(common::Site{"s" + std::to_string(i), ""});
  poller.SetSites(sites);
  EXPECT_EQ(poller.intervals().status, milliseconds(1100000));
  EXPECT_EQ(fakes::Value(registry, "mist_pcap_poll_interval_seconds", {{"kind", "status"}}), 1100);
  EXPECT_EQ(fakes::Value(registry, "mist_pcap_poll_interval_seconds", {{"kind", "list"}}), 11000);
  sites.resize(10);
  poller.SetSites(sites);
  EXPECT_EQ(poller.intervals().status, seconds(30));
  EXPECT_EQ(fakes::Value(registry, "mist_pcap_poll_interval_seconds", {{"kind", "status"}}), 30);
  EXPECT_EQ(fakes::Value(registry, "mist_pcap_poll_interval_seconds", {{"kind", "list"}}), 300);
}

}  // namespace
}  // namespace mpe::poll
