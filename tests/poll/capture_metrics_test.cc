#include "poll/capture_metrics.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "fakes/mist_metrics_probe.h"

namespace mpe::poll {
namespace {

using fakes::LabelMap;

mist::CaptureStatus Running(const std::string& id) {
  mist::CaptureStatus s;
  s.running = true;
  s.id = id;
  s.type = "radiotap";
  s.format = "stream";
  s.started_time = 1764150000;
  s.duration = 600;
  s.expiry = 1764150600;
  s.max_num_packets = 1024;
  s.max_pkt_len = 128;
  s.requested_aps = {"5c5b350e001c", "5c5b350e001d", "5c5b350e001e"};
  s.ok_aps = {"5c5b350e001c"};
  s.failed_aps = {"5c5b350e001d", "5c5b350e001e"};
  s.num_packets = 377;
  s.pcap_aps = {{"5c5b350e001c", "2.4", 20, 6}, {"5c5b350e001d", "5", 80, 36}};
  return s;
}

class CaptureMetricsTest : public ::testing::Test {
 protected:
  LabelMap Site(LabelMap extra = {}) {
    extra["site_id"] = "s1";
    extra["site"] = "HQ";
    return extra;
  }
  std::optional<double> Get(const std::string& name, const LabelMap& labels) {
    return fakes::Value(registry_, name, labels);
  }
  std::vector<LabelMap> Sets(const std::string& name) {
    auto sets = fakes::LabelSets(registry_, name);
    std::sort(sets.begin(), sets.end());
    return sets;
  }

  prometheus::Registry registry_;
  CaptureMetrics metrics_{registry_};
  common::Site site_{"s1", "HQ"};
};

TEST_F(CaptureMetricsTest, ExposesEveryFamilyOfARunningCapture) {
  metrics_.UpdateStatus(site_, Running("cap-1"));
  metrics_.SetUp(site_, true);
  const LabelMap cap = Site({{"capture_id", "cap-1"}});
  EXPECT_EQ(Get("mist_pcap_capture_running", Site()), 1);
  EXPECT_EQ(Get("mist_pcap_up", Site()), 1);
  EXPECT_EQ(Sets("mist_pcap_capture_info"),
            (std::vector<LabelMap>{Site(
                {{"capture_id", "cap-1"}, {"capture_type", "radiotap"}, {"format", "stream"}})}));
  EXPECT_EQ(Get("mist_pcap_capture_info", Sets("mist_pcap_capture_info")[0]), 1);
  EXPECT_EQ(Get("mist_pcap_capture_start_timestamp_seconds", cap), 1764150000);
  EXPECT_EQ(Get("mist_pcap_capture_expiry_timestamp_seconds", cap), 1764150600);
  EXPECT_EQ(Get("mist_pcap_capture_max_packets", cap), 1024);
  EXPECT_EQ(Get("mist_pcap_capture_max_packet_length_bytes", cap), 128);
  EXPECT_EQ(Get("mist_pcap_capture_aps", Site({{"state", "requested"}})), 3);
  EXPECT_EQ(Get("mist_pcap_capture_aps", Site({{"state", "ok"}})), 1);
  EXPECT_EQ(Get("mist_pcap_capture_aps", Site({{"state", "failed"}})), 2);
  EXPECT_EQ(Sets("mist_pcap_capture_ap_failed"),
            (std::vector<LabelMap>{Site({{"ap_mac", "5c5b350e001d"}}),
                                   Site({{"ap_mac", "5c5b350e001e"}})}));
  EXPECT_EQ(Get("mist_pcap_capture_ap_failed", Site({{"ap_mac", "5c5b350e001d"}})), 1);
  EXPECT_EQ(Get("mist_pcap_last_capture_timestamp_seconds", Site()), 1764150000);
  EXPECT_EQ(Sets("mist_pcap_capture_packets"), (std::vector<LabelMap>{cap}));
  EXPECT_EQ(Get("mist_pcap_capture_packets", cap), 377);
  EXPECT_EQ(Sets("mist_pcap_capture_ap_info"),
            (std::vector<LabelMap>{
                Site({{"ap_mac", "5c5b350e001c"}, {"band", "2.4"}, {"channel", "6"}}),
                Site({{"ap_mac", "5c5b350e001d"}, {"band", "5"}, {"channel", "36"}})}));
  EXPECT_EQ(Get("mist_pcap_capture_ap_info",
                Site({{"ap_mac", "5c5b350e001d"}, {"band", "5"}, {"channel", "36"}})),
            1);
}

TEST_F(CaptureMetricsTest, PacketsSeriesFollowsNumPacketsAndApInfoFollowsChannels) {
  metrics_.UpdateStatus(site_, Running("cap-1"));
  auto later = Running("cap-1");
  later.num_packets = 900;
  later.pcap_aps = {{"5c5b350e001c", "2.4", 20, 11}};
  metrics_.UpdateStatus(site_, later);
  EXPECT_EQ(Get("mist_pcap_capture_packets", Site({{"capture_id", "cap-1"}})), 900);
  EXPECT_EQ(Sets("mist_pcap_capture_ap_info"),
            (std::vector<LabelMap>{
                Site({{"ap_mac", "5c5b350e001c"}, {"band", "2.4"}, {"channel", "11"}})}));
  // A client capture reports no num_packets: the series goes rather than read 0.
  auto client = Running("cap-1");
  client.num_packets.reset();
  metrics_.UpdateStatus(site_, client);
  EXPECT_TRUE(Sets("mist_pcap_capture_packets").empty());
}

TEST_F(CaptureMetricsTest, RemovesPerCaptureSeriesWhenTheCaptureEnds) {
  metrics_.UpdateStatus(site_, Running("cap-1"));
  metrics_.UpdateStatus(site_, mist::CaptureStatus{});
  EXPECT_EQ(Get("mist_pcap_capture_running", Site()), 0);
  for (const char* name :
       {"mist_pcap_capture_info", "mist_pcap_capture_start_timestamp_seconds",
        "mist_pcap_capture_expiry_timestamp_seconds", "mist_pcap_capture_max_packets",
        "mist_pcap_capture_max_packet_length_bytes", "mist_pcap_capture_ap_failed",
        "mist_pcap_capture_packets", "mist_pcap_capture_ap_info"}) {
    EXPECT_TRUE(Sets(name).empty()) << name;
  }
  EXPECT_EQ(Get("mist_pcap_capture_aps", Site({{"state", "requested"}})), 0);
  EXPECT_EQ(Get("mist_pcap_capture_aps", Site({{"state", "failed"}})), 0);
  // The last capture is still the last one.
  EXPECT_EQ(Get("mist_pcap_last_capture_timestamp_seconds", Site()), 1764150000);
}

TEST_F(CaptureMetricsTest, ReplacesSeriesWhenANewCaptureStarts) {
  metrics_.UpdateStatus(site_, Running("cap-1"));
  auto next = Running("cap-2");
  next.started_time = 1764160000;
  next.failed_aps = {"5c5b350e001e"};
  metrics_.UpdateStatus(site_, next);
  EXPECT_EQ(Sets("mist_pcap_capture_start_timestamp_seconds"),
            (std::vector<LabelMap>{Site({{"capture_id", "cap-2"}})}));
  EXPECT_EQ(Get("mist_pcap_capture_start_timestamp_seconds", Site({{"capture_id", "cap-2"}})),
            1764160000);
  EXPECT_EQ(Sets("mist_pcap_capture_ap_failed"),
            (std::vector<LabelMap>{Site({{"ap_mac", "5c5b350e001e"}})}));
  EXPECT_EQ(Get("mist_pcap_last_capture_timestamp_seconds", Site()), 1764160000);
}

TEST_F(CaptureMetricsTest, CountsListedCapturesByTypeAndDropsTypesThatLeftTheWindow) {
  std::vector<mist::CaptureSummary> list(3);
  list[0].type = "radiotap";
  list[0].timestamp = 100;
  list[1].type = "radiotap";
  list[1].timestamp = 300;
  list[2].type = "wired";
  list[2].timestamp = 200;
  metrics_.UpdateList(site_, list);
  EXPECT_EQ(Get("mist_pcap_captures", Site({{"capture_type", "radiotap"}})), 2);
  EXPECT_EQ(Get("mist_pcap_captures", Site({{"capture_type", "wired"}})), 1);
  EXPECT_EQ(Get("mist_pcap_last_capture_timestamp_seconds", Site()), 300);

  list.resize(1);
  metrics_.UpdateList(site_, list);
  EXPECT_EQ(Sets("mist_pcap_captures"),
            (std::vector<LabelMap>{Site({{"capture_type", "radiotap"}})}));
  EXPECT_EQ(Get("mist_pcap_captures", Site({{"capture_type", "radiotap"}})), 1);
  EXPECT_EQ(Get("mist_pcap_last_capture_timestamp_seconds", Site()), 100);
}

TEST_F(CaptureMetricsTest, RemoveSiteDropsEverySeriesOfThatSiteOnly) {
  common::Site other{"s2", "s2"};
  metrics_.UpdateStatus(site_, Running("cap-1"));
  metrics_.UpdateList(site_, std::vector<mist::CaptureSummary>(1));
  metrics_.SetUp(site_, true);
  metrics_.UpdateStatus(other, mist::CaptureStatus{});
  metrics_.RemoveSite("s1");
  for (const auto& family : registry_.Collect()) {
    for (const auto& m : family.metric) {
      EXPECT_EQ(fakes::LabelsOf(m).at("site_id"), "s2") << family.name;
    }
  }
  EXPECT_EQ(Get("mist_pcap_capture_running", LabelMap{{"site_id", "s2"}, {"site", "s2"}}), 0);
}

TEST_F(CaptureMetricsTest, ARenamedSiteLosesItsOldLabels) {
  metrics_.UpdateStatus(site_, Running("cap-1"));
  metrics_.UpdateStatus(common::Site{"s1", "Head Office"}, Running("cap-1"));
  EXPECT_EQ(Sets("mist_pcap_capture_running"),
            (std::vector<LabelMap>{{{"site_id", "s1"}, {"site", "Head Office"}}}));
  EXPECT_EQ(Sets("mist_pcap_capture_info").size(), 1u);
}

}  // namespace
}  // namespace mpe::poll
