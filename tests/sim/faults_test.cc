#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>

#include "sim/cloud_sim.h"
#include "sim/sim_test_util.h"

namespace mpe::sim {
namespace {

constexpr char kStatus[] = "/api/v1/sites/978c48e6-6ef6-11e6-8bbf-02e208b2d34f/pcaps/capture";

using testing::ParseJson;

class CloudSimFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SimOptions opts;
    opts.token = "tok";
    sim_ = std::make_unique<CloudSim>(opts);
    ASSERT_TRUE(sim_->Start().ok());
    client_ = MakeClient();
  }
  std::unique_ptr<httplib::Client> MakeClient() {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", sim_->port());
    c->set_default_headers({{"Authorization", "Token tok"}});
    c->set_read_timeout(3, 0);
    return c;
  }
  std::vector<int> Statuses(int n) {
    std::vector<int> out;
    for (int i = 0; i < n; ++i) {
      auto res = client_->Get(kStatus);
      out.push_back(res ? res->status : -1);
    }
    return out;
  }
  std::unique_ptr<CloudSim> sim_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(CloudSimFaultsTest, EverySecondCallIs429WithRetryAfter) {
  Faults f;
  f.status_429_every = 2;
  f.retry_after_s = 7;
  sim_->SetFaults(f);
  auto first = client_->Get(kStatus);
  auto second = client_->Get(kStatus);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(second->status, 429);
  EXPECT_EQ(second->get_header_value("Retry-After"), "7");
  EXPECT_STREQ(ParseJson(second->body)["detail"].GetString(),
               "Too Many Request. The API Token used for the request reached the 5000 API Calls "
               "per hour threshold");
  EXPECT_EQ(Statuses(4), (std::vector<int>{200, 429, 200, 429}));
  auto stats = ParseJson(sim_->StatsJson());
  EXPECT_EQ(stats["requests"]["capture_status"].GetInt(), 6);
  EXPECT_EQ(stats["codes"]["429"].GetInt(), 3);
  EXPECT_EQ(stats["codes"]["200"].GetInt(), 3);
}

TEST_F(CloudSimFaultsTest, RateLimitWithoutRetryAfterHasNoHeader) {
  Faults f;
  f.status_429_every = 2;
  sim_->SetFaults(f);
  client_->Get(kStatus);
  auto res = client_->Get(kStatus);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 429);
  EXPECT_FALSE(res->has_header("Retry-After"));
}

TEST_F(CloudSimFaultsTest, EveryThirdCallAnswersTheConfiguredServerError) {
  Faults f;
  f.error_5xx_every = 3;
  f.error_code = 503;
  sim_->SetFaults(f);
  EXPECT_EQ(Statuses(6), (std::vector<int>{200, 200, 503, 200, 200, 503}));
}

TEST_F(CloudSimFaultsTest, HangAnswersNothingUntilCleared) {
  Faults f;
  f.hang = true;
  sim_->SetFaults(f);
  auto impatient = MakeClient();
  impatient->set_read_timeout(0, 300000);
  auto t0 = std::chrono::steady_clock::now();
  auto res = impatient->Get(kStatus);
  EXPECT_FALSE(res);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(250));
  // The control API still answers while REST hangs.
  auto stats = client_->Get("/sim/stats");
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->status, 200);
  auto clear = client_->Post("/sim/faults", "{}", "application/json");
  ASSERT_TRUE(clear);
  EXPECT_EQ(clear->status, 200);
  auto after = client_->Get(kStatus);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
}

TEST_F(CloudSimFaultsTest, HangingCallIsAnsweredOnceHangIsCleared) {
  Faults f;
  f.hang = true;
  sim_->SetFaults(f);
  auto waiting = std::async(std::launch::async, [this] {
    auto c = MakeClient();
    auto res = c->Get(kStatus);
    return res ? res->status : -1;
  });
  EXPECT_EQ(waiting.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  sim_->SetFaults(Faults{});
  EXPECT_EQ(waiting.get(), 200);
}

TEST_F(CloudSimFaultsTest, LatencyDelaysEveryRestAnswer) {
  Faults f;
  f.latency_ms = 150;
  sim_->SetFaults(f);
  auto t0 = std::chrono::steady_clock::now();
  auto res = client_->Get(kStatus);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(150));
}

TEST_F(CloudSimFaultsTest, FaultsCanBeSetOverTheControlEndpoint) {
  auto set = client_->Post("/sim/faults", R"({"status_429_every":1,"retry_after_s":2})",
                           "application/json");
  ASSERT_TRUE(set);
  EXPECT_EQ(set->status, 200);
  EXPECT_EQ(Statuses(2), (std::vector<int>{429, 429}));
  auto bad = client_->Post("/sim/faults", R"({"no_such_fault":1})", "application/json");
  EXPECT_EQ(bad->status, 400);
  client_->Post("/sim/faults", "{}", "application/json");
  EXPECT_EQ(Statuses(1), (std::vector<int>{200}));
}

}  // namespace
}  // namespace mpe::sim
