#include "metrics/stream_aggregator.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "common/clock.h"

namespace mpe::metrics {
namespace {

using decode::Event;
using decode::EventKind;

constexpr char kSite[] = "978c48e6-6ef6-11e6-8bbf-02e208b2d34f";
constexpr char kChannel[] = "/sites/978c48e6-6ef6-11e6-8bbf-02e208b2d34f/pcaps";

Event Wireless(uint64_t ap, double rssi, int freq, int channel, double rate, double length) {
  Event e;
  e.kind = EventKind::kData;
  e.channel = kChannel;
  e.capture_id = "cap-1";
  auto& p = e.packet;
  p.interface = decode::Interface::kRadiotap;
  p.direction = decode::Direction::kRx;
  p.has_ap_mac = true;
  p.ap_mac = ap;
  p.has_length = true;
  p.length = length;
  p.has_frequency = true;
  p.channel_frequency = freq;
  p.has_channel = true;
  p.channel = channel;
  p.has_rssi = true;
  p.rssi = rssi;
  p.has_datarate = true;
  p.datarate_mbps = rate;
  p.frame_type = "Management";
  p.frame_subtype = "Beacon";
  return e;
}

Event Wired(uint64_t ap, std::string_view proto, int vlan, double length) {
  Event e;
  e.kind = EventKind::kData;
  e.channel = kChannel;
  auto& p = e.packet;
  p.interface = decode::Interface::kWired;
  p.direction = decode::Direction::kTx;
  p.has_ap_mac = true;
  p.ap_mac = ap;
  p.has_length = true;
  p.length = length;
  p.proto = proto;
  p.has_vlan = true;
  p.vlan = vlan;
  return e;
}

bool HasLine(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

class StreamAggregatorTest : public ::testing::Test {
 protected:
  std::string Scrape(const StreamAggregator& agg) {
    std::string out = "\n";
    agg.AppendText(&out);
    return out;
  }
  common::ManualClock clock_;
};

TEST_F(StreamAggregatorTest, CountsWirelessPacketIntoEveryFamilyWithExactLabels) {
  StreamAggregator agg({}, clock_);
  agg.AddSite(kSite, "HQ");
  agg.Record(Wireless(0xd420b081992eULL, -67, 5180, 36, 54.0, 100));
  agg.Record(Wireless(0xd420b081992eULL, -45, 5180, 36, 866.7, 50.5));
  std::string t = Scrape(agg);
  const std::string site = "site_id=\"" + std::string(kSite) + "\",site=\"HQ\"";
  EXPECT_TRUE(HasLine(t, "mist_pcap_packets_total{" + site +
                             ",ap_mac=\"d420b081992e\",interface=\"radiotap\",direction=\"rx\"} 2"))
      << t;
  EXPECT_TRUE(
      HasLine(t, "mist_pcap_bytes_total{" + site +
                     ",ap_mac=\"d420b081992e\",interface=\"radiotap\",direction=\"rx\"} 150.5"));
  EXPECT_TRUE(HasLine(t, "mist_pcap_wireless_frames_total{" + site +
                             ",ap_mac=\"d420b081992e\",band=\"5\",frame_type=\"Management\","
                             "frame_subtype=\"Beacon\"} 2"));
  EXPECT_TRUE(HasLine(t, "mist_pcap_wireless_rssi_dbm_bucket{" + site +
                             ",ap_mac=\"d420b081992e\",band=\"5\",le=\"-70\"} 0"));
  EXPECT_TRUE(HasLine(t, "mist_pcap_wireless_rssi_dbm_bucket{" + site +
                             ",ap_mac=\"d420b081992e\",band=\"5\",le=\"-60\"} 1"));
  EXPECT_TRUE(HasLine(t, "mist_pcap_wireless_rssi_dbm_bucket{" + site +
                             ",ap_mac=\"d420b081992e\",band=\"5\",le=\"-40\"} 2"));
  EXPECT_TRUE(HasLine(
      t, "mist_pcap_wireless_rssi_dbm_sum{" + site + ",ap_mac=\"d420b081992e\",band=\"5\"} -112"));
  EXPECT_TRUE(HasLine(
      t, "mist_pcap_wireless_rssi_dbm_count{" + site + ",ap_mac=\"d420b081992e\",band=\"5\"} 2"));
  EXPECT_TRUE(HasLine(
      t, "mist_pcap_wireless_channel_frames_total{" + site + ",band=\"5\",channel=\"36\"} 2"));
  EXPECT_TRUE(
      HasLine(t, "mist_pcap_wireless_data_rate_mbps_bucket{" + site + ",band=\"5\",le=\"54\"} 1"));
  EXPECT_TRUE(
      HasLine(t, "mist_pcap_wireless_data_rate_mbps_bucket{" + site + ",band=\"5\",le=\"600\"} 1"));
  EXPECT_TRUE(HasLine(
      t, "mist_pcap_wireless_data_rate_mbps_bucket{" + site + ",band=\"5\",le=\"1200\"} 2"));
  EXPECT_TRUE(HasLine(t, "mist_pcap_stream_messages_total{" + site + ",event=\"data\"} 2"));
}

TEST_F(StreamAggregatorTest, CountsWiredPacketsByProtocolAndVlan) {
  StreamAggregator agg({}, clock_);
  agg.AddSite(kSite, "");
  agg.Record(Wired(0x5c5b350e001cULL, "TCP", 10, 60));
  agg.Record(Wired(0x5c5b350e001cULL, "TCP", 10, 1514));
  Event no_vlan = Wired(0x5c5b350e001cULL, "ARP", 0, 42);
  no_vlan.packet.has_vlan = false;
  agg.Record(no_vlan);
  std::string t = Scrape(agg);
  const std::string site = "site_id=\"" + std::string(kSite) + "\",site=\"" + kSite + "\"";
  EXPECT_TRUE(HasLine(t, "mist_pcap_wired_packets_total{" + site +
                             ",ap_mac=\"5c5b350e001c\",protocol=\"TCP\",vlan=\"10\"} 2"))
      << t;
  EXPECT_TRUE(HasLine(t, "mist_pcap_wired_bytes_total{" + site +
                             ",ap_mac=\"5c5b350e001c\",protocol=\"TCP\",vlan=\"10\"} 1574"));
  EXPECT_TRUE(HasLine(t, "mist_pcap_wired_packets_total{" + site +
                             ",ap_mac=\"5c5b350e001c\",protocol=\"ARP\",vlan=\"none\"} 1"));
  EXPECT_TRUE(HasLine(t, "mist_pcap_packets_total{" + site +
                             ",ap_mac=\"5c5b350e001c\",interface=\"wired\",direction=\"tx\"} 3"));
  EXPECT_EQ(agg.SeriesCount(StreamAggregator::Family::kFrames), 0u);
}

TEST_F(StreamAggregatorTest, CapFoldsNewLabelSetsIntoOtherAndCountsEveryFoldedUpdate) {
  AggregatorOptions opts;
  opts.max_series_per_family = 10;
  StreamAggregator agg(opts, clock_);
  agg.AddSite(kSite, "HQ");
  for (uint64_t i = 0; i < 100; ++i)
    agg.Record(Wireless(0x020000000000ULL + i, -50, 2412, 1, 1, 10));
  EXPECT_EQ(agg.SeriesCount(StreamAggregator::Family::kPackets), 10u);
  EXPECT_EQ(agg.DroppedCount(StreamAggregator::Family::kPackets), 91u);
  EXPECT_EQ(agg.SeriesCount(StreamAggregator::Family::kRssi), 10u);
  EXPECT_EQ(agg.DroppedCount(StreamAggregator::Family::kRssi), 91u);
  // Channel and data-rate families have one label set here: nothing folded.
  EXPECT_EQ(agg.DroppedCount(StreamAggregator::Family::kChannels), 0u);
  std::string t = Scrape(agg);
  EXPECT_TRUE(HasLine(t,
                      "mist_pcap_packets_total{site_id=\"other\",site=\"other\","
                      "ap_mac=\"other\",interface=\"other\",direction=\"other\"} 91"))
      << t;
  EXPECT_TRUE(HasLine(t, "mist_pcap_series_dropped_total{family=\"mist_pcap_packets_total\"} 91"));
}

TEST_F(StreamAggregatorTest, CumulativeLostMessagesAddIncreasesAndRestartsOnDecrease) {
  StreamAggregator agg({}, clock_);
  agg.AddSite(kSite, "HQ");
  for (int64_t v : {3, 5, 5, 2}) {
    Event e = Wireless(1, -50, 2412, 1, 1, 1);
    e.has_lost_messages = true;
    e.lost_messages = v;
    agg.Record(e);
  }
  Event other = Wireless(1, -50, 2412, 1, 1, 1);
  other.capture_id = "cap-2";
  other.has_lost_messages = true;
  other.lost_messages = 4;
  agg.Record(other);
  EXPECT_TRUE(HasLine(Scrape(agg), "mist_pcap_stream_lost_messages_total{site_id=\"" +
                                       std::string(kSite) + "\",site=\"HQ\"} 11"));
}

TEST_F(StreamAggregatorTest, PerMessageLostMessagesAddEveryValue) {
  AggregatorOptions opts;
  opts.lost_mode = config::LostMessagesMode::kPerMessage;
  StreamAggregator agg(opts, clock_);
  agg.AddSite(kSite, "HQ");
  for (int64_t v : {3, 5, 5, 2}) {
    Event e = Wireless(1, -50, 2412, 1, 1, 1);
    e.has_lost_messages = true;
    e.lost_messages = v;
    agg.Record(e);
  }
  EXPECT_TRUE(HasLine(Scrape(agg), "mist_pcap_stream_lost_messages_total{site_id=\"" +
                                       std::string(kSite) + "\",site=\"HQ\"} 15"));
}

TEST_F(StreamAggregatorTest, StaleLabelSetsAreRemovedAndFreshOnesKept) {
  AggregatorOptions opts;
  opts.stale_after = std::chrono::minutes(15);
  StreamAggregator agg(opts, clock_);
  agg.AddSite(kSite, "HQ");
  agg.Record(Wireless(1, -50, 2412, 1, 1, 1));
  clock_.Advance(std::chrono::minutes(10));
  agg.Tick();
  agg.Record(Wireless(2, -50, 2412, 1, 1, 1));
  clock_.Advance(std::chrono::minutes(6));
  agg.Tick();
  EXPECT_EQ(agg.ExpireStale(), 3u);  // AP 1's packets, frames and rssi label sets
  EXPECT_EQ(agg.SeriesCount(StreamAggregator::Family::kPackets), 1u);
  EXPECT_EQ(agg.InternedApCount(), 1u);
  std::string t = Scrape(agg);
  EXPECT_EQ(t.find("ap_mac=\"000000000001\""), std::string::npos);
  EXPECT_NE(t.find("ap_mac=\"000000000002\""), std::string::npos);
}

TEST_F(StreamAggregatorTest, UnknownChannelAndInvalidFramesCountAsDecodeErrors) {
  StreamAggregator agg({}, clock_);
  agg.AddSite(kSite, "HQ");
  Event e = Wireless(1, -50, 2412, 1, 1, 1);
  e.channel = "/sites/nope/pcaps";
  EXPECT_EQ(agg.Record(e), StreamAggregator::kNoSite);
  Event bad;
  bad.kind = EventKind::kInvalid;
  bad.error = decode::DecodeError::kInvalidJson;
  agg.Record(bad);
  agg.RecordDecodeError(decode::DecodeError::kBinaryFrame);
  std::string t = Scrape(agg);
  EXPECT_TRUE(HasLine(t, "mist_pcap_stream_decode_errors_total{reason=\"unknown_channel\"} 1"));
  EXPECT_TRUE(HasLine(t, "mist_pcap_stream_decode_errors_total{reason=\"invalid_json\"} 1"));
  EXPECT_TRUE(HasLine(t, "mist_pcap_stream_decode_errors_total{reason=\"binary_frame\"} 1"));
  EXPECT_EQ(agg.SeriesCount(StreamAggregator::Family::kPackets), 0u);
}

TEST_F(StreamAggregatorTest, SubscriptionAcksSetTheGaugeAndRemovingASiteDropsItsSeries) {
  StreamAggregator agg({}, clock_);
  agg.AddSite(kSite, "HQ");
  Event ack;
  ack.kind = EventKind::kSubscribed;
  ack.channel = kChannel;
  agg.Record(ack);
  agg.Record(Wireless(1, -50, 2412, 1, 1, 1));
  std::string site = "site_id=\"" + std::string(kSite) + "\",site=\"HQ\"";
  std::string t = Scrape(agg);
  EXPECT_TRUE(HasLine(t, "mist_pcap_stream_subscribed{" + site + "} 1"));
  EXPECT_TRUE(HasLine(t, "mist_pcap_stream_messages_total{" + site + ",event=\"subscribed\"} 1"));
  agg.RemoveSite(kSite);
  t = Scrape(agg);
  EXPECT_EQ(t.find(kSite), std::string::npos);
  EXPECT_EQ(agg.SeriesCount(StreamAggregator::Family::kPackets), 0u);
}

TEST_F(StreamAggregatorTest, IsSubscribedFollowsAcksUnsubscribesAndSiteRemoval) {
  StreamAggregator agg({}, clock_);
  agg.AddSite(kSite, "HQ");
  EXPECT_FALSE(agg.IsSubscribed(kSite));
  EXPECT_FALSE(agg.IsSubscribed("no-such-site"));
  Event ack;
  ack.kind = EventKind::kSubscribed;
  ack.channel = kChannel;
  agg.Record(ack);
  EXPECT_TRUE(agg.IsSubscribed(kSite));
  agg.SetSubscribed(kChannel, false);
  EXPECT_FALSE(agg.IsSubscribed(kSite));
  agg.Record(ack);
  agg.RemoveSite(kSite);
  EXPECT_FALSE(agg.IsSubscribed(kSite));
}

}  // namespace
}  // namespace mpe::metrics

namespace mpe::metrics {
namespace {

// Cardinality attack: 100k distinct AP MACs against a cap of 1,000 label sets per family.
TEST_F(StreamAggregatorTest, ASnapshotPrintsExactlyWhatAppendTextPrintsInPiecesOfTheAskedSize) {
  StreamAggregator agg({}, clock_);
  agg.AddSite(kSite, "hq");
  agg.SetSubscribed(kChannel, true);
  for (int i = 0; i < 3000; ++i) {
    agg.Record(Wireless(0x5c5b35000000ULL + i % 700, -40 - i % 50, i % 3 ? 5180 : 2437,
                        i % 3 ? 36 : 6, 54, 100 + i));
    agg.Record(Wired(0x5c5b35100000ULL + i % 300, i % 2 ? "TCP" : "UDP", i % 40, 60));
  }
  std::string whole;
  agg.AppendText(&whole);
  ASSERT_GT(whole.size(), 100000u);

  auto snapshot = agg.TakeSnapshot();
  // Updates after the snapshot do not show in it.
  agg.Record(Wired(0x5c5b35200000ULL, "ICMP", 7, 60));

  std::string unpieced;
  StreamAggregator::RenderText(*snapshot, &unpieced, 0, nullptr);
  EXPECT_TRUE(unpieced == whole) << unpieced.size() << " vs " << whole.size();

  constexpr size_t kPiece = 8192;
  std::vector<std::string> pieces;
  std::string out;
  StreamAggregator::RenderText(*snapshot, &out, kPiece, [&pieces](std::string* text) {
    pieces.push_back(*text);
    text->clear();
  });
  pieces.push_back(out);  // the rest
  std::string joined;
  for (size_t i = 0; i < pieces.size(); ++i) {
    joined += pieces[i];
    if (i + 1 < pieces.size()) {
      // Cut after a whole series (a histogram's lines stay together), once the piece reached
      // the asked size.
      EXPECT_GE(pieces[i].size(), kPiece) << i;
      EXPECT_LT(pieces[i].size(), kPiece + 2048) << i;
      EXPECT_EQ(pieces[i].back(), '\n') << i;
    }
  }
  EXPECT_GT(pieces.size(), whole.size() / kPiece / 2);
  EXPECT_TRUE(joined == whole);
  EXPECT_EQ(whole.find("protocol=\"ICMP\""), std::string::npos);
  std::string now;
  agg.AppendText(&now);
  EXPECT_NE(now.find("protocol=\"ICMP\""), std::string::npos);
}

TEST(StreamAggregatorCardinalityTest, HundredThousandRandomMacsStayUnderTheCapWithExactDrops) {
  common::ManualClock clock;
  AggregatorOptions opts;
  opts.max_series_per_family = 1000;
  StreamAggregator agg(opts, clock);
  agg.AddSite(kSite, "HQ");
  uint64_t x = 0x9e3779b97f4a7c15ULL;
  std::set<uint64_t> macs;
  while (macs.size() < 100000) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    macs.insert(x & 0xffffffffffffULL);
  }
  for (uint64_t mac : macs) agg.Record(Wireless(mac, -50, 5180, 36, 54, 100));
  for (auto f : {StreamAggregator::Family::kPackets, StreamAggregator::Family::kFrames,
                 StreamAggregator::Family::kRssi}) {
    EXPECT_EQ(agg.SeriesCount(f), 1000u);
    // 999 real label sets; every later update is folded into the overflow set.
    EXPECT_EQ(agg.DroppedCount(f), 100000u - 999u);
  }
  EXPECT_EQ(agg.SeriesCount(StreamAggregator::Family::kChannels), 1u);
  EXPECT_EQ(agg.DroppedCount(StreamAggregator::Family::kChannels), 0u);
  // The AP intern table is bounded too (4 x cap + reserved ids), so memory stays bounded.
  EXPECT_LE(agg.InternedApCount(), 4u * 1000u);
  std::string text = "\n";
  agg.AppendText(&text);
  EXPECT_NE(
      text.find("\nmist_pcap_series_dropped_total{family=\"mist_pcap_packets_total\"} 99001\n"),
      std::string::npos);
  // Nothing lost: the sum over the family equals what arrived.
  EXPECT_NE(text.find("mist_pcap_packets_total{site_id=\"other\",site=\"other\",ap_mac=\"other\","
                      "interface=\"other\",direction=\"other\"} 99001\n"),
            std::string::npos);
}

}  // namespace
}  // namespace mpe::metrics
