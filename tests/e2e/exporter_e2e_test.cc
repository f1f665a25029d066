// End to end over loopback: the simulated Mist cloud and the exporter App, both real servers on
// 127.0.0.1 with port 0, compared through /metrics and the simulator's ground truth.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "e2e/metrics_text.h"
#include "fakes/sim_exporter.h"
#include "fakes/wait.h"
#include "sim/cloud_sim.h"

namespace mpe {
namespace {

using testing::FindSample;
using testing::Sample;
using testing::SumSamples;
using Labels = std::map<std::string, std::string>;

constexpr char kHq[] = "978c48e6-6ef6-11e6-8bbf-02e208b2d34f";
constexpr char kBranch[] = "a1b2c3d4-0000-4000-8000-000000000002";
constexpr char kWarehouse[] = "a1b2c3d4-0000-4000-8000-000000000003";
constexpr char kToken[] = "e2e-token-7c1d";

bool WaitUntil(const std::function<bool()>& done, std::chrono::seconds timeout) {
  return fakes::WaitUntil(done, timeout, std::chrono::milliseconds(50));
}

class ExporterE2ETest : public ::testing::Test {
 protected:
  void StartSim(sim::SimOptions opts = {}) {
    opts.token = kToken;
    env_.sim_options() = opts;
    ASSERT_TRUE(env_.StartSim());
    sim_ = &env_.sim();
  }

  config::Config BaseConfig() {
    config::Config c = env_.Config();
    c.sites = {{kHq, "HQ"}, {kBranch, "Branch-01"}, {kWarehouse, "Warehouse"}};
    c.poll.status_interval = std::chrono::milliseconds(300);
    c.poll.list_interval = std::chrono::milliseconds(300);
    return c;
  }

  void StartApp(config::Config c) { ASSERT_TRUE(env_.StartApp(std::move(c))); }

  std::vector<Sample> Scrape() { return env_.Scrape(); }

  double Value(const std::vector<Sample>& samples, const std::string& name, const Labels& labels) {
    const Sample* s = FindSample(samples, name, labels);
    return s ? s->value : -1;
  }

  // Stops the App, then the simulator, when the test ends.
  fakes::SimAndExporter env_{kToken};
  sim::CloudSim* sim_ = nullptr;  // env_'s, once StartSim has run
};

Labels Site(const std::string& id, const std::string& name, Labels extra = {}) {
  extra["site_id"] = id;
  extra["site"] = name;
  return extra;
}

TEST_F(ExporterE2ETest, FirstPollRoundShowsTheScenarioCaptureStateExactly) {
  StartSim();
  auto c = BaseConfig();
  c.stream.enabled = false;
  StartApp(c);
  std::vector<Sample> m;
  ASSERT_TRUE(WaitUntil(
      [&] {
        m = Scrape();
        return Value(m, "mist_pcap_up", Site(kWarehouse, "Warehouse")) == 1 &&
               Value(m, "mist_pcap_up", Site(kHq, "HQ")) == 1 &&
               Value(m, "mist_pcap_up", Site(kBranch, "Branch-01")) == 1;
      },
      std::chrono::seconds(20)));
  EXPECT_EQ(Value(m, "mist_pcap_capture_running", Site(kHq, "HQ")), 1);
  EXPECT_EQ(Value(m, "mist_pcap_capture_running", Site(kBranch, "Branch-01")), 1);
  EXPECT_EQ(Value(m, "mist_pcap_capture_running", Site(kWarehouse, "Warehouse")), 0);
  EXPECT_EQ(Value(m, "mist_pcap_capture_aps", Site(kHq, "HQ", {{"state", "requested"}})), 4);
  EXPECT_EQ(Value(m, "mist_pcap_capture_aps", Site(kHq, "HQ", {{"state", "ok"}})), 3);
  EXPECT_EQ(Value(m, "mist_pcap_capture_aps", Site(kHq, "HQ", {{"state", "failed"}})), 1);
  EXPECT_EQ(Value(m, "mist_pcap_capture_ap_failed", Site(kHq, "HQ", {{"ap_mac", "5c5b350e0004"}})),
            1);
  EXPECT_EQ(SumSamples(m, "mist_pcap_capture_ap_failed"), 1);
  EXPECT_EQ(Value(m, "mist_pcap_capture_aps", Site(kBranch, "Branch-01", {{"state", "ok"}})), 2);
  // HQ's history: 2 radiotap, 2 wired, 2 client, 1 radiotap,wired in the last day.
  EXPECT_EQ(Value(m, "mist_pcap_captures", Site(kHq, "HQ", {{"capture_type", "radiotap"}})), 2);
  EXPECT_EQ(Value(m, "mist_pcap_captures", Site(kHq, "HQ", {{"capture_type", "wired"}})), 2);
  EXPECT_EQ(Value(m, "mist_pcap_captures", Site(kHq, "HQ", {{"capture_type", "client"}})), 2);
  int info = 0;
  for (const auto& s : m) info += s.name == "mist_pcap_capture_info";
  EXPECT_EQ(info, 2);  // HQ and Branch-01 run one capture each
}

TEST_F(ExporterE2ETest, CaptureStartedThenStoppedAppearsAndDisappearsWithinAStatusInterval) {
  StartSim();
  auto c = BaseConfig();
  c.stream.enabled = false;
  StartApp(c);
  ASSERT_TRUE(
      WaitUntil([&] { return Value(Scrape(), "mist_pcap_up", Site(kWarehouse, "Warehouse")) == 1; },
                std::chrono::seconds(20)));
  // format stream as the exporter sends it: Mist (and the simulator) default to pcap.
  ASSERT_TRUE(
      sim_->StartCapture(kWarehouse, R"({"type":"radiotap","duration":600,"format":"stream"})")
          .ok());
  auto t0 = std::chrono::steady_clock::now();
  std::vector<Sample> m;
  ASSERT_TRUE(WaitUntil(
      [&] {
        m = Scrape();
        return Value(m, "mist_pcap_capture_running", Site(kWarehouse, "Warehouse")) == 1;
      },
      std::chrono::seconds(10)));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  std::string capture_id;
  for (const auto& s : m)
    if (s.name == "mist_pcap_capture_info" && s.labels.at("site_id") == kWarehouse)
      capture_id = s.labels.at("capture_id");
  ASSERT_FALSE(capture_id.empty());
  EXPECT_EQ(
      Value(m, "mist_pcap_capture_info",
            Site(kWarehouse, "Warehouse",
                 {{"capture_id", capture_id}, {"capture_type", "radiotap"}, {"format", "stream"}})),
      1);

  sim_->StopCapture(kWarehouse);
  ASSERT_TRUE(WaitUntil(
      [&] {
        m = Scrape();
        return Value(m, "mist_pcap_capture_running", Site(kWarehouse, "Warehouse")) == 0;
      },
      std::chrono::seconds(10)));
  for (const auto& s : m) {
    auto it = s.labels.find("capture_id");
    EXPECT_FALSE(it != s.labels.end() && it->second == capture_id) << s.name;
  }
}

TEST_F(ExporterE2ETest, CaptureCountsEqualTheScenarioListOverThreePages) {
  // 250 finished captures on one site: three pages of the default limit (100).
  std::string yaml =
      "orgs: [{id: o1, name: Org}]\n"
      "sites:\n"
      "  - id: " +
      std::string(kWarehouse) +
      "\n"
      "    name: Warehouse\n"
      "    org: o1\n"
      "    aps: [5c5b350e0201]\n"
      "    history:\n";
  std::map<std::string, int> expected;
  const char* types[] = {"radiotap", "wired", "client", "radiotap,wired"};
  for (int i = 0; i < 250; ++i) {
    const char* t = types[i % 7 == 0 ? 3 : i % 3];
    expected[t] += 1;
    yaml += "      - {type: \"" + std::string(t) +
            "\", started_ago: " + std::to_string(60 + i * 300) + ", duration: 60}\n";
  }
  sim::SimOptions opts;
  opts.scenario_yaml = yaml;
  StartSim(opts);
  auto c = BaseConfig();
  c.sites = {{kWarehouse, "Warehouse"}};
  c.stream.enabled = false;
  StartApp(c);
  std::vector<Sample> m;
  ASSERT_TRUE(WaitUntil(
      [&] {
        m = Scrape();
        return SumSamples(m, "mist_pcap_captures") == 250;
      },
      std::chrono::seconds(20)))
      << SumSamples(m, "mist_pcap_captures");
  for (const auto& [type, n] : expected) {
    EXPECT_EQ(
        Value(m, "mist_pcap_captures", Site(kWarehouse, "Warehouse", {{"capture_type", type}})), n)
        << type;
  }
  // The list really was paged: at least three capture_list requests per round.
  rapidjson::Document stats;
  stats.Parse(sim_->StatsJson().c_str());
  ASSERT_TRUE(stats.IsObject());
  EXPECT_GE(stats["requests"]["capture_list"].GetInt(), 3);
}

TEST_F(ExporterE2ETest, HungApiKeepsLastValuesMarksSitesDownAndScrapesStayFast) {
  StartSim();
  auto c = BaseConfig();
  c.stream.enabled = false;
  c.mist.timeout = std::chrono::seconds(1);
  StartApp(c);
  ASSERT_TRUE(WaitUntil([&] { return Value(Scrape(), "mist_pcap_up", Site(kHq, "HQ")) == 1; },
                        std::chrono::seconds(20)));
  sim::Faults faults;
  faults.hang = true;
  sim_->SetFaults(faults);
  std::vector<Sample> m;
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto t0 = std::chrono::steady_clock::now();
        m = Scrape();
        EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
        return Value(m, "mist_pcap_up", Site(kHq, "HQ")) == 0;
      },
      std::chrono::seconds(20)));
  // Last good values stay while the API hangs.
  EXPECT_EQ(Value(m, "mist_pcap_capture_running", Site(kHq, "HQ")), 1);
  EXPECT_EQ(Value(m, "mist_pcap_capture_aps", Site(kHq, "HQ", {{"state", "failed"}})), 1);
  sim_->SetFaults(sim::Faults{});
}

// Compares every stream family the simulator keeps truth for with the exporter's samples.
void ExpectStreamFamiliesEqualTruth(const std::vector<Sample>& m, const std::string& truth_json,
                                    bool per_message_lost) {
  rapidjson::Document truth;
  truth.Parse(truth_json.c_str());
  ASSERT_TRUE(truth.IsObject()) << truth_json.substr(0, 200);
  const auto& families = truth["families"];
  int compared = 0;
  for (auto f = families.MemberBegin(); f != families.MemberEnd(); ++f) {
    const std::string name = f->name.GetString();
    if (name == "mist_pcap_top_clients_bytes") {
      // The truth has every client's exact bytes; the exporter keeps the top K (10) per site
      // with Space-Saving: each shown value is >= the truth and <= truth + site total / K, and
      // every client above total / K is shown (the run is shorter than the 5m window).
      constexpr double kK = 10;
      std::map<std::string, double> total;
      for (const auto& e : f->value.GetArray()) {
        total[e["labels"]["site_id"].GetString()] += e["value"].GetDouble();
      }
      for (const auto& e : f->value.GetArray()) {
        Labels labels;
        for (auto l = e["labels"].MemberBegin(); l != e["labels"].MemberEnd(); ++l)
          labels[l->name.GetString()] = l->value.GetString();
        const double want = e["value"].GetDouble();
        const double bound = total[labels["site_id"]] / kK;
        const Sample* s = FindSample(m, name, labels);
        if (s == nullptr) {
          EXPECT_LE(want, bound) << name << " misses a client above total/K";
          continue;
        }
        EXPECT_GE(s->value, want) << name;
        EXPECT_LE(s->value, want + bound) << name;
        ++compared;
      }
      continue;
    }
    std::set<Labels> truth_sets;
    for (const auto& entry : f->value.GetArray()) {
      Labels labels;
      for (auto l = entry["labels"].MemberBegin(); l != entry["labels"].MemberEnd(); ++l)
        labels[l->name.GetString()] = l->value.GetString();
      truth_sets.insert(labels);
      if (entry.HasMember("buckets")) {
        for (auto b = entry["buckets"].MemberBegin(); b != entry["buckets"].MemberEnd(); ++b) {
          Labels with_le = labels;
          with_le["le"] = b->name.GetString();
          const Sample* s = FindSample(m, name + "_bucket", with_le);
          ASSERT_NE(s, nullptr) << name << " bucket le=" << b->name.GetString();
          EXPECT_EQ(s->value, b->value.GetDouble()) << name << " le=" << b->name.GetString();
        }
        const Sample* count = FindSample(m, name + "_count", labels);
        ASSERT_NE(count, nullptr) << name;
        EXPECT_EQ(count->value, entry["count"].GetDouble()) << name;
        const Sample* sum = FindSample(m, name + "_sum", labels);
        ASSERT_NE(sum, nullptr) << name;
        EXPECT_NEAR(sum->value, entry["sum"].GetDouble(),
                    1e-9 * std::max(1.0, std::abs(entry["sum"].GetDouble())))
            << name;
      } else {
        const char* key = !entry.HasMember("value")
                              ? (per_message_lost ? "value_per_message" : "value_cumulative")
                              : "value";
        const Sample* s = FindSample(m, name, labels);
        double want = entry[key].GetDouble();
        if (s == nullptr) {
          EXPECT_EQ(want, 0) << name << " missing a label set the truth has";
          continue;
        }
        EXPECT_EQ(s->value, want) << name;
      }
      ++compared;
    }
    // No label set the simulator never produced (with a non-zero value).
    const bool histogram =
        name.find("_dbm") != std::string::npos || name.find("_mbps") != std::string::npos;
    for (const auto& s : m) {
      if (s.name != (histogram ? name + "_count" : name) || s.value == 0) continue;
      // Acks are counted too (event="subscribed"); the simulator's truth covers data only.
      auto event = s.labels.find("event");
      if (event != s.labels.end() && event->second == "subscribed") continue;
      std::string text;
      for (const auto& [k, v] : s.labels) text += k + "=" + v + " ";
      EXPECT_TRUE(truth_sets.count(s.labels))
          << "unexpected label set in " << s.name << ": " << text;
    }
  }
  EXPECT_GT(compared, 50);
}

class StreamE2ETest : public ExporterE2ETest {
 protected:
  // Streams `n` data messages at full speed and waits until the exporter has counted them all.
  void StreamAndWait(int64_t n, config::LostMessagesMode mode, const sim::Faults& faults = {}) {
    sim::SimOptions opts;
    opts.rate = 200000;
    StartSim(opts);
    sim_->SetStreamLimit(n);
    sim_->SetDataAsStringRatio(0.5);
    sim_->SetFaults(faults);
    auto c = BaseConfig();
    c.poll.status_interval = std::chrono::seconds(5);
    c.poll.list_interval = std::chrono::seconds(60);
    c.stream.lost_messages = mode;
    StartApp(c);
    ASSERT_TRUE(WaitUntil(
        [&] {
          rapidjson::Document truth;
          truth.Parse(sim_->TruthJson().c_str());
          return truth.IsObject() && truth["messages"]["data"].GetInt64() == n &&
                 SumSamples(Scrape(), "mist_pcap_stream_messages_total", {{"event", "data"}}) ==
                     static_cast<double>(n);
        },
        std::chrono::seconds(180)))
        << "exporter counted "
        << SumSamples(Scrape(), "mist_pcap_stream_messages_total", {{"event", "data"}});
  }
};

TEST_F(StreamE2ETest, FiftyThousandMessagesEqualTheTruthInEveryFamilyCumulativeLost) {
  StreamAndWait(50000, config::LostMessagesMode::kCumulative);
  auto m = Scrape();
  ExpectStreamFamiliesEqualTruth(m, sim_->TruthJson(), false);
  // Both encodings of `data` and both interfaces were in the stream.
  EXPECT_GT(SumSamples(m, "mist_pcap_wired_packets_total"), 1000);
  EXPECT_GT(SumSamples(m, "mist_pcap_wireless_frames_total"), 1000);
  EXPECT_GT(SumSamples(m, "mist_pcap_stream_lost_messages_total"), 0);
  EXPECT_EQ(SumSamples(m, "mist_pcap_stream_decode_errors_total"), 0);
  EXPECT_EQ(Value(m, "mist_pcap_stream_connected", {}), 1);
  EXPECT_EQ(Value(m, "mist_pcap_stream_subscribed", Site(kHq, "HQ")), 1);
}

TEST_F(StreamE2ETest, PerMessageLostModeAddsEveryReportedValue) {
  StreamAndWait(20000, config::LostMessagesMode::kPerMessage);
  ExpectStreamFamiliesEqualTruth(Scrape(), sim_->TruthJson(), true);
}

TEST_F(StreamE2ETest, FiveMidStreamDropsAreReconnectedAndNothingDeliveredIsLost) {
  sim::Faults faults;
  faults.drop_stream_after = 4000;
  faults.drop_stream_times = 5;
  StreamAndWait(30000, config::LostMessagesMode::kCumulative, faults);
  auto m = Scrape();
  EXPECT_EQ(Value(m, "mist_pcap_stream_reconnects_total", {}), 5);
  ExpectStreamFamiliesEqualTruth(m, sim_->TruthJson(), false);
}

}  // namespace
}  // namespace mpe
