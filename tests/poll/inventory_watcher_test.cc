// The org inventory into mist_pcap_ap_info: every page read, only owned sites exported, a
// failed read keeps the last good series. A fake Mist on loopback answers.
#include "poll/inventory_watcher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "fakes/mist_fake_server.h"
#include "fakes/mist_metrics_probe.h"

namespace mpe::poll {
namespace {

using fakes::LabelMap;
using fakes::MistFakeServer;

constexpr char kOrg[] = "org-7";
constexpr char kPath[] = "/api/v1/orgs/org-7/inventory";

MistFakeServer::Reply Page(int page, int total, std::string body) {
  MistFakeServer::Reply r;
  r.body = std::move(body);
  r.headers = {{"X-Page-Limit", "1000"},
               {"X-Page-Page", std::to_string(page)},
               {"X-Page-Total", std::to_string(total)}};
  return r;
}

class InventoryWatcherTest : public ::testing::Test {
 protected:
  InventoryWatcherTest() {
    config_.api_url = server_.base_url();
    config_.max_requests_per_hour = 1000;
    client_ = std::make_unique<mist::MistClient>(config_, "tok-INV", nullptr, clock_);
  }
  std::vector<LabelMap> Sets() {
    auto sets = fakes::LabelSets(registry_, "mist_pcap_ap_info");
    std::sort(sets.begin(), sets.end());
    return sets;
  }
  static LabelMap Ap(const char* site, const char* label, const char* mac, const char* name,
                     const char* model) {
    return {
        {"site_id", site}, {"site", label}, {"ap_mac", mac}, {"ap_name", name}, {"model", model}};
  }

  MistFakeServer server_;
  prometheus::Registry registry_;
  config::MistConfig config_;
  common::ManualClock clock_;
  std::unique_ptr<mist::MistClient> client_;
};

TEST_F(InventoryWatcherTest, ReadsEveryPageAndExportsTheApsOfOwnedSitesOnly) {
  // Two pages (1000 per page claimed, 1001 in total): the client asks for page 2.
  server_.Set("GET", kPath,
              std::vector<MistFakeServer::Reply>{
                  Page(1, 1001, R"([{"mac": "5c5b35000001", "name": "lobby", "model": "AP45",
                      "site_id": "s1", "type": "ap"},
                    {"mac": "5c5b35000002", "model": "AP43", "site_id": "s2"},
                    {"mac": "5c5b35000003", "name": "elsewhere", "site_id": "s9"}])"),
                  Page(2, 1001, R"([{"mac": "5C5B35000004", "name": "dock", "model": "AP34",
                      "site_id": "s1"}])")});
  InventoryWatcher watcher(*client_, registry_, clock_, std::chrono::hours(1), kOrg);
  watcher.SetSites({{"s1", "HQ"}, {"s2", ""}});
  ASSERT_TRUE(watcher.PollOnce());
  EXPECT_EQ(server_.Count(kPath), 2);
  const auto requests = server_.Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].params.at("type"), "ap");
  EXPECT_EQ(requests[0].params.at("limit"), "1000");
  EXPECT_EQ(requests[1].params.at("page"), "2");
  EXPECT_EQ(Sets(), (std::vector<LabelMap>{Ap("s1", "HQ", "5c5b35000001", "lobby", "AP45"),
                                           Ap("s2", "s2", "5c5b35000002", "", "AP43"),
                                           Ap("s1", "HQ", "5c5b35000004", "dock", "AP34")}));
  // A site leaves this shard: its APs go.
  watcher.SetSites({{"s2", ""}});
  EXPECT_EQ(Sets(), (std::vector<LabelMap>{Ap("s2", "s2", "5c5b35000002", "", "AP43")}));
}

TEST_F(InventoryWatcherTest, AFailedReadKeepsTheLastGoodNames) {
  server_.Set("GET", kPath, Page(1, 1, R"([{"mac": "5c5b35000001", "name": "lobby",
      "model": "AP45", "site_id": "s1"}])"));
  InventoryWatcher watcher(*client_, registry_, clock_, std::chrono::hours(1), kOrg);
  watcher.SetSites({{"s1", "HQ"}});
  ASSERT_TRUE(watcher.PollOnce());
  MistFakeServer::Reply down;
  down.status = 503;
  down.body = R"({"detail": "unavailable"})";
  server_.Set("GET", kPath, down);
  EXPECT_FALSE(watcher.PollOnce());
  EXPECT_EQ(Sets(), (std::vector<LabelMap>{Ap("s1", "HQ", "5c5b35000001", "lobby", "AP45")}));
}

TEST_F(InventoryWatcherTest, OrgsComeFromSelfWhenDiscoveryHasNone) {
  server_.SetJson("GET", "/api/v1/self", R"({"email": "a@b.c", "privileges": [
      {"scope": "org", "org_id": "org-7", "role": "read"},
      {"scope": "site", "org_id": "org-8", "site_id": "s3", "role": "admin"}]})");
  server_.Set("GET", kPath, Page(1, 0, "[]"));
  InventoryWatcher watcher(*client_, registry_, clock_, std::chrono::hours(1), "");
  ASSERT_TRUE(watcher.PollOnce());
  ASSERT_TRUE(watcher.PollOnce());
  // /self once; only the org-scoped privilege's org is read.
  EXPECT_EQ(server_.Count("/api/v1/self"), 1);
  EXPECT_EQ(server_.Count(kPath), 2);
  EXPECT_EQ(server_.Count("/api/v1/orgs/org-8/inventory"), 0);
}

}  // namespace
}  // namespace mpe::poll
