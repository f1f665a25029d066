#include "common/packet_layer.h"

#include <array>
#include <cstddef>

namespace mpe::common {

const char* PacketLayerName(PacketLayer layer) {
  static constexpr std::array<const char*, kPacketLayerCount> kNames = {
      "radiotap", "802.11", "llc", "eapol", "ethernet", "vlan", "ip", "udp", "dhcp", "dns"};
  const auto i = static_cast<size_t>(layer);
  return i < kNames.size() ? kNames[i] : "unknown";
}

}  // namespace mpe::common
