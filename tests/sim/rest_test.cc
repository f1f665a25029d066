#include <httplib.h>

#include <gtest/gtest.h>

#include "common/clock.h"
#include "sim/cloud_sim.h"
#include "sim/sim_test_util.h"

namespace mpe::sim {
namespace {

constexpr char kHq[] = "978c48e6-6ef6-11e6-8bbf-02e208b2d34f";
constexpr char kWarehouse[] = "a1b2c3d4-0000-4000-8000-000000000003";
constexpr char kOrg[] = "9e1f3c2a-0000-4000-8000-000000000001";

using testing::ParseJson;

class CloudSimRestTest : public ::testing::Test {
 protected:
  void StartSim(SimOptions opts = {}) {
    opts.clock = &clock_;
    opts.token = "t0ken";
    sim_ = std::make_unique<CloudSim>(opts);
    auto st = sim_->Start();
    ASSERT_TRUE(st.ok()) << st.error().message;
    client_ = std::make_unique<httplib::Client>("127.0.0.1", sim_->port());
    client_->set_default_headers({{"Authorization", "Token t0ken"}});
    client_->set_read_timeout(3, 0);
  }
  void SetUp() override { StartSim(); }

  std::string Path(const std::string& site, const std::string& rest) {
    return "/api/v1/sites/" + site + rest;
  }

  common::ManualClock clock_;
  std::unique_ptr<CloudSim> sim_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(CloudSimRestTest, BaseUrlNamesTheLoopbackPort) {
  EXPECT_EQ(sim_->base_url(), "http://127.0.0.1:" + std::to_string(sim_->port()));
  EXPECT_GT(sim_->port(), 0);
}

TEST_F(CloudSimRestTest, SelfListsTheDemoOrgPrivilege) {
  auto res = client_->Get("/api/v1/self");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  auto doc = ParseJson(res->body);
  ASSERT_TRUE(doc["privileges"].IsArray());
  ASSERT_EQ(doc["privileges"].Size(), 1u);
  EXPECT_STREQ(doc["privileges"][0]["scope"].GetString(), "org");
  EXPECT_STREQ(doc["privileges"][0]["org_id"].GetString(), kOrg);
  EXPECT_STREQ(doc["privileges"][0]["name"].GetString(), "Demo Org");
}

TEST_F(CloudSimRestTest, OrgSitesArePagedWithPageHeaders) {
  auto res = client_->Get(std::string("/api/v1/orgs/") + kOrg + "/sites?limit=2&page=1");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("X-Page-Total"), "3");
  EXPECT_EQ(res->get_header_value("X-Page-Limit"), "2");
  EXPECT_EQ(res->get_header_value("X-Page-Page"), "1");
  auto doc = ParseJson(res->body);
  ASSERT_TRUE(doc.IsArray());
  ASSERT_EQ(doc.Size(), 2u);
  EXPECT_STREQ(doc[0]["id"].GetString(), kHq);
  EXPECT_STREQ(doc[0]["name"].GetString(), "HQ");
  auto page2 = client_->Get(std::string("/api/v1/orgs/") + kOrg + "/sites?limit=2&page=2");
  ASSERT_TRUE(page2);
  auto doc2 = ParseJson(page2->body);
  ASSERT_EQ(doc2.Size(), 1u);
  EXPECT_STREQ(doc2[0]["name"].GetString(), "Warehouse");
}

TEST_F(CloudSimRestTest, MissingOrWrongTokenIs401WithDetail) {
  httplib::Client anonymous("127.0.0.1", sim_->port());
  auto res = anonymous.Get(Path(kHq, "/pcaps/capture"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_STREQ(ParseJson(res->body)["detail"].GetString(),
               "Authentication credentials were not provided.");
  anonymous.set_default_headers({{"Authorization", "Token wrong"}});
  res = anonymous.Get(Path(kHq, "/pcaps/capture"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_STREQ(ParseJson(res->body)["detail"].GetString(), "Invalid token.");
}

TEST_F(CloudSimRestTest, UnknownSiteIs404WithDetail) {
  auto res = client_->Get(Path("no-such-site", "/pcaps/capture"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_TRUE(ParseJson(res->body)["detail"].IsString());
}

TEST_F(CloudSimRestTest, RunningCaptureStatusShowsApsAndTheFailingAp) {
  auto res = client_->Get(Path(kHq, "/pcaps/capture"));
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  auto doc = ParseJson(res->body);
  EXPECT_STREQ(doc["type"].GetString(), "radiotap,wired");
  EXPECT_STREQ(doc["format"].GetString(), "stream");
  EXPECT_TRUE(doc["enabled"].GetBool());
  EXPECT_EQ(doc["duration"].GetInt(), 3600);
  EXPECT_EQ(doc["expiry"].GetDouble() - doc["started_time"].GetDouble(), 3600);
  EXPECT_EQ(doc["ap_macs"].Size(), 4u);
  EXPECT_STREQ(doc["aps"]["5c5b350e0001"]["status"].GetString(), "ok");
  EXPECT_STREQ(doc["aps"]["5c5b350e0004"]["status"].GetString(), "failed");
  ASSERT_EQ(doc["failed_aps"].Size(), 1u);
  EXPECT_STREQ(doc["failed_aps"][0].GetString(), "5c5b350e0004");
  EXPECT_EQ(std::string(doc["id"].GetString()).size(), 36u);
}

TEST_F(CloudSimRestTest, StatusIsAnEmptyObjectWhenNoCaptureRuns) {
  auto res = client_->Get(Path(kWarehouse, "/pcaps/capture"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "{}");
}

TEST_F(CloudSimRestTest, StartStopLifecycleMovesTheCaptureToTheList) {
  auto start = client_->Post(Path(kWarehouse, "/pcaps/capture"),
                             R"({"type":"radiotap","duration":300,"ap_macs":["5c5b350e0201"],)"
                             R"("max_pkt_len":64,"num_packets":500})",
                             "application/json");
  ASSERT_TRUE(start);
  ASSERT_EQ(start->status, 200) << start->body;
  auto started = ParseJson(start->body);
  std::string id = started["id"].GetString();
  EXPECT_EQ(started["max_pkt_len"].GetInt(), 64);
  EXPECT_EQ(started["max_num_packets"].GetInt(), 500);
  EXPECT_EQ(started["ap_macs"].Size(), 1u);

  auto again = client_->Post(Path(kWarehouse, "/pcaps/capture"), "{}", "application/json");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 400);
  EXPECT_STREQ(ParseJson(again->body)["detail"].GetString(), "a capture is already running");

  auto status = client_->Get(Path(kWarehouse, "/pcaps/capture"));
  EXPECT_STREQ(ParseJson(status->body)["id"].GetString(), id.c_str());

  auto stop = client_->Delete(Path(kWarehouse, "/pcaps/capture"));
  ASSERT_TRUE(stop);
  EXPECT_EQ(stop->status, 200);
  EXPECT_EQ(stop->body, "{}");
  EXPECT_EQ(client_->Get(Path(kWarehouse, "/pcaps/capture"))->body, "{}");
  EXPECT_EQ(client_->Delete(Path(kWarehouse, "/pcaps/capture"))->status, 404);

  auto list = ParseJson(client_->Get(Path(kWarehouse, "/pcaps"))->body);
  ASSERT_EQ(list["results"].Size(), 2u);
  EXPECT_STREQ(list["results"][0]["id"].GetString(), id.c_str());  // newest first
}

TEST_F(CloudSimRestTest, CaptureExpiresAfterItsDuration) {
  auto start = client_->Post(Path(kWarehouse, "/pcaps/capture"), R"({"duration":5})",
                             "application/json");
  ASSERT_EQ(start->status, 200);
  clock_.Advance(std::chrono::seconds(4));
  EXPECT_NE(client_->Get(Path(kWarehouse, "/pcaps/capture"))->body, "{}");
  clock_.Advance(std::chrono::seconds(1));
  EXPECT_EQ(client_->Get(Path(kWarehouse, "/pcaps/capture"))->body, "{}");
  auto list = ParseJson(client_->Get(Path(kWarehouse, "/pcaps"))->body);
  EXPECT_EQ(list["results"].Size(), 2u);
}

TEST_F(CloudSimRestTest, ListWindowHoldsOnlyCapturesStartedWithinIt) {
  auto day = ParseJson(client_->Get(Path(kHq, "/pcaps?duration=1d"))->body);
  EXPECT_EQ(day["results"].Size(), 7u);
  EXPECT_FALSE(day.HasMember("next"));
  auto two_hours = ParseJson(client_->Get(Path(kHq, "/pcaps?duration=2h"))->body);
  ASSERT_EQ(two_hours["results"].Size(), 1u);
  EXPECT_STREQ(two_hours["results"][0]["notes"].GetString(), "roaming complaints, floor 2");
  EXPECT_EQ(day["end"].GetInt64() - day["start"].GetInt64(), 86400);
}

TEST_F(CloudSimRestTest, AnnotationIsStoredAndListed) {
  auto list = ParseJson(client_->Get(Path(kWarehouse, "/pcaps"))->body);
  std::string id = list["results"][0]["id"].GetString();
  auto res = client_->Put(Path(kWarehouse, "/pcaps/" + id), R"({"notes":"checked by ops"})",
                          "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  EXPECT_STREQ(ParseJson(res->body)["notes"].GetString(), "checked by ops");
  list = ParseJson(client_->Get(Path(kWarehouse, "/pcaps"))->body);
  EXPECT_STREQ(list["results"][0]["notes"].GetString(), "checked by ops");
  EXPECT_EQ(client_->Put(Path(kWarehouse, "/pcaps/nope"), R"({"notes":"x"})",
                         "application/json")->status, 404);
}

TEST_F(CloudSimRestTest, StatsCountRequestsPerEndpointAndCode) {
  client_->Get(Path(kHq, "/pcaps/capture"));
  client_->Get(Path(kHq, "/pcaps/capture"));
  client_->Get(Path(kHq, "/pcaps"));
  client_->Get("/api/v1/self");
  httplib::Client anonymous("127.0.0.1", sim_->port());
  anonymous.Get(Path(kHq, "/pcaps/capture"));
  auto stats = ParseJson(sim_->StatsJson());
  EXPECT_EQ(stats["requests"]["capture_status"].GetInt(), 3);
  EXPECT_EQ(stats["requests"]["capture_list"].GetInt(), 1);
  EXPECT_EQ(stats["requests"]["self"].GetInt(), 1);
  EXPECT_EQ(stats["requests"]["capture_start"].GetInt(), 0);
  EXPECT_EQ(stats["codes"]["200"].GetInt(), 4);
  EXPECT_EQ(stats["codes"]["401"].GetInt(), 1);
  auto over_http = client_->Get("/sim/stats");
  ASSERT_TRUE(over_http);
  EXPECT_EQ(ParseJson(over_http->body)["requests"]["capture_status"].GetInt(), 3);
  // Status and list polls by site (the anonymous one included); other endpoints are not.
  ASSERT_TRUE(stats["site_requests"].IsObject());
  EXPECT_EQ(stats["site_requests"].MemberCount(), 1u);
  EXPECT_EQ(stats["site_requests"][kHq].GetInt(), 4);
}

class CloudSimPagingTest : public CloudSimRestTest {
 protected:
  void SetUp() override {
    std::string yaml = "orgs: [{id: o1, name: Org}]\nsites:\n  - id: big\n    org: o1\n"
                       "    aps: [5c5b350e0901]\n    history:\n";
    for (int i = 0; i < 250; ++i) {
      yaml += "      - {type: radiotap, started_ago: " + std::to_string(60 + i * 60) +
              ", duration: 60}\n";
    }
    SimOptions opts;
    opts.scenario_yaml = yaml;
    StartSim(opts);
  }
};

TEST_F(CloudSimPagingTest, ListSpansThreePagesFollowingRelativeNextLinks) {
  std::string next = "/api/v1/sites/big/pcaps?duration=1d&limit=100";
  std::vector<size_t> sizes;
  std::set<std::string> ids;
  while (!next.empty()) {
    auto res = client_->Get(next);
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    auto doc = ParseJson(res->body);
    sizes.push_back(doc["results"].Size());
    for (const auto& item : doc["results"].GetArray()) ids.insert(item["id"].GetString());
    next = doc.HasMember("next") ? doc["next"].GetString() : "";
    ASSERT_LE(sizes.size(), 5u);
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{100, 100, 50}));
  EXPECT_EQ(ids.size(), 250u);
}

TEST_F(CloudSimPagingTest, DefaultLimitIsOneHundred) {
  auto doc = ParseJson(client_->Get("/api/v1/sites/big/pcaps")->body);
  EXPECT_EQ(doc["results"].Size(), 100u);
  EXPECT_EQ(doc["limit"].GetInt(), 100);
  ASSERT_TRUE(doc.HasMember("next"));
  EXPECT_EQ(std::string(doc["next"].GetString()).rfind("/api/v1/sites/big/pcaps?", 0), 0u);
}

TEST(CloudSimDiscoveryTest, AddedAndRemovedSitesShowInOrgSites) {
  SimOptions opts;
  opts.token = "x";
  CloudSim sim(opts);
  ASSERT_TRUE(sim.Start().ok());
  httplib::Client client("127.0.0.1", sim.port());
  client.set_default_headers({{"Authorization", "Token x"}});
  sim.AddSite(kOrg, "new-site", "Lab", {"5c5b350e0301"});
  auto res = client.Get(std::string("/api/v1/orgs/") + kOrg + "/sites");
  EXPECT_EQ(res->get_header_value("X-Page-Total"), "4");
  auto http_add = client.Post("/sim/sites", R"({"org_id":"org-2","id":"s2","name":"Two"})",
                              "application/json");
  EXPECT_EQ(http_add->status, 200);
  EXPECT_EQ(ParseJson(client.Get("/api/v1/self")->body)["privileges"].Size(), 2u);
  sim.RemoveSite("new-site");
  res = client.Get(std::string("/api/v1/orgs/") + kOrg + "/sites");
  EXPECT_EQ(res->get_header_value("X-Page-Total"), "3");
  EXPECT_EQ(client.Delete("/sim/sites/s2")->status, 200);
  EXPECT_EQ(client.Get("/api/v1/sites/s2/pcaps/capture")->status, 404);
}

}  // namespace
}  // namespace mpe::sim
