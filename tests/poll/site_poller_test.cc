#include "poll/site_poller.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <memory>

#include "fakes/mist_fake_server.h"
#include "fakes/mist_metrics_probe.h"

namespace mpe::poll {
namespace {

using fakes::LabelMap;
using fakes::MistFakeServer;
using fakes::WaitFor;
using Reply = MistFakeServer::Reply;
using std::chrono::milliseconds;

constexpr char kToken[] = "tok-POLLER-SECRET-77aa31";

constexpr char kRunningS1[] = R"({"id": "cap-1", "type": "radiotap", "format": "stream",
  "started_time": 1764150000, "duration": 600, "max_num_packets": 1024, "max_pkt_len": 128,
  "aps": ["5c5b350e001c", "5c5b350e001d"], "ok": ["5c5b350e001c"],
  "failed": ["5c5b350e001d"]})";

constexpr char kListS1[] = R"({"results": [
  {"id": "cap-1", "type": "radiotap", "timestamp": 1764150000},
  {"id": "cap-0", "type": "radiotap", "timestamp": 1764140000},
  {"id": "cap-w", "type": "wired", "timestamp": 1764145000}]})";

std::string StatusPath(const std::string& site) {
  return "/api/v1/sites/" + site + "/pcaps/capture";
}
std::string ListPath(const std::string& site) { return "/api/v1/sites/" + site + "/pcaps"; }

Reply Error(int status, std::string detail) {
  Reply r;
  r.status = status;
  r.body = R"({"detail": ")" + detail + R"("})";
  return r;
}

class PollerSetTest : public ::testing::Test {
 protected:
  PollerSetTest() : api_metrics_(registry_), metrics_(registry_) {
    config_.mist.api_url = server_.base_url();
    config_.mist.timeout = std::chrono::seconds(10);
    config_.mist.max_requests_per_hour = 100000;
    config_.poll.status_interval = milliseconds(200);
    config_.poll.list_interval = milliseconds(300);
    config_.poll.list_window = std::chrono::hours(24);
    config_.poll.schedule =
        config::PollSchedule::kFixed;  // the events schedule: event_schedule_test
    config_.sites = {{"s1", "HQ"}, {"s2", ""}};
    server_.SetJson("GET", StatusPath("s1"), kRunningS1);
    server_.SetJson("GET", ListPath("s1"), kListS1);
    server_.SetJson("GET", StatusPath("s2"), "{}");
    server_.SetJson("GET", ListPath("s2"), R"({"results": []})");
  }
  ~PollerSetTest() override {
    if (poller_) poller_->Stop();
  }

  PollerSet& Start() {
    client_ = std::make_unique<mist::MistClient>(config_.mist, kToken, &api_metrics_,
                                                 common::SystemClock::Instance());
    poller_ =
        std::make_unique<PollerSet>(config_, *client_, metrics_, common::SystemClock::Instance());
    poller_->Start();
    return *poller_;
  }

  std::optional<double> Get(const std::string& name, const LabelMap& labels) {
    return fakes::Value(registry_, name, labels);
  }
  std::vector<LabelMap> Sets(const std::string& name) {
    auto sets = fakes::LabelSets(registry_, name);
    std::sort(sets.begin(), sets.end());
    return sets;
  }
  static LabelMap S1(LabelMap extra = {}) {
    extra["site_id"] = "s1";
    extra["site"] = "HQ";
    return extra;
  }
  static LabelMap S2(LabelMap extra = {}) {
    extra["site_id"] = "s2";
    extra["site"] = "s2";  // unnamed: labelled with its id
    return extra;
  }

  MistFakeServer server_;
  prometheus::Registry registry_;
  mist::ApiMetrics api_metrics_;
  CaptureMetrics metrics_;
  config::Config config_;
  std::unique_ptr<mist::MistClient> client_;
  std::unique_ptr<PollerSet> poller_;
};

TEST_F(PollerSetTest, AfterOneRoundTheMetricsEqualWhatMistReported) {
  auto& poller = Start();
  ASSERT_TRUE(WaitFor([&] {
    return server_.Count(ListPath("s1")) >= 1 && server_.Count(ListPath("s2")) >= 1 &&
           Get("mist_pcap_up", S2()) == 1 &&
           Get("mist_pcap_captures", S1({{"capture_type", "wired"}})) == 1;
  }));
  EXPECT_TRUE(poller.AnyPollSucceeded());
  EXPECT_EQ(Get("mist_pcap_up", S1()), 1);
  EXPECT_EQ(Get("mist_pcap_capture_running", S1()), 1);
  EXPECT_EQ(Get("mist_pcap_capture_running", S2()), 0);
  EXPECT_EQ(Sets("mist_pcap_capture_info"),
            (std::vector<LabelMap>{S1(
                {{"capture_id", "cap-1"}, {"capture_type", "radiotap"}, {"format", "stream"}})}));
  const LabelMap cap = S1({{"capture_id", "cap-1"}});
  EXPECT_EQ(Get("mist_pcap_capture_start_timestamp_seconds", cap), 1764150000);
  EXPECT_EQ(Get("mist_pcap_capture_expiry_timestamp_seconds", cap), 1764150600);
  EXPECT_EQ(Get("mist_pcap_capture_max_packets", cap), 1024);
  EXPECT_EQ(Get("mist_pcap_capture_max_packet_length_bytes", cap), 128);
  EXPECT_EQ(Get("mist_pcap_capture_aps", S1({{"state", "requested"}})), 2);
  EXPECT_EQ(Get("mist_pcap_capture_aps", S1({{"state", "ok"}})), 1);
  EXPECT_EQ(Get("mist_pcap_capture_aps", S1({{"state", "failed"}})), 1);
  EXPECT_EQ(Get("mist_pcap_capture_aps", S2({{"state", "requested"}})), 0);
  EXPECT_EQ(Sets("mist_pcap_capture_ap_failed"),
            (std::vector<LabelMap>{S1({{"ap_mac", "5c5b350e001d"}})}));
  EXPECT_EQ(Sets("mist_pcap_captures"), (std::vector<LabelMap>{S1({{"capture_type", "radiotap"}}),
                                                               S1({{"capture_type", "wired"}})}));
  EXPECT_EQ(Get("mist_pcap_captures", S1({{"capture_type", "radiotap"}})), 2);
  EXPECT_EQ(Sets("mist_pcap_last_capture_timestamp_seconds"), (std::vector<LabelMap>{S1()}));
  EXPECT_EQ(Get("mist_pcap_last_capture_timestamp_seconds", S1()), 1764150000);

  auto list_request = server_.Requests();
  auto it = std::find_if(list_request.begin(), list_request.end(),
                         [](const auto& r) { return r.path == ListPath("s1"); });
  ASSERT_NE(it, list_request.end());
  EXPECT_EQ(it->params["duration"], "1d");

  auto states = poller.States();
  ASSERT_EQ(states.size(), 2u);
  EXPECT_EQ(states[0].id, "s1");
  EXPECT_EQ(states[0].name, "HQ");
  EXPECT_TRUE(states[0].up);
  EXPECT_TRUE(states[0].capture_running);
  EXPECT_EQ(states[0].capture_id, "cap-1");
  EXPECT_EQ(states[0].capture_type, "radiotap");
  EXPECT_EQ(states[0].aps_ok, 1);
  EXPECT_EQ(states[0].aps_failed, 1);
  EXPECT_EQ(states[1].name, "s2");
  EXPECT_FALSE(states[1].capture_running);
}

TEST_F(PollerSetTest, SpreadsTheFirstRoundOverTheInterval) {
  config_.poll.status_interval = milliseconds(1000);
  config_.poll.list_interval = std::chrono::seconds(30);
  Start();
  // s1 polls at once, s2 half an interval later.
  ASSERT_TRUE(WaitFor([&] { return server_.Count(StatusPath("s1")) == 1; }));
  EXPECT_EQ(server_.Count(StatusPath("s2")), 0);
  ASSERT_TRUE(WaitFor([&] { return server_.Count(StatusPath("s2")) == 1; }));
}

TEST_F(PollerSetTest, RemovesPerCaptureSeriesAfterTheCaptureStops) {
  Start();
  ASSERT_TRUE(WaitFor([&] { return Get("mist_pcap_capture_running", S1()) == 1; }));
  server_.SetJson("GET", StatusPath("s1"), "{}");
  ASSERT_TRUE(WaitFor([&] { return Get("mist_pcap_capture_running", S1()) == 0; }));
  EXPECT_TRUE(Sets("mist_pcap_capture_info").empty());
  EXPECT_TRUE(Sets("mist_pcap_capture_start_timestamp_seconds").empty());
  EXPECT_TRUE(Sets("mist_pcap_capture_max_packets").empty());
  EXPECT_TRUE(Sets("mist_pcap_capture_ap_failed").empty());
  EXPECT_EQ(Get("mist_pcap_capture_aps", S1({{"state", "requested"}})), 0);
}

TEST_F(PollerSetTest, KeepsLastGoodValuesAndBacksOffWhileMistFails) {
  fakes::LogCapture log;
  config_.poll.list_interval = std::chrono::seconds(30);
  config_.sites = {{"s1", "HQ"}};
  Start();
  ASSERT_TRUE(WaitFor([&] { return Get("mist_pcap_up", S1()) == 1; }));
  server_.Set("GET", StatusPath("s1"), Error(500, "backend down"));
  ASSERT_TRUE(WaitFor([&] { return Get("mist_pcap_up", S1()) == 0; }));

  const int before = server_.Count(StatusPath("s1"));
  const auto window_start = std::chrono::steady_clock::now();
  WaitFor([] { return false; }, milliseconds(1000));  // observe a fixed window
  const int during = server_.Count(StatusPath("s1")) - before;
  // Backoff from interval/4 capped at the interval: at most ~8 attempts a second (a tight
  // retry loop would make hundreds), and at least one retry.
  EXPECT_GE(during, 2);
  EXPECT_LE(during, 12) << "in " << (std::chrono::steady_clock::now() - window_start).count();

  EXPECT_EQ(Get("mist_pcap_capture_running", S1()), 1);
  EXPECT_EQ(Get("mist_pcap_capture_max_packets", S1({{"capture_id", "cap-1"}})), 1024);
  EXPECT_EQ(Sets("mist_pcap_capture_ap_failed").size(), 1u);
  auto states = poller_->States();
  ASSERT_EQ(states.size(), 1u);
  EXPECT_FALSE(states[0].up);
  EXPECT_TRUE(states[0].capture_running);
  EXPECT_NE(states[0].last_error.find("backend down"), std::string::npos);

  // One warn for the transition, not one per retry.
  const std::string text = log.Text();
  size_t warns = 0;
  for (size_t pos = text.find("mist poll failed"); pos != std::string::npos;
       pos = text.find("mist poll failed", pos + 1)) {
    ++warns;
  }
  EXPECT_EQ(warns, 1u) << text;
  EXPECT_NE(text.find("site=s1 endpoint=capture_status"), std::string::npos);
  EXPECT_EQ(text.find(kToken), std::string::npos);

  server_.SetJson("GET", StatusPath("s1"), kRunningS1);
  ASSERT_TRUE(WaitFor([&] { return Get("mist_pcap_up", S1()) == 1; }));
  EXPECT_NE(log.Text().find("mist poll recovered site=s1"), std::string::npos);
}

TEST_F(PollerSetTest, HoldsEverySiteForRetryAfterOn429) {
  config_.poll.list_interval = std::chrono::seconds(30);
  Reply limited = Error(429, "Too Many Requests");
  limited.headers = {{"Retry-After", "2"}};
  server_.Set("GET", StatusPath("s1"), limited);
  server_.Set("GET", StatusPath("s2"), limited);
  Start();
  ASSERT_TRUE(WaitFor([&] { return server_.Count(StatusPath("s1")) >= 1; }));
  const int first = server_.Total();
  WaitFor([] { return false; }, milliseconds(1000));
  // At most the other site's request that was already due when the 429 arrived.
  EXPECT_LE(server_.Total() - first, 1);
  EXPECT_EQ(Get("mist_pcap_up", S1()), 0);
  EXPECT_GE(Get("mist_pcap_api_rate_limited_total", {}).value_or(0), 1);
}

TEST_F(PollerSetTest, StopReturnsPromptlyWhileARequestHangs) {
  Reply hang;
  hang.hang = true;
  hang.body = "{}";
  server_.Set("GET", StatusPath("s1"), hang);
  config_.sites = {{"s1", "HQ"}};
  auto& poller = Start();
  ASSERT_TRUE(WaitFor([&] { return server_.Hanging() == 1; }));

  // Scrapes never wait for Mist.
  auto collect_start = std::chrono::steady_clock::now();
  auto families = registry_.Collect();
  EXPECT_LT(std::chrono::steady_clock::now() - collect_start, std::chrono::seconds(1));
  EXPECT_FALSE(families.empty());
  EXPECT_EQ(poller.States().size(), 1u);

  auto stop_start = std::chrono::steady_clock::now();
  auto stopped = std::async(std::launch::async, [&] { poller.Stop(); });
  ASSERT_EQ(stopped.wait_for(milliseconds(1500)), std::future_status::ready);
  EXPECT_LT(std::chrono::steady_clock::now() - stop_start, milliseconds(1500));
  server_.ReleaseHangs();
}

TEST_F(PollerSetTest, RemovedSitesLoseTheirSeries) {
  auto& poller = Start();
  ASSERT_TRUE(
      WaitFor([&] { return Get("mist_pcap_up", S1()) == 1 && Get("mist_pcap_up", S2()) == 1; }));
  poller.SetSites({common::Site{"s2", ""}});
  for (const auto& family : registry_.Collect()) {
    for (const auto& m : family.metric) {
      auto labels = fakes::LabelsOf(m);
      if (labels.count("site_id") != 0) {
        EXPECT_EQ(labels["site_id"], "s2") << family.name;
      }
    }
  }
  // And they stay gone: no more polls of s1.
  const int s1_polls = server_.Count(StatusPath("s1"));
  ASSERT_TRUE(WaitFor([&] { return server_.Count(StatusPath("s2")) >= 4; }));
  EXPECT_LE(server_.Count(StatusPath("s1")), s1_polls + 1);  // one may have been in flight
  EXPECT_FALSE(Get("mist_pcap_up", S1()).has_value());
  EXPECT_EQ(poller.States().size(), 1u);

  server_.SetJson("GET", StatusPath("s3"), "{}");
  server_.SetJson("GET", ListPath("s3"), R"({"results": []})");
  poller.SetSites({common::Site{"s2", ""}, common::Site{"s3", "New"}});
  ASSERT_TRUE(WaitFor([&] {
    return Get("mist_pcap_up", LabelMap{{"site_id", "s3"}, {"site", "New"}}) == 1;
  }));
}

TEST_F(PollerSetTest, NotReadyUntilAPollSucceedsAndTheTokenNeverReachesTheLog) {
  fakes::LogCapture log;
  for (const char* site : {"s1", "s2"}) {
    server_.Set("GET", StatusPath(site), Error(401, "Invalid token."));
    server_.Set("GET", ListPath(site), Error(401, "Invalid token."));
  }
  auto& poller = Start();
  ASSERT_TRUE(
      WaitFor([&] { return Get("mist_pcap_up", S1()) == 0 && Get("mist_pcap_up", S2()) == 0; }));
  EXPECT_FALSE(poller.AnyPollSucceeded());
  server_.SetJson("GET", StatusPath("s2"), "{}");
  ASSERT_TRUE(WaitFor([&] { return poller.AnyPollSucceeded(); }));
  poller.Stop();
  const std::string text = log.Text();
  EXPECT_NE(text.find("Invalid token."), std::string::npos);
  EXPECT_NE(text.find("mist request method=GET endpoint=capture_status"), std::string::npos);
  EXPECT_EQ(text.find(kToken), std::string::npos);
}

}  // namespace
}  // namespace mpe::poll

namespace mpe::poll {
namespace {

TEST_F(PollerSetTest, SetPollConfigPullsPendingPollsInAndUsesTheNewListWindow) {
  config_.poll.status_interval = std::chrono::seconds(60);
  config_.poll.list_interval = std::chrono::seconds(60);
  config_.sites = {{"s1", "HQ"}};
  auto& poller = Start();
  ASSERT_TRUE(WaitFor(
      [&] { return server_.Count(StatusPath("s1")) == 1 && server_.Count(ListPath("s1")) == 1; }));
  EXPECT_EQ(Get("mist_pcap_poll_interval_seconds", {{"kind", "status"}}), 60);

  config::PollConfig faster = config_.poll;
  faster.status_interval = milliseconds(100);
  faster.list_interval = milliseconds(150);
  faster.list_window = std::chrono::minutes(90);
  const auto t0 = std::chrono::steady_clock::now();
  poller.SetPollConfig(faster);
  EXPECT_EQ(poller.intervals().status, milliseconds(100));
  EXPECT_EQ(poller.intervals().list, milliseconds(150));
  EXPECT_EQ(Get("mist_pcap_poll_interval_seconds", {{"kind", "status"}}), 0.1);
  EXPECT_EQ(Get("mist_pcap_poll_interval_seconds", {{"kind", "list"}}), 0.15);
  // Without the pull-in the next poll would be a minute away.
  ASSERT_TRUE(WaitFor(
      [&] { return server_.Count(StatusPath("s1")) >= 4 && server_.Count(ListPath("s1")) >= 3; }));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  std::string last_duration;
  for (const auto& r : server_.Requests()) {
    if (r.path == ListPath("s1") && r.params.count("duration")) {
      last_duration = r.params.at("duration");
    }
  }
  EXPECT_EQ(last_duration, "90m");

  // Longer again: at most the polls already due go out, then the new interval holds.
  poller.SetPollConfig(config_.poll);
  EXPECT_EQ(Get("mist_pcap_poll_interval_seconds", {{"kind", "status"}}), 60);
  WaitFor([] { return false; }, milliseconds(300));
  const int settled = server_.Count(StatusPath("s1"));
  WaitFor([] { return false; }, milliseconds(700));
  EXPECT_EQ(server_.Count(StatusPath("s1")), settled);
}

}  // namespace
}  // namespace mpe::poll
