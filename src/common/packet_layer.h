#pragma once

#include <cstdint>

namespace mpe::common {

// The protocol layers of a captured packet that the `layer` label of
// mist_pcap_decode_truncated_total names (docs/spec.md §6.3.1): the exporter's decoder reports
// the innermost one holding a truncated packet's last captured byte, and the simulator's
// packet builder records where each one starts. One enum so both speak the same labels.
enum class PacketLayer : uint8_t {
  kRadiotap,
  kDot11,
  kLlc,
  kEapol,
  kEthernet,
  kVlan,
  kIp,
  kUdp,
  kDhcp,
  kDns,
  kCount
};
inline constexpr int kPacketLayerCount = static_cast<int>(PacketLayer::kCount);

// The label value: "radiotap", "802.11", "llc", "eapol", "ethernet", "vlan", "ip", "udp",
// "dhcp", "dns"; "unknown" out of range.
const char* PacketLayerName(PacketLayer layer);

}  // namespace mpe::common
