#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/packet_layer.h"
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
  kReassociationResponse,
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
// Connectivity payloads: EAPOL-Key frames of the pairwise 4-way handshake (messages 1..4)
// and of the group-key handshake; DHCP / DNS / mDNS on the wired side.
enum class EapolKind : uint8_t { kNone, kMsg1, kMsg2, kMsg3, kMsg4, kGroup1, kGroup2 };
enum class WiredApp : uint8_t { kNone, kDhcp, kDns, kMdns };
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
  // Client connectivity (scenario `connectivity:`; defaults = the base mix's own frames).
  bool retry = false;    // Frame Control Retry bit (802.11 management and data frames)
  bool protect = true;   // Data / QoS Data: CCMP-protected body; false = EAPOL in clear
  int status = -1;       // authentication / (re)association response status; -1 = 0
  int reason = -1;       // deauthentication / disassociation reason; -1 = base value
  uint8_t auth_alg = 0;  // authentication algorithm (0 open, 3 SAE)
  uint8_t auth_seq = 0;  // authentication transaction sequence; 0 = base value
  EapolKind eapol = EapolKind::kNone;
  uint16_t key_data_len = 0;
  uint64_t fill = 0;  // seed of nonces, MICs and encrypted key data
  WiredApp app = WiredApp::kNone;
  uint8_t dhcp_type = 0;  // option 53 value
  uint32_t xid = 0, yiaddr = 0;
  uint8_t dns_rcode = 0;
  bool dns_qr = false;
  bool ipv6 = false;  // wired: IPv6 (addresses derived from src_ip / dst_ip, see Ip6Of)
};

using Layer = common::PacketLayer;  // shared with the exporter's decoder
inline constexpr int kLayerCount = common::kPacketLayerCount;
inline const char* LayerName(Layer l) { return common::PacketLayerName(l); }  // "radiotap", ...

// Where a packet's layers start (bytes from the start of the packet; -1 = absent) and the
// end offset of the field a connectivity family needs (0 = none), filled by BuildPcap.
struct PacketLayout {
  PacketLayout() {
    for (int32_t& v : start) v = -1;
  }
  int32_t start[kLayerCount];
  uint32_t need = 0;  // join status / reason / EAPOL body end / DHCP option 53 / DNS flags
  uint32_t caplen = 0;
  uint32_t length = 0;
  // The innermost listed layer holding the last captured byte; -1 when not truncated.
  int TruncatedLayer() const;
};

// IPv6 address used for a wired packet's IPv4 address when Packet::ipv6 is set.
std::array<uint8_t, 16> Ip6Of(uint32_t v4);
std::string FormatIp6(const std::array<uint8_t, 16>& a);  // RFC 5952 text

// Classic pcap file (global header + one record) of `p`, caplen cut at max_pkt_len.
// Radiotap (linktype 127: Flags, Rate|MCS|VHT, Channel, dBm antenna signal) + 802.11 for
// wireless; Ethernet (+802.1Q) + IPv4 TCP/UDP/ICMP, IPv6 UDP or ARP (linktype 1) for wired;
// with connectivity fields: auth/assoc status codes, reason codes, Retry bit, EAPOL-Key in
// clear, DHCP, DNS and mDNS payloads. `layout` (optional) gets the layer offsets and cut.
void BuildPcap(const Packet& p, int max_pkt_len, std::string* out, PacketLayout* layout = nullptr);
// What `p`, cut as `layout` says, adds to the connectivity families of the truth (retries,
// joins, disconnects, EAPOL, DHCP, DNS, top clients, truncation) of `d`.
void FillConnectivityTruth(const Packet& p, const PacketLayout& layout, TruthDelta* d);
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
  // One running connectivity sequence of a site: its packets, each due at a time.
  struct Script {
    std::deque<std::pair<int64_t, Packet>> packets;  // (due microseconds, packet)
  };
  struct SiteState {
    int64_t last_us = 0;
    uint64_t capture_serial = 0;
    std::vector<Script> scripts;
  };
  // The base mix (connectivity off, or no sequence packet): r holds the rest of a draw.
  void BaseWired(const StreamTarget& t, const ApRadio& ap, int client_index, uint64_t r, Packet* p);
  void BaseWireless(const StreamTarget& t, const ApRadio& ap, uint64_t client, uint64_t r,
                    Packet* p);
  class WirelessScript;  // builders of one sequence (packet_gen.cc)
  class WiredScript;
  bool NextConnectivity(const StreamTarget& t, const ApRadio& ap, bool wired, int64_t now_us,
                        Packet* p);
  void StartWirelessScript(const StreamTarget& t, const ApRadio& ap, int64_t now_us, Script* s);
  void StartWiredScript(const StreamTarget& t, const ApRadio& ap, int64_t now_us, Script* s);
  void ClientData(const StreamTarget& t, const ApRadio& ap, Packet* p);
  void Radio(const StreamTarget& t, const ApRadio& ap, Band band, Packet* p);
  double Uniform();

  uint64_t state_;
  uint16_t seq_ = 0;
  std::unordered_map<uint32_t, SiteState> sites_;
  std::string scratch_;
  std::string pcap_;
};

}  // namespace mpe::sim
