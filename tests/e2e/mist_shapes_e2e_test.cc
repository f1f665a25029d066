// The exporter App against a Mist that answers in the shapes of Mist's OpenAPI description
// (not our simulator's): real servers on 127.0.0.1, compared through /metrics and the bodies
// the fake Mist received.
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

#include "app/app.h"
#include "config/config.h"
#include "e2e/metrics_text.h"
#include "fakes/mist_fake_server.h"
#include "fakes/wait.h"

namespace mpe {
namespace {

using testing::FindSample;
using testing::ParseMetricsText;
using testing::Sample;
using Labels = std::map<std::string, std::string>;

constexpr char kSite[] = "978c48e6-6ef6-11e6-8bbf-02e208b2d34f";
constexpr char kStatusPath[] = "/api/v1/sites/978c48e6-6ef6-11e6-8bbf-02e208b2d34f/pcaps/capture";
constexpr char kListPath[] = "/api/v1/sites/978c48e6-6ef6-11e6-8bbf-02e208b2d34f/pcaps";

bool WaitUntil(const std::function<bool()>& done, std::chrono::seconds timeout) {
  return fakes::WaitUntil(done, timeout, std::chrono::milliseconds(50));
}

Labels Site(Labels extra = {}) {
  extra["site_id"] = kSite;
  extra["site"] = "HQ";
  return extra;
}

class MistShapesE2ETest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (app_) app_->Stop();
  }

  config::Config BaseConfig() {
    config::Config c;
    c.mist.api_url = mist_.base_url();
    c.mist.stream_url = config::DeriveStreamUrl(c.mist.api_url);
    c.mist.timeout = std::chrono::seconds(2);
    c.mist.max_requests_per_hour = 100000;
    c.token = "shapes-token";
    c.sites = {{kSite, "HQ"}};
    c.poll.status_interval = std::chrono::milliseconds(200);
    c.poll.list_interval = std::chrono::milliseconds(300);
    c.stream.enabled = false;
    c.web.listen_address = "127.0.0.1:0";
    mist_.SetJson("GET", kListPath, R"({"results": [], "start": 1, "end": 2, "limit": 100})");
    mist_.SetJson("GET", "/api/v1/self/usage", R"({"requests": 10, "request_limit": 5000})");
    return c;
  }

  void StartApp(config::Config c) {
    app_ = std::make_unique<app::App>(std::move(c));
    auto st = app_->Start();
    ASSERT_TRUE(st.ok()) << st.error().message;
  }

  std::vector<Sample> Scrape() {
    httplib::Client client("127.0.0.1", app_->http_port());
    auto res = client.Get("/metrics");
    if (!res || res->status != 200) return {};
    return ParseMetricsText(res->body);
  }

  static std::vector<Labels> Sets(const std::vector<Sample>& m, const std::string& name) {
    std::vector<Labels> out;
    for (const auto& s : m) {
      if (s.name == name) out.push_back(s.labels);
    }
    return out;
  }
  static double Value(const std::vector<Sample>& m, const std::string& name, const Labels& l) {
    const Sample* s = FindSample(m, name, l);
    return s ? s->value : -1;
  }

  fakes::MistFakeServer mist_;
  std::unique_ptr<app::App> app_;
};

TEST_F(MistShapesE2ETest, FailedApsFromMistsArraysReachTheMetrics) {
  auto c = BaseConfig();
  // a..d requested, a, b, d configured, c failed: response_pcap_status's three arrays.
  mist_.SetJson("GET", kStatusPath, R"({"id": "cap-7", "type": "radiotap", "format": "stream",
    "started_time": 1764150000, "duration": 600, "max_num_packets": 1024, "num_packets": 377,
    "max_pkt_len": 128,
    "aps": ["5c5b350e000a", "5c5b350e000b", "5c5b350e000c", "5c5b350e000d"],
    "ok": ["5c5b350e000a", "5c5b350e000b", "5c5b350e000d"], "failed": ["5c5b350e000c"],
    "pcap_aps": {"5c5b350e000a": {"band": 5, "bandwidth": 40, "channel": 36}}})");
  StartApp(c);
  std::vector<Sample> m;
  ASSERT_TRUE(WaitUntil(
      [&] {
        m = Scrape();
        return Value(m, "mist_pcap_up", Site()) == 1 &&
               Value(m, "mist_pcap_api_usage_request_limit", {}) == 5000;
      },
      std::chrono::seconds(20)));
  EXPECT_EQ(Value(m, "mist_pcap_capture_running", Site()), 1);
  EXPECT_EQ(Value(m, "mist_pcap_capture_aps", Site({{"state", "requested"}})), 4);
  EXPECT_EQ(Value(m, "mist_pcap_capture_aps", Site({{"state", "ok"}})), 3);
  EXPECT_EQ(Value(m, "mist_pcap_capture_aps", Site({{"state", "failed"}})), 1);
  EXPECT_EQ(Sets(m, "mist_pcap_capture_ap_failed"),
            (std::vector<Labels>{Site({{"ap_mac", "5c5b350e000c"}})}));
  EXPECT_EQ(Value(m, "mist_pcap_capture_ap_failed", Site({{"ap_mac", "5c5b350e000c"}})), 1);
  EXPECT_EQ(Value(m, "mist_pcap_capture_packets", Site({{"capture_id", "cap-7"}})), 377);
  EXPECT_EQ(Value(m, "mist_pcap_capture_max_packets", Site({{"capture_id", "cap-7"}})), 1024);
  EXPECT_EQ(
      Sets(m, "mist_pcap_capture_ap_info"),
      (std::vector<Labels>{Site({{"ap_mac", "5c5b350e000a"}, {"band", "5"}, {"channel", "36"}})}));
  EXPECT_EQ(Value(m, "mist_pcap_api_usage_requests", {}), 10);

  // The AP recovers: the failed series goes, the counts follow.
  mist_.SetJson("GET", kStatusPath, R"({"id": "cap-7", "type": "radiotap",
    "started_time": 1764150000, "duration": 600,
    "aps": ["5c5b350e000a", "5c5b350e000b", "5c5b350e000c", "5c5b350e000d"],
    "ok": ["5c5b350e000a", "5c5b350e000b", "5c5b350e000c", "5c5b350e000d"], "failed": []})");
  ASSERT_TRUE(WaitUntil(
      [&] {
        m = Scrape();
        return Value(m, "mist_pcap_capture_aps", Site({{"state", "ok"}})) == 4;
      },
      std::chrono::seconds(20)));
  EXPECT_TRUE(Sets(m, "mist_pcap_capture_ap_failed").empty());
  EXPECT_EQ(Value(m, "mist_pcap_capture_aps", Site({{"state", "failed"}})), 0);
}

TEST_F(MistShapesE2ETest, AManagedCaptureAsksForTheStream) {
  auto c = BaseConfig();
  config::ManagedCapture mc;
  mc.site = "HQ";
  mc.type = "radiotap";
  mc.ap_mac = "5c5b350e000a";
  mc.duration = 600;
  c.captures = {mc};
  mist_.Set("GET", kStatusPath, fakes::MistFakeServer::Reply{404, R"({"detail": "none"})", {}});
  mist_.SetJson("POST", kStatusPath,
                R"({"id": "m1", "org_id": "o", "site_id": "s", "type": "radiotap",
                    "timestamp": 1764150000.5, "ap_count": 1, "aps": ["5c5b350e000a"]})");
  StartApp(c);
  std::string body;
  ASSERT_TRUE(WaitUntil(
      [&] {
        for (const auto& r : mist_.Requests()) {
          if (r.method == "POST") body = r.body;
        }
        return !body.empty();
      },
      std::chrono::seconds(20)));
  EXPECT_EQ(body,
            R"({"type":"radiotap","ap_mac":"5c5b350e000a","duration":600,"format":"stream"})");
}

}  // namespace
}  // namespace mpe
