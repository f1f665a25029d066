#include "sim/packet_gen.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace mpe::sim {

namespace {

struct FrameDef {
  const char* type;
  const char* subtype;
  uint8_t fc_type;
  uint8_t fc_subtype;
  int weight;     // share in percent
  int direction;  // 0 AP transmits, 1 AP receives, 2 either
};

constexpr FrameDef kFrames[kFrameKindCount] = {
    {"Management", "Beacon", 0, 8, 20, 0},
    {"Management", "Probe Request", 0, 4, 6, 1},
    {"Management", "Probe Response", 0, 5, 6, 0},
    {"Management", "Authentication", 0, 11, 2, 2},
    {"Management", "Association Request", 0, 0, 1, 1},
    {"Management", "Association Response", 0, 1, 1, 0},
    {"Management", "Reassociation Request", 0, 2, 1, 1},
    {"Management", "Deauthentication", 0, 12, 1, 2},
    {"Management", "Disassociation", 0, 10, 1, 2},
    {"Management", "Action", 0, 13, 3, 2},
    {"Control", "ACK", 1, 13, 10, 2},
    {"Control", "RTS", 1, 11, 3, 2},
    {"Control", "CTS", 1, 12, 3, 2},
    {"Control", "Block Ack", 1, 9, 4, 2},
    {"Control", "Block Ack Request", 1, 8, 2, 2},
    {"Data", "Data", 2, 0, 6, 2},
    {"Data", "QoS Data", 2, 8, 24, 2},
    {"Data", "Null", 2, 4, 3, 1},
    {"Data", "QoS Null", 2, 12, 3, 1},
};

enum class RateEncoding : uint8_t { kLegacy, kHt, kVht, kHe };

struct RateDef {
  RateInfo info;
  RateEncoding encoding;
  uint8_t mcs;
  uint8_t nss;
  uint8_t bandwidth_mhz;
  bool short_gi;
};

// HE rates have no radiotap field here (the HE field is not emitted), so their frames carry
// no rate in the radiotap header; every other rate is encoded exactly.
constexpr RateDef kRates[] = {
    {{"1.0 Mbps", 1.0}, RateEncoding::kLegacy, 0, 1, 20, false},      // 0
    {{"2.0 Mbps", 2.0}, RateEncoding::kLegacy, 0, 1, 20, false},      // 1
    {{"5.5 Mbps", 5.5}, RateEncoding::kLegacy, 0, 1, 20, false},      // 2
    {{"11.0 Mbps", 11.0}, RateEncoding::kLegacy, 0, 1, 20, false},    // 3
    {{"6.0 Mbps", 6.0}, RateEncoding::kLegacy, 0, 1, 20, false},      // 4
    {{"12.0 Mbps", 12.0}, RateEncoding::kLegacy, 0, 1, 20, false},    // 5
    {{"24.0 Mbps", 24.0}, RateEncoding::kLegacy, 0, 1, 20, false},    // 6
    {{"54.0 Mbps", 54.0}, RateEncoding::kLegacy, 0, 1, 20, false},    // 7
    {{"72.2 Mbps", 72.2}, RateEncoding::kHt, 7, 1, 20, true},         // 8
    {{"144.4 Mbps", 144.4}, RateEncoding::kHt, 15, 2, 20, true},      // 9
    {{"150.0 Mbps", 150.0}, RateEncoding::kHt, 7, 1, 40, true},       // 10
    {{"300.0 Mbps", 300.0}, RateEncoding::kHt, 15, 2, 40, true},      // 11
    {{"433.3 Mbps", 433.3}, RateEncoding::kVht, 9, 1, 80, true},      // 12
    {{"866.7 Mbps", 866.7}, RateEncoding::kVht, 9, 2, 80, true},      // 13
    {{"1200.9 Mbps", 1200.9}, RateEncoding::kHe, 11, 2, 80, false},   // 14
    {{"2401.9 Mbps", 2401.9}, RateEncoding::kHe, 11, 2, 160, false},  // 15
    {{"36.0 Mbps", 36.0}, RateEncoding::kLegacy, 0, 1, 20, false},    // 16
};

// Rate choices per frame class (management, control, data) and band.
constexpr int kMgmtRates[kBandCount][2] = {{0, 4}, {4, 4}, {4, 4}};
constexpr int kCtrlRates[kBandCount][4] = {{0, 1, 3, 6}, {4, 5, 6, 4}, {4, 5, 6, 16}};
constexpr int kDataRates[kBandCount][6] = {
    {3, 7, 8, 9, 2, 7}, {6, 7, 10, 11, 12, 13}, {16, 7, 14, 15, 14, 4}};

constexpr int kChannels24[] = {1, 6, 11};
constexpr int kChannels5[] = {36, 44, 52, 100, 149, 157};
constexpr int kChannels6[] = {37, 53, 69, 85, 101, 117};

constexpr uint64_t kBroadcast = 0xffffffffffffULL;
constexpr uint64_t kGatewayMac = 0x001b21aabb01ULL;
constexpr char kSsid[] = "Demo-Corp";

const char* const kProtoNames[] = {"TCP", "UDP", "ICMP", "ARP"};

uint64_t SplitMix(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t BssidFor(uint64_t ap_mac, Band band) {
  // Locally administered variant of the radio MAC, one per band.
  return (ap_mac ^ (static_cast<uint64_t>(band) + 1) << 12) | 0x020000000000ULL;
}

uint64_t ClientMac(uint64_t ap_mac, int index) {
  return 0xa4c3f0000000ULL | ((ap_mac & 0xffff) << 8) | static_cast<uint64_t>(index);
}

void Put8(std::string* b, uint8_t v) { b->push_back(static_cast<char>(v)); }
void PutLe16(std::string* b, uint16_t v) {
  Put8(b, v & 0xff);
  Put8(b, v >> 8);
}
void PutLe32(std::string* b, uint32_t v) {
  PutLe16(b, v & 0xffff);
  PutLe16(b, v >> 16);
}
void PutBe16(std::string* b, uint16_t v) {
  Put8(b, v >> 8);
  Put8(b, v & 0xff);
}
void PutBe32(std::string* b, uint32_t v) {
  PutBe16(b, v >> 16);
  PutBe16(b, v & 0xffff);
}
void PutMac(std::string* b, uint64_t mac) {
  for (int i = 5; i >= 0; --i) Put8(b, (mac >> (8 * i)) & 0xff);
}
void PutZeros(std::string* b, size_t n) { b->append(n, '\0'); }

void AppendInt(std::string* out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

void AppendColonMac(std::string* out, uint64_t mac) {
  static constexpr char kHex[] = "0123456789abcdef";
  char buf[17];
  for (int i = 0; i < 6; ++i) {
    uint8_t byte = (mac >> (8 * (5 - i))) & 0xff;
    buf[i * 3] = kHex[byte >> 4];
    buf[i * 3 + 1] = kHex[byte & 0xf];
    if (i < 5) buf[i * 3 + 2] = ':';
  }
  out->append(buf, 17);
}

void AppendIp(std::string* out, uint32_t ip) {
  for (int i = 3; i >= 0; --i) {
    AppendInt(out, (ip >> (8 * i)) & 0xff);
    if (i) out->push_back('.');
  }
}

void AppendKey(std::string* out, std::string_view key) {
  out->push_back('"');
  out->append(key);
  out->append("\":");
}

void AppendStr(std::string* out, std::string_view key, std::string_view value) {
  AppendKey(out, key);
  out->push_back('"');
  out->append(value);
  out->append("\",");
}

void AppendMacField(std::string* out, std::string_view key, uint64_t mac) {
  AppendKey(out, key);
  out->push_back('"');
  AppendColonMac(out, mac);
  out->append("\",");
}

void AppendIntField(std::string* out, std::string_view key, int64_t v) {
  AppendKey(out, key);
  AppendInt(out, v);
  out->push_back(',');
}

int64_t Micros(double ts) { return std::llround(ts * 1e6); }

void AppendTimestamp(std::string* out, double ts) {
  int64_t us = Micros(ts);
  AppendInt(out, us / 1000000);
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%06d", static_cast<int>(us % 1000000));
  out->append(frac);
}

void AppendJsonEscaped(std::string_view s, std::string* out) {
  // Copies runs of plain characters in one go: this runs once per string-form message.
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.data() + run, i - run);
    run = i + 1;
    if (c == '"') {
      out->append("\\\"");
    } else if (c == '\\') {
      out->append("\\\\");
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out->append(buf);
    }
  }
  out->append(s.data() + run, s.size() - run);
}

uint16_t IpChecksum(const char* data, size_t len) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) {
    sum += (static_cast<uint8_t>(data[i]) << 8) | static_cast<uint8_t>(data[i + 1]);
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// Length of the 802.11 frame (no FCS) for a kind; body sizes vary with `r`.
uint32_t FrameLength(FrameKind k, uint64_t r) {
  auto range = [r](uint32_t lo, uint32_t hi) { return lo + static_cast<uint32_t>(r % (hi - lo)); };
  switch (k) {
    case FrameKind::kBeacon:
    case FrameKind::kProbeResponse:
      return range(160, 380);
    case FrameKind::kProbeRequest:
      return range(60, 180);
    case FrameKind::kAuthentication:
      return 30;
    case FrameKind::kAssociationRequest:
      return range(120, 260);
    case FrameKind::kAssociationResponse:
      return range(100, 220);
    case FrameKind::kReassociationRequest:
      return range(130, 270);
    case FrameKind::kDeauthentication:
    case FrameKind::kDisassociation:
      return 26;
    case FrameKind::kAction:
      return range(30, 64);
    case FrameKind::kAck:
    case FrameKind::kCts:
      return 10;
    case FrameKind::kRts:
      return 16;
    case FrameKind::kBlockAck:
      return 28;
    case FrameKind::kBlockAckRequest:
      return 20;
    case FrameKind::kData:
      return range(60, 1560);
    case FrameKind::kQosData:
      return range(62, 1562);
    case FrameKind::kNull:
      return 24;
    case FrameKind::kQosNull:
      return 26;
    case FrameKind::kCount:
      break;
  }
  return 24;
}

void AppendSsidIe(std::string* b) {
  Put8(b, 0);
  Put8(b, sizeof(kSsid) - 1);
  b->append(kSsid, sizeof(kSsid) - 1);
}

// Radiotap header: Flags, Rate (legacy) | MCS (HT) | VHT, Channel, dBm antenna signal.
void BuildRadiotap(const Packet& p, std::string* b) {
  const RateDef& rate = kRates[p.rate];
  uint32_t present = (1u << 1) | (1u << 3) | (1u << 5);
  if (rate.encoding == RateEncoding::kLegacy) present |= 1u << 2;
  if (rate.encoding == RateEncoding::kHt) present |= 1u << 19;
  if (rate.encoding == RateEncoding::kVht) present |= 1u << 21;
  size_t start = b->size();
  Put8(b, 0);     // version
  Put8(b, 0);     // pad
  PutLe16(b, 0);  // length, patched below
  PutLe32(b, present);
  Put8(b, 0);  // flags (no FCS)
  Put8(b, rate.encoding == RateEncoding::kLegacy ? static_cast<uint8_t>(rate.info.mbps * 2) : 0);
  PutLe16(b, static_cast<uint16_t>(p.frequency));  // channel: 2-byte aligned at offset 10
  uint16_t chan_flags = 0;
  bool cck = rate.encoding == RateEncoding::kLegacy && (p.rate <= 3);
  if (p.band == Band::k24) chan_flags |= 0x0080;
  if (p.band == Band::k5) chan_flags |= 0x0100;
  chan_flags |= cck ? 0x0020 : 0x0040;
  PutLe16(b, chan_flags);
  Put8(b, static_cast<uint8_t>(static_cast<int8_t>(p.rssi)));  // offset 14
  if (rate.encoding == RateEncoding::kHt) {
    Put8(b, 0x07);  // known: bandwidth, MCS, GI
    Put8(b, static_cast<uint8_t>((rate.bandwidth_mhz == 40 ? 1 : 0) | (rate.short_gi ? 0x04 : 0)));
    Put8(b, rate.mcs);
  } else if (rate.encoding == RateEncoding::kVht) {
    Put8(b, 0);          // align the VHT field to 2
    PutLe16(b, 0x0044);  // known: GI, bandwidth
    Put8(b, rate.short_gi ? 0x04 : 0);
    Put8(b, rate.bandwidth_mhz == 160  ? 11
            : rate.bandwidth_mhz == 80 ? 4
            : rate.bandwidth_mhz == 40 ? 1
                                       : 0);
    Put8(b, static_cast<uint8_t>((rate.mcs << 4) | rate.nss));
    PutZeros(b, 3);  // other users
    Put8(b, 0);      // coding
    Put8(b, 0);      // group id
    PutLe16(b, 0);   // partial aid
  }
  uint16_t len = static_cast<uint16_t>(b->size() - start);
  (*b)[start + 2] = static_cast<char>(len & 0xff);
  (*b)[start + 3] = static_cast<char>(len >> 8);
}

// The full 802.11 frame of `p` (frame_len bytes).
void BuildDot11(const Packet& p, uint32_t frame_len, std::string* b) {
  const FrameDef& def = kFrames[static_cast<int>(p.frame)];
  size_t start = b->size();
  uint8_t flags = 0;
  bool data_kind = def.fc_type == 2;
  if (data_kind) flags = (p.tx ? 0x02 : 0x01);  // FromDS when the AP sends, else ToDS
  bool protect = p.frame == FrameKind::kData || p.frame == FrameKind::kQosData;
  if (protect) flags |= 0x40;
  Put8(b, static_cast<uint8_t>((def.fc_subtype << 4) | (def.fc_type << 2)));
  Put8(b, flags);
  PutLe16(b, def.fc_type == 1 ? 44 : 0);  // duration
  switch (p.frame) {
    case FrameKind::kAck:
    case FrameKind::kCts:
      PutMac(b, p.dst);
      return;
    case FrameKind::kRts:
      PutMac(b, p.dst);
      PutMac(b, p.src);
      return;
    case FrameKind::kBlockAck:
      PutMac(b, p.dst);
      PutMac(b, p.src);
      PutLe16(b, 0x0005);  // compressed bitmap
      PutLe16(b, static_cast<uint16_t>(p.seq << 4));
      PutLe32(b, 0xffffffff);
      PutLe32(b, 0x0000ffff);
      return;
    case FrameKind::kBlockAckRequest:
      PutMac(b, p.dst);
      PutMac(b, p.src);
      PutLe16(b, 0x0004);
      PutLe16(b, static_cast<uint16_t>(p.seq << 4));
      return;
    default:
      break;
  }
  // Three-address frames.
  uint64_t a1 = p.dst, a2 = p.src, a3 = p.bssid;
  if (data_kind) {
    if (p.tx) {  // FromDS: DA, BSSID, SA
      a1 = p.dst;
      a2 = p.bssid;
      a3 = p.src;
    } else {  // ToDS: BSSID, SA, DA
      a1 = p.bssid;
      a2 = p.src;
      a3 = p.dst;
    }
  }
  PutMac(b, a1);
  PutMac(b, a2);
  PutMac(b, a3);
  PutLe16(b, static_cast<uint16_t>(p.seq << 4));
  if (p.frame == FrameKind::kQosData || p.frame == FrameKind::kQosNull) PutLe16(b, 0x0000);
  switch (p.frame) {
    case FrameKind::kBeacon:
    case FrameKind::kProbeResponse: {
      int64_t us = Micros(p.timestamp);
      PutLe32(b, static_cast<uint32_t>(us));
      PutLe32(b, static_cast<uint32_t>(us >> 32));
      PutLe16(b, 100);     // beacon interval
      PutLe16(b, 0x0431);  // capabilities
      AppendSsidIe(b);
      if (p.band == Band::k24) {
        Put8(b, 3);
        Put8(b, 1);
        Put8(b, static_cast<uint8_t>(p.channel));
      }
      break;
    }
    case FrameKind::kProbeRequest:
      Put8(b, 0);
      Put8(b, 0);  // wildcard SSID
      Put8(b, 1);
      Put8(b, 4);
      b->append("\x82\x84\x8b\x96", 4);
      break;
    case FrameKind::kAuthentication:
      PutLe16(b, 0);
      PutLe16(b, p.tx ? 2 : 1);
      PutLe16(b, 0);
      break;
    case FrameKind::kAssociationRequest:
      PutLe16(b, 0x0431);
      PutLe16(b, 10);
      AppendSsidIe(b);
      break;
    case FrameKind::kReassociationRequest:
      PutLe16(b, 0x0431);
      PutLe16(b, 10);
      PutMac(b, p.bssid);
      AppendSsidIe(b);
      break;
    case FrameKind::kAssociationResponse:
      PutLe16(b, 0x0431);
      PutLe16(b, 0);
      PutLe16(b, 0xc001);
      break;
    case FrameKind::kDeauthentication:
      PutLe16(b, 3);
      break;
    case FrameKind::kDisassociation:
      PutLe16(b, 8);
      break;
    case FrameKind::kAction:
      Put8(b, 3);  // block ack
      Put8(b, 0);
      break;
    case FrameKind::kData:
    case FrameKind::kQosData:
      // CCMP header; the rest is ciphertext as on any WPA2 network.
      PutLe16(b, p.seq);
      Put8(b, 0);
      Put8(b, 0x20);
      PutLe32(b, 0);
      break;
    default:
      break;
  }
  size_t used = b->size() - start;
  // Zero bytes parse as empty tagged parameters (or ciphertext), so padding stays well-formed.
  if (used < frame_len) PutZeros(b, frame_len - used);
}

void BuildWired(const Packet& p, uint64_t src_mac, uint64_t dst_mac, std::string* b) {
  size_t start = b->size();
  PutMac(b, dst_mac);
  PutMac(b, src_mac);
  if (p.vlan > 0) {
    PutBe16(b, 0x8100);
    PutBe16(b, static_cast<uint16_t>(p.vlan));
  }
  if (p.proto == WiredProto::kArp) {
    PutBe16(b, 0x0806);
    PutBe16(b, 1);
    PutBe16(b, 0x0800);
    Put8(b, 6);
    Put8(b, 4);
    PutBe16(b, p.tx ? 2 : 1);
    PutMac(b, src_mac);
    PutBe32(b, p.src_ip);
    PutMac(b, p.tx ? dst_mac : 0);
    PutBe32(b, p.dst_ip);
  } else {
    PutBe16(b, 0x0800);
    size_t ip = b->size();
    uint16_t ip_len = static_cast<uint16_t>(p.length - (ip - start));
    Put8(b, 0x45);
    Put8(b, 0);
    PutBe16(b, ip_len);
    PutBe16(b, p.seq);
    PutBe16(b, 0x4000);
    Put8(b, 64);
    Put8(b, p.proto == WiredProto::kTcp ? 6 : p.proto == WiredProto::kUdp ? 17 : 1);
    PutBe16(b, 0);
    PutBe32(b, p.src_ip);
    PutBe32(b, p.dst_ip);
    uint16_t sum = IpChecksum(b->data() + ip, 20);
    (*b)[ip + 10] = static_cast<char>(sum >> 8);
    (*b)[ip + 11] = static_cast<char>(sum & 0xff);
    if (p.proto == WiredProto::kTcp) {
      PutBe16(b, static_cast<uint16_t>(p.src_port));
      PutBe16(b, static_cast<uint16_t>(p.dst_port));
      PutBe32(b, 1000u + p.seq);
      PutBe32(b, 5000u);
      Put8(b, 0x50);
      Put8(b, ip_len > 40 ? 0x18 : 0x10);
      PutBe16(b, 502);
      PutBe16(b, 0);
      PutBe16(b, 0);
    } else if (p.proto == WiredProto::kUdp) {
      PutBe16(b, static_cast<uint16_t>(p.src_port));
      PutBe16(b, static_cast<uint16_t>(p.dst_port));
      PutBe16(b, static_cast<uint16_t>(ip_len - 20));
      PutBe16(b, 0);
    } else {
      Put8(b, p.tx ? 0 : 8);  // echo reply / request
      Put8(b, 0);
      PutBe16(b, 0);
      PutBe16(b, 1);
      PutBe16(b, p.seq);
    }
  }
  size_t used = b->size() - start;
  if (used < p.length) PutZeros(b, p.length - used);
}

}  // namespace

const char* FrameTypeName(FrameKind k) { return kFrames[static_cast<int>(k)].type; }
const char* FrameSubtypeName(FrameKind k) { return kFrames[static_cast<int>(k)].subtype; }
int FrameTypeSubtypeCode(FrameKind k) {
  const FrameDef& d = kFrames[static_cast<int>(k)];
  return d.fc_type * 16 + d.fc_subtype;
}
const char* WiredProtoName(WiredProto p) { return kProtoNames[static_cast<int>(p)]; }
const RateInfo& Rate(int index) { return kRates[index].info; }

ApRadio MakeApRadio(uint64_t mac) {
  uint64_t s = mac;
  ApRadio r;
  r.mac = mac;
  r.channel[0] = kChannels24[SplitMix(s) % 3];
  r.channel[1] = kChannels5[SplitMix(s) % 6];
  r.channel[2] = kChannels6[SplitMix(s) % 6];
  return r;
}

int ChannelFrequency(Band band, int channel) {
  switch (band) {
    case Band::k24:
      return channel == 14 ? 2484 : 2407 + 5 * channel;
    case Band::k5:
      return 5000 + 5 * channel;
    case Band::k6:
      return 5950 + 5 * channel;
  }
  return 0;
}

void AppendBase64(std::string_view in, std::string* out) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t n = in.size();
  size_t pos = out->size();
  out->resize(pos + (n + 2) / 3 * 4);
  char* o = out->data() + pos;
  const auto* d = reinterpret_cast<const uint8_t*>(in.data());
  size_t i = 0;
  for (; i + 2 < n; i += 3) {
    uint32_t v = (d[i] << 16) | (d[i + 1] << 8) | d[i + 2];
    *o++ = kAlphabet[v >> 18];
    *o++ = kAlphabet[(v >> 12) & 63];
    *o++ = kAlphabet[(v >> 6) & 63];
    *o++ = kAlphabet[v & 63];
  }
  if (i < n) {
    uint32_t v = d[i] << 16;
    if (i + 1 < n) v |= d[i + 1] << 8;
    *o++ = kAlphabet[v >> 18];
    *o++ = kAlphabet[(v >> 12) & 63];
    *o++ = i + 1 < n ? kAlphabet[(v >> 6) & 63] : '=';
    *o++ = '=';
  }
}

void BuildPcap(const Packet& p, int max_pkt_len, std::string* out) {
  out->clear();
  PutLe32(out, 0xa1b2c3d4);
  PutLe16(out, 2);
  PutLe16(out, 4);
  PutLe32(out, 0);
  PutLe32(out, 0);
  PutLe32(out, static_cast<uint32_t>(max_pkt_len > 0 ? max_pkt_len : 65535));
  PutLe32(out, p.wired ? 1 : 127);
  int64_t us = Micros(p.timestamp);
  PutLe32(out, static_cast<uint32_t>(us / 1000000));
  PutLe32(out, static_cast<uint32_t>(us % 1000000));
  size_t caplen_at = out->size();
  PutLe32(out, 0);
  PutLe32(out, p.length);
  size_t pkt = out->size();
  if (p.wired) {
    BuildWired(p, p.src, p.dst, out);
  } else {
    BuildRadiotap(p, out);
    uint32_t radiotap_len = static_cast<uint32_t>(out->size() - pkt);
    BuildDot11(p, p.length - radiotap_len, out);
  }
  uint32_t caplen = static_cast<uint32_t>(out->size() - pkt);
  if (max_pkt_len > 0 && caplen > static_cast<uint32_t>(max_pkt_len)) {
    caplen = static_cast<uint32_t>(max_pkt_len);
  }
  out->resize(pkt + caplen);
  (*out)[caplen_at] = static_cast<char>(caplen & 0xff);
  (*out)[caplen_at + 1] = static_cast<char>((caplen >> 8) & 0xff);
  (*out)[caplen_at + 2] = static_cast<char>((caplen >> 16) & 0xff);
  (*out)[caplen_at + 3] = static_cast<char>(caplen >> 24);
}

void AppendPcapDict(const Packet& p, std::string* out) {
  out->push_back('{');
  char info[160];
  if (p.wired) {
    AppendMacField(out, "dst_mac", p.dst);
    AppendMacField(out, "src_mac", p.src);
    if (p.vlan > 0) AppendIntField(out, "vlan", p.vlan);
    AppendKey(out, "src_ip");
    out->push_back('"');
    AppendIp(out, p.src_ip);
    out->append("\",");
    AppendKey(out, "dst_ip");
    out->push_back('"');
    AppendIp(out, p.dst_ip);
    out->append("\",");
    if (p.src_port >= 0) AppendIntField(out, "src_port", p.src_port);
    if (p.dst_port >= 0) AppendIntField(out, "dst_port", p.dst_port);
    AppendStr(out, "proto", WiredProtoName(p.proto));
    switch (p.proto) {
      case WiredProto::kTcp: {
        uint32_t payload = p.length - (p.vlan > 0 ? 18 : 14) - 40;
        std::snprintf(info, sizeof info, "%d > %d [%s] Seq=%u Ack=5000 Win=502 Len=%u", p.src_port,
                      p.dst_port, payload ? "PSH, ACK" : "ACK", 1000u + p.seq, payload);
        break;
      }
      case WiredProto::kUdp:
        std::snprintf(info, sizeof info, "%d > %d Len=%u", p.src_port, p.dst_port,
                      p.length - (p.vlan > 0 ? 18 : 14) - 28);
        break;
      case WiredProto::kIcmp:
        std::snprintf(info, sizeof info, "Echo (ping) %s id=0x0001, seq=%u/%u, ttl=64",
                      p.tx ? "reply" : "request", p.seq, ((p.seq & 0xff) << 8) | (p.seq >> 8));
        break;
      default: {
        std::string dst_ip, src_ip;
        AppendIp(&dst_ip, p.dst_ip);
        AppendIp(&src_ip, p.src_ip);
        std::snprintf(info, sizeof info, "Who has %s? Tell %s", dst_ip.c_str(), src_ip.c_str());
      }
    }
  } else {
    AppendIntField(out, "channel_frequency", p.frequency);
    AppendIntField(out, "channel", p.channel);
    AppendStr(out, "datarate", kRates[p.rate].info.text);
    AppendIntField(out, "rssi", p.rssi);
    AppendMacField(out, "dst", p.dst);
    if (p.has_src) AppendMacField(out, "src", p.src);
    if (p.has_bssid) AppendMacField(out, "bssid", p.bssid);
    AppendStr(out, "frame_type", FrameTypeName(p.frame));
    AppendStr(out, "frame_subtype", FrameSubtypeName(p.frame));
    AppendStr(out, "proto", "802.11");
    if (p.frame == FrameKind::kBeacon) {
      std::snprintf(info, sizeof info, "Beacon frame, SN=%u, FN=0, Flags=........, BI=100, SSID=%s",
                    p.seq, kSsid);
    } else {
      std::snprintf(info, sizeof info, "%s, SN=%u, FN=0", FrameSubtypeName(p.frame), p.seq);
    }
  }
  AppendMacField(out, "ap_mac", p.ap_mac);
  AppendStr(out, "direction", p.tx ? "tx" : "rx");
  AppendKey(out, "timestamp");
  AppendTimestamp(out, p.timestamp);
  out->push_back(',');
  AppendKey(out, "length");
  AppendInt(out, p.length);
  out->append(".0,");
  AppendStr(out, "interface", p.wired ? "wired" : "radiotap");
  AppendKey(out, "info");
  out->push_back('"');
  AppendJsonEscaped(info, out);
  out->append("\"}");
}

PacketGenerator::PacketGenerator(uint64_t seed) : state_(seed * 0x2545f4914f6cdd1dULL + 1) {
  scratch_.reserve(4096);
  pcap_.reserve(2048);
}

uint64_t PacketGenerator::NextRandom() { return SplitMix(state_); }

Packet PacketGenerator::NextPacket(const StreamTarget& t, double now) {
  Packet p;
  p.timestamp = static_cast<double>(Micros(now)) / 1e6;
  p.seq = static_cast<uint16_t>(seq_++ & 0x0fff);
  uint64_t r = NextRandom();
  const ApRadio& ap = t.aps[r % t.aps.size()];
  p.ap_mac = ap.mac;
  r = NextRandom();
  bool wired =
      t.wired && (!t.wireless || static_cast<double>(r >> 11) * 0x1.0p-53 < t.settings.wired_share);
  r = NextRandom();
  int client_index = static_cast<int>(r % 24);
  uint64_t client = ClientMac(ap.mac, client_index);
  r >>= 8;
  if (wired) {
    p.wired = true;
    const std::vector<int>& vlans = t.settings.vlans;
    p.vlan = vlans.empty() ? 0 : vlans[r % vlans.size()];
    r >>= 8;
    int pick = static_cast<int>(r % 100);
    r >>= 8;
    p.proto = pick < 50   ? WiredProto::kTcp
              : pick < 80 ? WiredProto::kUdp
              : pick < 90 ? WiredProto::kIcmp
                          : WiredProto::kArp;
    p.tx = (r & 1) != 0;
    r >>= 1;
    uint32_t net = 0x0a000000u | (static_cast<uint32_t>(p.vlan & 0xff) << 16);
    uint32_t client_ip = net | static_cast<uint32_t>((ap.mac & 0xff) << 8) |
                         static_cast<uint32_t>(10 + client_index);
    uint32_t gateway_ip = net | 1;
    uint32_t server_ip = gateway_ip;
    uint32_t l2 = 14 + (p.vlan > 0 ? 4 : 0);
    uint32_t payload = 0;
    int client_port = -1, server_port = -1;
    uint64_t r2 = NextRandom();
    switch (p.proto) {
      case WiredProto::kTcp: {
        constexpr int kPorts[] = {443, 443, 80, 22, 8080};
        server_port = kPorts[r2 % 5];
        server_ip = server_port == 22 ? (net | 20) : (0x34549600u | (10 + (r2 >> 8) % 20));
        client_port = 49152 + static_cast<int>((r2 >> 16) % 16000);
        payload = (r2 >> 32) % 2 ? 0 : static_cast<uint32_t>((r2 >> 33) % 1460) + 1;
        p.length = l2 + 40 + payload;
        break;
      }
      case WiredProto::kUdp: {
        constexpr int kPorts[] = {53, 53, 123, 5353, 67};
        server_port = kPorts[r2 % 5];
        client_port = server_port == 67     ? 68
                      : server_port == 5353 ? 5353
                                            : 49152 + static_cast<int>((r2 >> 16) % 16000);
        if (server_port == 123) server_ip = 0xa29fc87bu;
        if (server_port == 5353) server_ip = 0xe00000fbu;
        payload = server_port == 123  ? 48
                  : server_port == 67 ? 300
                                      : 30 + static_cast<uint32_t>((r2 >> 32) % 200);
        p.length = l2 + 28 + payload;
        break;
      }
      case WiredProto::kIcmp:
        server_ip = (r2 & 1) ? 0x08080808u : gateway_ip;
        p.length = l2 + 84;
        break;
      default:
        p.length = l2 + 28 < 60 ? 60 : l2 + 28;
        if (p.vlan > 0) p.length = 64;
        break;
    }
    if (p.tx) {  // server/gateway -> client
      p.src = kGatewayMac;
      p.dst = client;
      p.src_ip = server_ip;
      p.dst_ip = client_ip;
      p.src_port = server_port;
      p.dst_port = client_port;
    } else {
      p.src = client;
      p.dst = kGatewayMac;
      p.src_ip = client_ip;
      p.dst_ip = server_ip;
      p.src_port = client_port;
      p.dst_port = server_port;
    }
    if (p.proto == WiredProto::kArp) {
      p.src_ip = p.tx ? gateway_ip : client_ip;
      p.dst_ip = p.tx ? client_ip : gateway_ip;
    }
    return p;
  }

  const std::vector<Band>& bands = t.settings.bands;
  p.band = bands.empty() ? Band::k24 : bands[r % bands.size()];
  r >>= 8;
  int b = static_cast<int>(p.band);
  p.channel = ap.channel[b];
  p.frequency = ChannelFrequency(p.band, p.channel);
  int pick = static_cast<int>(r % 100);
  r >>= 8;
  int k = 0;
  for (int acc = 0; k < kFrameKindCount; ++k) {
    acc += kFrames[k].weight;
    if (pick < acc) break;
  }
  if (k >= kFrameKindCount) k = kFrameKindCount - 1;
  p.frame = static_cast<FrameKind>(k);
  const FrameDef& def = kFrames[k];
  p.tx = def.direction == 2 ? (r & 1) != 0 : def.direction == 0;
  r >>= 1;
  uint64_t r2 = NextRandom();
  p.rssi = -95 + static_cast<int>(r2 % 71);
  r2 >>= 8;
  if (def.fc_type == 0) {
    p.rate = kMgmtRates[b][r2 % 2];
  } else if (def.fc_type == 1) {
    p.rate = kCtrlRates[b][r2 % 4];
  } else {
    p.rate = kDataRates[b][r2 % 6];
  }
  r2 >>= 8;
  uint64_t bssid = BssidFor(ap.mac, p.band);
  p.bssid = bssid;
  switch (p.frame) {
    case FrameKind::kBeacon:
      p.dst = kBroadcast;
      p.src = bssid;
      break;
    case FrameKind::kProbeRequest:
      p.dst = kBroadcast;
      p.src = client;
      p.bssid = kBroadcast;
      break;
    case FrameKind::kAck:
    case FrameKind::kCts:
      p.dst = p.tx ? client : bssid;
      p.has_src = false;
      p.has_bssid = false;
      break;
    case FrameKind::kRts:
    case FrameKind::kBlockAck:
    case FrameKind::kBlockAckRequest:
      p.dst = p.tx ? client : bssid;
      p.src = p.tx ? bssid : client;
      p.has_bssid = false;
      break;
    case FrameKind::kData:
    case FrameKind::kQosData:
      p.dst = p.tx ? client : kGatewayMac;
      p.src = p.tx ? kGatewayMac : client;
      break;
    case FrameKind::kNull:
    case FrameKind::kQosNull:
      p.dst = bssid;
      p.src = client;
      break;
    default:
      p.dst = p.tx ? client : bssid;
      p.src = p.tx ? bssid : client;
      break;
  }
  // Radiotap is 15 bytes, 18 with the MCS field, 28 with the VHT field.
  const RateDef& rate = kRates[p.rate];
  uint32_t radiotap = rate.encoding == RateEncoding::kHt    ? 18
                      : rate.encoding == RateEncoding::kVht ? 28
                                                            : 15;
  p.length = radiotap + FrameLength(p.frame, r2);
  return p;
}

void PacketGenerator::MakeDataMessage(const StreamTarget& t, double now, bool data_as_string,
                                      std::string* out, TruthDelta* delta) {
  Packet p = NextPacket(t, now);
  uint64_t n = t.counters->generated.fetch_add(1, std::memory_order_relaxed) + 1;
  int every = t.settings.lost_messages_every;
  int64_t lost = 0;
  if (every > 0) {
    if (n % static_cast<uint64_t>(every) == 0) {
      t.counters->lost.fetch_add(1 + static_cast<int64_t>(NextRandom() % 3),
                                 std::memory_order_relaxed);
    }
    lost = t.counters->lost.load(std::memory_order_relaxed);
  }
  std::string& inner = scratch_;
  inner.clear();
  inner.append("{\"capture_id\":\"");
  inner.append(t.capture_id);
  inner.append("\",");
  if (every > 0) AppendIntField(&inner, "lost_messages", lost);
  inner.append("\"pcap_dict\":");
  AppendPcapDict(p, &inner);
  inner.append(",\"pcap_raw\":\"");
  BuildPcap(p, t.max_pkt_len, &pcap_);
  AppendBase64(pcap_, &inner);
  inner.append("\"}");

  out->clear();
  out->reserve(inner.size() + t.channel.size() + 128);
  out->append("{\"event\":\"data\",\"channel\":\"");
  out->append(t.channel);
  out->append("\",\"data\":");
  if (data_as_string) {
    out->push_back('"');
    AppendJsonEscaped(inner, out);
    out->push_back('"');
  } else {
    out->append(inner);
  }
  out->push_back('}');

  TruthDelta& d = *delta;
  d = TruthDelta{};
  d.kind = p.wired ? TruthDelta::Kind::kWired : TruthDelta::Kind::kWireless;
  d.site = t.site_index;
  d.ap_mac = p.ap_mac;
  d.direction = p.tx ? 0 : 1;
  d.length = p.length;
  d.capture_serial = t.capture_serial;
  d.has_lost = every > 0;
  d.lost = lost;
  if (p.wired) {
    d.proto = static_cast<uint8_t>(p.proto);
    d.vlan = static_cast<int16_t>(p.vlan > 0 ? p.vlan : -1);
  } else {
    d.band = static_cast<uint8_t>(p.band);
    d.frame = static_cast<uint8_t>(p.frame);
    d.channel = static_cast<int16_t>(p.channel);
    d.rssi = static_cast<int16_t>(p.rssi);
    d.rate_mbps = kRates[p.rate].info.mbps;
  }
}

void PacketGenerator::MakeCaptureEndMessage(std::string_view channel, std::string_view capture_id,
                                            bool data_as_string, std::string* out) {
  std::string inner = "{\"capture_id\":\"";
  inner.append(capture_id);
  inner.append("\",\"pcap_dict\":null}");
  out->clear();
  out->append("{\"event\":\"data\",\"channel\":\"");
  out->append(channel);
  out->append("\",\"data\":");
  if (data_as_string) {
    out->push_back('"');
    AppendJsonEscaped(inner, out);
    out->push_back('"');
  } else {
    out->append(inner);
  }
  out->push_back('}');
}

}  // namespace mpe::sim
