// Cross-checks the native packet decoder (decode/packet_decode) against tshark on simulator
// packets of every 802.11 frame kind and every wired protocol (the simulator's generator makes
// them; tshark, not our code, is the reference).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "decode/packet_decode.h"
#include "fakes/capture_test_util.h"
#include "sim/packet_gen.h"

namespace mpe::decode {
namespace {

struct Generated {
  std::vector<std::string> packets;  // captured bytes
  std::set<int> kinds;               // FrameKind or WiredProto seen
  bool any_vlan = false, any_untagged = false;
};

Generated Generate(bool wired, int count) {
  sim::StreamTarget t;
  t.channel = "/sites/x/pcaps";
  t.capture_id = "c";
  t.wireless = !wired;
  t.wired = wired;
  for (uint64_t mac : {0x5c5b350e0001ULL, 0x5c5b350e0002ULL, 0x5c5b350e0003ULL})
    t.aps.push_back(sim::MakeApRadio(mac));
  t.max_pkt_len = 512;
  t.settings.vlans = {0, 1, 10, 20};
  sim::PacketGenerator gen(42);
  Generated g;
  std::string pcap;
  for (int i = 0; i < count; ++i) {
    sim::Packet p = gen.NextPacket(t, 1700000000.0 + i * 0.001);
    sim::BuildPcap(p, t.max_pkt_len, &pcap);
    g.packets.push_back(pcap.substr(kPcapGlobalHeaderBytes + kPcapRecordHeaderBytes));
    g.kinds.insert(wired ? static_cast<int>(p.proto) : static_cast<int>(p.frame));
    (p.vlan > 0 ? g.any_vlan : g.any_untagged) = true;
  }
  return g;
}

std::string WritePcap(const fakes::TempDir& dir, const char* name, uint32_t linktype,
                      const std::vector<std::string>& packets) {
  std::string data = fakes::OnePacketPcap(linktype, "");
  data.resize(kPcapGlobalHeaderBytes);
  for (const auto& p : packets) {
    fakes::PutLe32(&data, 1700000000);
    fakes::PutLe32(&data, 0);
    fakes::PutLe32(&data, static_cast<uint32_t>(p.size()));
    fakes::PutLe32(&data, static_cast<uint32_t>(p.size()));
    data += p;
  }
  const std::string path = (dir.path() / name).string();
  std::ofstream(path, std::ios::binary) << data;
  return path;
}

std::string Num(bool present, long value) { return present ? std::to_string(value) : ""; }

long ParseNumber(const std::string& s) { return s.empty() ? -1 : std::stol(s, nullptr, 0); }

std::span<const uint8_t> Span(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(PacketDecodeTsharkTest, RadiotapFramesAgreeWithTshark) {
  if (!fakes::HaveTshark()) GTEST_SKIP() << "tshark not installed";
  fakes::TempDir dir;
  Generated g = Generate(false, 1500);
  ASSERT_EQ(g.kinds.size(), static_cast<size_t>(sim::kFrameKindCount)) << "not every frame kind";
  const std::string path = WritePcap(dir, "radiotap.pcap", kLinktypeIeee80211Radiotap, g.packets);
  auto rows = fakes::TsharkRows(
      path, {"wlan.fc.type_subtype", "radiotap.dbm_antsignal", "radiotap.channel.freq"});
  ASSERT_EQ(rows.size(), g.packets.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    PacketInfo info = DecodePacket(Span(g.packets[i]), true);
    ASSERT_FALSE(info.truncated) << i;
    ASSERT_TRUE(info.has_dot11) << i;
    EXPECT_EQ(info.fc_type * 16 + info.fc_subtype, ParseNumber(rows[i][0])) << "packet " << i;
    EXPECT_EQ(Num(info.has_signal, info.signal_dbm), rows[i][1]) << "packet " << i;
    EXPECT_EQ(Num(info.has_channel, info.channel_frequency), rows[i][2]) << "packet " << i;
  }
}

TEST(PacketDecodeTsharkTest, WiredPacketsAgreeWithTshark) {
  if (!fakes::HaveTshark()) GTEST_SKIP() << "tshark not installed";
  fakes::TempDir dir;
  Generated g = Generate(true, 1200);
  ASSERT_EQ(g.kinds.size(), static_cast<size_t>(sim::WiredProto::kCount));
  ASSERT_TRUE(g.any_vlan && g.any_untagged);
  const std::string path = WritePcap(dir, "wired.pcap", kLinktypeEthernet, g.packets);
  auto rows = fakes::TsharkRows(
      path, {"vlan.id", "ip.proto", "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport"});
  ASSERT_EQ(rows.size(), g.packets.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    PacketInfo info = DecodePacket(Span(g.packets[i]), false);
    ASSERT_FALSE(info.truncated) << i;
    EXPECT_EQ(Num(info.vlan_count > 0, info.vlan_ids[0]), rows[i][0]) << "packet " << i;
    EXPECT_EQ(Num(info.ip_version == 4, info.ip_proto), rows[i][1]) << "packet " << i;
    const bool tcp = info.proto == "TCP", udp = info.proto == "UDP";
    EXPECT_EQ(Num(tcp, info.src_port), rows[i][2]) << "packet " << i;
    EXPECT_EQ(Num(tcp, info.dst_port), rows[i][3]) << "packet " << i;
    EXPECT_EQ(Num(udp, info.src_port), rows[i][4]) << "packet " << i;
    EXPECT_EQ(Num(udp, info.dst_port), rows[i][5]) << "packet " << i;
  }
}

}  // namespace
}  // namespace mpe::decode
