#include "decode/packet_decode.h"

#include <algorithm>
#include <cstring>

namespace mpe::decode {

namespace {

// A bounds-checked little/big-endian reader over a span. Every accessor reports failure
// instead of reading past the end, so callers can mark the packet truncated.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  size_t size() const { return bytes_.size(); }
  bool Has(size_t offset, size_t n) const {
    return offset <= bytes_.size() && n <= bytes_.size() - offset;
  }
  uint8_t U8(size_t o) const { return bytes_[o]; }
  uint16_t Le16(size_t o) const { return static_cast<uint16_t>(bytes_[o] | (bytes_[o + 1] << 8)); }
  uint32_t Le32(size_t o) const { return Le16(o) | (static_cast<uint32_t>(Le16(o + 2)) << 16); }
  uint64_t Le64(size_t o) const { return Le32(o) | (static_cast<uint64_t>(Le32(o + 4)) << 32); }
  uint16_t Be16(size_t o) const { return static_cast<uint16_t>((bytes_[o] << 8) | bytes_[o + 1]); }
  uint64_t Mac(size_t o) const {
    uint64_t v = 0;
    for (size_t i = 0; i < 6; ++i) v = (v << 8) | bytes_[o + i];
    return v;
  }
  void Copy(size_t o, size_t n, uint8_t* out) const { std::memcpy(out, bytes_.data() + o, n); }

 private:
  std::span<const uint8_t> bytes_;
};

// Alignment and size of the radiotap fields of the default namespace we can step over
// (https://www.radiotap.org/fields/defined). Bit 28 (TLVs) and beyond are not in the table:
// the walk stops there, which is safe because the 802.11 header always starts at it_len.
struct RadiotapField {
  uint8_t align;
  uint8_t size;
};
constexpr int kKnownRadiotapFields = 28;
constexpr RadiotapField kRadiotapFields[kKnownRadiotapFields] = {
    {8, 8},   // 0 TSFT
    {1, 1},   // 1 Flags
    {1, 1},   // 2 Rate
    {2, 4},   // 3 Channel
    {1, 2},   // 4 FHSS
    {1, 1},   // 5 dBm antenna signal
    {1, 1},   // 6 dBm antenna noise
    {2, 2},   // 7 Lock quality
    {2, 2},   // 8 TX attenuation
    {2, 2},   // 9 dB TX attenuation
    {1, 1},   // 10 dBm TX power
    {1, 1},   // 11 Antenna
    {1, 1},   // 12 dB antenna signal
    {1, 1},   // 13 dB antenna noise
    {2, 2},   // 14 RX flags
    {2, 2},   // 15 TX flags
    {1, 1},   // 16 RTS retries
    {1, 1},   // 17 data retries
    {4, 8},   // 18 XChannel
    {1, 3},   // 19 MCS
    {4, 8},   // 20 A-MPDU status
    {2, 12},  // 21 VHT
    {8, 12},  // 22 timestamp
    {2, 12},  // 23 HE
    {2, 12},  // 24 HE-MU
    {2, 6},   // 25 HE-MU-other-user
    {1, 1},   // 26 0-length PSDU
    {2, 4},   // 27 L-SIG
};
constexpr int kMaxPresentWords = 32;  // bounds the walk of a hostile header

size_t AlignUp(size_t offset, size_t align) { return (offset + align - 1) & ~(align - 1); }

// Walks the radiotap header: present-bit chain first, then the fields in bit order with
// their alignment (relative to the header start). Reads only the first occurrence of a field
// (later radiotap namespaces repeat per-antenna fields). Returns false when truncated.
// Long on purpose: one case per radiotap field in bit order, each with its own alignment.
bool DecodeRadiotap(const Reader& r, PacketInfo* info) {
  if (!r.Has(0, 8)) return false;
  const size_t it_len = r.Le16(2);
  info->has_radiotap = true;
  info->radiotap_len = static_cast<uint16_t>(it_len);
  const size_t limit = std::min(it_len, r.size());
  bool truncated = it_len > r.size() || it_len < 8;

  uint32_t words[kMaxPresentWords];
  int word_count = 0;
  size_t offset = 4;
  while (true) {
    if (offset + 4 > limit) return false;  // the chain itself is cut
    uint32_t w = r.Le32(offset);
    offset += 4;
    words[word_count++] = w;
    if ((w & 0x80000000u) == 0) break;
    if (word_count == kMaxPresentWords) return false;
  }

  enum class Ns { kRadiotap, kVendor };
  Ns ns = Ns::kRadiotap;
  int base = 0;  // field number of bit 0 in the current radiotap-namespace word
  bool seen_first_namespace_end = false;
  for (int k = 0; k < word_count; ++k) {
    const uint32_t w = words[k];
    if (ns == Ns::kRadiotap) {
      for (int bit = 0; bit < 29; ++bit) {
        if ((w & (1u << bit)) == 0) continue;
        const int field = base + bit;
        if (field >= kKnownRadiotapFields) return !truncated;  // unknown: stop safely
        const RadiotapField f = kRadiotapFields[field];
        offset = AlignUp(offset, f.align);
        if (offset + f.size > limit) return false;
        if (!seen_first_namespace_end) {
          switch (field) {
            case 0:
              info->has_tsft = true;
              info->tsft = r.Le64(offset);
              break;
            case 1:
              info->has_flags = true;
              info->flags = r.U8(offset);
              info->fcs_at_end = (info->flags & 0x10) != 0;
              break;
            case 2:
              info->has_rate = true;
              info->rate_mbps = r.U8(offset) / 2.0;
              break;
            case 3:
              info->has_channel = true;
              info->channel_frequency = r.Le16(offset);
              info->channel_flags = r.Le16(offset + 2);
              break;
            case 5:
              info->has_signal = true;
              info->signal_dbm = static_cast<int8_t>(r.U8(offset));
              break;
            case 6:
              info->has_noise = true;
              info->noise_dbm = static_cast<int8_t>(r.U8(offset));
              break;
            default:
              break;
          }
        }
        offset += f.size;
      }
    }
    if (w & (1u << 30)) {
      // Vendor namespace: a 6-byte header (OUI, sub-namespace, skip_length) precedes data
      // we cannot interpret; skip_length says how much to step over.
      offset = AlignUp(offset, 2);
      if (offset + 6 > limit) return false;
      const size_t skip = r.Le16(offset + 4);
      offset += 6 + skip;
      if (offset > limit) return false;
      ns = Ns::kVendor;
      seen_first_namespace_end = true;
    } else if (w & (1u << 29)) {
      ns = Ns::kRadiotap;
      base = 0;
      seen_first_namespace_end = true;
    } else if (ns == Ns::kRadiotap) {
      base += 32;
    }
  }
  return !truncated;
}

constexpr std::string_view kManagementNames[16] = {"Association Request",
                                                   "Association Response",
                                                   "Reassociation Request",
                                                   "Reassociation Response",
                                                   "Probe Request",
                                                   "Probe Response",
                                                   "Timing Advertisement",
                                                   "",
                                                   "Beacon",
                                                   "ATIM",
                                                   "Disassociation",
                                                   "Authentication",
                                                   "Deauthentication",
                                                   "Action",
                                                   "Action No Ack",
                                                   ""};
constexpr std::string_view kControlNames[16] = {"",
                                                "",
                                                "Trigger",
                                                "TACK",
                                                "Beamforming Report Poll",
                                                "VHT NDP Announcement",
                                                "Control Frame Extension",
                                                "Control Wrapper",
                                                "Block Ack Request",
                                                "Block Ack",
                                                "PS-Poll",
                                                "RTS",
                                                "CTS",
                                                "ACK",
                                                "CF-End",
                                                "CF-End + CF-Ack"};
constexpr std::string_view kDataNames[16] = {"Data",
                                             "Data + CF-Ack",
                                             "Data + CF-Poll",
                                             "Data + CF-Ack + CF-Poll",
                                             "Null",
                                             "CF-Ack",
                                             "CF-Poll",
                                             "CF-Ack + CF-Poll",
                                             "QoS Data",
                                             "QoS Data + CF-Ack",
                                             "QoS Data + CF-Poll",
                                             "QoS Data + CF-Ack + CF-Poll",
                                             "QoS Null",
                                             "",
                                             "QoS CF-Poll",
                                             "QoS CF-Ack + CF-Poll"};

// Number of addresses in a control frame of `subtype` (ACK, CTS and Control Wrapper carry
// only the receiver address).
int ControlAddressCount(uint8_t subtype) {
  switch (subtype) {
    case 7:   // Control Wrapper
    case 12:  // CTS
    case 13:  // ACK
      return 1;
    default:
      return 2;
  }
}

bool DecodeDot11(const Reader& r, size_t start, size_t end, PacketInfo* info) {
  if (start + 2 > end) return false;
  const uint8_t fc0 = r.U8(start), fc1 = r.U8(start + 1);
  info->has_dot11 = true;
  info->fc_type = static_cast<uint8_t>((fc0 >> 2) & 3);
  info->fc_subtype = static_cast<uint8_t>(fc0 >> 4);
  info->to_ds = fc1 & 0x01;
  info->from_ds = fc1 & 0x02;
  info->retry = fc1 & 0x08;
  info->protected_frame = fc1 & 0x40;
  info->frame_type = Dot11TypeName(info->fc_type);
  info->frame_subtype = Dot11SubtypeName(info->fc_type, info->fc_subtype);

  // Header layout: fc(2) duration(2) addr1 [addr2] [addr3 seq(2)] [addr4] [qos(2)] [htc(4)].
  int addresses = 3;
  bool has_seq = true;
  if (info->fc_type == 1) {
    addresses = ControlAddressCount(info->fc_subtype);
    has_seq = false;
  } else if (info->fc_type == 2 && info->to_ds && info->from_ds) {
    addresses = 4;
  } else if (info->fc_type == 3) {
    addresses = 1;
    has_seq = false;
  }
  size_t offset = start + 4;
  for (int i = 0; i < addresses; ++i) {
    if (offset + 6 > end) return false;
    info->addresses[i] = r.Mac(offset);
    info->address_count = i + 1;
    offset += 6;
    if (i == 2 && has_seq) {
      if (offset + 2 > end) return false;
      offset += 2;  // sequence control sits between addr3 and addr4
    }
  }
  if (info->fc_type == 2 && (info->fc_subtype & 0x8)) {
    if (offset + 2 > end) return false;  // QoS control
    offset += 2;
    if ((fc1 & 0x80) && offset + 4 > end) return false;  // +HTC
  }
  return true;
}

std::string_view IpProtoName(uint8_t proto) {
  switch (proto) {
    case 1:
      return "ICMP";
    case 6:
      return "TCP";
    case 17:
      return "UDP";
    case 58:
      return "ICMPv6";
    default:
      return "";
  }
}

// Transport header at `offset`. Returns false when truncated.
bool DecodeTransport(const Reader& r, size_t offset, uint8_t proto, PacketInfo* info) {
  info->proto = IpProtoName(proto);
  switch (proto) {
    case 6: {
      if (!r.Has(offset, 4)) return false;
      info->has_ports = true;
      info->src_port = r.Be16(offset);
      info->dst_port = r.Be16(offset + 2);
      if (!r.Has(offset, 13)) return false;
      const size_t header = static_cast<size_t>(r.U8(offset + 12) >> 4) * 4;
      return r.Has(offset, std::max<size_t>(header, 20));
    }
    case 17:
      if (!r.Has(offset, 4)) return false;
      info->has_ports = true;
      info->src_port = r.Be16(offset);
      info->dst_port = r.Be16(offset + 2);
      return r.Has(offset, 8);
    case 1:
    case 58:
      if (!r.Has(offset, 2)) return false;
      info->has_icmp = true;
      info->icmp_type = r.U8(offset);
      info->icmp_code = r.U8(offset + 1);
      return r.Has(offset, 4);
    default:
      return true;
  }
}

bool DecodeIpv4(const Reader& r, size_t offset, PacketInfo* info) {
  if (!r.Has(offset, 1)) return false;
  info->ip_version = 4;
  const size_t ihl = static_cast<size_t>(r.U8(offset) & 0x0f) * 4;
  if (!r.Has(offset, 20)) return false;
  info->ip_proto = r.U8(offset + 9);
  r.Copy(offset + 12, 4, info->src_ip.data());
  r.Copy(offset + 16, 4, info->dst_ip.data());
  info->proto = IpProtoName(info->ip_proto);
  if (ihl < 20) return true;  // malformed: nothing more to trust
  if (!r.Has(offset, ihl)) return false;
  const uint16_t fragment_offset = r.Be16(offset + 6) & 0x1fff;
  if (fragment_offset != 0) return true;  // no transport header in later fragments
  return DecodeTransport(r, offset + ihl, info->ip_proto, info);
}

bool DecodeIpv6(const Reader& r, size_t offset, PacketInfo* info) {
  if (!r.Has(offset, 1)) return false;
  info->ip_version = 6;
  if (!r.Has(offset, 40)) return false;
  uint8_t next = r.U8(offset + 6);
  r.Copy(offset + 8, 16, info->src_ip.data());
  r.Copy(offset + 24, 16, info->dst_ip.data());
  offset += 40;
  for (int hops = 0; hops < 16; ++hops) {
    size_t length = 0;
    switch (next) {
      case 0:   // hop-by-hop
      case 43:  // routing
      case 60:  // destination options
        if (!r.Has(offset, 2)) return false;
        length = (static_cast<size_t>(r.U8(offset + 1)) + 1) * 8;
        break;
      case 44:  // fragment
        if (!r.Has(offset, 8)) return false;
        if ((r.Be16(offset + 2) & 0xfff8) != 0) {
          info->ip_proto = r.U8(offset);
          info->proto = IpProtoName(info->ip_proto);
          return true;  // not the first fragment: no transport header
        }
        length = 8;
        break;
      case 51:  // authentication header
        if (!r.Has(offset, 2)) return false;
        length = (static_cast<size_t>(r.U8(offset + 1)) + 2) * 4;
        break;
      default:
        info->ip_proto = next;
        return DecodeTransport(r, offset, next, info);
    }
    if (!r.Has(offset, length)) return false;
    next = r.U8(offset);
    offset += length;
  }
  info->ip_proto = next;
  return true;
}

bool DecodeEthernet(const Reader& r, PacketInfo* info) {
  if (!r.Has(0, 14)) return false;
  info->has_ethernet = true;
  info->eth_dst = r.Mac(0);
  info->eth_src = r.Mac(6);
  size_t offset = 12;
  uint16_t type = r.Be16(offset);
  while (type == 0x8100 || type == 0x88a8 || type == 0x9100) {
    if (!r.Has(offset, 6)) return false;
    if (info->vlan_count < 2) info->vlan_ids[info->vlan_count++] = r.Be16(offset + 2) & 0x0fff;
    offset += 4;
    type = r.Be16(offset);
  }
  info->ethertype = type;
  offset += 2;
  switch (type) {
    case 0x0800:
      return DecodeIpv4(r, offset, info);
    case 0x86dd:
      return DecodeIpv6(r, offset, info);
    case 0x0806:
      info->proto = "ARP";
      if (!r.Has(offset, 8)) return false;
      info->has_arp = true;
      info->arp_opcode = r.Be16(offset + 6);
      {
        const size_t hlen = r.U8(offset + 4), plen = r.U8(offset + 5);
        const size_t total = 8 + 2 * (hlen + plen);
        if (!r.Has(offset, total)) return false;
        if (plen == 4) {
          r.Copy(offset + 8 + hlen, 4, info->src_ip.data());
          r.Copy(offset + 8 + 2 * hlen + 4, 4, info->dst_ip.data());
        }
      }
      return true;
    default:
      return true;
  }
}

}  // namespace

std::string_view Dot11TypeName(uint8_t type) {
  switch (type) {
    case 0:
      return "Management";
    case 1:
      return "Control";
    case 2:
      return "Data";
    case 3:
      return "Extension";
    default:
      return "";
  }
}

std::string_view Dot11SubtypeName(uint8_t type, uint8_t subtype) {
  if (subtype > 15) return "";
  switch (type) {
    case 0:
      return kManagementNames[subtype];
    case 1:
      return kControlNames[subtype];
    case 2:
      return kDataNames[subtype];
    case 3:
      return subtype == 0 ? "DMG Beacon" : "";
    default:
      return "";
  }
}

PacketInfo DecodePacket(std::span<const uint8_t> packet, bool radiotap) {
  PacketInfo info;
  const Reader r(packet);
  info.radiotap_layout = radiotap;
  if (!radiotap) {
    info.truncated = !DecodeEthernet(r, &info);
    return info;
  }
  bool ok = DecodeRadiotap(r, &info);
  if (!info.has_radiotap || info.radiotap_len > packet.size() || info.radiotap_len < 8) {
    info.truncated = true;
    return info;
  }
  size_t end = packet.size();
  if (info.fcs_at_end && end >= info.radiotap_len + 4u) end -= 4;
  ok = DecodeDot11(r, info.radiotap_len, end, &info) && ok;
  info.truncated = !ok;
  return info;
}

PacketInfo DecodePacket(const RawPacketInfo& raw) {
  const bool radiotap = raw.linktype == kLinktypeIeee80211Radiotap ||
                        (raw.linktype == kLinktypeEthernet && LooksLikeRadiotap(raw.packet));
  return DecodePacket(raw.packet, radiotap);
}

}  // namespace mpe::decode
