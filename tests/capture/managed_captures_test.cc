#include "capture/managed_captures.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <rapidjson/document.h>

#include <chrono>
#include <string>

#include "common/clock.h"
#include "fakes/capture_test_util.h"
#include "fakes/mist_fake_server.h"
#include "mist/mist_client.h"

namespace mpe::capture {
namespace {

using fakes::MistFakeServer;
using std::chrono::seconds;

constexpr const char* kSite = "978c48e6-6ef6-11e6-8bbf-02e208b2d34f";
const std::string kStatusPath = std::string("/api/v1/sites/") + kSite + "/pcaps/capture";

MistFakeServer::Reply Reply(int status, std::string body) {
  MistFakeServer::Reply r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

std::string Running(const std::string& id) {
  return R"({"id":")" + id +
         R"(","type":"radiotap","format":"stream","enabled":true,"started_time":1700000000,)"
         R"("duration":600})";
}

class ManagedCapturesTest : public ::testing::Test {
 protected:
  ManagedCapturesTest() {
    config_.mist.api_url = server_.base_url();
    config_.mist.timeout = std::chrono::seconds(5);
    config_.sites = {{kSite, "HQ"}};
    config::ManagedCapture c;
    c.site = "HQ";
    c.type = "radiotap";
    c.ap_mac = "5C:5B:35:0E:00:01";
    c.duration = 600;
    c.max_pkt_len = 128;
    config_.captures = {c};
    client_ = std::make_unique<mist::MistClient>(config_.mist, "secret-token", nullptr, clock_);
    managed_ = std::make_unique<ManagedCaptures>(config_, *client_, registry_, clock_);
  }

  int Count(const std::string& method) {
    int n = 0;
    for (const auto& r : server_.Requests()) n += r.method == method ? 1 : 0;
    return n;
  }
  double Starts(const char* result) {
    return fakes::MetricValue(registry_, "mist_pcap_managed_capture_starts_total",
                              {{"site_id", kSite}, {"site", "HQ"}, {"result", result}})
        .value_or(-1);
  }
  ManagedCaptureState State() { return managed_->States().at(0); }

  MistFakeServer server_;
  config::Config config_;
  common::ManualClock clock_;
  prometheus::Registry registry_;
  std::unique_ptr<mist::MistClient> client_;
  std::unique_ptr<ManagedCaptures> managed_;
};

TEST_F(ManagedCapturesTest, StartsTheDeclaredCaptureWhenNoneRuns) {
  server_.SetJson("GET", kStatusPath, "{}");
  server_.SetJson("POST", kStatusPath, Running("c1"));
  managed_->Tick();
  EXPECT_EQ(Count("POST"), 1);
  EXPECT_EQ(Starts("ok"), 1);
  EXPECT_EQ(Starts("error"), 0);
  auto s = State();
  EXPECT_EQ(s.state, "running_ours");
  EXPECT_EQ(s.capture_id, "c1");
  EXPECT_EQ(s.site_id, kSite);
  EXPECT_EQ(s.site, "HQ");

  rapidjson::Document body;
  for (const auto& r : server_.Requests()) {
    if (r.method == "POST") body.Parse(r.body.c_str());
  }
  ASSERT_TRUE(body.IsObject());
  EXPECT_STREQ(body["type"].GetString(), "radiotap");
  EXPECT_FALSE(body.HasMember("ap_macs"));
  EXPECT_STREQ(body["ap_mac"].GetString(), "5c5b350e0001");
  EXPECT_EQ(body["duration"].GetInt(), 600);
  EXPECT_EQ(body["max_pkt_len"].GetInt(), 128);
  EXPECT_STREQ(body["format"].GetString(), "stream");
  EXPECT_FALSE(body.HasMember("site"));
}

TEST_F(ManagedCapturesTest, StartsTheNextCaptureWhenItsOwnHasExpired) {
  server_.Set("GET", kStatusPath, {Reply(200, "{}"), Reply(200, Running("c1")), Reply(200, "{}")});
  server_.Set("POST", kStatusPath, {Reply(200, Running("c1")), Reply(200, Running("c2"))});
  managed_->Tick();
  managed_->Tick();  // not due yet: no request
  EXPECT_EQ(server_.Total(), 2);
  clock_.Advance(seconds(30));
  managed_->Tick();  // c1 still runs
  EXPECT_EQ(Count("POST"), 1);
  EXPECT_EQ(State().state, "running_ours");
  clock_.Advance(seconds(30));
  managed_->Tick();  // c1 ended
  EXPECT_EQ(Count("POST"), 2);
  EXPECT_EQ(Starts("ok"), 2);
  EXPECT_EQ(State().capture_id, "c2");
  EXPECT_EQ(Count("DELETE"), 0);
}

TEST_F(ManagedCapturesTest, LeavesAForeignCaptureAloneAndLogsItOnce) {
  fakes::LogCapture logs;
  server_.SetJson("GET", kStatusPath, Running("someone-else"));
  server_.SetJson("POST", kStatusPath, Running("c1"));
  for (int i = 0; i < 5; ++i) {
    managed_->Tick();
    clock_.Advance(seconds(30));
  }
  EXPECT_EQ(Count("GET"), 5);
  EXPECT_EQ(Count("POST"), 0);
  EXPECT_EQ(Count("DELETE"), 0);
  EXPECT_EQ(State().state, "running_foreign");
  EXPECT_EQ(State().capture_id, "someone-else");
  const std::string text = logs.Text();
  size_t mentions = 0;
  for (size_t at = text.find("not started by the exporter"); at != std::string::npos;
       at = text.find("not started by the exporter", at + 1)) {
    ++mentions;
  }
  EXPECT_EQ(mentions, 1u);

  server_.SetJson("GET", kStatusPath, "{}");  // the foreign capture ended
  managed_->Tick();
  EXPECT_EQ(Count("POST"), 1);
  EXPECT_EQ(State().state, "running_ours");
}

// A start answered 200 without an id (and nothing running afterwards) must not become a tight
// loop of starts: the checks after it back off.
TEST_F(ManagedCapturesTest, AStartAnsweredWithoutAnIdIsRetriedWithBackoffNotAtOnce) {
  server_.SetJson("GET", kStatusPath, "{}");
  server_.SetJson("POST", kStatusPath, "{}");
  managed_->Tick();
  EXPECT_EQ(Count("POST"), 1);
  for (int i = 0; i < 5; ++i) managed_->Tick();  // no time passed: nothing is due
  EXPECT_EQ(Count("POST"), 1);
  EXPECT_EQ(Count("GET"), 1);
  clock_.Advance(std::chrono::seconds(2));  // past the first delay (1 s, jittered)
  managed_->Tick();
  EXPECT_EQ(Count("GET"), 2);
  EXPECT_EQ(Count("POST"), 2);
  clock_.Advance(std::chrono::milliseconds(500));  // the second delay is longer than that
  managed_->Tick();
  EXPECT_EQ(Count("POST"), 2);
  EXPECT_EQ(Starts("ok"), 2);
}

TEST_F(ManagedCapturesTest, BacksOffAfterAFailedStartAndCountsIt) {
  server_.SetJson("GET", kStatusPath, "{}");
  server_.Set("POST", kStatusPath,
              {Reply(403, R"({"detail":"no privilege"})"), Reply(200, Running("c9"))});
  managed_->Tick();
  EXPECT_EQ(Starts("error"), 1);
  EXPECT_EQ(State().state, "backing_off");
  EXPECT_NE(State().last_error.find("no privilege"), std::string::npos);
  EXPECT_EQ(State().last_error.find("secret-token"), std::string::npos);
  managed_->Tick();  // still backing off (at least 500 ms)
  EXPECT_EQ(Count("POST"), 1);
  clock_.Advance(seconds(2));
  managed_->Tick();
  EXPECT_EQ(Count("POST"), 2);
  EXPECT_EQ(Starts("ok"), 1);
  EXPECT_EQ(State().state, "running_ours");
}

TEST_F(ManagedCapturesTest, WorkerThreadStartsCapturesAndStopCancelsAHangingRequest) {
  server_.SetJson("GET", kStatusPath, "{}");
  server_.SetJson("POST", kStatusPath, Running("c1"));
  managed_->Start();
  ASSERT_TRUE(fakes::WaitFor([&] { return State().state == "running_ours"; }));
  MistFakeServer::Reply hang;
  hang.hang = true;
  server_.Set("GET", kStatusPath, hang);
  clock_.Advance(seconds(30));
  ASSERT_TRUE(fakes::WaitFor([&] { return server_.Hanging() == 1; }));
  const auto t0 = std::chrono::steady_clock::now();
  managed_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  server_.ReleaseHangs();
}

}  // namespace
}  // namespace mpe::capture
