#include "metrics/label_value.h"

#include <gtest/gtest.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <sstream>
#include <string>

#include "common/clock.h"
#include "common/text.h"
#include "metrics/stream_aggregator.h"
#include "metrics/text_format.h"

namespace mpe::metrics {
namespace {

constexpr char kSite[] = "978c48e6-6ef6-11e6-8bbf-02e208b2d34f";

TEST(LabelValueTest, KeepsGoodValuesAndFixesBadOnes) {
  std::string out;
  EXPECT_EQ(SanitizeLabelValue("cap-1 Zürich", &out), kLabelOk);
  EXPECT_EQ(out, "cap-1 Zürich");
  EXPECT_EQ(SanitizeLabelValue("ab\xff\xfe", &out), kLabelInvalidUtf8);
  EXPECT_EQ(out, "ab\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(SanitizeLabelValue(std::string(300, 'x'), &out), kLabelTooLong);
  EXPECT_EQ(out, std::string(256, 'x'));
  // 255 ASCII bytes then a 2-byte character: cut before it, never inside.
  EXPECT_EQ(SanitizeLabelValue(std::string(255, 'x') + "\xc3\xbc", &out), kLabelTooLong);
  EXPECT_EQ(out, std::string(255, 'x'));
  EXPECT_TRUE(common::IsValidUtf8(EscapeLabelValue("\xc0\xaf\"\n")));
  EXPECT_EQ(EscapeLabelValue(std::string(1000, 'y')).size(), 256u);
}

// Mist's REST answer reached a gauge's labels with invalid UTF-8 (Prometheus then rejects the
// whole scrape) and 5,000 bytes: what is served is valid and short, and counted.
TEST(LabelValueTest, RegistryFamiliesAreSanitisedBeforeTheyAreServed) {
  prometheus::Registry registry;
  auto& family =
      prometheus::BuildGauge().Name("mist_pcap_capture_info").Help("h").Register(registry);
  family.Add({{"capture_id", "cap-\xff\xfe"}, {"type", std::string(5000, 't')}}).Set(1);
  family.Add({{"capture_id", "fine"}, {"type", "radiotap"}}).Set(1);
  auto families = registry.Collect();
  LabelValueStats stats;
  SanitizeLabelValues(&families, &stats);
  std::ostringstream os;
  prometheus::TextSerializer().Serialize(os, families);
  const std::string text = os.str();
  EXPECT_TRUE(common::IsValidUtf8(text));
  EXPECT_NE(text.find("capture_id=\"cap-\xef\xbf\xbd\xef\xbf\xbd\""), std::string::npos) << text;
  EXPECT_NE(text.find("type=\"" + std::string(256, 't') + "\""), std::string::npos);
  EXPECT_EQ(text.find(std::string(257, 't')), std::string::npos);
  EXPECT_EQ(stats.invalid_utf8(), 1u);
  EXPECT_EQ(stats.too_long(), 1u);
  std::string out;
  stats.AppendText(&out);
  EXPECT_NE(out.find("mist_pcap_label_values_sanitized_total{reason=\"invalid_utf8\"} 1\n"),
            std::string::npos);
}

// 300 frames each with a different 200 KB label value: at most 256 bytes of each is kept and
// printed (before: 130 MB kept for good and 120 MB scrapes).
TEST(LabelValueTest, StreamLabelValuesAreCutToTwoHundredFiftySixBytes) {
  common::ManualClock clock;
  LabelValueStats stats;
  AggregatorOptions options;
  options.label_stats = &stats;
  StreamAggregator agg(options, clock);
  agg.AddSite(kSite, "HQ");
  const std::string channel = std::string("/sites/") + kSite + "/pcaps";
  for (int i = 0; i < 300; ++i) {
    decode::Event e;
    e.kind = decode::EventKind::kData;
    e.channel = channel;
    auto& p = e.packet;
    p.interface = decode::Interface::kWired;
    p.direction = decode::Direction::kTx;
    p.has_vlan = true;
    p.vlan = 10;
    p.has_ap_mac = true;
    p.ap_mac = 0xd420b081992eULL;
    p.has_length = true;
    p.length = 60;
    const std::string proto = std::to_string(i) + std::string(200 * 1024, 'p');
    p.proto = proto;
    agg.Record(e);
  }
  std::string text;
  agg.AppendText(&text);
  EXPECT_LT(text.size(), 300u * 1024) << "a scrape of 300 cut values";
  EXPECT_EQ(text.find(std::string(257, 'p')), std::string::npos);
  EXPECT_NE(text.find("protocol=\"0" + std::string(255, 'p') + "\""), std::string::npos);
  EXPECT_EQ(stats.too_long(), 300u);
}

}  // namespace
}  // namespace mpe::metrics
