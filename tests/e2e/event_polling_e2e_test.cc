// The events schedule end to end: the simulator streams a capture that starts and ends, the
// exporter (App) is subscribed to every site, and the simulator's own request log says which
// REST polls that caused: exactly one status poll for the new capture, exactly one status and
// one list poll for its end, nothing for the other sites.
#include <gtest/gtest.h>
#include <httplib.h>
#include <rapidjson/document.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>

#include "config/config.h"
#include "e2e/metrics_text.h"
#include "fakes/mist_fake_server.h"
#include "fakes/sim_exporter.h"
#include "sim/cloud_sim.h"

namespace mpe {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FindSample;
using testing::Sample;

constexpr char kToken[] = "events-e2e-token-31";
constexpr char kOrg[] = "0e000000-0000-4000-8000-0000000000aa";
constexpr char kA[] = "0e000000-0000-4000-8000-000000000001";
constexpr char kB[] = "0e000000-0000-4000-8000-000000000002";
constexpr char kC[] = "0e000000-0000-4000-8000-000000000003";

std::string Scenario() {
  std::string y = "orgs: [{id: " + std::string(kOrg) + ", name: Org}]\nsites:\n";
  int n = 0;
  for (const char* id : {kA, kB, kC}) {
    ++n;
    y += "  - {id: " + std::string(id) + ", name: S" + std::to_string(n) + ", org: " + kOrg +
         ", aps: [5c5b350e00" + std::to_string(10 + n) + "]}\n";
  }
  return y;
}

class EventPollingE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.sim_options().scenario_yaml = Scenario();
    ASSERT_TRUE(env_.StartSim());
    sim_ = &env_.sim();
    config::Config c = env_.Config();
    c.sites = {{kA, "S1"}, {kB, "S2"}, {kC, "S3"}};
    c.poll.schedule = config::PollSchedule::kEvents;
    // Long enough that no scheduled poll falls inside the test: every poll it sees after the
    // first safety-net site is one the stream caused.
    c.poll.status_interval = std::chrono::hours(1);
    c.poll.idle_interval = std::chrono::hours(1);
    ASSERT_TRUE(env_.StartApp(c));
  }

  std::vector<Sample> Scrape() { return env_.Scrape(); }
  double Value(const std::string& name, std::map<std::string, std::string> labels) {
    const auto m = Scrape();
    const Sample* s = FindSample(m, name, labels);
    return s ? s->value : -1;
  }
  // GET status / GET list requests per site, from the simulator's request log.
  std::map<std::string, int> Polls() {
    httplib::Client client("127.0.0.1", sim_->port());
    auto res = client.Get("/sim/requests");
    std::map<std::string, int> out;
    if (!res || res->status != 200) return out;
    rapidjson::Document doc;
    doc.Parse(res->body.c_str());
    for (const auto& r : doc["requests"].GetArray()) {
      const std::string path = r["path"].GetString();
      if (std::string(r["method"].GetString()) != "GET") continue;
      for (const char* id : {kA, kB, kC}) {
        const std::string base = "/api/v1/sites/" + std::string(id) + "/pcaps";
        if (path == base + "/capture") ++out[std::string(id) + " status"];
        if (path == base) ++out[std::string(id) + " list"];
      }
    }
    return out;
  }
  static void Settle() { std::this_thread::sleep_for(milliseconds(800)); }

  // Stops the App, then the simulator, when the test ends.
  fakes::SimAndExporter env_{kToken};
  sim::CloudSim* sim_ = nullptr;  // env_'s, once SetUp has started it
};

TEST_F(EventPollingE2ETest, ACaptureStartPollsStatusOnceAndItsEndPollsStatusAndList) {
  // The first safety-net round starts with site A (status, then list); B and C wait an hour.
  ASSERT_TRUE(env_.WaitSubscribed({kA, kB, kC}, seconds(20)));
  ASSERT_TRUE(fakes::WaitFor(
      [&] {
        return Polls() == std::map<std::string, int>{{std::string(kA) + " status", 1},
                                                     {std::string(kA) + " list", 1}};
      },
      seconds(10)))
      << Polls().size();

  // A streaming capture at C: its first data frame carries a capture id not seen before.
  ASSERT_TRUE(sim_->StartCapture(kC, R"({"type": "radiotap", "format": "stream"})").ok());
  const std::map<std::string, std::string> c_labels{{"site_id", kC}, {"site", "S3"}};
  ASSERT_TRUE(fakes::WaitFor([&] { return Value("mist_pcap_capture_running", c_labels) == 1; },
                             seconds(10)));
  Settle();
  EXPECT_EQ(Polls(), (std::map<std::string, int>{{std::string(kA) + " status", 1},
                                                 {std::string(kA) + " list", 1},
                                                 {std::string(kC) + " status", 1}}));

  // Its end (pcap_dict null): status and list of C, within the 10 s per-site gap.
  sim_->StopCapture(kC);
  ASSERT_TRUE(fakes::WaitFor([&] { return Value("mist_pcap_capture_running", c_labels) == 0; },
                             seconds(15)));
  Settle();
  EXPECT_EQ(Polls(), (std::map<std::string, int>{{std::string(kA) + " status", 1},
                                                 {std::string(kA) + " list", 1},
                                                 {std::string(kC) + " status", 2},
                                                 {std::string(kC) + " list", 1}}));
  // The capture's list entry arrived with that list poll.
  EXPECT_EQ(
      Value("mist_pcap_captures", {{"site_id", kC}, {"site", "S3"}, {"capture_type", "radiotap"}}),
      1);
}

}  // namespace
}  // namespace mpe
