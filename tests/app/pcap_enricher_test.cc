#include "app/pcap_enricher.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <string>

#include "fakes/capture_test_util.h"

namespace mpe::app {
namespace {

// Radiotap (Rate 11 Mbps, Channel 2437, signal -57) + 802.11 beacon header.
std::string RadiotapBeacon() {
  std::string p("\x00\x00\x0e\x00\x2c\x00\x00\x00", 8);  // present: Rate, Channel, signal
  p += std::string("\x16\x00\x85\x09\xa0\x00", 6);       // rate 22*0.5, pad, 2437, flags
  p += static_cast<char>(-57);
  p[2] = static_cast<char>(p.size());
  p += std::string("\x80\x00\x00\x00", 4);
  p += std::string(6, '\xff') + std::string("\x5c\x5b\x35\x0e\x00\x01", 6) +
       std::string("\x5c\x5b\x35\x0e\x00\x01", 6) + std::string("\x10\x00", 2);
  return p;
}

// Ethernet, 802.1Q vlan 20, IPv4 UDP 53 -> 40000.
std::string EthernetVlanUdp() {
  std::string p(6, '\x01');
  p += std::string(6, '\x02');
  p += std::string("\x81\x00\x00\x14\x08\x00", 6);
  p += std::string("\x45\x00\x00\x1c\x00\x01\x00\x00\x40\x11\x00\x00", 12);
  p += std::string("\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
  p += std::string("\x00\x35\x9c\x40\x00\x08\x00\x00", 8);
  return p;
}

class PcapEnricherTest : public ::testing::Test {
 protected:
  PcapEnricherTest() { enricher_.set_decode_every_packet(true); }

  decode::Event Event(uint32_t linktype, const std::string& packet, decode::Interface iface) {
    raw_ = fakes::Base64(fakes::OnePacketPcap(linktype, packet));
    decode::Event e;
    e.kind = decode::EventKind::kData;
    e.packet.interface = iface;
    e.packet.pcap_raw = raw_;
    return e;
  }
  double Mismatches(const char* field) {
    return fakes::MetricValue(registry_, "mist_pcap_decode_mismatch_total", {{"field", field}})
        .value_or(-1);
  }

  prometheus::Registry registry_;
  DecodeMismatchMetrics metrics_{registry_};
  PcapEnricher enricher_{&metrics_};
  std::string raw_;
};

TEST_F(PcapEnricherTest, FillsMissingWirelessFieldsFromRadiotap) {
  // Mist's sample says linktype 1 for radiotap: the interface decides.
  decode::Event e = Event(1, RadiotapBeacon(), decode::Interface::kRadiotap);
  bool radiotap = false;
  ASSERT_NE(enricher_.Enrich(&e, &radiotap), nullptr);
  EXPECT_TRUE(radiotap);
  EXPECT_TRUE(e.packet.has_frequency);
  EXPECT_EQ(e.packet.channel_frequency, 2437);
  EXPECT_TRUE(e.packet.has_rssi);
  EXPECT_EQ(e.packet.rssi, -57);
  EXPECT_TRUE(e.packet.has_datarate);
  EXPECT_DOUBLE_EQ(e.packet.datarate_mbps, 11.0);
  EXPECT_EQ(e.packet.frame_type, "Management");
  EXPECT_EQ(e.packet.frame_subtype, "Beacon");
  EXPECT_EQ(enricher_.mismatches(), 0u);
}

TEST_F(PcapEnricherTest, KeepsMistValuesAndCountsDisagreements) {
  decode::Event e = Event(127, RadiotapBeacon(), decode::Interface::kRadiotap);
  e.packet.has_frequency = true;
  e.packet.channel_frequency = 5180;
  e.packet.has_rssi = true;
  e.packet.rssi = -57;  // agrees
  e.packet.frame_type = "Management";
  e.packet.frame_subtype = "Probe Response";
  enricher_.Enrich(&e);
  EXPECT_EQ(e.packet.channel_frequency, 5180);
  EXPECT_EQ(e.packet.frame_subtype, "Probe Response");
  EXPECT_EQ(Mismatches("frequency"), 1);
  EXPECT_EQ(Mismatches("rssi"), 0);
  EXPECT_EQ(Mismatches("frame_type"), 0);
  EXPECT_EQ(Mismatches("frame_subtype"), 1);
}

TEST_F(PcapEnricherTest, FillsAndChecksVlanAndProtoOfWiredPackets) {
  decode::Event e = Event(1, EthernetVlanUdp(), decode::Interface::kWired);
  enricher_.Enrich(&e);
  EXPECT_TRUE(e.packet.has_vlan);
  EXPECT_EQ(e.packet.vlan, 20);
  EXPECT_EQ(e.packet.proto, "UDP");

  decode::Event other = Event(1, EthernetVlanUdp(), decode::Interface::kWired);
  other.packet.has_vlan = true;
  other.packet.vlan = 30;
  other.packet.proto = "TCP";
  enricher_.Enrich(&other);
  EXPECT_EQ(other.packet.vlan, 30);
  EXPECT_EQ(Mismatches("vlan"), 1);
  EXPECT_EQ(Mismatches("proto"), 1);
}

TEST_F(PcapEnricherTest, DecodesCompletePacketsOnlyAsASampleByDefault) {
  PcapEnricher sampled(&metrics_);
  int decoded = 0;
  for (uint32_t i = 0; i < 4 * PcapEnricher::kSampleEvery; ++i) {
    decode::Event e = Event(1, EthernetVlanUdp(), decode::Interface::kWired);
    e.packet.proto = "TCP";  // complete (vlan is optional) and wrong
    decoded += sampled.Enrich(&e) != nullptr ? 1 : 0;
  }
  EXPECT_EQ(decoded, 4);
  EXPECT_EQ(Mismatches("proto"), 4);
  decode::Event incomplete = Event(1, EthernetVlanUdp(), decode::Interface::kWired);
  EXPECT_NE(sampled.Enrich(&incomplete), nullptr);  // no proto: always decoded
  EXPECT_EQ(incomplete.packet.proto, "UDP");
}

TEST_F(PcapEnricherTest, IgnoresEventsWithoutOrWithBadPcapRaw) {
  decode::Event none;
  none.kind = decode::EventKind::kData;
  EXPECT_EQ(enricher_.Enrich(&none), nullptr);
  decode::Event bad;
  bad.kind = decode::EventKind::kData;
  bad.packet.pcap_raw = "%%%";
  EXPECT_EQ(enricher_.Enrich(&bad), nullptr);
  EXPECT_EQ(enricher_.bad_pcap_raw(), 1u);
  EXPECT_FALSE(bad.packet.has_frequency);
}

}  // namespace
}  // namespace mpe::app
