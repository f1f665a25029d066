#include "decode/pcap_enricher.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "fakes/capture_test_util.h"

namespace mpe::decode {
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

  Event MakeEvent(uint32_t linktype, const std::string& packet, Interface iface) {
    raw_ = fakes::Base64(fakes::OnePacketPcap(linktype, packet));
    Event e;
    e.kind = EventKind::kData;
    e.packet.interface = iface;
    e.packet.pcap_raw = raw_;
    return e;
  }
  // Enrich, tallying the mismatches it reports per field.
  const RawPacketInfo* Enrich(PcapEnricher& enricher, Event* e, bool* radiotap = nullptr) {
    uint8_t bits = 0;
    const RawPacketInfo* raw = enricher.Enrich(e, radiotap, &bits);
    for (int f = 0; f < static_cast<int>(MismatchField::kCount); ++f) {
      if (bits & MismatchBit(static_cast<MismatchField>(f))) {
        tally_[MismatchFieldName(static_cast<MismatchField>(f))] += 1;
      }
    }
    return raw;
  }
  double Mismatches(const char* field) { return tally_[field]; }

  std::map<std::string, double> tally_;
  PcapEnricher enricher_;
  std::string raw_;
};

TEST_F(PcapEnricherTest, FillsMissingWirelessFieldsFromRadiotap) {
  // Mist's sample says linktype 1 for radiotap: the interface decides.
  Event e = MakeEvent(1, RadiotapBeacon(), Interface::kRadiotap);
  bool radiotap = false;
  ASSERT_NE(Enrich(enricher_, &e, &radiotap), nullptr);
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
  Event e = MakeEvent(127, RadiotapBeacon(), Interface::kRadiotap);
  e.packet.has_frequency = true;
  e.packet.channel_frequency = 5180;
  e.packet.has_rssi = true;
  e.packet.rssi = -57;  // agrees
  e.packet.frame_type = "Management";
  e.packet.frame_subtype = "Probe Response";
  Enrich(enricher_, &e);
  EXPECT_EQ(e.packet.channel_frequency, 5180);
  EXPECT_EQ(e.packet.frame_subtype, "Probe Response");
  EXPECT_EQ(Mismatches("frequency"), 1);
  EXPECT_EQ(Mismatches("rssi"), 0);
  EXPECT_EQ(Mismatches("frame_type"), 0);
  EXPECT_EQ(Mismatches("frame_subtype"), 1);
}

TEST_F(PcapEnricherTest, FillsAndChecksVlanAndProtoOfWiredPackets) {
  Event e = MakeEvent(1, EthernetVlanUdp(), Interface::kWired);
  Enrich(enricher_, &e);
  EXPECT_TRUE(e.packet.has_vlan);
  EXPECT_EQ(e.packet.vlan, 20);
  EXPECT_EQ(e.packet.proto, "UDP");

  Event other = MakeEvent(1, EthernetVlanUdp(), Interface::kWired);
  other.packet.has_vlan = true;
  other.packet.vlan = 30;
  other.packet.proto = "TCP";
  Enrich(enricher_, &other);
  EXPECT_EQ(other.packet.vlan, 30);
  EXPECT_EQ(Mismatches("vlan"), 1);
  EXPECT_EQ(Mismatches("proto"), 1);
}

TEST_F(PcapEnricherTest, DecodesCompletePacketsOnlyAsASampleByDefault) {
  PcapEnricher sampled;
  int decoded = 0;
  for (uint32_t i = 0; i < 4 * PcapEnricher::kSampleEvery; ++i) {
    Event e = MakeEvent(1, EthernetVlanUdp(), Interface::kWired);
    e.packet.proto = "TCP";  // complete (vlan is optional) and wrong
    decoded += Enrich(sampled, &e) != nullptr ? 1 : 0;
  }
  EXPECT_EQ(decoded, 4);
  EXPECT_EQ(Mismatches("proto"), 4);
  Event incomplete = MakeEvent(1, EthernetVlanUdp(), Interface::kWired);
  EXPECT_NE(Enrich(sampled, &incomplete), nullptr);  // no proto: always decoded
  EXPECT_EQ(incomplete.packet.proto, "UDP");
}

TEST_F(PcapEnricherTest, IgnoresEventsWithoutOrWithBadPcapRaw) {
  Event none;
  none.kind = EventKind::kData;
  EXPECT_EQ(Enrich(enricher_, &none), nullptr);
  Event bad;
  bad.kind = EventKind::kData;
  bad.packet.pcap_raw = "%%%";
  EXPECT_EQ(Enrich(enricher_, &bad), nullptr);
  EXPECT_EQ(enricher_.bad_pcap_raw(), 1u);
  EXPECT_FALSE(bad.packet.has_frequency);
}

TEST_F(PcapEnricherTest, ReadHandsOnTheRecordTheMismatchesAndTheClientFacts) {
  Event e = MakeEvent(127, RadiotapBeacon(), Interface::kRadiotap);
  e.packet.has_frequency = true;
  e.packet.channel_frequency = 5180;  // the bytes say 2437
  const PcapView view = enricher_.Read(&e);
  ASSERT_NE(view.record, nullptr);
  EXPECT_TRUE(view.radiotap);
  EXPECT_FALSE(view.bad_pcap_raw);
  EXPECT_EQ(view.mismatches, MismatchBit(MismatchField::kFrequency));
  ASSERT_NE(view.facts, nullptr);
  EXPECT_TRUE(view.facts->radiotap);
  EXPECT_TRUE(view.facts->has_fc);
  EXPECT_EQ(view.facts->caplen, RadiotapBeacon().size());

  // Not picked for a whole decode (complete pcap_dict, sampled): the facts still come, from
  // the header bytes alone, and equal the ones read from the whole record.
  PcapEnricher sampled;
  Event complete = MakeEvent(127, RadiotapBeacon(), Interface::kRadiotap);
  complete.packet.has_frequency = complete.packet.has_rssi = complete.packet.has_datarate = true;
  complete.packet.frame_type = "Management";
  complete.packet.frame_subtype = "Beacon";
  const PcapView lazy = sampled.Read(&complete);
  EXPECT_EQ(lazy.record, nullptr);
  ASSERT_NE(lazy.facts, nullptr);
  EXPECT_EQ(lazy.facts->caplen, view.facts->caplen);
  EXPECT_EQ(lazy.facts->has_fc, view.facts->has_fc);
  EXPECT_EQ(lazy.facts->truncated_layer, view.facts->truncated_layer);
}

TEST_F(PcapEnricherTest, ReadOfABadOrMissingPcapRawGivesNoFacts) {
  Event bad;
  bad.kind = EventKind::kData;
  bad.packet.pcap_raw = "%%%";
  const PcapView view = enricher_.Read(&bad);
  EXPECT_EQ(view.record, nullptr);
  EXPECT_TRUE(view.bad_pcap_raw);
  EXPECT_EQ(view.facts, nullptr);
  Event end;
  end.kind = EventKind::kCaptureEnd;
  const PcapView none = enricher_.Read(&end);
  EXPECT_EQ(none.record, nullptr);
  EXPECT_FALSE(none.bad_pcap_raw);
  EXPECT_EQ(none.facts, nullptr);
}

}  // namespace
}  // namespace mpe::decode
