#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sim/capture_file.h"
#include "sim/scenario.h"
#include "sim/truth.h"

namespace mpe::sim {

// 802.11 frame kinds the simulator sends (index = TruthDelta::frame).
enum class FrameKind : uint8_t {
  kBeacon,
  kProbeRequest,
  kProbeResponse,
  kAuthentication,
  kAssociationRequest,
  kAssociationResponse,
  kReassociationRequest,
  kDeauthentication,
  kDisassociation,
  kAction,
  kAck,
  kRts,
  kCts,
  kBlockAck,
  kBlockAckRequest,
  kData,
  kQosData,
  kNull,
  kQosNull,
  kCount
};
inline constexpr int kFrameKindCount = static_cast<int>(FrameKind::kCount);
const char* FrameTypeName(FrameKind k);     // "Management" | "Control" | "Data"
const char* FrameSubtypeName(FrameKind k);  // "Beacon", "QoS Data", ...
// Wireshark's wlan.fc.type_subtype: type * 16 + subtype.
int FrameTypeSubtypeCode(FrameKind k);

enum class WiredProto : uint8_t { kTcp, kUdp, kIcmp, kArp, kCount };
const char* WiredProtoName(WiredProto p);  // "TCP" | "UDP" | "ICMP" | "ARP"

// Data rates the simulator uses; text is the pcap_dict "datarate" value.
struct RateInfo {
  const char* text;  // "866.7 Mbps"
  double mbps;
};
const RateInfo& Rate(int index);

// One AP of a running capture with its fixed channel per band (derived from the MAC).
struct ApRadio {
  uint64_t mac = 0;
  int channel[kBandCount] = {0, 0, 0};
};
ApRadio MakeApRadio(uint64_t mac);
int ChannelFrequency(Band band, int channel);  // MHz

// Message counts of one capture's stream, shared by the successive targets of the capture (a
// failing AP replaces the target) so lost_messages stays cumulative.
struct StreamCounters {
  std::atomic<uint64_t> generated{0};
  std::atomic<int64_t> lost{0};
};

// What the generator needs of one running streaming capture. Shared (read-only apart from the
// counters) between all sessions subscribed to the site.
struct StreamTarget {
  uint32_t site_index = 0;
  std::string channel;  // "/sites/<id>/pcaps"
  std::string capture_id;
  uint64_t capture_serial = 0;
  bool wireless = true;
  bool wired = false;
  std::vector<ApRadio> aps;  // APs with status ok
  int max_pkt_len = 128;
  StreamSettings settings;
  // The capture's file: each delivered data message adds its packet once (may be null).
  std::shared_ptr<CaptureRecording> recording;
  std::shared_ptr<StreamCounters> counters = std::make_shared<StreamCounters>();
};

// One generated packet: the values of its pcap_dict. Plain data.
struct Packet {
  bool wired = false;
  uint64_t ap_mac = 0;
  bool tx = true;
  double timestamp = 0;  // whole microseconds
  uint32_t length = 0;   // original frame length (pcap orig_len)
  uint16_t seq = 0;
  // wireless
  Band band = Band::k24;
  int channel = 0;
  int frequency = 0;
  int rssi = 0;
  int rate = 0;  // index for Rate()
  FrameKind frame = FrameKind::kBeacon;
  uint64_t dst = 0, src = 0, bssid = 0;
  bool has_src = true, has_bssid = true;
  // wired
  WiredProto proto = WiredProto::kTcp;
  int vlan = 0;  // 0 = untagged
  uint32_t src_ip = 0, dst_ip = 0;
  int src_port = -1, dst_port = -1;  // -1 = absent
};

// Classic pcap file (global header + one record) of `p`, caplen cut at max_pkt_len.
// Radiotap (linktype 127: Flags, Rate|MCS|VHT, Channel, dBm antenna signal) + 802.11 for
// wireless; Ethernet (+802.1Q) + IPv4 TCP/UDP/ICMP or ARP (linktype 1) for wired.
void BuildPcap(const Packet& p, int max_pkt_len, std::string* out);
// The pcap_dict JSON object of `p`.
void AppendPcapDict(const Packet& p, std::string* out);
void AppendBase64(std::string_view bytes, std::string* out);

// Deterministic packet and stream-message factory (seeded). Not thread-safe: each stream
// session owns one and calls it on its strand.
class PacketGenerator {
 public:
  explicit PacketGenerator(uint64_t seed);

  Packet NextPacket(const StreamTarget& t, double now);
  // A complete {"event":"data",...} text frame for one packet of `t` (advances the capture's
  // generated / lost counters) and what it adds to the ground truth once delivered.
  void MakeDataMessage(const StreamTarget& t, double now, bool data_as_string, std::string* out,
                       TruthDelta* delta);
  static void MakeCaptureEndMessage(std::string_view channel, std::string_view capture_id,
                                    bool data_as_string, std::string* out);
  uint64_t NextRandom();
  // The one-packet classic pcap (24-byte header + record) of the last MakeDataMessage.
  const std::string& last_pcap() const { return pcap_; }

 private:
  uint64_t state_;
  uint16_t seq_ = 0;
  std::string scratch_;
  std::string pcap_;
};

}  // namespace mpe::sim
