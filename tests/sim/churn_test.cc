#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "sim/cloud_sim.h"
#include "sim/sim_test_util.h"

namespace mpe::sim {
namespace {

using testing::ParseJson;
using testing::TestWsClient;
using testing::WaitFor;

constexpr double kT0 = 1700000000;  // ManualClock's start
constexpr char kOrg[] = "0c0f0000-0000-4000-8000-0000000000c1";

std::string GeneratedSite(int i) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "5be1e000-0000-4000-8000-%012d", i);
  return buf;
}

// The data object of a stream message (sent as an object or as a JSON string).
rapidjson::Document DataOf(const std::string& text) {
  auto outer = ParseJson(text);
  rapidjson::Document d;
  if (outer["data"].IsString()) {
    d.Parse(outer["data"].GetString());
  } else {
    d.CopyFrom(outer["data"], d.GetAllocator());
  }
  return d;
}

// Churn on a simulator whose clock only moves when the test says so: every change happens at
// an exact time and the 50 ms reaper (or the /sim/changes call itself) applies what is due.
class CloudSimChurnTest : public ::testing::Test {
 protected:
  void StartSim(const std::string& churn, int sites = 3, uint64_t seed = 1) {
    SimOptions opts;
    opts.clock = &clock_;
    opts.token = "tok";
    opts.rate = 2000;
    opts.seed = seed;
    opts.scenario_yaml = std::string("orgs: [{id: ") + kOrg + ", name: Churn Org}]\n" +
                         "generate_sites: {count: " + std::to_string(sites) + ", org: " + kOrg +
                         ", aps_per_site: 2}\n" + "churn: " + churn + "\n";
    sim_ = std::make_unique<CloudSim>(opts);
    auto st = sim_->Start();
    ASSERT_TRUE(st.ok()) << st.error().message;
    client_ = std::make_unique<httplib::Client>("127.0.0.1", sim_->port());
    client_->set_default_headers({{"Authorization", "Token tok"}});
    client_->set_read_timeout(3, 0);
  }
  void Advance(int seconds) { clock_.Advance(std::chrono::seconds(seconds)); }
  rapidjson::Document Changes(const std::string& query = "") {
    auto res = client_->Get("/sim/changes" + query);
    EXPECT_TRUE(res && res->status == 200);
    return ParseJson(res ? res->body : "{}");
  }
  rapidjson::Document Get(const std::string& path, int want_status = 200) {
    auto res = client_->Get(path);
    EXPECT_TRUE(res);
    if (!res) return ParseJson("{}");
    EXPECT_EQ(res->status, want_status) << path << " " << res->body;
    return ParseJson(res->body);
  }

  common::ManualClock clock_;
  std::unique_ptr<CloudSim> sim_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(CloudSimChurnTest, StartsEndsAndApFailuresHappenAtTheirTimesInOrder) {
  StartSim("{start_every: 60s, duration: 150s, fail_ap_every: 100s, type: radiotap}");
  EXPECT_EQ(Changes()["total"].GetInt(), 0);
  Advance(250);
  auto doc = Changes();
  ASSERT_EQ(doc["total"].GetInt(), 7);
  const auto& ch = doc["changes"];
  ASSERT_EQ(ch.Size(), 7u);
  // start 60, fail 100, start 120, start 180, fail 200, end 210 (the first: 60 + 150), start
  // 240 at the only idle site, the first one's.
  const char* kinds[] = {"capture_start", "ap_failed",   "capture_start", "capture_start",
                         "ap_failed",     "capture_end", "capture_start"};
  const double times[] = {60, 100, 120, 180, 200, 210, 240};
  for (rapidjson::SizeType i = 0; i < 7; ++i) {
    EXPECT_EQ(ch[i]["seq"].GetInt(), static_cast<int>(i) + 1);
    EXPECT_STREQ(ch[i]["kind"].GetString(), kinds[i]) << i;
    EXPECT_DOUBLE_EQ(ch[i]["time"].GetDouble(), kT0 + times[i]) << i;
    EXPECT_STREQ(ch[i]["source"].GetString(), "churn");
    EXPECT_EQ(ch[i].HasMember("ap_mac"), std::string(kinds[i]) == "ap_failed") << i;
  }
  std::set<std::string> started_sites = {ch[0]["site_id"].GetString(), ch[2]["site_id"].GetString(),
                                         ch[3]["site_id"].GetString()};
  EXPECT_EQ(started_sites,
            (std::set<std::string>{GeneratedSite(0), GeneratedSite(1), GeneratedSite(2)}));
  // At 100 the first capture was the only one running.
  EXPECT_STREQ(ch[1]["capture_id"].GetString(), ch[0]["capture_id"].GetString());
  EXPECT_STREQ(ch[5]["capture_id"].GetString(), ch[0]["capture_id"].GetString());
  EXPECT_STREQ(ch[5]["termination_reason"].GetString(), "default");
  EXPECT_STREQ(ch[6]["site_id"].GetString(), ch[0]["site_id"].GetString());
  EXPECT_STRNE(ch[6]["capture_id"].GetString(), ch[0]["capture_id"].GetString());

  // The REST view agrees: the new capture at the first site, its predecessor in the list with
  // its failed AP gone from the stream's APs.
  std::string site = ch[0]["site_id"].GetString();
  auto status = Get("/api/v1/sites/" + site + "/pcaps/capture");
  EXPECT_STREQ(status["id"].GetString(), ch[6]["capture_id"].GetString());
  EXPECT_STREQ(status["format"].GetString(), "stream");
  EXPECT_STREQ(status["type"].GetString(), "radiotap");
  EXPECT_EQ(status["started_time"].GetInt64(), static_cast<int64_t>(kT0) + 240);
  EXPECT_EQ(status["duration"].GetInt(), 150);
  EXPECT_EQ(status["aps"].Size(), 2u);
  EXPECT_EQ(status["ok"].Size(), 2u);
  auto list = Get("/api/v1/sites/" + site + "/pcaps");
  ASSERT_EQ(list["results"].Size(), 1u);
  EXPECT_STREQ(list["results"][0]["id"].GetString(), ch[0]["capture_id"].GetString());
  EXPECT_STREQ(list["results"][0]["termination_reason"].GetString(), "default");
  EXPECT_EQ(list["results"][0]["timestamp"].GetInt64(), static_cast<int64_t>(kT0) + 60);

  // The first failure moved an AP of the first capture from ok to failed; the second one hit
  // a capture still running, whose status shows it.
  int failed_now = 0;
  for (rapidjson::SizeType i : {2u, 3u}) {
    auto st = Get("/api/v1/sites/" + std::string(ch[i]["site_id"].GetString()) + "/pcaps/capture");
    EXPECT_EQ(st["ok"].Size() + st["failed"].Size(), 2u);
    failed_now += static_cast<int>(st["failed"].Size());
  }
  std::string second_failure_capture = ch[4]["capture_id"].GetString();
  EXPECT_EQ(failed_now, second_failure_capture == ch[0]["capture_id"].GetString() ? 0 : 1);
  auto stats = ParseJson(sim_->StatsJson());
  EXPECT_EQ(stats["changes"].GetInt(), 7);
  EXPECT_EQ(stats["churn"]["starts"].GetInt(), 4);
  EXPECT_EQ(stats["churn"]["ends"].GetInt(), 1);
  EXPECT_EQ(stats["churn"]["ap_failures"].GetInt(), 2);
  EXPECT_EQ(stats["churn"]["skipped_starts"].GetInt(), 0);
}

TEST_F(CloudSimChurnTest, SinceFiltersAndFailedApLeavesTheStatusOkList) {
  StartSim("{start_every: 60s, duration: 600s, fail_ap_every: 90s}", 1);
  Advance(90);
  auto doc = Changes("?since=1");
  EXPECT_EQ(doc["total"].GetInt(), 2);
  ASSERT_EQ(doc["changes"].Size(), 1u);
  const auto& failed = doc["changes"][0];
  EXPECT_EQ(failed["seq"].GetInt(), 2);
  EXPECT_STREQ(failed["kind"].GetString(), "ap_failed");
  auto status = Get("/api/v1/sites/" + GeneratedSite(0) + "/pcaps/capture");
  std::string mac = failed["ap_mac"].GetString();
  ASSERT_EQ(status["failed"].Size(), 1u);
  EXPECT_EQ(status["failed"][0].GetString(), mac);
  ASSERT_EQ(status["ok"].Size(), 1u);
  EXPECT_NE(status["ok"][0].GetString(), mac);
  EXPECT_FALSE(status["pcap_aps"].HasMember(mac.c_str()));
  EXPECT_TRUE(mac == "5c5b35000000" || mac == "5c5b35000001") << mac;
  EXPECT_EQ(Changes("?since=2")["changes"].Size(), 0u);
  // The only site is busy: the next start (at 120) has nowhere to go.
  Advance(30);
  EXPECT_EQ(Changes()["total"].GetInt(), 2);
  EXPECT_EQ(ParseJson(sim_->StatsJson())["churn"]["skipped_starts"].GetInt(), 1);
}

TEST_F(CloudSimChurnTest, MaxRunningCapsTheChurnCaptures) {
  StartSim("{start_every: 10s, duration: 1000s, max_running: 2}", 5);
  Advance(35);
  auto doc = Changes();
  EXPECT_EQ(doc["total"].GetInt(), 2);
  auto stats = ParseJson(sim_->StatsJson());
  EXPECT_EQ(stats["churn"]["starts"].GetInt(), 2);
  EXPECT_EQ(stats["churn"]["skipped_starts"].GetInt(), 1);
}

TEST_F(CloudSimChurnTest, RestStartsAndStopsAreLoggedTooWithTheirSource) {
  StartSim("{start_every: 1h}", 2);
  ASSERT_TRUE(sim_->StartCapture(GeneratedSite(1), R"({"type":"wired","format":"stream"})").ok());
  Advance(5);
  sim_->StopCapture(GeneratedSite(1));
  auto ch = Changes();
  ASSERT_EQ(ch["total"].GetInt(), 2);
  EXPECT_STREQ(ch["changes"][0]["kind"].GetString(), "capture_start");
  EXPECT_STREQ(ch["changes"][0]["source"].GetString(), "rest");
  EXPECT_DOUBLE_EQ(ch["changes"][0]["time"].GetDouble(), kT0);
  EXPECT_STREQ(ch["changes"][1]["kind"].GetString(), "capture_end");
  EXPECT_STREQ(ch["changes"][1]["termination_reason"].GetString(), "user");
  EXPECT_DOUBLE_EQ(ch["changes"][1]["time"].GetDouble(), kT0 + 5);
}

TEST_F(CloudSimChurnTest, SameSeedChurnsTheSameSites) {
  auto sites_of = [&](uint64_t seed) {
    StartSim("{start_every: 10s, duration: 25s}", 50, seed);
    Advance(100);
    auto doc = Changes();
    std::vector<std::string> out;
    for (const auto& c : doc["changes"].GetArray()) out.push_back(c["site_id"].GetString());
    sim_->Stop();
    return out;
  };
  auto a = sites_of(7);
  clock_.Advance(std::chrono::hours(1));
  auto b = sites_of(7);
  ASSERT_EQ(a.size(), 10u + 7u);  // starts at 10..100, ends at 35, 45, ..., 95
  EXPECT_EQ(a, b);
}

TEST_F(CloudSimChurnTest, StreamCarriesTheChurnCaptureAndItsEnd) {
  // Ends at 160, before the next start (at 180, again at this only site).
  StartSim("{start_every: 60s, duration: 100s, type: radiotap}", 1);
  TestWsClient ws;
  ASSERT_EQ(ws.Connect(sim_->port(), "tok"), 101);
  ws.Send(R"({"subscribe":"/sites/)" + GeneratedSite(0) + R"(/pcaps"})");
  ASSERT_TRUE(ws.Next());  // ack
  Advance(60);
  std::string capture_id;
  int data = 0;
  while (data < 5) {
    auto m = ws.Next();
    ASSERT_TRUE(m);
    ASSERT_STREQ(ParseJson(*m)["event"].GetString(), "data");
    rapidjson::Document d = DataOf(*m);
    if (capture_id.empty()) capture_id = d["capture_id"].GetString();
    EXPECT_EQ(capture_id, d["capture_id"].GetString());
    EXPECT_FALSE(d["pcap_dict"].IsNull());
    ++data;
  }
  auto started = Changes();
  ASSERT_EQ(started["total"].GetInt(), 1);
  EXPECT_EQ(capture_id, started["changes"][0]["capture_id"].GetString());
  Advance(100);
  bool saw_end = false;
  while (auto m = ws.Next(std::chrono::milliseconds(500))) {
    rapidjson::Document d = DataOf(*m);
    ASSERT_FALSE(saw_end) << "data after the capture end: " << *m;
    EXPECT_EQ(capture_id, d["capture_id"].GetString());
    if (d["pcap_dict"].IsNull()) saw_end = true;
  }
  EXPECT_TRUE(saw_end);
  auto ended = Changes("?since=1");
  ASSERT_EQ(ended["changes"].Size(), 1u);
  EXPECT_STREQ(ended["changes"][0]["kind"].GetString(), "capture_end");
  EXPECT_DOUBLE_EQ(ended["changes"][0]["time"].GetDouble(), kT0 + 160);
}

}  // namespace
}  // namespace mpe::sim
