#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "decode/pcap_raw.h"

namespace mpe::decode {

// What the native decoder learnt from one captured packet (radiotap + 802.11, or Ethernet +
// VLAN + IPv4/IPv6 + TCP/UDP/ICMP/ARP). Plain data without views into the packet: the
// string_views point to static storage. `truncated` is set when a header the decoder wanted
// to read did not fit into the captured bytes; everything read before that point is valid.
struct PacketInfo {
  bool truncated = false;
  bool radiotap_layout = false;  // decoded as radiotap + 802.11 (else Ethernet)

  // Radiotap.
  bool has_radiotap = false;
  uint16_t radiotap_len = 0;
  bool has_tsft = false;
  uint64_t tsft = 0;  // microseconds
  bool has_flags = false;
  uint8_t flags = 0;
  bool fcs_at_end = false;  // Flags bit 0x10: the last 4 bytes are the FCS
  bool has_rate = false;
  double rate_mbps = 0;  // from the legacy Rate field (500 kbps units)
  bool has_channel = false;
  uint16_t channel_frequency = 0;  // MHz
  uint16_t channel_flags = 0;
  bool has_signal = false;
  int8_t signal_dbm = 0;
  bool has_noise = false;
  int8_t noise_dbm = 0;

  // 802.11 MAC header.
  bool has_dot11 = false;
  uint8_t fc_type = 0;     // 0 management, 1 control, 2 data, 3 extension
  uint8_t fc_subtype = 0;  // 0..15
  bool to_ds = false, from_ds = false, retry = false, protected_frame = false;
  int address_count = 0;                // 1..4
  std::array<uint64_t, 4> addresses{};  // 48-bit values, addresses[0] = addr1
  std::string_view frame_type;          // "Management" | "Control" | "Data" | "Extension" | ""
  std::string_view frame_subtype;       // Mist/Wireshark names: "Beacon", "QoS Data", ... | ""

  // Ethernet.
  bool has_ethernet = false;
  uint64_t eth_dst = 0, eth_src = 0;
  int vlan_count = 0;                  // 0..2 tags decoded (802.1Q / 802.1ad / QinQ)
  std::array<uint16_t, 2> vlan_ids{};  // outer first
  uint16_t ethertype = 0;              // after the VLAN tags

  // Network / transport.
  uint8_t ip_version = 0;                      // 4, 6 or 0
  uint8_t ip_proto = 0;                        // IPv4 protocol / IPv6 final next header
  std::array<uint8_t, 16> src_ip{}, dst_ip{};  // IPv4 uses the first 4 bytes
  bool has_ports = false;
  uint16_t src_port = 0, dst_port = 0;
  bool has_icmp = false;
  uint8_t icmp_type = 0, icmp_code = 0;
  bool has_arp = false;
  uint16_t arp_opcode = 0;
  std::string_view proto;  // "TCP" | "UDP" | "ICMP" | "ICMPv6" | "ARP" | ""
};

// Decodes `packet` as radiotap + 802.11 when `radiotap` is true, else as Ethernet. Every read
// is bounds-checked against the span; nothing outside it is touched. Pure; thread-safe.
PacketInfo DecodePacket(std::span<const uint8_t> packet, bool radiotap);

// Picks the layout from the pcap linktype: 127 is radiotap, 1 is Ethernet unless the bytes
// look like radiotap (Mist's sample pcap_raw claims 1 for radiotap frames).
PacketInfo DecodePacket(const RawPacketInfo& raw);

// Mist's (and Wireshark's) names of an 802.11 type / type+subtype; "" when unknown.
std::string_view Dot11TypeName(uint8_t type);
std::string_view Dot11SubtypeName(uint8_t type, uint8_t subtype);

}  // namespace mpe::decode
