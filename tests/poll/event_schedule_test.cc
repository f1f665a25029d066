// The events schedule (poll.schedule: events): the plan the budget allows, and the PollerSet
// polling what the stream says changed, counted request by request on a fake Mist over
// loopback. The clock is a ManualClock, so no poll happens unless the test makes it due.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fakes/mist_fake_server.h"
#include "fakes/mist_metrics_probe.h"
#include "poll/poll_budget.h"
#include "poll/site_poller.h"

namespace mpe::poll {
namespace {

using fakes::MistFakeServer;
using fakes::WaitFor;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// ---- The plan -------------------------------------------------------------------------------

TEST(PlanEventIntervalsTest, TwoThousandSitesTenRunningOnFourThousandRequests) {
  EventPlanInput in;
  in.sites = 2000;
  in.running = 10;
  in.status = seconds(30);
  in.max_requests_per_hour = 4000;
  in.reserved_per_hour = 200;
  const EventIntervals plan = PlanEventIntervals(in);
  // usable = 0.9 * 4000 - 200 = 3400; running: 10 * 120 = 1200/h at 30 s, as configured.
  EXPECT_EQ(plan.usable_per_hour, 3400);
  EXPECT_EQ(plan.status, seconds(30));
  EXPECT_EQ(plan.status_stretch, 1);
  // Safety net: 2 * 2000 - 10 = 3990 requests per round into 3400 - 1200 = 2200/h:
  // ceil(3990 * 3600000 / 2200) ms.
  EXPECT_EQ(plan.idle, milliseconds(6529091));
  EXPECT_EQ(plan.idle_stretch, 1);  // auto is never "stretched"
  EXPECT_NEAR(plan.planned_per_hour, 3400, 0.01);
}

TEST(PlanEventIntervalsTest, AutoNeverGoesUnderTenMinutes) {
  EventPlanInput in;
  in.sites = 3;
  in.status = seconds(30);
  in.max_requests_per_hour = 4000;
  EXPECT_EQ(PlanEventIntervals(in).idle, milliseconds(minutes(10)));
  in.max_requests_per_hour = 0;  // unlimited
  EXPECT_EQ(PlanEventIntervals(in).idle, milliseconds(minutes(10)));
}

TEST(PlanEventIntervalsTest, AShortBudgetServesRunningCapturesFirst) {
  EventPlanInput in;
  in.sites = 100;
  in.running = 10;
  in.status = seconds(30);
  in.max_requests_per_hour = 1000;  // usable 900
  const EventIntervals plan = PlanEventIntervals(in);
  // The safety net's daily minimum (190 per round / 24 h = 7.9/h) is set aside; the running
  // captures (1200/h wanted) get the rest, 892.08/h: status stretched, the net once a day.
  const double for_running = 900.0 - 190.0 / 24.0;
  EXPECT_NEAR(plan.status_stretch, 1200.0 / for_running, 1e-9);
  EXPECT_EQ(plan.status,
            milliseconds(static_cast<int64_t>(std::ceil(30000 * 1200.0 / for_running))));
  // What the rounded-up status interval leaves: the net about once a day.
  EXPECT_LE(plan.idle, milliseconds(hours(24)));
  EXPECT_GT(plan.idle, milliseconds(hours(24)) - minutes(1));
  EXPECT_LE(plan.planned_per_hour, 900.0);
}

TEST(PlanEventIntervalsTest, AnExplicitIdleIntervalIsStretchedToFit) {
  EventPlanInput in;
  in.sites = 1000;
  in.running = 0;
  in.status = seconds(30);
  in.idle = minutes(10);
  in.max_requests_per_hour = 4000;  // usable 3600: 2000 per round fits every 2000 s
  const EventIntervals plan = PlanEventIntervals(in);
  EXPECT_EQ(plan.idle, milliseconds(2000000));
  EXPECT_NEAR(plan.idle_stretch, 2000.0 / 600.0, 1e-9);
  in.idle = hours(1);  // fits: as configured
  EXPECT_EQ(PlanEventIntervals(in).idle, milliseconds(hours(1)));
  EXPECT_EQ(PlanEventIntervals(in).idle_stretch, 1);
}

// ---- The PollerSet on the events schedule -----------------------------------------------------

constexpr char kToken[] = "tok-EVENTS-SECRET-5150";
constexpr char kRunning2[] = R"({"id": "cap-2", "type": "radiotap", "format": "stream",
  "started_time": 1764150000, "duration": 600, "max_num_packets": 1024, "max_pkt_len": 128,
  "aps": ["5c5b350e001c"], "ok": ["5c5b350e001c"], "failed": []})";

std::string StatusPath(const std::string& site) {
  return "/api/v1/sites/" + site + "/pcaps/capture";
}
std::string ListPath(const std::string& site) { return "/api/v1/sites/" + site + "/pcaps"; }

class EventScheduleTest : public ::testing::Test {
 protected:
  EventScheduleTest() : api_metrics_(registry_), metrics_(registry_) {
    config_.mist.api_url = server_.base_url();
    config_.mist.timeout = seconds(10);
    config_.mist.max_requests_per_hour = 100000;
    config_.poll.schedule = config::PollSchedule::kEvents;
    config_.poll.status_interval = seconds(30);
    config_.poll.idle_interval = minutes(10);
    config_.sites = {{"s1", "A"}, {"s2", "B"}, {"s3", "C"}, {"s4", "D"}};
    for (const char* s : {"s1", "s2", "s3", "s4"}) {
      MistFakeServer::Reply none;
      none.status = 404;
      none.body = R"({"detail": "no capture is running"})";
      server_.Set("GET", StatusPath(s), none);
      server_.SetJson("GET", ListPath(s), R"({"results": []})");
    }
  }
  ~EventScheduleTest() override {
    if (poller_) poller_->Stop();
  }

  PollerSet& Start(int workers = 4) {
    client_ = std::make_unique<mist::MistClient>(config_.mist, kToken, &api_metrics_, clock_);
    poller_ = std::make_unique<PollerSet>(config_, *client_, metrics_, clock_, workers);
    poller_->SetMaxIdleWait(milliseconds(5));
    poller_->Start();
    return *poller_;
  }
  int Status(const std::string& s) const { return server_.Count(StatusPath(s)); }
  int List(const std::string& s) const { return server_.Count(ListPath(s)); }
  // Time for a wrongly scheduled poll to show up.
  static void Settle() { std::this_thread::sleep_for(milliseconds(300)); }
  // Waits for the first safety-net round's first site (offset 0): s1 status, then its list.
  void WaitForFirstRound() {
    ASSERT_TRUE(WaitFor([&] { return Status("s1") == 1; }));
    clock_.Advance(milliseconds(1));
    ASSERT_TRUE(WaitFor([&] { return List("s1") == 1; }));
  }

  MistFakeServer server_;
  common::ManualClock clock_;
  prometheus::Registry registry_;
  mist::ApiMetrics api_metrics_;
  CaptureMetrics metrics_;
  config::Config config_;
  std::unique_ptr<mist::MistClient> client_;
  std::unique_ptr<PollerSet> poller_;
};

TEST_F(EventScheduleTest, TheFirstSafetyNetRoundIsSpreadOverTheIdleInterval) {
  auto& poller = Start();
  EXPECT_TRUE(poller.events_schedule());
  WaitForFirstRound();
  Settle();
  EXPECT_EQ(Status("s2") + Status("s3") + Status("s4"), 0);
  clock_.Advance(milliseconds(minutes(10)) / 4 + milliseconds(1));  // s2's turn: 2.5 min
  ASSERT_TRUE(WaitFor([&] { return Status("s2") == 1 && List("s2") == 1; }))
      << Status("s2") << " " << List("s2") << " " << Status("s3") << " " << Status("s4");
  Settle();
  EXPECT_EQ(Status("s3") + Status("s4"), 0);
  EXPECT_EQ(Status("s1"), 1);
  EXPECT_EQ(fakes::Value(registry_, "mist_pcap_poll_interval_seconds", {{"kind", "idle"}}), 600);
  EXPECT_EQ(fakes::Value(registry_, "mist_pcap_poll_interval_seconds", {{"kind", "status"}}), 30);
  EXPECT_EQ(fakes::Value(registry_, "mist_pcap_poll_stretch_factor", {{"kind", "idle"}}), 1);
}

TEST_F(EventScheduleTest, ANewCaptureIdPollsThatSiteAtOnceAndOnlyOnce) {
  auto& poller = Start();
  WaitForFirstRound();
  server_.SetJson("GET", StatusPath("s3"), kRunning2);
  poller.OnStreamCapture("s3", "cap-2");
  ASSERT_TRUE(WaitFor([&] { return Status("s3") == 1; }));
  // The same capture again (every data frame carries it): nothing more.
  poller.OnStreamCapture("s3", "cap-2");
  Settle();
  EXPECT_EQ(Status("s3"), 1);
  EXPECT_EQ(List("s3"), 0);
  EXPECT_EQ(Status("s2") + Status("s4") + List("s2") + List("s4"), 0);
  EXPECT_EQ(
      fakes::Value(registry_, "mist_pcap_capture_running", {{"site_id", "s3"}, {"site", "C"}}), 1);
  // Now a running capture: its status every poll.status_interval.
  clock_.Advance(seconds(30));
  ASSERT_TRUE(WaitFor([&] { return Status("s3") == 2; }));
  Settle();
  EXPECT_EQ(Status("s3"), 2);
  EXPECT_EQ(List("s3"), 0);
}

TEST_F(EventScheduleTest, ACaptureEndPollsStatusAndListAtOnce) {
  auto& poller = Start();
  WaitForFirstRound();
  poller.OnStreamCaptureEnd("s4");
  ASSERT_TRUE(WaitFor([&] { return Status("s4") == 1 && List("s4") == 1; }));
  Settle();
  EXPECT_EQ(Status("s4"), 1);
  EXPECT_EQ(List("s4"), 1);
  EXPECT_EQ(Status("s2") + Status("s3") + List("s2") + List("s3"), 0);
}

TEST_F(EventScheduleTest, AtMostOneStreamTriggeredPollPerSitePerTenSeconds) {
  auto& poller = Start();
  WaitForFirstRound();
  poller.OnStreamCapture("s2", "cap-a");
  ASSERT_TRUE(WaitFor([&] { return Status("s2") == 1; }));
  poller.OnStreamCapture("s2", "cap-b");  // a hostile or flapping stream
  poller.OnStreamCaptureEnd("s2");
  poller.OnStreamCapture("s2", "cap-c");
  Settle();
  EXPECT_EQ(Status("s2"), 1);
  clock_.Advance(milliseconds(9999));
  Settle();
  EXPECT_EQ(Status("s2"), 1);
  clock_.Advance(milliseconds(1));
  // The three events are answered by one status and one list poll.
  ASSERT_TRUE(WaitFor([&] { return Status("s2") == 2 && List("s2") == 1; }));
  Settle();
  EXPECT_EQ(Status("s2"), 2);
  EXPECT_EQ(List("s2"), 1);
}

TEST_F(EventScheduleTest, UnknownSitesAndTheFixedScheduleIgnoreStreamEvents) {
  config_.poll.schedule = config::PollSchedule::kFixed;
  config_.poll.status_interval = hours(1);
  config_.poll.list_interval = hours(1);
  auto& poller = Start();
  EXPECT_FALSE(poller.events_schedule());
  WaitForFirstRound();
  poller.OnStreamCapture("s2", "cap-a");
  poller.OnStreamCaptureEnd("s3");
  poller.OnStreamCapture("not-a-site", "cap-z");
  Settle();
  EXPECT_EQ(Status("s2") + Status("s3") + List("s2") + List("s3"), 0);
  EXPECT_EQ(server_.Requests().size(), 2u);
}

TEST_F(EventScheduleTest, WithTheStreamOffTheScheduleIsFixed) {
  config_.stream.enabled = false;
  EXPECT_FALSE(Start().events_schedule());
}

// One worker, a budget of 5 requests per hour: everything is due at once; the running capture
// goes first, then the stream-triggered poll, and the safety net waits while less than 5% of
// the budget (at least 2 requests) is left.
TEST_F(EventScheduleTest, AShortBudgetServesRunningCapturesFirstThenStreamEvents) {
  config_.mist.max_requests_per_hour = 5;
  config_.poll.status_interval = seconds(1);
  server_.SetJson("GET", StatusPath("s1"), kRunning2);
  auto& poller = Start(/*workers=*/1);
  ASSERT_TRUE(WaitFor([&] { return Status("s1") == 1; }));
  poller.OnStreamCapture("s4", "cap-x");
  ASSERT_TRUE(WaitFor([&] { return Status("s4") == 1; }));
  poller.OnStreamCapture("s4", "cap-y");  // due 10 s later
  // 50 minutes on: every site's safety net, s1's status and s4's event are all due, and the two
  // requests made so far are still inside the budget's hour.
  clock_.Advance(minutes(50));
  ASSERT_TRUE(WaitFor([&] { return server_.Requests().size() == 4; }));
  Settle();
  const auto requests = server_.Requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[2].path, StatusPath("s1"));  // running capture
  EXPECT_EQ(requests[3].path, StatusPath("s4"));  // stream event
  EXPECT_EQ(List("s1") + Status("s2") + Status("s3") + List("s4"), 0);
}

TEST_F(EventScheduleTest, AFailedPollSaysWhyUntilItSucceeds) {
  MistFakeServer::Reply refused;
  refused.status = 403;
  refused.body = R"({"detail": "forbidden"})";
  server_.Set("GET", StatusPath("s1"), refused);
  Start();
  const fakes::LabelMap failure{
      {"site_id", "s1"}, {"site", "A"}, {"endpoint", "capture_status"}, {"code", "403"}};
  ASSERT_TRUE(WaitFor(
      [&] { return fakes::Value(registry_, "mist_pcap_poll_failure_info", failure) == 1; }));
  MistFakeServer::Reply none;
  none.status = 404;  // no capture: not a failure
  none.body = R"({"detail": "no capture is running"})";
  server_.Set("GET", StatusPath("s1"), none);
  clock_.Advance(minutes(10));
  ASSERT_TRUE(
      WaitFor([&] { return fakes::LabelSets(registry_, "mist_pcap_poll_failure_info").empty(); }));
  EXPECT_EQ(fakes::Value(registry_, "mist_pcap_up", {{"site_id", "s1"}, {"site", "A"}}), 1);
}

}  // namespace
}  // namespace mpe::poll
