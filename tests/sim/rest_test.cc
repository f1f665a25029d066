#include <gtest/gtest.h>
#include <httplib.h>

#include "common/clock.h"
#include "sim/cloud_sim.h"
#include "sim/packet_gen.h"
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

TEST_F(CloudSimRestTest, RunningCaptureStatusHasTheArraysOfMistsStatus) {
  auto res = client_->Get(Path(kHq, "/pcaps/capture"));
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  auto doc = ParseJson(res->body);
  EXPECT_STREQ(doc["type"].GetString(), "radiotap,wired");
  EXPECT_STREQ(doc["format"].GetString(), "stream");
  EXPECT_EQ(doc["duration"].GetInt(), 3600);
  ASSERT_TRUE(doc["started_time"].IsInt64());
  EXPECT_EQ(doc["started_time"].GetInt64(), 1700000000);
  EXPECT_EQ(doc["max_num_packets"].GetInt(), 1024);
  EXPECT_EQ(doc["max_pkt_len"].GetInt(), 128);
  EXPECT_EQ(doc["num_packets"].GetInt(), 0);  // nothing streamed yet
  auto strings = [](const rapidjson::Value& a) {
    std::vector<std::string> out;
    for (const auto& v : a.GetArray()) out.push_back(v.GetString());
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(strings(doc["aps"]),
            (V{"5c5b350e0001", "5c5b350e0002", "5c5b350e0003", "5c5b350e0004"}));
  EXPECT_EQ(strings(doc["ok"]), (V{"5c5b350e0001", "5c5b350e0002", "5c5b350e0003"}));
  EXPECT_EQ(strings(doc["failed"]), (V{"5c5b350e0004"}));
  ASSERT_TRUE(doc["pcap_aps"].IsObject());
  EXPECT_EQ(doc["pcap_aps"].MemberCount(), 3u);
  const auto& ap = doc["pcap_aps"]["5c5b350e0001"];
  EXPECT_EQ(ap["band"].GetInt(), 24);
  EXPECT_EQ(ap["bandwidth"].GetInt(), 20);
  EXPECT_EQ(ap["channel"].GetInt(), MakeApRadio(0x5c5b350e0001).channel[0]);
  EXPECT_TRUE(ap["tcpdump_expression"].IsNull());
  for (const char* invented : {"enabled", "expiry", "ap_macs", "failed_aps", "notes"}) {
    EXPECT_FALSE(doc.HasMember(invented)) << invented;
  }
  EXPECT_EQ(std::string(doc["id"].GetString()).size(), 36u);
}

TEST_F(CloudSimRestTest, StatusIs404WhenNoCaptureRunsUnlessTheKnobSaysEmpty) {
  auto res = client_->Get(Path(kWarehouse, "/pcaps/capture"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(res->body, R"({"detail":"no capture is running"})");
  EXPECT_EQ(client_->Post("/sim/idle_status", R"({"answer":"empty"})", "application/json")->status,
            200);
  res = client_->Get(Path(kWarehouse, "/pcaps/capture"));
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "{}");
  EXPECT_EQ(client_->Post("/sim/idle_status", R"({"answer":"maybe"})", "application/json")->status,
            400);
}

TEST(CloudSimIdleScenarioTest, ScenarioKeyMakesTheIdleStatusEmpty) {
  SimOptions opts;
  opts.token = "x";
  opts.scenario_yaml = "idle_status: empty\norgs: [{id: o1}]\nsites: [{id: s1, org: o1}]\n";
  CloudSim sim(opts);
  ASSERT_TRUE(sim.Start().ok());
  httplib::Client client("127.0.0.1", sim.port());
  client.set_default_headers({{"Authorization", "Token x"}});
  auto res = client.Get("/api/v1/sites/s1/pcaps/capture");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "{}");
}

TEST_F(CloudSimRestTest, StartRepliesWithMistsStartShapeAndStopListsIt) {
  auto start = client_->Post(Path(kWarehouse, "/pcaps/capture"),
                             R"({"type":"radiotap","duration":300,"ap_mac":"5c5b350e0201",)"
                             R"("max_pkt_len":64,"num_packets":500,"format":"stream"})",
                             "application/json");
  ASSERT_TRUE(start);
  ASSERT_EQ(start->status, 200) << start->body;
  auto started = ParseJson(start->body);
  std::string id = started["id"].GetString();
  EXPECT_STREQ(started["org_id"].GetString(), kOrg);
  EXPECT_STREQ(started["site_id"].GetString(), kWarehouse);
  EXPECT_STREQ(started["type"].GetString(), "radiotap");
  ASSERT_TRUE(started["timestamp"].IsDouble());
  EXPECT_EQ(started["timestamp"].GetDouble(), 1700000000.0);
  EXPECT_EQ(started["expiry"].GetDouble(), 1700000300.0);
  EXPECT_EQ(started["duration"].GetInt(), 300);
  EXPECT_EQ(started["ap_count"].GetInt(), 1);
  ASSERT_EQ(started["aps"].Size(), 1u);
  EXPECT_STREQ(started["aps"][0].GetString(), "5c5b350e0201");
  EXPECT_FALSE(started["include_mcast"].GetBool());
  EXPECT_STREQ(started["format"].GetString(), "stream");
  EXPECT_EQ(started["max_pkt_len"].GetInt(), 64);
  EXPECT_EQ(started["num_packets"].GetInt(), 500);
  EXPECT_TRUE(started["enabled"].GetBool());
  EXPECT_TRUE(started["client_mac"].IsNull());
  EXPECT_TRUE(started["raw"].GetBool());
  EXPECT_FALSE(started.HasMember("started_time"));

  auto again =
      client_->Post(Path(kWarehouse, "/pcaps/capture"), R"({"type":"wired"})", "application/json");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 400);
  EXPECT_STREQ(ParseJson(again->body)["detail"].GetString(), "a capture is already running");

  auto status = ParseJson(client_->Get(Path(kWarehouse, "/pcaps/capture"))->body);
  EXPECT_STREQ(status["id"].GetString(), id.c_str());
  EXPECT_EQ(status["max_num_packets"].GetInt(), 500);
  ASSERT_EQ(status["aps"].Size(), 1u);

  clock_.Advance(std::chrono::seconds(10));
  auto stop = client_->Delete(Path(kWarehouse, "/pcaps/capture"));
  ASSERT_TRUE(stop);
  EXPECT_EQ(stop->status, 200);
  EXPECT_EQ(stop->body, "{}");
  EXPECT_EQ(client_->Get(Path(kWarehouse, "/pcaps/capture"))->status, 404);
  EXPECT_EQ(client_->Delete(Path(kWarehouse, "/pcaps/capture"))->status, 404);

  auto list = ParseJson(client_->Get(Path(kWarehouse, "/pcaps"))->body);
  ASSERT_EQ(list["results"].Size(), 2u);
  const auto& item = list["results"][0];  // newest first
  EXPECT_STREQ(item["id"].GetString(), id.c_str());
  EXPECT_STREQ(item["termination_reason"].GetString(), "user");
  EXPECT_STREQ(list["results"][1]["termination_reason"].GetString(), "default");
  EXPECT_EQ(item["max_num_packets"].GetInt(), 500);
  std::string url = item["pcap_url"].GetString();
  EXPECT_EQ(url.rfind(sim_->base_url() + "/pcap-files/", 0), 0u) << url;
  EXPECT_EQ(url.size(), sim_->base_url().size() + std::string("/pcap-files/").size() + 32 + 5);
  EXPECT_STREQ(item["url"].GetString(), url.c_str());
  EXPECT_FALSE(item.HasMember("notes"));
}

TEST_F(CloudSimRestTest, FormatDefaultsToPcapPerTypeAndPcapCapturesHaveNoStreamTarget) {
  auto start =
      client_->Post(Path(kWarehouse, "/pcaps/capture"), R"({"type":"wired"})", "application/json");
  ASSERT_EQ(start->status, 200) << start->body;
  EXPECT_STREQ(ParseJson(start->body)["format"].GetString(), "pcap");
  EXPECT_EQ(ParseJson(start->body)["max_pkt_len"].GetInt(), 512);  // the schema's default
  client_->Delete(Path(kWarehouse, "/pcaps/capture"));
  start = client_->Post(Path(kWarehouse, "/pcaps/capture"),
                        R"({"type":"gateway","gateways":{"001122334455":{}}})", "application/json");
  ASSERT_EQ(start->status, 200) << start->body;
  EXPECT_STREQ(ParseJson(start->body)["format"].GetString(), "stream");
  EXPECT_STREQ(ParseJson(start->body)["aps"][0].GetString(), "001122334455");
}

TEST_F(CloudSimRestTest, StartBodyThatDoesNotValidateIs400NamingTheField) {
  struct Case {
    const char* body;
    const char* detail;
  };
  const Case cases[] = {
      {R"({"type":"radiotap","band":"5,6"})",
       R"(band: "5,6" is not one of 24, 24,5,6, 5, 6 for type radiotap)"},
      {R"({"type":"radiotap","ap_mac":["5c5b350e0201"]})",
       "ap_mac: expected a string for type radiotap, got array"},
      {R"({"type":"wired","ap_mac":["5c5b350e0201"]})",
       "ap_mac: expected a string or null for type wired, got array"},
      {R"({"type":"client"})", "client_mac: required for type client"},
      {R"({"type":"gateway"})", "gateways: required for type gateway"},
      {R"({"type":"switch","switches":{"x":{}}})", R"(switches.x: "x" is not a MAC address)"},
      {R"({"type":"wired","duration":59})",
       "duration: 59 is out of range 60..86400 for type wired"},
      {R"({"type":"scan","band":"24,5,6"})",
       R"(band: "24,5,6" is not one of 24, 5, 6 for type scan)"},
      {R"({"type":"wireless","num_packets":10001})",
       "num_packets: 10001 is out of range 0..10000 for type wireless"},
      {R"({"type":"gateway","gateways":{},"max_pkt_len":2048})",
       "max_pkt_len: 2048 is out of range 64..1520 for type gateway"},
      {R"({"type":"radiotap","band":null})", "band: must not be null for type radiotap"},
      {R"({"duration":600})",
       "type: required (one of client, new_assoc, radiotap, radiotap,wired, "
       "wired, wireless, scan, gateway, switch)"},
      {"[1]", "body: expected a JSON object"},
  };
  for (const Case& c : cases) {
    auto res = client_->Post(Path(kWarehouse, "/pcaps/capture"), c.body, "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << c.body;
    EXPECT_EQ(
        res->body, std::string(R"({"detail":)") + "\"" +
                       [](std::string s) {
                         std::string out;
                         for (char ch : s) {
                           if (ch == '"') out += '\\';
                           out += ch;
                         }
                         return out;
                       }(c.detail) +
                       "\"}")
        << c.body;
  }
  EXPECT_EQ(client_->Get(Path(kWarehouse, "/pcaps/capture"))->status, 404);  // none started
}

TEST_F(CloudSimRestTest, UnknownStartFieldsAreIgnoredAndCounted) {
  auto start =
      client_->Post(Path(kWarehouse, "/pcaps/capture"),
                    R"({"type":"radiotap","ap_macs":["5c5b350e0201"],"x":1})", "application/json");
  ASSERT_EQ(start->status, 200) << start->body;
  EXPECT_EQ(ParseJson(start->body)["ap_count"].GetInt(), 2);  // ap_macs ignored: every AP
  client_->Delete(Path(kWarehouse, "/pcaps/capture"));
  client_->Post(Path(kWarehouse, "/pcaps/capture"), R"({"type":"wired","ap_macs":[]})",
                "application/json");
  auto stats = ParseJson(sim_->StatsJson());
  EXPECT_EQ(stats["ignored_request_fields"]["ap_macs"].GetInt(), 2);
  EXPECT_EQ(stats["ignored_request_fields"]["x"].GetInt(), 1);
}

TEST_F(CloudSimRestTest, ApMacOutsideTheSiteIsFailed) {
  auto start =
      client_->Post(Path(kWarehouse, "/pcaps/capture"),
                    R"({"type":"wired","ap_mac":"5c:5b:35:0e:09:99"})", "application/json");
  ASSERT_EQ(start->status, 200) << start->body;
  auto status = ParseJson(client_->Get(Path(kWarehouse, "/pcaps/capture"))->body);
  EXPECT_EQ(status["ok"].Size(), 0u);
  ASSERT_EQ(status["failed"].Size(), 1u);
  EXPECT_STREQ(status["failed"][0].GetString(), "5c5b350e0999");
}

TEST_F(CloudSimRestTest, CaptureExpiresAfterItsDuration) {
  auto start = client_->Post(Path(kWarehouse, "/pcaps/capture"),
                             R"({"type":"wired","duration":60})", "application/json");
  ASSERT_EQ(start->status, 200);
  clock_.Advance(std::chrono::seconds(59));
  EXPECT_EQ(client_->Get(Path(kWarehouse, "/pcaps/capture"))->status, 200);
  clock_.Advance(std::chrono::seconds(1));
  EXPECT_EQ(client_->Get(Path(kWarehouse, "/pcaps/capture"))->status, 404);
  auto list = ParseJson(client_->Get(Path(kWarehouse, "/pcaps"))->body);
  ASSERT_EQ(list["results"].Size(), 2u);
  EXPECT_STREQ(list["results"][0]["termination_reason"].GetString(), "default");
}

TEST_F(CloudSimRestTest, ListWindowHoldsOnlyCapturesStartedWithinIt) {
  auto day = ParseJson(client_->Get(Path(kHq, "/pcaps?duration=1d"))->body);
  EXPECT_EQ(day["results"].Size(), 7u);
  EXPECT_EQ(day["total"].GetInt(), 7);
  EXPECT_FALSE(day.HasMember("next"));
  EXPECT_FALSE(day.HasMember("page"));
  auto two_hours = ParseJson(client_->Get(Path(kHq, "/pcaps?duration=2h"))->body);
  ASSERT_EQ(two_hours["results"].Size(), 1u);
  const auto& item = two_hours["results"][0];
  EXPECT_STREQ(item["type"].GetString(), "radiotap");
  EXPECT_EQ(item["timestamp"].GetInt64(), 1700000000 - 3600);
  EXPECT_FALSE(item.HasMember("notes"));
  ASSERT_TRUE(day["end"].IsInt64());
  EXPECT_EQ(day["end"].GetInt64(), 1700000000);
  EXPECT_EQ(day["end"].GetInt64() - day["start"].GetInt64(), 86400);
}

TEST_F(CloudSimRestTest, AnnotationAnswersAnEmptyObjectAndIsNeverListed) {
  auto list = ParseJson(client_->Get(Path(kWarehouse, "/pcaps"))->body);
  std::string id = list["results"][0]["id"].GetString();
  auto res = client_->Put(Path(kWarehouse, "/pcaps/" + id), R"({"notes":"checked by ops"})",
                          "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "{}");
  list = ParseJson(client_->Get(Path(kWarehouse, "/pcaps"))->body);
  EXPECT_FALSE(list["results"][0].HasMember("notes"));
  EXPECT_EQ(
      client_->Put(Path(kWarehouse, "/pcaps/nope"), R"({"notes":"x"})", "application/json")->status,
      404);
  auto bad = client_->Put(Path(kWarehouse, "/pcaps/" + id), R"({"notes":1})", "application/json");
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(bad->body, R"({"detail":"notes: expected a string"})");
}

TEST_F(CloudSimRestTest, SiteAndSelfUsageAnswer) {
  auto site = client_->Get(std::string("/api/v1/sites/") + kWarehouse);
  ASSERT_EQ(site->status, 200);
  auto doc = ParseJson(site->body);
  EXPECT_STREQ(doc["name"].GetString(), "Warehouse");
  EXPECT_STREQ(doc["org_id"].GetString(), kOrg);
  EXPECT_EQ(client_->Get("/api/v1/sites/nope")->status, 404);
  auto usage = ParseJson(client_->Get("/api/v1/self/usage")->body);
  EXPECT_EQ(usage["requests"].GetInt(), 3);  // site, site 404, usage itself
  EXPECT_EQ(usage["request_limit"].GetInt(), 5000);
  ASSERT_EQ(client_
                ->Post("/sim/usage", R"({"other_requests":4990,"request_limit":4995})",
                       "application/json")
                ->status,
            200);
  usage = ParseJson(client_->Get("/api/v1/self/usage")->body);
  EXPECT_EQ(usage["requests"].GetInt(), 4994);
  EXPECT_EQ(usage["request_limit"].GetInt(), 4995);
  EXPECT_EQ(client_->Get("/api/v1/self")->status, 200);  // not enforced by default
  client_->Post("/sim/usage", R"({"enforce":true})", "application/json");
  EXPECT_EQ(client_->Get("/api/v1/self")->status, 429);
  clock_.Advance(std::chrono::hours(1));  // a new hour: our own count starts again
  usage = ParseJson(client_->Get("/api/v1/self/usage")->body);
  EXPECT_EQ(usage["requests"].GetInt(), 4991);
}

TEST_F(CloudSimRestTest, RequestsAreRecordedAsReceivedAndClearable) {
  client_->Delete("/sim/requests");
  std::string body = R"({"type":"wired", "format":"stream"})";
  client_->Post(Path(kWarehouse, "/pcaps/capture"), body, "application/json");
  httplib::Client anonymous("127.0.0.1", sim_->port());
  anonymous.Get("/api/v1/self?x=1");
  auto doc = ParseJson(client_->Get("/sim/requests")->body);
  ASSERT_EQ(doc["requests"].Size(), 2u);
  const auto& post = doc["requests"][0];
  EXPECT_STREQ(post["method"].GetString(), "POST");
  EXPECT_EQ(post["path"].GetString(), Path(kWarehouse, "/pcaps/capture"));
  EXPECT_EQ(post["body"].GetString(), body);
  EXPECT_TRUE(post["authorization"].GetBool());
  const auto& get = doc["requests"][1];
  EXPECT_STREQ(get["target"].GetString(), "/api/v1/self?x=1");
  EXPECT_STREQ(get["path"].GetString(), "/api/v1/self");
  EXPECT_FALSE(get["authorization"].GetBool());
  EXPECT_EQ(get["seq"].GetInt(), post["seq"].GetInt() + 1);
  client_->Delete("/sim/requests");
  EXPECT_EQ(ParseJson(client_->Get("/sim/requests")->body)["requests"].Size(), 0u);
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
    std::string yaml =
        "orgs: [{id: o1, name: Org}]\nsites:\n  - id: big\n    org: o1\n"
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
  auto http_add =
      client.Post("/sim/sites", R"({"org_id":"org-2","id":"s2","name":"Two"})", "application/json");
  EXPECT_EQ(http_add->status, 200);
  EXPECT_EQ(ParseJson(client.Get("/api/v1/self")->body)["privileges"].Size(), 2u);
  sim.RemoveSite("new-site");
  res = client.Get(std::string("/api/v1/orgs/") + kOrg + "/sites");
  EXPECT_EQ(res->get_header_value("X-Page-Total"), "3");
  EXPECT_EQ(client.Delete("/sim/sites/s2")->status, 200);
  EXPECT_EQ(client.Get("/api/v1/sites/s2/pcaps/capture")->status, 404);
}

TEST_F(CloudSimRestTest, OrgInventoryListsEveryApPagedLikeTheSites) {
  std::string base = std::string("/api/v1/orgs/") + kOrg + "/inventory";
  auto res = client_->Get(base + "?type=ap");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("X-Page-Total"), "8");
  EXPECT_EQ(res->get_header_value("X-Page-Limit"), "100");
  EXPECT_EQ(res->get_header_value("X-Page-Page"), "1");
  auto doc = ParseJson(res->body);
  ASSERT_TRUE(doc.IsArray());
  ASSERT_EQ(doc.Size(), 8u);
  const auto& first = doc[0];
  EXPECT_STREQ(first["mac"].GetString(), "5c5b350e0001");
  EXPECT_STREQ(first["name"].GetString(), "ap-HQ-1");
  EXPECT_STREQ(first["model"].GetString(), "AP43");
  EXPECT_STREQ(first["serial"].GetString(), "A075C5B350E0001");
  EXPECT_STREQ(first["site_id"].GetString(), kHq);
  EXPECT_STREQ(first["org_id"].GetString(), kOrg);
  EXPECT_STREQ(first["type"].GetString(), "ap");
  EXPECT_TRUE(first["connected"].GetBool());
  EXPECT_STREQ(first["id"].GetString(), "00000000-0000-0000-1000-5c5b350e0001");
  EXPECT_EQ(first["created_time"].GetInt64(), 1700000000);
  EXPECT_EQ(first["modified_time"].GetInt64(), 1700000000);
  // The HQ's failing AP is not connected; every 7th AP has no name.
  EXPECT_STREQ(doc[3]["mac"].GetString(), "5c5b350e0004");
  EXPECT_FALSE(doc[3]["connected"].GetBool());
  EXPECT_STREQ(doc[4]["name"].GetString(), "ap-Branch-01-1");
  EXPECT_STREQ(doc[6]["mac"].GetString(), "5c5b350e0201");
  EXPECT_FALSE(doc[6].HasMember("name"));
  EXPECT_STREQ(doc[7]["name"].GetString(), "ap-Warehouse-2");
  EXPECT_STREQ(doc[7]["site_id"].GetString(), kWarehouse);

  auto page3 = client_->Get(base + "?type=ap&limit=3&page=3&vc=false&unassigned=true");
  ASSERT_TRUE(page3);
  EXPECT_EQ(page3->get_header_value("X-Page-Total"), "8");
  EXPECT_EQ(page3->get_header_value("X-Page-Limit"), "3");
  EXPECT_EQ(page3->get_header_value("X-Page-Page"), "3");
  auto doc3 = ParseJson(page3->body);
  ASSERT_EQ(doc3.Size(), 2u);
  EXPECT_STREQ(doc3[0]["mac"].GetString(), "5c5b350e0201");
  EXPECT_EQ(ParseJson(client_->Get(base + "?limit=5000")->body).Size(), 8u);
  EXPECT_EQ(client_->Get(base + "?limit=5000")->get_header_value("X-Page-Limit"), "1000");

  auto switches = client_->Get(base + "?type=switch");
  EXPECT_EQ(switches->body, "[]");
  EXPECT_EQ(switches->get_header_value("X-Page-Total"), "0");
  EXPECT_EQ(client_->Get("/api/v1/orgs/nope/inventory")->status, 404);
  httplib::Client anonymous("127.0.0.1", sim_->port());
  EXPECT_EQ(anonymous.Get(base)->status, 401);
  auto stats = ParseJson(sim_->StatsJson());
  EXPECT_EQ(stats["requests"]["inventory"].GetInt(), 7);
}

TEST_F(CloudSimRestTest, InventoryAnswersInjectedFaultsLikeTheOtherEndpoints) {
  Faults f;
  f.status_429_every = 1;
  sim_->SetFaults(f);
  auto res = client_->Get(std::string("/api/v1/orgs/") + kOrg + "/inventory");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 429);
  EXPECT_TRUE(ParseJson(res->body).HasMember("detail"));
}

TEST(CloudSimInventoryScenarioTest, ApNamesAndModelsComeFromTheScenario) {
  SimOptions opts;
  opts.token = "x";
  opts.scenario_yaml =
      "orgs: [{id: o1, name: Org}]\n"
      "inventory: {model: AP45, unnamed_every: 2}\n"
      "sites:\n"
      "  - id: s1\n"
      "    name: Lab\n"
      "    org: o1\n"
      "    aps: [{mac: 5c5b350e0901, name: lobby, model: AP32}, 5c5b350e0902,\n"
      "          5c5b350e0903, {mac: 5c5b350e0904, name: \"\"}]\n";
  CloudSim sim(opts);
  ASSERT_TRUE(sim.Start().ok());
  httplib::Client client("127.0.0.1", sim.port());
  client.set_default_headers({{"Authorization", "Token x"}});
  auto doc = ParseJson(client.Get("/api/v1/orgs/o1/inventory")->body);
  ASSERT_EQ(doc.Size(), 4u);
  EXPECT_STREQ(doc[0]["name"].GetString(), "lobby");
  EXPECT_STREQ(doc[0]["model"].GetString(), "AP32");
  EXPECT_FALSE(doc[1].HasMember("name"));  // the 2nd AP (unnamed_every: 2)
  EXPECT_STREQ(doc[1]["model"].GetString(), "AP45");
  EXPECT_STREQ(doc[2]["name"].GetString(), "ap-Lab-3");
  EXPECT_FALSE(doc[3].HasMember("name"));  // name: "" = none
  sim.AddSite("o1", "s2", "Annex", {"5c5b350e0a01", "5c5b350e0a02"});
  doc = ParseJson(client.Get("/api/v1/orgs/o1/inventory?page=1&limit=100")->body);
  ASSERT_EQ(doc.Size(), 6u);
  EXPECT_STREQ(doc[4]["name"].GetString(), "ap-Annex-1");
  EXPECT_FALSE(doc[5].HasMember("name"));  // the 6th AP
}

}  // namespace
}  // namespace mpe::sim
