// Managed captures (docs/spec.md §7) end to end: the exporter App and the simulated cloud, both
// real servers on 127.0.0.1 port 0. The simulator runs on a ManualClock, so a capture's 600 s
// duration runs out in the simulator when the test moves that clock: the capture ends there
// exactly as a real one expires (the sim's reaper or its next REST call ends it), and the
// exporter, on the real clock with a 300 ms status interval, has to notice it by itself.
#include <gtest/gtest.h>
#include <httplib.h>
#include <rapidjson/document.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "config/config.h"
#include "e2e/metrics_text.h"
#include "fakes/sim_exporter.h"
#include "fakes/wait.h"
#include "sim/cloud_sim.h"

namespace mpe {
namespace {

using testing::FindSample;
using testing::ParseMetricsText;
using testing::Sample;
using Labels = std::map<std::string, std::string>;
using std::chrono::seconds;

constexpr char kLab[] = "6d1c0a2e-7b3f-4c55-9a01-00000000a001";
constexpr char kStore[] = "6d1c0a2e-7b3f-4c55-9a01-00000000a002";
constexpr char kToken[] = "managed-e2e-token-3b9e";
constexpr char kStarts[] = "mist_pcap_managed_capture_starts_total";

bool WaitUntil(const std::function<bool()>& done, seconds timeout = seconds(10)) {
  return fakes::WaitUntil(done, timeout, std::chrono::milliseconds(20));
}

// What the simulator says runs at a site (GET .../pcaps/capture, as any Mist client sees it).
struct SimCapture {
  std::string id;  // "" when none runs
  std::string type;
  int duration = 0;
  int max_pkt_len = 0;
  std::vector<std::string> ap_macs;
};

class ManagedCaptureE2ETest : public ::testing::Test {
 protected:
  void StartSim() {
    env_.sim_options().clock = &sim_clock_;
    std::string yaml = "orgs: [{id: o1, name: Org}]\nsites:\n";
    yaml += "  - {id: " + std::string(kLab) +
            ", name: Lab, org: o1, aps: [5c5b350e0a01, 5c5b350e0a02]}\n";
    yaml += "  - {id: " + std::string(kStore) + ", name: Store, org: o1, aps: [5c5b350e0b01]}\n";
    env_.sim_options().scenario_yaml = yaml;
    ASSERT_TRUE(env_.StartSim());
    sim_ = &env_.sim();
    rest_ = std::make_unique<httplib::Client>("127.0.0.1", sim_->port());
    rest_->set_default_headers({{"Authorization", std::string("Token ") + kToken}});
  }

  // Lab by name, Store by id: both ways of naming a site in `captures:`.
  config::Config BaseConfig() {
    config::Config c = env_.Config();
    c.sites = {{kLab, "Lab"}, {kStore, "Store"}};
    // Short (the loader accepts any positive duration) so the whole test takes seconds.
    c.poll.status_interval = std::chrono::milliseconds(300);
    c.poll.list_interval = seconds(60);
    c.stream.enabled = false;  // managed captures need only REST
    config::ManagedCapture lab;
    lab.site = "Lab";
    lab.type = "radiotap";
    lab.ap_mac = "5c:5b:35:0e:0a:02";
    lab.duration = 600;
    lab.max_pkt_len = 256;
    lab.format = "stream";
    config::ManagedCapture store;
    store.site = kStore;
    store.type = "wired";
    store.duration = 900;
    c.captures = {lab, store};
    return c;
  }

  void StartApp(config::Config c) { ASSERT_TRUE(env_.StartApp(std::move(c))); }

  double Starts(const std::string& site_id, const std::string& site, const std::string& result) {
    httplib::Client client("127.0.0.1", env_.app().http_port());
    auto res = client.Get("/metrics");
    if (!res || res->status != 200) return -2;
    const auto samples = ParseMetricsText(res->body);
    const Sample* s =
        FindSample(samples, kStarts, {{"site_id", site_id}, {"site", site}, {"result", result}});
    return s ? s->value : -1;
  }

  // The landing page row of a managed entry, exactly as it must read.
  bool ShowsManaged(const std::string& site, const std::string& site_id, const std::string& type,
                    const std::string& state, const std::string& capture_id) {
    httplib::Client client("127.0.0.1", env_.app().http_port());
    auto res = client.Get("/");
    if (!res || res->status != 200) return false;
    const std::string row = "<tr><td>" + site + "</td><td>" + site_id + "</td><td>" + type +
                            "</td><td>" + state + "</td><td>" + capture_id + "</td><td></td></tr>";
    return res->body.find(row) != std::string::npos;
  }

  SimCapture Running(const std::string& site_id) {
    SimCapture out;
    auto res = rest_->Get("/api/v1/sites/" + site_id + "/pcaps/capture");
    ++status_reads_;
    // Nothing running: Mist does not document the answer; the simulator gives 404 or {}.
    EXPECT_TRUE(res && (res->status == 200 || res->status == 404));
    if (!res || res->status != 200) return out;
    rapidjson::Document doc;
    doc.Parse(res->body.c_str());
    if (!doc.IsObject() || !doc.HasMember("id")) return out;
    out.id = doc["id"].GetString();
    out.type = doc["type"].GetString();
    out.duration = doc["duration"].GetInt();
    out.max_pkt_len = doc["max_pkt_len"].GetInt();
    for (const auto& m : doc["aps"].GetArray()) out.ap_macs.push_back(m.GetString());
    return out;
  }

  // Ids of the site's finished captures (GET .../pcaps, last day of sim time), newest first.
  std::vector<std::string> Finished(const std::string& site_id) {
    std::vector<std::string> ids;
    auto res = rest_->Get("/api/v1/sites/" + site_id + "/pcaps?duration=1d");
    EXPECT_TRUE(res && res->status == 200);
    if (!res || res->status != 200) return ids;
    rapidjson::Document doc;
    doc.Parse(res->body.c_str());
    for (const auto& r : doc["results"].GetArray()) ids.push_back(r["id"].GetString());
    return ids;
  }

  // Requests the simulator received, by endpoint, over all sites and clients.
  int SimRequests(const char* endpoint) {
    rapidjson::Document stats;
    stats.Parse(sim_->StatsJson().c_str());
    return stats["requests"][endpoint].GetInt();
  }
  int SimReplies(int code) {
    rapidjson::Document stats;
    stats.Parse(sim_->StatsJson().c_str());
    const std::string key = std::to_string(code);
    return stats["codes"].HasMember(key.c_str()) ? stats["codes"][key.c_str()].GetInt() : 0;
  }

  // Lets the exporter look at its sites a few more times (pollers and managed captures share
  // the 300 ms status interval): waits for `n` capture_status requests that are not the test's.
  void LetExporterCheck(int n) {
    const int before = SimRequests("capture_status") - status_reads_;
    ASSERT_TRUE(
        WaitUntil([&] { return SimRequests("capture_status") - status_reads_ >= before + n; }));
  }

  common::ManualClock sim_clock_;  // the simulator's; outlives env_
  // Stops the App, then the simulator, when the test ends.
  fakes::SimAndExporter env_{kToken};
  sim::CloudSim* sim_ = nullptr;  // env_'s, once StartSim has run
  std::unique_ptr<httplib::Client> rest_;
  int status_reads_ = 0;  // the test's own capture_status requests
};

TEST_F(ManagedCaptureE2ETest, StartsTheDeclaredCaptureAndStartsItAgainWhenItExpiresInTheSim) {
  StartSim();
  auto config = BaseConfig();
  config.captures.pop_back();  // Lab only
  StartApp(config);

  // 1. The exporter starts the declared capture; the simulator runs it with the declared fields.
  ASSERT_TRUE(WaitUntil([&] { return SimRequests("capture_start") == 1; }));
  SimCapture first;
  ASSERT_TRUE(WaitUntil([&] { return !(first = Running(kLab)).id.empty(); }));
  EXPECT_EQ(first.type, "radiotap");
  EXPECT_EQ(first.duration, 600);
  EXPECT_EQ(first.max_pkt_len, 256);
  EXPECT_EQ(first.ap_macs, std::vector<std::string>{"5c5b350e0a02"});
  ASSERT_TRUE(WaitUntil([&] { return Starts(kLab, "Lab", "ok") == 1; }));
  EXPECT_EQ(Starts(kLab, "Lab", "error"), 0);
  ASSERT_TRUE(
      WaitUntil([&] { return ShowsManaged("Lab", kLab, "radiotap", "running_ours", first.id); }));

  // While it runs the exporter only watches it.
  LetExporterCheck(6);
  EXPECT_EQ(SimRequests("capture_start"), 1);
  EXPECT_EQ(Running(kLab).id, first.id);
  EXPECT_EQ(Finished(kLab), std::vector<std::string>{});

  // 2. Its 600 s run out in the simulator: one second short changes nothing, the last one ends it.
  sim_clock_.Advance(seconds(599));
  LetExporterCheck(4);
  EXPECT_EQ(Running(kLab).id, first.id);
  EXPECT_EQ(SimRequests("capture_start"), 1);
  sim_clock_.Advance(seconds(1));

  // 3. The exporter notices and starts the next one.
  ASSERT_TRUE(WaitUntil([&] { return SimRequests("capture_start") == 2; }));
  SimCapture second;
  ASSERT_TRUE(WaitUntil([&] { return !(second = Running(kLab)).id.empty(); }));
  EXPECT_NE(second.id, first.id);
  EXPECT_EQ(second.type, "radiotap");
  EXPECT_EQ(second.duration, 600);
  EXPECT_EQ(Finished(kLab), std::vector<std::string>{first.id});
  ASSERT_TRUE(WaitUntil([&] { return Starts(kLab, "Lab", "ok") == 2; }));
  ASSERT_TRUE(
      WaitUntil([&] { return ShowsManaged("Lab", kLab, "radiotap", "running_ours", second.id); }));

  LetExporterCheck(6);
  EXPECT_EQ(Starts(kLab, "Lab", "ok"), 2);
  EXPECT_EQ(Starts(kLab, "Lab", "error"), 0);
  EXPECT_EQ(SimRequests("capture_start"), 2);
  EXPECT_EQ(SimRequests("capture_stop"), 0);
  EXPECT_EQ(SimReplies(400), 0);
  EXPECT_EQ(Running(kLab).id, second.id);
}

TEST_F(ManagedCaptureE2ETest, NeverStopsOrReplacesACaptureSomeoneElseStarted) {
  StartSim();
  // Someone else starts a capture on Store through the REST API before the exporter runs.
  auto foreign = rest_->Post("/api/v1/sites/" + std::string(kStore) + "/pcaps/capture",
                             R"({"type":"radiotap","duration":3600})", "application/json");
  ASSERT_TRUE(foreign && foreign->status == 200);
  const std::string store_foreign = Running(kStore).id;
  ASSERT_FALSE(store_foreign.empty());
  StartApp(BaseConfig());

  // The exporter starts Lab's capture and waits on Store.
  ASSERT_TRUE(WaitUntil([&] { return SimRequests("capture_start") == 2; }));
  const std::string lab_ours = Running(kLab).id;
  ASSERT_FALSE(lab_ours.empty());
  ASSERT_TRUE(WaitUntil(
      [&] { return ShowsManaged("Store", kStore, "wired", "running_foreign", store_foreign); }));
  ASSERT_TRUE(
      WaitUntil([&] { return ShowsManaged("Lab", kLab, "radiotap", "running_ours", lab_ours); }));

  // Lab's capture expires and, before the exporter looks again, someone else starts one there.
  // The REST API hangs meanwhile (held requests are answered afterwards, from the new state),
  // so the exporter cannot see the site empty in between; the foreign start goes through the
  // simulator's own control.
  sim::Faults hang;
  hang.hang = true;
  sim_->SetFaults(hang);
  sim_clock_.Advance(seconds(600));
  ASSERT_TRUE(sim_->StartCapture(kLab, R"({"type":"client","client_mac":"a4b1c2d3e4f5",)"
                                       R"("duration":1200})")
                  .ok());
  sim_->SetFaults(sim::Faults{});
  const std::string lab_foreign = Running(kLab).id;
  ASSERT_FALSE(lab_foreign.empty());
  ASSERT_NE(lab_foreign, lab_ours);
  ASSERT_TRUE(WaitUntil(
      [&] { return ShowsManaged("Lab", kLab, "radiotap", "running_foreign", lab_foreign); }));

  // Both foreign captures are left alone, round after round.
  LetExporterCheck(12);
  EXPECT_EQ(Running(kStore).id, store_foreign);
  EXPECT_EQ(Running(kLab).id, lab_foreign);
  EXPECT_EQ(SimRequests("capture_start"), 2);  // the foreign one on Store and Lab's first
  EXPECT_EQ(SimRequests("capture_stop"), 0);
  EXPECT_EQ(SimReplies(400), 0);
  EXPECT_EQ(Starts(kLab, "Lab", "ok"), 1);
  EXPECT_EQ(Starts(kStore, "Store", "ok"), 0);
  EXPECT_EQ(Starts(kLab, "Lab", "error"), 0);
  EXPECT_EQ(Starts(kStore, "Store", "error"), 0);

  // When they expire, the exporter starts its own on both sites.
  sim_clock_.Advance(seconds(3000));
  ASSERT_TRUE(WaitUntil([&] { return SimRequests("capture_start") == 4; }));
  ASSERT_TRUE(WaitUntil(
      [&] { return Starts(kLab, "Lab", "ok") == 2 && Starts(kStore, "Store", "ok") == 1; }));
  const SimCapture store_ours = Running(kStore);
  EXPECT_EQ(store_ours.type, "wired");
  EXPECT_EQ(store_ours.duration, 900);
  const SimCapture lab_next = Running(kLab);
  EXPECT_EQ(lab_next.type, "radiotap");
  EXPECT_EQ(Finished(kStore), std::vector<std::string>{store_foreign});
  EXPECT_EQ(Finished(kLab), (std::vector<std::string>{lab_foreign, lab_ours}));
  ASSERT_TRUE(WaitUntil(
      [&] { return ShowsManaged("Store", kStore, "wired", "running_ours", store_ours.id); }));
  EXPECT_EQ(SimRequests("capture_stop"), 0);
  EXPECT_EQ(SimReplies(400), 0);
  EXPECT_EQ(Starts(kLab, "Lab", "error"), 0);
  EXPECT_EQ(Starts(kStore, "Store", "error"), 0);
}

}  // namespace
}  // namespace mpe
