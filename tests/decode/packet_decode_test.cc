#include "decode/packet_decode.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <vector>

namespace mpe::decode {
namespace {

// Little helper to write packets byte by byte.
struct Bytes {
  std::vector<uint8_t> v;
  Bytes& U8(uint8_t x) {
    v.push_back(x);
    return *this;
  }
  Bytes& Le16(uint16_t x) { return U8(x & 0xff).U8(x >> 8); }
  Bytes& Le32(uint32_t x) { return Le16(x & 0xffff).Le16(x >> 16); }
  Bytes& Be16(uint16_t x) { return U8(x >> 8).U8(x & 0xff); }
  Bytes& Mac(uint64_t m) {
    for (int i = 5; i >= 0; --i) U8(static_cast<uint8_t>(m >> (8 * i)));
    return *this;
  }
  Bytes& Zeros(size_t n) {
    v.insert(v.end(), n, 0);
    return *this;
  }
  Bytes& Raw(std::initializer_list<uint8_t> bytes) {
    v.insert(v.end(), bytes);
    return *this;
  }
  Bytes& Append(const Bytes& o) {
    v.insert(v.end(), o.v.begin(), o.v.end());
    return *this;
  }
  void SetLe16(size_t at, uint16_t x) {
    v[at] = x & 0xff;
    v[at + 1] = x >> 8;
  }
};

constexpr uint64_t kAp = 0x5c5b350e0001, kClient = 0xd420b081992e, kBroadcast = 0xffffffffffff;

Bytes Beacon() {
  Bytes b;
  b.Raw({0x80, 0x00}).Le16(0).Mac(kBroadcast).Mac(kAp).Mac(kAp).Le16(0x1230);
  return b;
}

Bytes QosData(bool four_addresses) {
  Bytes b;
  b.Raw({0x88, static_cast<uint8_t>(four_addresses ? 0x0b : 0x09)}).Le16(44);
  b.Mac(kAp).Mac(kClient).Mac(0x0a0b0c0d0e0f).Le16(0x0010);
  if (four_addresses) b.Mac(0x112233445566);
  b.Le16(0x0005);  // QoS control
  return b;
}

Bytes Ack() {
  Bytes b;
  b.Raw({0xd4, 0x00}).Le16(0).Mac(kClient);
  return b;
}

// Radiotap with two extra radiotap-namespace bitmaps (per-antenna signal), TSFT at an
// 8-aligned offset, and Channel after Flags+Rate.
Bytes RadiotapExtended() {
  Bytes b;
  b.U8(0).U8(0).Le16(0);
  b.Le32((1u << 0) | (1u << 1) | (1u << 2) | (1u << 3) | (1u << 5) | (1u << 6) | (1u << 29) |
         (1u << 31));
  b.Le32((1u << 5) | (1u << 11) | (1u << 29) | (1u << 31));
  b.Le32((1u << 5) | (1u << 11));
  // data at 16: TSFT (8-aligned already)
  b.Le32(0x11223344).Le32(0x55667788);
  b.U8(0x10);                 // Flags: FCS at end
  b.U8(12);                   // Rate: 6 Mbps
  b.Le16(5180).Le16(0x0140);  // Channel
  b.U8(static_cast<uint8_t>(-42)).U8(static_cast<uint8_t>(-95));
  b.U8(static_cast<uint8_t>(-44)).U8(0);  // antenna 0
  b.U8(static_cast<uint8_t>(-47)).U8(1);  // antenna 1
  b.SetLe16(2, static_cast<uint16_t>(b.v.size()));
  return b;
}

// Radiotap whose fields need alignment padding: Flags, Rate, Channel, signal, MCS (3 bytes),
// A-MPDU (4-aligned: 2 pad bytes), VHT, timestamp, HE, HE-MU, 0-length PSDU and L-SIG
// (2-aligned: 1 pad byte).
Bytes RadiotapPadded() {
  Bytes b;
  b.U8(0).U8(0).Le16(0);
  b.Le32((1u << 1) | (1u << 2) | (1u << 3) | (1u << 5) | (1u << 19) | (1u << 20) | (1u << 21) |
         (1u << 22) | (1u << 23) | (1u << 24) | (1u << 26) | (1u << 27));
  b.U8(0x00).U8(2).Le16(2437).Le16(0x00a0).U8(static_cast<uint8_t>(-61));  // 8..15
  b.Raw({0x07, 0x00, 0x05});                                               // MCS 15..18
  b.Zeros(2);                                                              // pad to 20
  b.Le32(7).Le16(0).U8(0).U8(0);                                           // A-MPDU 20..28
  b.Zeros(12);  // VHT 28..40 (40 is already 8-aligned)
  b.Zeros(12);  // timestamp 40..52
  b.Zeros(12);  // HE 52..64
  b.Zeros(12);  // HE-MU 64..76
  b.U8(0);      // 0-length PSDU 76..77
  b.U8(0);      // pad to 78
  b.Zeros(4);   // L-SIG 78..82
  b.SetLe16(2, static_cast<uint16_t>(b.v.size()));
  return b;
}

PacketInfo Decode(const Bytes& b, bool radiotap) { return DecodePacket(b.v, radiotap); }

TEST(PacketDecodeTest, WalksExtendedRadiotapBitmapsAndReadsTheFirstNamespace) {
  Bytes p = RadiotapExtended();
  const size_t rt_len = p.v.size();
  p.Append(QosData(false)).Le32(0xdeadbeef);  // FCS
  PacketInfo info = Decode(p, true);
  EXPECT_FALSE(info.truncated);
  EXPECT_EQ(info.radiotap_len, rt_len);
  EXPECT_EQ(info.tsft, 0x5566778811223344ULL);
  EXPECT_TRUE(info.fcs_at_end);
  EXPECT_DOUBLE_EQ(info.rate_mbps, 6.0);
  EXPECT_EQ(info.channel_frequency, 5180);
  EXPECT_EQ(info.channel_flags, 0x0140);
  EXPECT_EQ(info.signal_dbm, -42);
  EXPECT_EQ(info.noise_dbm, -95);
  EXPECT_EQ(info.frame_type, "Data");
  EXPECT_EQ(info.frame_subtype, "QoS Data");
  EXPECT_TRUE(info.to_ds);
  EXPECT_FALSE(info.from_ds);
  EXPECT_TRUE(info.retry);
  ASSERT_EQ(info.address_count, 3);
  EXPECT_EQ(info.addresses[0], kAp);
  EXPECT_EQ(info.addresses[1], kClient);
  EXPECT_EQ(info.addresses[2], 0x0a0b0c0d0e0fULL);
}

TEST(PacketDecodeTest, HonoursFieldAlignmentUpToTimestamp) {
  Bytes p = RadiotapPadded();
  EXPECT_EQ(p.v.size(), 82u);
  p.Append(Beacon());
  PacketInfo info = Decode(p, true);
  EXPECT_FALSE(info.truncated);
  EXPECT_DOUBLE_EQ(info.rate_mbps, 1.0);
  EXPECT_EQ(info.channel_frequency, 2437);
  EXPECT_EQ(info.signal_dbm, -61);
  EXPECT_EQ(info.frame_type, "Management");
  EXPECT_EQ(info.frame_subtype, "Beacon");
  EXPECT_EQ(info.addresses[0], kBroadcast);
  EXPECT_EQ(info.addresses[2], kAp);
}

TEST(PacketDecodeTest, StopsAtUnknownFieldsButStillFindsThe80211HeaderAtItLen) {
  Bytes p;
  p.U8(0).U8(0).Le16(0);
  p.Le32((1u << 5) | (1u << 28));  // signal, then TLVs we do not walk
  p.U8(static_cast<uint8_t>(-50)).Zeros(7);
  p.SetLe16(2, static_cast<uint16_t>(p.v.size()));
  p.Append(Ack());
  PacketInfo info = Decode(p, true);
  EXPECT_FALSE(info.truncated);
  EXPECT_EQ(info.signal_dbm, -50);
  EXPECT_EQ(info.frame_subtype, "ACK");
  EXPECT_EQ(info.address_count, 1);
  EXPECT_EQ(info.addresses[0], kClient);
}

TEST(PacketDecodeTest, SkipsVendorNamespaceData) {
  Bytes p;
  p.U8(0).U8(0).Le16(0);
  p.Le32((1u << 5) | (1u << 30) | (1u << 31));
  p.Le32(1u << 0);                          // vendor bitmap
  p.U8(static_cast<uint8_t>(-33));          // signal at 12
  p.U8(0);                                  // pad to 14
  p.Raw({0x00, 0x11, 0x22, 0x01}).Le16(3);  // vendor header: OUI, sub-namespace, skip 3
  p.Raw({0xaa, 0xbb, 0xcc});
  p.SetLe16(2, static_cast<uint16_t>(p.v.size()));
  p.Append(Beacon());
  PacketInfo info = Decode(p, true);
  EXPECT_FALSE(info.truncated);
  EXPECT_EQ(info.signal_dbm, -33);
  EXPECT_EQ(info.frame_subtype, "Beacon");
}

TEST(PacketDecodeTest, ReadsFourAddressesWhenToAndFromDsAreSet) {
  Bytes p = RadiotapPadded();
  p.Append(QosData(true));
  PacketInfo info = Decode(p, true);
  EXPECT_FALSE(info.truncated);
  ASSERT_EQ(info.address_count, 4);
  EXPECT_EQ(info.addresses[3], 0x112233445566ULL);
}

Bytes EthernetVlanIpv4Tcp() {
  Bytes b;
  b.Mac(kAp).Mac(kClient).Be16(0x8100).Be16(0x2000 | 10).Be16(0x0800);
  b.Raw({0x45, 0x00}).Be16(40).Be16(1).Be16(0x4000).Raw({64, 6}).Be16(0);
  b.Raw({10, 0, 0, 1, 10, 0, 0, 2});
  b.Be16(443).Be16(51000).Zeros(8).Raw({0x50, 0x18}).Zeros(6);
  return b;
}

Bytes EthernetQinQIpv4Udp() {
  Bytes b;
  b.Mac(kAp).Mac(kClient).Be16(0x88a8).Be16(100).Be16(0x8100).Be16(200).Be16(0x0800);
  b.Raw({0x45, 0x00}).Be16(28).Be16(1).Be16(0).Raw({64, 17}).Be16(0);
  b.Raw({192, 168, 1, 1, 192, 168, 1, 2});
  b.Be16(53).Be16(40000).Be16(8).Be16(0);
  return b;
}

Bytes EthernetIpv6HopByHopUdp() {
  Bytes b;
  b.Mac(kAp).Mac(kClient).Be16(0x86dd);
  b.Raw({0x60, 0, 0, 0}).Be16(16).U8(0).U8(64);
  b.Raw({0x20, 0x01, 0x0d, 0xb8}).Zeros(11).U8(1);
  b.Raw({0x20, 0x01, 0x0d, 0xb8}).Zeros(11).U8(2);
  b.U8(17).U8(0).Zeros(6);  // hop-by-hop, 8 bytes, next UDP
  b.Be16(546).Be16(547).Be16(8).Be16(0);
  return b;
}

Bytes EthernetIpv6Icmpv6() {
  Bytes b;
  b.Mac(kAp).Mac(kClient).Be16(0x86dd);
  b.Raw({0x60, 0, 0, 0}).Be16(8).U8(58).U8(255);
  b.Zeros(32);
  b.U8(135).U8(0).Be16(0);  // ICMPv6 header (type, code, checksum)
  return b;
}

Bytes EthernetArp() {
  Bytes b;
  b.Mac(kBroadcast).Mac(kClient).Be16(0x0806);
  b.Be16(1).Be16(0x0800).U8(6).U8(4).Be16(1);
  b.Mac(kClient).Raw({10, 0, 0, 7}).Mac(0).Raw({10, 0, 0, 1});
  return b;
}

TEST(PacketDecodeTest, DecodesEthernetVlanIpv4Tcp) {
  PacketInfo info = Decode(EthernetVlanIpv4Tcp(), false);
  EXPECT_FALSE(info.truncated);
  EXPECT_EQ(info.eth_dst, kAp);
  EXPECT_EQ(info.eth_src, kClient);
  ASSERT_EQ(info.vlan_count, 1);
  EXPECT_EQ(info.vlan_ids[0], 10);
  EXPECT_EQ(info.ethertype, 0x0800);
  EXPECT_EQ(info.ip_version, 4);
  EXPECT_EQ(info.proto, "TCP");
  EXPECT_EQ(info.src_ip[3], 1);
  EXPECT_EQ(info.dst_ip[3], 2);
  EXPECT_EQ(info.src_port, 443);
  EXPECT_EQ(info.dst_port, 51000);
}

TEST(PacketDecodeTest, DecodesBothTagsOfQinQ) {
  PacketInfo info = Decode(EthernetQinQIpv4Udp(), false);
  EXPECT_FALSE(info.truncated);
  ASSERT_EQ(info.vlan_count, 2);
  EXPECT_EQ(info.vlan_ids[0], 100);
  EXPECT_EQ(info.vlan_ids[1], 200);
  EXPECT_EQ(info.proto, "UDP");
  EXPECT_EQ(info.src_port, 53);
  EXPECT_EQ(info.dst_port, 40000);
}

TEST(PacketDecodeTest, SkipsIpv6ExtensionHeadersToReachUdp) {
  PacketInfo info = Decode(EthernetIpv6HopByHopUdp(), false);
  EXPECT_FALSE(info.truncated);
  EXPECT_EQ(info.ip_version, 6);
  EXPECT_EQ(info.ip_proto, 17);
  EXPECT_EQ(info.proto, "UDP");
  EXPECT_EQ(info.src_ip[15], 1);
  EXPECT_EQ(info.dst_ip[15], 2);
  EXPECT_EQ(info.src_port, 546);
  EXPECT_EQ(info.dst_port, 547);
}

TEST(PacketDecodeTest, DecodesIcmpv6AndArp) {
  PacketInfo icmp = Decode(EthernetIpv6Icmpv6(), false);
  EXPECT_FALSE(icmp.truncated);
  EXPECT_EQ(icmp.proto, "ICMPv6");
  EXPECT_EQ(icmp.icmp_type, 135);
  PacketInfo arp = Decode(EthernetArp(), false);
  EXPECT_FALSE(arp.truncated);
  EXPECT_EQ(arp.proto, "ARP");
  EXPECT_EQ(arp.arp_opcode, 1);
  EXPECT_EQ(arp.src_ip[3], 7);
  EXPECT_EQ(arp.dst_ip[3], 1);
}

TEST(PacketDecodeTest, PicksRadiotapForLinktype1WhenTheBytesLookLikeIt) {
  Bytes p = RadiotapPadded();
  p.Append(Beacon());
  RawPacketInfo raw;
  raw.linktype = kLinktypeEthernet;
  raw.packet = p.v;
  PacketInfo info = DecodePacket(raw);
  EXPECT_TRUE(info.radiotap_layout);
  EXPECT_EQ(info.frame_subtype, "Beacon");
}

TEST(PacketDecodeTest, NamesTypesAndSubtypesLikeMist) {
  EXPECT_EQ(Dot11SubtypeName(0, 4), "Probe Request");
  EXPECT_EQ(Dot11SubtypeName(0, 5), "Probe Response");
  EXPECT_EQ(Dot11SubtypeName(1, 9), "Block Ack");
  EXPECT_EQ(Dot11SubtypeName(1, 11), "RTS");
  EXPECT_EQ(Dot11SubtypeName(2, 12), "QoS Null");
  EXPECT_EQ(Dot11SubtypeName(2, 4), "Null");
  EXPECT_EQ(Dot11TypeName(1), "Control");
}

// Every prefix of every packet decodes without reading past its end (the copy is exactly
// `len` bytes, so AddressSanitizer builds catch any overread) and reports truncation.
TEST(PacketDecodeTest, EveryTruncationIsReportedAndStaysInsideTheBuffer) {
  struct Case {
    const char* name;
    Bytes bytes;
    bool radiotap;
  };
  std::vector<Case> cases;
  {
    Bytes p = RadiotapExtended();
    p.Append(QosData(false)).Le32(0);
    cases.push_back({"radiotap-ext+qos-data", p, true});
  }
  {
    Bytes p = RadiotapPadded();
    p.Append(Beacon());
    cases.push_back({"radiotap-padded+beacon", p, true});
  }
  {
    Bytes p = RadiotapPadded();
    p.Append(Ack());
    cases.push_back({"radiotap-padded+ack", p, true});
  }
  {
    Bytes p = RadiotapPadded();
    p.Append(QosData(true));
    cases.push_back({"radiotap+4addr", p, true});
  }
  cases.push_back({"vlan-ipv4-tcp", EthernetVlanIpv4Tcp(), false});
  cases.push_back({"qinq-udp", EthernetQinQIpv4Udp(), false});
  cases.push_back({"ipv6-hbh-udp", EthernetIpv6HopByHopUdp(), false});
  cases.push_back({"ipv6-icmpv6", EthernetIpv6Icmpv6(), false});
  cases.push_back({"arp", EthernetArp(), false});
  for (const auto& c : cases) {
    ASSERT_FALSE(Decode(c.bytes, c.radiotap).truncated) << c.name;
    for (size_t len = 0; len < c.bytes.v.size(); ++len) {
      std::vector<uint8_t> prefix(c.bytes.v.begin(), c.bytes.v.begin() + len);
      PacketInfo info = DecodePacket(std::span<const uint8_t>(prefix.data(), len), c.radiotap);
      EXPECT_TRUE(info.truncated) << c.name << " cut at " << len;
    }
  }
}

// Random mutations of valid packets (and random lengths) stay inside the buffer; run under
// AddressSanitizer this is a small deterministic fuzz of the header walks.
TEST(PacketDecodeTest, MutatedPacketsNeverReadOutsideTheBuffer) {
  Bytes radiotap = RadiotapExtended();
  radiotap.Append(QosData(true));
  const std::vector<std::pair<Bytes, bool>> seeds = {{radiotap, true},
                                                     {EthernetQinQIpv4Udp(), false},
                                                     {EthernetIpv6HopByHopUdp(), false},
                                                     {EthernetArp(), false}};
  uint64_t x = 88172645463325252ULL;
  auto next = [&] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  size_t decoded = 0;
  for (int round = 0; round < 20000; ++round) {
    const auto& [seed, is_radiotap] = seeds[round % seeds.size()];
    std::vector<uint8_t> bytes = seed.v;
    for (int m = 0; m < 4; ++m) bytes[next() % bytes.size()] = static_cast<uint8_t>(next());
    bytes.resize(next() % (bytes.size() + 1));
    PacketInfo info =
        DecodePacket(std::span<const uint8_t>(bytes.data(), bytes.size()), is_radiotap);
    decoded += info.truncated ? 0 : 1;
  }
  EXPECT_GT(decoded, 0u);
}

}  // namespace
}  // namespace mpe::decode
