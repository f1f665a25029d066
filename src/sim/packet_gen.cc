#include "sim/packet_gen.h"

#include <algorithm>
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
  // Length of the 802.11 frame (no FCS): min_len + r % (max_len - min_len), min_len when equal.
  uint16_t min_len;
  uint16_t max_len;
};

constexpr FrameDef kFrames[kFrameKindCount] = {
    {"Management", "Beacon", 0, 8, 19, 0, 160, 380},
    {"Management", "Probe Request", 0, 4, 6, 1, 60, 180},
    {"Management", "Probe Response", 0, 5, 6, 0, 160, 380},
    {"Management", "Authentication", 0, 11, 2, 2, 30, 30},
    {"Management", "Association Request", 0, 0, 1, 1, 120, 260},
    {"Management", "Association Response", 0, 1, 1, 0, 100, 220},
    {"Management", "Reassociation Request", 0, 2, 1, 1, 130, 270},
    {"Management", "Reassociation Response", 0, 3, 1, 0, 100, 220},
    {"Management", "Deauthentication", 0, 12, 1, 2, 26, 26},
    {"Management", "Disassociation", 0, 10, 1, 2, 26, 26},
    {"Management", "Action", 0, 13, 3, 2, 30, 64},
    {"Control", "ACK", 1, 13, 10, 2, 10, 10},
    {"Control", "RTS", 1, 11, 3, 2, 16, 16},
    {"Control", "CTS", 1, 12, 3, 2, 10, 10},
    {"Control", "Block Ack", 1, 9, 4, 2, 28, 28},
    {"Control", "Block Ack Request", 1, 8, 2, 2, 20, 20},
    {"Data", "Data", 2, 0, 6, 2, 60, 1560},
    {"Data", "QoS Data", 2, 8, 24, 2, 62, 1562},
    {"Data", "Null", 2, 4, 3, 1, 24, 24},
    {"Data", "QoS Null", 2, 12, 3, 1, 26, 26},
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

// {"event":"data","channel":..., "data": inner} with `inner` as an object or a JSON string.
void AppendDataEvent(std::string_view channel, std::string_view inner, bool data_as_string,
                     std::string* out) {
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
  if (k >= FrameKind::kCount) return 24;
  const FrameDef& def = kFrames[static_cast<int>(k)];
  if (def.max_len == def.min_len) return def.min_len;
  return def.min_len + static_cast<uint32_t>(r % (def.max_len - def.min_len));
}

void AppendSsidIe(std::string* b) {
  Put8(b, 0);
  Put8(b, sizeof(kSsid) - 1);
  b->append(kSsid, sizeof(kSsid) - 1);
}

// `n` pseudo-random bytes (nonces, MICs, encrypted key data, SAE elements) from `seed`.
void PutRandom(std::string* b, size_t n, uint64_t seed) {
  uint64_t s = seed | 1;
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = SplitMix(s);
    for (size_t j = 0; j < 8 && i + j < n; ++j) Put8(b, static_cast<uint8_t>(v >> (8 * j)));
  }
}

// EAPOL-Key Key Information (bit values of IEEE 802.11-2020 12.7.2, version 2 = AES).
constexpr uint16_t kKeyVersion = 0x0002, kKeyPairwise = 0x0008, kKeyInstall = 0x0040,
                   kKeyAck = 0x0080, kKeyMic = 0x0100, kKeySecure = 0x0200, kKeyEncrypted = 0x1000;
uint16_t KeyInfo(EapolKind k) {
  switch (k) {
    case EapolKind::kMsg1:
      return kKeyVersion | kKeyPairwise | kKeyAck;
    case EapolKind::kMsg2:
      return kKeyVersion | kKeyPairwise | kKeyMic;
    case EapolKind::kMsg3:
      return kKeyVersion | kKeyPairwise | kKeyInstall | kKeyAck | kKeyMic | kKeySecure |
             kKeyEncrypted;
    case EapolKind::kMsg4:
      return kKeyVersion | kKeyPairwise | kKeyMic | kKeySecure;
    case EapolKind::kGroup1:
      return kKeyVersion | kKeyAck | kKeyMic | kKeySecure | kKeyEncrypted;
    case EapolKind::kGroup2:
      return kKeyVersion | kKeyMic | kKeySecure;
    case EapolKind::kNone:
      break;
  }
  return 0;
}

constexpr uint32_t kEapolKeyBody = 95;  // descriptor type .. key data length

// LLC/SNAP + EAPOL header + EAPOL-Key descriptor + key data (after the 802.11 header).
void BuildEapol(const Packet& p, std::string* b, size_t pkt, PacketLayout* L) {
  L->start[static_cast<int>(Layer::kLlc)] = static_cast<int32_t>(b->size() - pkt);
  b->append("\xaa\xaa\x03\x00\x00\x00\x88\x8e", 8);
  L->start[static_cast<int>(Layer::kEapol)] = static_cast<int32_t>(b->size() - pkt);
  Put8(b, 2);  // 802.1X-2004
  Put8(b, 3);  // Key
  PutBe16(b, static_cast<uint16_t>(kEapolKeyBody + p.key_data_len));
  Put8(b, 2);  // RSN key descriptor
  PutBe16(b, KeyInfo(p.eapol));
  bool m4 = p.eapol == EapolKind::kMsg4;
  PutBe16(b, m4 || p.eapol == EapolKind::kGroup2 ? 0 : 16);  // key length
  uint64_t replay = (p.fill & 0xffff) + (p.eapol >= EapolKind::kMsg3 ? 1 : 0);
  PutBe32(b, static_cast<uint32_t>(replay >> 32));
  PutBe32(b, static_cast<uint32_t>(replay));
  // Nonce: ANonce in 1 and 3, SNonce in 2, zero in 4 and in group messages.
  if (p.eapol == EapolKind::kMsg1 || p.eapol == EapolKind::kMsg3) {
    PutRandom(b, 32, p.fill ^ 0xa11ce);
  } else if (p.eapol == EapolKind::kMsg2) {
    PutRandom(b, 32, p.fill ^ 0xb0b);
  } else {
    PutZeros(b, 32);
  }
  PutZeros(b, 16 + 8 + 8);  // IV, RSC, reserved
  if (p.eapol == EapolKind::kMsg1) {
    PutZeros(b, 16);
  } else {
    PutRandom(b, 16, p.fill ^ static_cast<uint64_t>(p.eapol) << 40);  // MIC
  }
  PutBe16(b, p.key_data_len);
  if (p.key_data_len > 0) {
    if (p.eapol == EapolKind::kMsg2 && p.key_data_len == 22) {
      // RSN element: CCMP pairwise and group, PSK.
      b->append(
          "\x30\x14\x01\x00\x00\x0f\xac\x04\x01\x00\x00\x0f\xac\x04\x01\x00\x00\x0f\xac\x02"
          "\x00\x00",
          22);
    } else if (p.eapol == EapolKind::kMsg1 && p.key_data_len == 22) {
      b->append("\xdd\x14\x00\x0f\xac\x04", 6);  // PMKID KDE
      PutRandom(b, 16, p.fill ^ 0x9d);
    } else {
      PutRandom(b, p.key_data_len, p.fill ^ 0xe7);  // encrypted key data
    }
  }
  L->need = static_cast<uint32_t>(b->size() - pkt);  // end of the EAPOL body
}

// 802.11 frame length of an unprotected EAPOL-Key data frame.
uint32_t EapolFrameLength(bool qos, uint16_t key_data_len) {
  return 24 + (qos ? 2 : 0) + 8 + 4 + kEapolKeyBody + key_data_len;
}

void PutIp6(std::string* b, uint32_t v4) {
  for (uint8_t byte : Ip6Of(v4)) Put8(b, byte);
}

// DNS message of a query, a response or an mDNS announcement.
void BuildDnsPayload(const Packet& p, std::string* b) {
  static constexpr const char* kHosts[] = {"\x03www", "\x04mail", "\x03vpn", "\x05login"};
  const char* host = kHosts[p.xid % 4];
  bool mdns = p.app == WiredApp::kMdns;
  bool answer = p.dns_qr && (mdns || p.dns_rcode == 0);
  uint16_t qtype = p.ipv6 ? 28 : 1;
  PutBe16(b, static_cast<uint16_t>(mdns ? 0 : p.xid));
  uint16_t flags = mdns ? 0x8400 : p.dns_qr ? static_cast<uint16_t>(0x8180 | p.dns_rcode) : 0x0100;
  PutBe16(b, flags);
  PutBe16(b, mdns ? 0 : 1);  // questions
  PutBe16(b, answer ? 1 : 0);
  PutBe16(b, 0);
  PutBe16(b, 0);
  if (mdns) {
    b->append("\x07printer\x05local", 14);
    Put8(b, 0);
    PutBe16(b, 1);
    PutBe16(b, 0x8001);  // IN, cache flush
    PutBe32(b, 120);
    PutBe16(b, 4);
    PutBe32(b, p.src_ip);
    return;
  }
  b->append(host, static_cast<size_t>(host[0]) + 1);
  b->append(
      "\x07"
      "example\x03"
      "com",
      12);
  Put8(b, 0);
  PutBe16(b, qtype);
  PutBe16(b, 1);
  if (!answer) return;
  PutBe16(b, 0xc00c);
  PutBe16(b, qtype);
  PutBe16(b, 1);
  PutBe32(b, 300);
  if (p.ipv6) {
    PutBe16(b, 16);
    b->append("\x26\x06\x47\x00\x00\x00\x00\x00\x00\x00\x00\x00\x68\x14", 14);
    PutBe16(b, static_cast<uint16_t>(p.xid));
  } else {
    PutBe16(b, 4);
    PutBe32(b, 0x5db8d800u | (p.xid & 0xff));
  }
}

uint32_t DnsPayloadSize(const Packet& p) {
  std::string tmp;
  BuildDnsPayload(p, &tmp);
  return static_cast<uint32_t>(tmp.size());
}

constexpr uint32_t kDhcpPayload = 300;  // BOOTP minimum: 236 + cookie + options + padding

void BuildDhcpPayload(const Packet& p, std::string* b, size_t pkt, PacketLayout* L) {
  size_t start = b->size();
  uint8_t t = p.dhcp_type;
  bool reply = t == 2 || t == 5 || t == 6;
  Put8(b, reply ? 2 : 1);
  Put8(b, 1);
  Put8(b, 6);
  Put8(b, 0);
  PutBe32(b, p.xid);
  PutBe16(b, 0);
  PutBe16(b, (t == 1 || t == 3 || t == 6) ? 0x8000 : 0);
  bool has_ciaddr = t == 7 || t == 8 || (t == 5 && p.yiaddr == 0);
  PutBe32(b, has_ciaddr ? (reply ? p.dst_ip : p.src_ip) : 0);  // ciaddr
  PutBe32(b, (t == 2 || t == 5) ? p.yiaddr : 0);               // yiaddr
  PutBe32(b, 0);
  PutBe32(b, 0);
  PutMac(b, p.fill);  // chaddr: the client
  PutZeros(b, 10 + 64 + 128);
  PutBe32(b, 0x63825363);
  Put8(b, 53);
  Put8(b, 1);
  Put8(b, t);
  uint32_t server = reply ? p.src_ip : (p.dst_ip == 0xffffffffu ? 0 : p.dst_ip);
  if (reply || t == 4 || t == 7) {
    Put8(b, 54);
    Put8(b, 4);
    PutBe32(b, reply ? p.src_ip : server);
  }
  if (t == 2 || (t == 5 && p.yiaddr != 0)) {
    Put8(b, 51);
    Put8(b, 4);
    PutBe32(b, 86400);
    Put8(b, 1);
    Put8(b, 4);
    PutBe32(b, 0xffffff00u);
    Put8(b, 3);
    Put8(b, 4);
    PutBe32(b, (p.yiaddr & 0xffffff00u) | 1);
  }
  if (t == 3 || t == 4) {
    Put8(b, 50);
    Put8(b, 4);
    PutBe32(b, p.yiaddr);
  }
  if (t == 1 || t == 3 || t == 8) {
    Put8(b, 55);
    Put8(b, 4);
    b->append("\x01\x03\x06\x0f", 4);
  }
  Put8(b, 255);
  // tshark 4.0 shows option 53 only when the options were captured up to the End option.
  L->need = static_cast<uint32_t>(b->size() - pkt);
  size_t used = b->size() - start;
  if (used < kDhcpPayload) PutZeros(b, kDhcpPayload - used);
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

// Control frames carry addresses (and the Block Ack fields) only; false for other kinds.
bool PutControlFrame(const Packet& p, std::string* b) {
  switch (p.frame) {
    case FrameKind::kAck:
    case FrameKind::kCts:
      PutMac(b, p.dst);
      return true;
    case FrameKind::kRts:
      PutMac(b, p.dst);
      PutMac(b, p.src);
      return true;
    case FrameKind::kBlockAck:
      PutMac(b, p.dst);
      PutMac(b, p.src);
      PutLe16(b, 0x0005);  // compressed bitmap
      PutLe16(b, static_cast<uint16_t>(p.seq << 4));
      PutLe32(b, 0xffffffff);
      PutLe32(b, 0x0000ffff);
      return true;
    case FrameKind::kBlockAckRequest:
      PutMac(b, p.dst);
      PutMac(b, p.src);
      PutLe16(b, 0x0004);
      PutLe16(b, static_cast<uint16_t>(p.seq << 4));
      return true;
    default:
      return false;
  }
}

// The three addresses, sequence control and (QoS frames) QoS control.
void PutThreeAddressHeader(const Packet& p, bool data_kind, std::string* b) {
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
}

void PutBeaconBody(const Packet& p, std::string* b) {
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
}

// Fixed fields of a management frame, the CCMP header or EAPOL body of a data frame; L->need
// ends at the status or reason code. The frame started at `start`.
void PutDot11Body(const Packet& p, uint32_t frame_len, bool protect, size_t start, std::string* b,
                  size_t pkt, PacketLayout* L) {
  auto code = [&](int value, int absent) {
    PutLe16(b, static_cast<uint16_t>(value < 0 ? absent : value));
    L->need = static_cast<uint32_t>(b->size() - pkt);
  };
  switch (p.frame) {
    case FrameKind::kBeacon:
    case FrameKind::kProbeResponse:
      PutBeaconBody(p, b);
      break;
    case FrameKind::kProbeRequest:
      Put8(b, 0);
      Put8(b, 0);  // wildcard SSID
      Put8(b, 1);
      Put8(b, 4);
      b->append("\x82\x84\x8b\x96", 4);
      break;
    case FrameKind::kAuthentication:
      PutLe16(b, p.auth_alg);
      PutLe16(b, p.auth_seq ? p.auth_seq : (p.tx ? 2 : 1));
      code(p.status, 0);
      if (p.auth_alg == 3) {
        PutLe16(b, 19);  // SAE finite cyclic group; scalar/element/token/confirm follow
        PutRandom(b, frame_len - std::min<size_t>(frame_len, b->size() - start), p.fill);
      }
      break;
    case FrameKind::kAssociationRequest:
    case FrameKind::kReassociationRequest:
      PutLe16(b, 0x0431);
      PutLe16(b, 10);
      if (p.frame == FrameKind::kReassociationRequest) PutMac(b, p.bssid);
      AppendSsidIe(b);
      break;
    case FrameKind::kAssociationResponse:
    case FrameKind::kReassociationResponse:
      PutLe16(b, 0x0431);
      code(p.status, 0);
      PutLe16(b, p.status > 0 ? 0 : 0xc001);
      break;
    case FrameKind::kDeauthentication:
      code(p.reason, 3);
      break;
    case FrameKind::kDisassociation:
      code(p.reason, 8);
      break;
    case FrameKind::kAction:
      Put8(b, 3);  // block ack
      Put8(b, 0);
      break;
    case FrameKind::kData:
    case FrameKind::kQosData:
      if (!protect) {
        BuildEapol(p, b, pkt, L);
        break;
      }
      // CCMP header; the rest is ciphertext as on any WPA2 network.
      PutLe16(b, p.seq);
      Put8(b, 0);
      Put8(b, 0x20);
      PutLe32(b, 0);
      break;
    default:
      break;
  }
}

// The full 802.11 frame of `p` (frame_len bytes).
void BuildDot11(const Packet& p, uint32_t frame_len, std::string* b, size_t pkt, PacketLayout* L) {
  const FrameDef& def = kFrames[static_cast<int>(p.frame)];
  size_t start = b->size();
  L->start[static_cast<int>(Layer::kDot11)] = static_cast<int32_t>(start - pkt);
  uint8_t flags = 0;
  bool data_kind = def.fc_type == 2;
  if (data_kind) flags = (p.tx ? 0x02 : 0x01);  // FromDS when the AP sends, else ToDS
  bool protect = (p.frame == FrameKind::kData || p.frame == FrameKind::kQosData) && p.protect;
  if (protect) flags |= 0x40;
  if (p.retry && def.fc_type != 1) flags |= 0x08;
  Put8(b, static_cast<uint8_t>((def.fc_subtype << 4) | (def.fc_type << 2)));
  Put8(b, flags);
  PutLe16(b, def.fc_type == 1 ? 44 : 0);  // duration
  if (PutControlFrame(p, b)) return;
  PutThreeAddressHeader(p, data_kind, b);
  PutDot11Body(p, frame_len, protect, start, b, pkt, L);
  size_t used = b->size() - start;
  // Zero bytes parse as empty tagged parameters (or ciphertext), so padding stays well-formed.
  if (used < frame_len) PutZeros(b, frame_len - used);
}

// Records where layer `l` starts: here, at the end of what `b` holds so far.
void MarkLayer(PacketLayout* L, Layer l, const std::string& b, size_t pkt) {
  L->start[static_cast<int>(l)] = static_cast<int32_t>(b.size() - pkt);
}

void PutArp(const Packet& p, uint64_t src_mac, uint64_t dst_mac, std::string* b) {
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
}

// UDP checksum over the IPv6 pseudo-header (mandatory in IPv6), written into the header.
void SetUdp6Checksum(size_t ip, size_t udp, uint16_t udp_len, std::string* b) {
  uint32_t sum = 0;
  auto add = [&sum](const char* d, size_t n) {
    for (size_t i = 0; i < n; i += 2) {
      sum += static_cast<uint32_t>(static_cast<uint8_t>(d[i]) << 8) |
             (i + 1 < n ? static_cast<uint8_t>(d[i + 1]) : 0u);
    }
  };
  add(b->data() + ip + 8, 32);
  sum += udp_len + 17u;
  add(b->data() + udp, b->size() - udp);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  uint16_t c = static_cast<uint16_t>(~sum);
  if (c == 0) c = 0xffff;
  (*b)[udp + 6] = static_cast<char>(c >> 8);
  (*b)[udp + 7] = static_cast<char>(c & 0xff);
}

// IPv6 + UDP (DNS, mDNS); the Ethernet header started at `start`.
void PutIpv6Udp(const Packet& p, size_t start, std::string* b, size_t pkt, PacketLayout* L) {
  PutBe16(b, 0x86dd);
  MarkLayer(L, Layer::kIp, *b, pkt);
  size_t ip = b->size();
  uint16_t udp_len = static_cast<uint16_t>(p.length - (ip - start) - 40);
  PutBe32(b, 0x60000000u);
  PutBe16(b, udp_len);
  Put8(b, 17);
  Put8(b, p.app == WiredApp::kMdns ? 255 : 64);
  PutIp6(b, p.src_ip);
  PutIp6(b, p.dst_ip);
  MarkLayer(L, Layer::kUdp, *b, pkt);
  size_t udp = b->size();
  PutBe16(b, static_cast<uint16_t>(p.src_port));
  PutBe16(b, static_cast<uint16_t>(p.dst_port));
  PutBe16(b, udp_len);
  PutBe16(b, 0);
  if (p.app == WiredApp::kDns) MarkLayer(L, Layer::kDns, *b, pkt);
  size_t payload = b->size();
  BuildDnsPayload(p, b);
  if (p.app == WiredApp::kDns) L->need = static_cast<uint32_t>(payload - pkt + 4);
  SetUdp6Checksum(ip, udp, udp_len, b);
}

// UDP header and payload after an IPv4 header of total length ip_len.
void PutUdp4(const Packet& p, uint16_t ip_len, std::string* b, size_t pkt, PacketLayout* L) {
  MarkLayer(L, Layer::kUdp, *b, pkt);
  PutBe16(b, static_cast<uint16_t>(p.src_port));
  PutBe16(b, static_cast<uint16_t>(p.dst_port));
  PutBe16(b, static_cast<uint16_t>(ip_len - 20));
  PutBe16(b, 0);
  auto port = [&p](int n) { return p.src_port == n || p.dst_port == n; };
  // Wireshark's UDP dissector hands ports 67/68 to DHCP and 53 to DNS (5353 is mDNS,
  // not a listed layer: its bytes stay under "udp").
  if (port(67) || port(68)) {
    MarkLayer(L, Layer::kDhcp, *b, pkt);
  } else if (port(53)) {
    MarkLayer(L, Layer::kDns, *b, pkt);
  }
  size_t payload = b->size();
  if (p.app == WiredApp::kDhcp) {
    BuildDhcpPayload(p, b, pkt, L);
  } else if (p.app == WiredApp::kDns || p.app == WiredApp::kMdns) {
    BuildDnsPayload(p, b);
    if (p.app == WiredApp::kDns) L->need = static_cast<uint32_t>(payload - pkt + 4);
  }
}

// IPv4 + TCP, UDP or ICMP; the Ethernet header started at `start`.
void PutIpv4(const Packet& p, size_t start, std::string* b, size_t pkt, PacketLayout* L) {
  PutBe16(b, 0x0800);
  MarkLayer(L, Layer::kIp, *b, pkt);
  size_t ip = b->size();
  uint16_t ip_len = static_cast<uint16_t>(p.length - (ip - start));
  Put8(b, 0x45);
  Put8(b, 0);
  PutBe16(b, ip_len);
  PutBe16(b, p.seq);
  PutBe16(b, 0x4000);
  Put8(b, p.app == WiredApp::kMdns ? 255 : 64);
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
    PutUdp4(p, ip_len, b, pkt, L);
  } else {
    Put8(b, p.tx ? 0 : 8);  // echo reply / request
    Put8(b, 0);
    PutBe16(b, 0);
    PutBe16(b, 1);
    PutBe16(b, p.seq);
  }
}

void BuildWired(const Packet& p, uint64_t src_mac, uint64_t dst_mac, std::string* b, size_t pkt,
                PacketLayout* L) {
  size_t start = b->size();
  MarkLayer(L, Layer::kEthernet, *b, pkt);
  PutMac(b, dst_mac);
  PutMac(b, src_mac);
  if (p.vlan > 0) {
    PutBe16(b, 0x8100);
    MarkLayer(L, Layer::kVlan, *b, pkt);
    PutBe16(b, static_cast<uint16_t>(p.vlan));
  }
  if (p.proto == WiredProto::kArp) {
    PutArp(p, src_mac, dst_mac, b);
  } else if (p.ipv6) {  // UDP only (DNS, mDNS)
    PutIpv6Udp(p, start, b, pkt, L);
  } else {
    PutIpv4(p, start, b, pkt, L);
  }
  size_t used = b->size() - start;
  if (used < p.length) PutZeros(b, p.length - used);
}

}  // namespace

int PacketLayout::TruncatedLayer() const {
  if (caplen >= length || caplen == 0) return -1;
  int best = -1;
  int32_t best_start = -1;
  for (int i = 0; i < kLayerCount; ++i) {
    // The innermost layer is the one that starts last at or before the last captured byte;
    // a cut exactly at a header's end already lists the next layer (tshark 4.0), except for
    // DHCP and DNS, which need one payload byte.
    bool app = i == static_cast<int>(Layer::kDhcp) || i == static_cast<int>(Layer::kDns);
    int32_t last = static_cast<int32_t>(caplen) - (app ? 1 : 0);
    if (start[i] >= 0 && start[i] <= last && start[i] >= best_start) {
      best = i;
      best_start = start[i];
    }
  }
  return best;
}

std::array<uint8_t, 16> Ip6Of(uint32_t v4) {
  std::array<uint8_t, 16> a{};
  if (v4 == 0xe00000fbu) {  // mDNS group -> ff02::fb
    a[0] = 0xff;
    a[1] = 0x02;
    a[15] = 0xfb;
  } else if ((v4 & 0xff000000u) == 0x0a000000u) {  // 10.x.y.z -> fd00::(10.x):(y.z)
    a[0] = 0xfd;
    for (int i = 0; i < 4; ++i) a[12 + i] = static_cast<uint8_t>(v4 >> (8 * (3 - i)));
  } else {  // public -> 2001:4860:4860::(v4 low 16 bits)
    a[0] = 0x20;
    a[1] = 0x01;
    a[2] = 0x48;
    a[3] = 0x60;
    a[4] = 0x48;
    a[5] = 0x60;
    a[14] = static_cast<uint8_t>(v4 >> 8);
    a[15] = static_cast<uint8_t>(v4);
  }
  return a;
}

std::string FormatIp6(const std::array<uint8_t, 16>& a) {
  uint16_t g[8];
  for (int i = 0; i < 8; ++i) g[i] = static_cast<uint16_t>(a[2 * i] << 8 | a[2 * i + 1]);
  int best = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  if (best_len < 2) best = -1;
  std::string out;
  char buf[8];
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    std::snprintf(buf, sizeof buf, "%x", g[i]);
    out += buf;
  }
  return out;
}

void FillConnectivityTruth(const Packet& p, const PacketLayout& L, TruthDelta* d) {
  d->ts_us = Micros(p.timestamp);
  d->truncated = static_cast<int8_t>(L.TruncatedLayer());
  bool need_ok = L.need > 0 && L.caplen >= L.need;
  if (p.wired) {
    if (p.app == WiredApp::kDhcp && need_ok && p.dhcp_type >= 1 && p.dhcp_type <= 8) {
      d->dhcp = p.dhcp_type;
    }
    if (p.app == WiredApp::kDns && p.dns_qr && p.src_port == 53 && need_ok) {
      d->dns_rcode = static_cast<int8_t>(p.dns_rcode);
    }
    return;
  }
  const FrameDef& def = kFrames[static_cast<int>(p.frame)];
  int fc = L.start[static_cast<int>(Layer::kDot11)];
  d->retry = p.retry && def.fc_type != 1 && fc >= 0 && L.caplen >= static_cast<uint32_t>(fc) + 2;
  switch (p.frame) {
    case FrameKind::kAuthentication:
    case FrameKind::kAssociationResponse:
    case FrameKind::kReassociationResponse:
      if (need_ok && p.has_src && p.has_bssid && p.src == p.bssid) {
        d->join = p.frame == FrameKind::kAuthentication        ? 1
                  : p.frame == FrameKind::kAssociationResponse ? 2
                                                               : 3;
        d->code = static_cast<uint16_t>(p.status < 0 ? 0 : p.status);
      }
      break;
    case FrameKind::kDeauthentication:
    case FrameKind::kDisassociation:
      if (need_ok) {
        bool deauth = p.frame == FrameKind::kDeauthentication;
        d->disc = deauth ? 1 : 2;
        d->code = static_cast<uint16_t>(p.reason >= 0 ? p.reason : deauth ? 3 : 8);
      }
      break;
    default:
      break;
  }
  if (def.fc_type != 2) return;
  uint64_t client = p.tx ? p.dst : p.src;  // FromDS: RA; ToDS: TA
  if (!p.tx || ((p.dst >> 40) & 1) == 0) d->top_client = client;
  if (!p.protect && p.eapol >= EapolKind::kMsg1 && p.eapol <= EapolKind::kMsg4 && need_ok) {
    d->eapol_msg = static_cast<uint8_t>(p.eapol);
    d->bssid = p.bssid;
    d->client = client;
  }
}

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

void BuildPcap(const Packet& p, int max_pkt_len, std::string* out, PacketLayout* layout) {
  PacketLayout local;
  PacketLayout* L = layout ? layout : &local;
  for (int32_t& v : L->start) v = -1;
  L->need = 0;
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
    BuildWired(p, p.src, p.dst, out, pkt, L);
  } else {
    L->start[static_cast<int>(Layer::kRadiotap)] = 0;
    BuildRadiotap(p, out);
    uint32_t radiotap_len = static_cast<uint32_t>(out->size() - pkt);
    BuildDot11(p, p.length - radiotap_len, out, pkt, L);
  }
  uint32_t caplen = static_cast<uint32_t>(out->size() - pkt);
  L->length = caplen;
  if (max_pkt_len > 0 && caplen > static_cast<uint32_t>(max_pkt_len)) {
    caplen = static_cast<uint32_t>(max_pkt_len);
  }
  L->caplen = caplen;
  out->resize(pkt + caplen);
  (*out)[caplen_at] = static_cast<char>(caplen & 0xff);
  (*out)[caplen_at + 1] = static_cast<char>((caplen >> 8) & 0xff);
  (*out)[caplen_at + 2] = static_cast<char>((caplen >> 16) & 0xff);
  (*out)[caplen_at + 3] = static_cast<char>(caplen >> 24);
}

namespace {

// "key":"<address>", with the IPv6 address derived from `v4` when `ipv6` (see Ip6Of).
void AppendIpField(std::string* out, std::string_view key, uint32_t v4, bool ipv6) {
  AppendKey(out, key);
  out->push_back('"');
  if (ipv6) {
    out->append(FormatIp6(Ip6Of(v4)));
  } else {
    AppendIp(out, v4);
  }
  out->append("\",");
}

// The "info" text tshark shows for a base-mix wired packet.
void FormatWiredInfo(const Packet& p, char* info, size_t n) {
  switch (p.proto) {
    case WiredProto::kTcp: {
      uint32_t payload = p.length - (p.vlan > 0 ? 18 : 14) - 40;
      std::snprintf(info, n, "%d > %d [%s] Seq=%u Ack=5000 Win=502 Len=%u", p.src_port, p.dst_port,
                    payload ? "PSH, ACK" : "ACK", 1000u + p.seq, payload);
      break;
    }
    case WiredProto::kUdp:
      std::snprintf(info, n, "%d > %d Len=%u", p.src_port, p.dst_port,
                    p.length - (p.vlan > 0 ? 18 : 14) - (p.ipv6 ? 48 : 28));
      break;
    case WiredProto::kIcmp:
      std::snprintf(info, n, "Echo (ping) %s id=0x0001, seq=%u/%u, ttl=64",
                    p.tx ? "reply" : "request", p.seq, ((p.seq & 0xff) << 8) | (p.seq >> 8));
      break;
    default: {
      std::string dst_ip, src_ip;
      AppendIp(&dst_ip, p.dst_ip);
      AppendIp(&src_ip, p.src_ip);
      std::snprintf(info, n, "Who has %s? Tell %s", dst_ip.c_str(), src_ip.c_str());
    }
  }
}

}  // namespace

void AppendPcapDict(const Packet& p, std::string* out) {
  out->push_back('{');
  char info[160];
  if (p.wired) {
    AppendMacField(out, "dst_mac", p.dst);
    AppendMacField(out, "src_mac", p.src);
    if (p.vlan > 0) AppendIntField(out, "vlan", p.vlan);
    AppendIpField(out, "src_ip", p.src_ip, p.ipv6);
    AppendIpField(out, "dst_ip", p.dst_ip, p.ipv6);
    if (p.src_port >= 0) AppendIntField(out, "src_port", p.src_port);
    if (p.dst_port >= 0) AppendIntField(out, "dst_port", p.dst_port);
    AppendStr(out, "proto", WiredProtoName(p.proto));
    FormatWiredInfo(p, info, sizeof info);
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

namespace {

uint32_t RadiotapLength(int rate) {
  const RateDef& r = kRates[rate];
  return r.encoding == RateEncoding::kHt ? 18 : r.encoding == RateEncoding::kVht ? 28 : 15;
}

// The server end, ports and frame length of a base-mix wired packet (one random draw `r`).
struct WiredFlow {
  uint32_t server_ip = 0;
  int client_port = -1, server_port = -1;
  uint32_t length = 0;
};

WiredFlow BaseWiredFlow(WiredProto proto, uint32_t net, int vlan, uint64_t r) {
  uint32_t gateway_ip = net | 1;
  uint32_t l2 = 14 + (vlan > 0 ? 4 : 0);
  WiredFlow f;
  f.server_ip = gateway_ip;
  switch (proto) {
    case WiredProto::kTcp: {
      constexpr int kPorts[] = {443, 443, 80, 22, 8080};
      f.server_port = kPorts[r % 5];
      f.server_ip = f.server_port == 22 ? (net | 20) : (0x34549600u | (10 + (r >> 8) % 20));
      f.client_port = 49152 + static_cast<int>((r >> 16) % 16000);
      uint32_t payload = (r >> 32) % 2 ? 0 : static_cast<uint32_t>((r >> 33) % 1460) + 1;
      f.length = l2 + 40 + payload;
      break;
    }
    case WiredProto::kUdp: {
      constexpr int kPorts[] = {53, 53, 123, 5353, 67};
      f.server_port = kPorts[r % 5];
      f.client_port = f.server_port == 67     ? 68
                      : f.server_port == 5353 ? 5353
                                              : 49152 + static_cast<int>((r >> 16) % 16000);
      if (f.server_port == 123) f.server_ip = 0xa29fc87bu;
      if (f.server_port == 5353) f.server_ip = 0xe00000fbu;
      uint32_t payload = f.server_port == 123  ? 48
                         : f.server_port == 67 ? 300
                                               : 30 + static_cast<uint32_t>((r >> 32) % 200);
      f.length = l2 + 28 + payload;
      break;
    }
    case WiredProto::kIcmp:
      f.server_ip = (r & 1) ? 0x08080808u : gateway_ip;
      f.length = l2 + 84;
      break;
    default:
      f.length = l2 + 28 < 60 ? 60 : l2 + 28;
      if (vlan > 0) f.length = 64;
      break;
  }
  return f;
}

// The base-mix frame kind for a percentile `pick` (kFrames weights).
FrameKind PickBaseFrame(int pick) {
  int k = 0;
  for (int acc = 0; k < kFrameKindCount; ++k) {
    acc += kFrames[k].weight;
    if (pick < acc) break;
  }
  if (k >= kFrameKindCount) k = kFrameKindCount - 1;
  return static_cast<FrameKind>(k);
}

// Addresses of a base-mix 802.11 frame between `client` and the AP's `bssid`.
void AddressBaseFrame(uint64_t client, uint64_t bssid, Packet* p) {
  p->bssid = bssid;
  switch (p->frame) {
    case FrameKind::kBeacon:
      p->dst = kBroadcast;
      p->src = bssid;
      break;
    case FrameKind::kProbeRequest:
      p->dst = kBroadcast;
      p->src = client;
      p->bssid = kBroadcast;
      break;
    case FrameKind::kAck:
    case FrameKind::kCts:
      p->dst = p->tx ? client : bssid;
      p->has_src = false;
      p->has_bssid = false;
      break;
    case FrameKind::kRts:
    case FrameKind::kBlockAck:
    case FrameKind::kBlockAckRequest:
      p->dst = p->tx ? client : bssid;
      p->src = p->tx ? bssid : client;
      p->has_bssid = false;
      break;
    case FrameKind::kData:
    case FrameKind::kQosData:
      p->dst = p->tx ? client : kGatewayMac;
      p->src = p->tx ? kGatewayMac : client;
      break;
    case FrameKind::kNull:
    case FrameKind::kQosNull:
      p->dst = bssid;
      p->src = client;
      break;
    default:
      p->dst = p->tx ? client : bssid;
      p->src = p->tx ? bssid : client;
      break;
  }
}

}  // namespace

Packet PacketGenerator::NextPacket(const StreamTarget& t, double now) {
  Packet p;
  // One site's packets have strictly increasing whole-microsecond timestamps.
  SiteState& site = sites_[t.site_index];
  if (site.capture_serial != t.capture_serial) {
    site.capture_serial = t.capture_serial;
    site.scripts.clear();
  }
  int64_t now_us = std::max(Micros(now), site.last_us + 1);
  site.last_us = now_us;
  p.timestamp = static_cast<double>(now_us) / 1e6;
  p.seq = static_cast<uint16_t>(seq_++ & 0x0fff);
  uint64_t r = NextRandom();
  const ApRadio& ap = t.aps[r % t.aps.size()];
  p.ap_mac = ap.mac;
  r = NextRandom();
  bool wired =
      t.wired && (!t.wireless || static_cast<double>(r >> 11) * 0x1.0p-53 < t.settings.wired_share);
  if (t.settings.connectivity && Uniform() < t.settings.connectivity_share) {
    double ts = p.timestamp;
    if (NextConnectivity(t, ap, wired, now_us, &p)) {
      p.timestamp = ts;
      return p;
    }
  }
  r = NextRandom();
  int client_index = static_cast<int>(r % 24);
  r >>= 8;
  if (wired) {
    BaseWired(t, ap, client_index, r, &p);
  } else {
    BaseWireless(t, ap, ClientMac(ap.mac, client_index), r, &p);
  }
  return p;
}

void PacketGenerator::BaseWired(const StreamTarget& t, const ApRadio& ap, int client_index,
                                uint64_t r, Packet* out) {
  Packet& p = *out;
  uint64_t client = ClientMac(ap.mac, client_index);
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
  uint32_t net = 0x0a000000u | (static_cast<uint32_t>(p.vlan & 0xff) << 16);
  uint32_t client_ip =
      net | static_cast<uint32_t>((ap.mac & 0xff) << 8) | static_cast<uint32_t>(10 + client_index);
  uint32_t gateway_ip = net | 1;
  WiredFlow f = BaseWiredFlow(p.proto, net, p.vlan, NextRandom());
  p.length = f.length;
  if (p.tx) {  // server/gateway -> client
    p.src = kGatewayMac;
    p.dst = client;
    p.src_ip = f.server_ip;
    p.dst_ip = client_ip;
    p.src_port = f.server_port;
    p.dst_port = f.client_port;
  } else {
    p.src = client;
    p.dst = kGatewayMac;
    p.src_ip = client_ip;
    p.dst_ip = f.server_ip;
    p.src_port = f.client_port;
    p.dst_port = f.server_port;
  }
  if (p.proto == WiredProto::kArp) {
    p.src_ip = p.tx ? gateway_ip : client_ip;
    p.dst_ip = p.tx ? client_ip : gateway_ip;
  }
}

void PacketGenerator::BaseWireless(const StreamTarget& t, const ApRadio& ap, uint64_t client,
                                   uint64_t r, Packet* out) {
  Packet& p = *out;
  const std::vector<Band>& bands = t.settings.bands;
  p.band = bands.empty() ? Band::k24 : bands[r % bands.size()];
  r >>= 8;
  int b = static_cast<int>(p.band);
  p.channel = ap.channel[b];
  p.frequency = ChannelFrequency(p.band, p.channel);
  p.frame = PickBaseFrame(static_cast<int>(r % 100));
  r >>= 8;
  const FrameDef& def = kFrames[static_cast<int>(p.frame)];
  p.tx = def.direction == 2 ? (r & 1) != 0 : def.direction == 0;
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
  AddressBaseFrame(client, BssidFor(ap.mac, p.band), &p);
  p.length = RadiotapLength(p.rate) + FrameLength(p.frame, r2);
  // Retransmissions: individually addressed management and data frames only.
  if (t.settings.connectivity && def.fc_type != 1 && ((p.dst >> 40) & 1) == 0 &&
      Uniform() < t.settings.retry_share) {
    p.retry = true;
  }
}

double PacketGenerator::Uniform() { return static_cast<double>(NextRandom() >> 11) * 0x1.0p-53; }

namespace {

constexpr int kClientsPerAp = 60;  // connectivity clients per AP; 0..2 are the heavy ones
constexpr int kHeavyClients = 3;
constexpr size_t kMaxScripts = 8;  // running sequences per site

template <size_t N>
int Pick(const int (&weights)[N], double u) {
  int total = 0;
  for (int w : weights) total += w;
  double x = u * total;
  for (size_t i = 0; i < N; ++i) {
    if (x < weights[i]) return static_cast<int>(i);
    x -= weights[i];
  }
  return static_cast<int>(N - 1);
}

}  // namespace

void PacketGenerator::Radio(const StreamTarget& t, const ApRadio& ap, Band band, Packet* p) {
  int b = static_cast<int>(band);
  p->ap_mac = ap.mac;
  p->band = band;
  p->channel = ap.channel[b];
  p->frequency = ChannelFrequency(band, p->channel);
  p->bssid = BssidFor(ap.mac, band);
  uint64_t r = NextRandom();
  p->rssi = -90 + static_cast<int>(r % 60);
  r >>= 8;
  int fc_type = kFrames[static_cast<int>(p->frame)].fc_type;
  p->rate = fc_type == 0 ? kMgmtRates[b][r % 2] : kDataRates[b][r % 6];
  p->seq = static_cast<uint16_t>(seq_++ & 0x0fff);
  p->fill = NextRandom();
  (void)t;
}

void PacketGenerator::ClientData(const StreamTarget& t, const ApRadio& ap, Packet* p) {
  const std::vector<Band>& bands = t.settings.bands;
  Band band = bands.empty() ? Band::k24 : bands[NextRandom() % bands.size()];
  bool heavy = Uniform() < 0.5;
  int index =
      heavy ? static_cast<int>(NextRandom() % kHeavyClients)
            : kHeavyClients + static_cast<int>(NextRandom() % (kClientsPerAp - kHeavyClients));
  uint64_t client = ClientMac(ap.mac, index);
  bool group = Uniform() < 0.05;
  constexpr int kKinds[] = {75, 15, 5, 5};  // QoS Data, Data, Null, QoS Null
  int kind = group ? static_cast<int>(NextRandom() % 2) : Pick(kKinds, Uniform());
  Packet q;
  q.frame = kind == 0   ? FrameKind::kQosData
            : kind == 1 ? FrameKind::kData
            : kind == 2 ? FrameKind::kNull
                        : FrameKind::kQosNull;
  Radio(t, ap, band, &q);
  bool null = kind >= 2;
  q.tx = group || (!null && Uniform() < 0.6);
  if (null) {
    q.dst = q.bssid;
    q.src = client;
  } else if (q.tx) {
    q.dst = group ? (Uniform() < 0.5 ? kBroadcast : 0x01005e000000ULL | (NextRandom() & 0x7fffff))
                  : client;
    q.src = kGatewayMac;
  } else {
    q.dst = kGatewayMac;
    q.src = client;
  }
  uint32_t body = null              ? FrameLength(q.frame, 0)
                  : heavy && !group ? 1300 + static_cast<uint32_t>(NextRandom() % 260)
                                    : 60 + static_cast<uint32_t>(NextRandom() % 340);
  q.length = RadiotapLength(q.rate) + body;
  q.retry = !group && Uniform() < t.settings.retry_share;
  *p = q;
}

// Builds one wireless connectivity sequence into a Script: frames between one client and one
// AP on one band, each due some time after the previous one. Draws from the generator in the
// order the sequence is written, so a seed gives the same packets.
class PacketGenerator::WirelessScript {
 public:
  WirelessScript(PacketGenerator& g, const StreamTarget& t, const ApRadio& ap, int64_t now_us,
                 Script* s)
      : g_(g), t_(t), ap_(ap), at_(now_us), s_(s) {
    const std::vector<Band>& bands = t.settings.bands;
    band_ = bands.empty() ? Band::k24 : bands[g.NextRandom() % bands.size()];
    client_ = ClientMac(ap.mac, static_cast<int>(g.NextRandom() % kClientsPerAp));
  }

  // 3..8 deauthentications, from the AP (a fifth of those to broadcast) or the client.
  void DeauthenticationBurst() {
    constexpr int kReasons[] = {1, 2, 3, 4, 6, 7, 8, 15, 23};
    int reason = kReasons[g_.NextRandom() % 9];
    bool from_ap = g_.Uniform() < 0.6;
    bool broadcast = from_ap && g_.Uniform() < 0.2;
    int n = 3 + static_cast<int>(g_.NextRandom() % 6);
    for (int i = 0; i < n; ++i) {
      Packet q = Frame(FrameKind::kDeauthentication, from_ap);
      if (broadcast) q.dst = kBroadcast;
      q.reason = reason;
      Push(q, 26, i == 0 ? 0 : Ms(1, 5), false);
    }
  }

  void Disassociation() {
    constexpr int kReasons[] = {1, 3, 4, 8};
    int reason = kReasons[g_.NextRandom() % 4];
    bool from_ap = g_.Uniform() < 0.5;
    int n = 1 + static_cast<int>(g_.NextRandom() % 2);
    for (int i = 0; i < n; ++i) {
      Packet q = Frame(FrameKind::kDisassociation, from_ap);
      q.reason = reason;
      Push(q, 26, i == 0 ? 0 : Ms(1, 5), false);
    }
  }

  // Authentication (open or SAE), (re)association, 4-way handshake, group key; each step
  // only when the previous one succeeded.
  void Join() {
    bool authenticated = g_.Uniform() < 0.75 ? OpenAuthentication() : SaeAuthentication();
    if (!authenticated || !Associate()) return;
    Handshake();
  }

 private:
  int64_t Ms(int lo, int hi) {
    return static_cast<int64_t>(lo) * 1000 +
           static_cast<int64_t>(g_.NextRandom() % ((hi - lo) * 1000));
  }

  Packet Frame(FrameKind k, bool from_ap) {
    Packet q;
    q.frame = k;
    g_.Radio(t_, ap_, band_, &q);
    q.tx = from_ap;
    q.dst = from_ap ? client_ : q.bssid;  // EAPOL data frames too: DA/SA are the two ends
    q.src = from_ap ? q.bssid : client_;
    q.protect = kFrames[static_cast<int>(k)].fc_type != 2;
    return q;
  }

  Packet SaeFrame(bool from_ap, uint8_t auth_seq) {
    Packet q = Frame(FrameKind::kAuthentication, from_ap);
    q.auth_alg = 3;
    q.auth_seq = auth_seq;
    return q;
  }

  // Adds `q` (802.11 length `dot11`) `gap` after the previous one; ~retry_share of them are
  // followed by a retransmitted copy (Retry bit, same sequence number) 1..4 ms later.
  void Push(Packet q, uint32_t dot11, int64_t gap, bool may_retry = true) {
    at_ += gap;
    q.length = RadiotapLength(q.rate) + dot11;
    s_->packets.emplace_back(at_, q);
    if (may_retry && g_.Uniform() < t_.settings.retry_share) {
      q.retry = true;
      at_ += Ms(1, 4);
      s_->packets.emplace_back(at_, q);
    }
  }

  bool OpenAuthentication() {
    Packet req = Frame(FrameKind::kAuthentication, false);
    req.auth_seq = 1;
    Push(req, 30, 0);
    constexpr int kStatus[] = {80, 5, 5, 5, 5};
    constexpr int kCodes[] = {0, 1, 15, 17, 37};
    Packet resp = Frame(FrameKind::kAuthentication, true);
    resp.auth_seq = 2;
    resp.status = kCodes[Pick(kStatus, g_.Uniform())];
    Push(resp, 30, Ms(1, 3));
    return resp.status == 0;
  }

  // Commit (maybe an anti-clogging round, 76), commit (0 or 126), confirm, confirm.
  bool SaeAuthentication() {
    Packet commit = SaeFrame(false, 1);
    Push(commit, 128, 0);
    if (g_.Uniform() < 0.4) {
      Packet token = SaeFrame(true, 1);
      token.status = 76;
      Push(token, 64, Ms(1, 5));
      commit.fill = g_.NextRandom();
      Push(commit, 160, Ms(1, 5));
    }
    Packet ap_commit = SaeFrame(true, 1);
    ap_commit.status = g_.Uniform() < 0.5 ? 0 : 126;
    Push(ap_commit, 128, Ms(2, 20));
    Packet confirm = SaeFrame(false, 2);
    Push(confirm, 64, Ms(1, 5));
    Packet ap_confirm = SaeFrame(true, 2);
    ap_confirm.status = g_.Uniform() < 0.9 ? 0 : 15;
    Push(ap_confirm, 64, Ms(1, 5));
    return ap_confirm.status == 0;
  }

  bool Associate() {
    bool reassoc = g_.Uniform() < 0.3;
    Packet areq =
        Frame(reassoc ? FrameKind::kReassociationRequest : FrameKind::kAssociationRequest, false);
    Push(areq, FrameLength(areq.frame, g_.NextRandom()), Ms(2, 10));
    constexpr int kStatus[] = {85, 4, 4, 4, 3};
    constexpr int kCodes[] = {0, 1, 12, 17, 30};
    Packet aresp =
        Frame(reassoc ? FrameKind::kReassociationResponse : FrameKind::kAssociationResponse, true);
    aresp.status = kCodes[Pick(kStatus, g_.Uniform())];
    Push(aresp, FrameLength(aresp.frame, g_.NextRandom()), Ms(2, 8));
    return aresp.status == 0;
  }

  // 4-way handshake: complete, no message 3, no message 4, message 1 repeated, or a > 5 s gap.
  void Handshake() {
    constexpr int kVariants[] = {70, 8, 7, 7, 8};
    int variant = Pick(kVariants, g_.Uniform());
    qos_ = g_.Uniform() < 0.8;
    fill_ = g_.NextRandom();
    uint16_t m1_data = g_.Uniform() < 0.5 ? 22 : 0;
    Eapol(EapolKind::kMsg1, m1_data, Ms(2, 10));
    if (variant == 3) Eapol(EapolKind::kMsg1, m1_data, Ms(900, 1100));  // AP times msg 2 out
    Eapol(EapolKind::kMsg2, 22, Step());
    if (variant == 1) return;
    Eapol(EapolKind::kMsg3, 56, variant == 4 ? Ms(5200, 7000) : Step());
    if (variant == 2) return;
    Eapol(EapolKind::kMsg4, 0, Step());
    if (variant == 0 && g_.Uniform() < 0.5) {
      Eapol(EapolKind::kGroup1, 40, Ms(5, 50));
      Eapol(EapolKind::kGroup2, 0, Ms(1, 10));
    }
  }

  int64_t Step() { return g_.Uniform() < 0.15 ? Ms(100, 1500) : Ms(2, 40); }

  void Eapol(EapolKind k, uint16_t key_data, int64_t gap) {
    Packet q = Frame(qos_ ? FrameKind::kQosData : FrameKind::kData,
                     k == EapolKind::kMsg1 || k == EapolKind::kMsg3 || k == EapolKind::kGroup1);
    q.eapol = k;
    q.key_data_len = key_data;
    q.fill = fill_;
    Push(q, EapolFrameLength(qos_, key_data), gap);
  }

  PacketGenerator& g_;
  const StreamTarget& t_;
  const ApRadio& ap_;
  int64_t at_;
  Script* s_;
  Band band_ = Band::k24;
  uint64_t client_ = 0;
  bool qos_ = false;   // handshake in QoS Data frames
  uint64_t fill_ = 0;  // handshake nonces and MICs
};

void PacketGenerator::StartWirelessScript(const StreamTarget& t, const ApRadio& ap, int64_t now_us,
                                          Script* s) {
  WirelessScript script(*this, t, ap, now_us, s);
  constexpr int kScripts[] = {55, 25, 20};  // join, deauthentication burst, disassociation
  int kind = Pick(kScripts, Uniform());
  if (kind == 1) {
    script.DeauthenticationBurst();
  } else if (kind == 2) {
    script.Disassociation();
  } else {
    script.Join();
  }
}

// Builds one wired connectivity sequence (DHCP, DNS or mDNS) of one client into a Script, on
// one VLAN, each packet due some time after the previous one. Draws in the order written.
class PacketGenerator::WiredScript {
 public:
  WiredScript(PacketGenerator& g, const StreamTarget& t, const ApRadio& ap, int64_t now_us,
              Script* s)
      : g_(g), ap_(ap), at_(now_us), s_(s) {
    const std::vector<int>& vlans = t.settings.vlans;
    vlan_ = vlans.empty() ? 0 : vlans[g.NextRandom() % vlans.size()];
    int index = static_cast<int>(g.NextRandom() % kClientsPerAp);
    client_ = ClientMac(ap.mac, index);
    uint32_t net = 0x0a000000u | (static_cast<uint32_t>(vlan_ & 0xff) << 16);
    client_ip_ =
        net | static_cast<uint32_t>((ap.mac & 0xff) << 8) | static_cast<uint32_t>(10 + index);
    server_ip_ = net | 1;
    l2_ = vlan_ > 0 ? 18 : 14;
  }

  // DORA (5 % then declined), NAK then DORA, three unanswered discovers, release, inform.
  void Dhcp() {
    xid_ = static_cast<uint32_t>(g_.NextRandom());
    constexpr int kVariants[] = {65, 12, 10, 7, 6};  // DORA, NAK, timeout, release, inform
    int variant = Pick(kVariants, g_.Uniform());
    int64_t gap = 0;
    if (variant == 1) {
      DhcpMessage(3, 0);
      DhcpMessage(6, Ms(1, 20));
      gap = Ms(50, 500);
      xid_ = static_cast<uint32_t>(g_.NextRandom());
    }
    if (variant <= 1) {
      DhcpMessage(1, gap);
      DhcpMessage(2, Ms(2, 200));
      DhcpMessage(3, Ms(1, 20));
      DhcpMessage(5, Ms(1, 20));
      if (g_.Uniform() < 0.05) DhcpMessage(4, Ms(500, 1500));  // the address is in use: decline
    } else if (variant == 2) {
      DhcpMessage(1, 0);
      DhcpMessage(1, Ms(1000, 3000));
      DhcpMessage(1, Ms(2000, 4000));
    } else if (variant == 3) {
      DhcpMessage(7, 0);
    } else {
      DhcpMessage(8, 0);
      DhcpMessage(5, Ms(1, 20), /*yiaddr=*/false);  // the ack of an inform assigns nothing
    }
  }

  // An mDNS announcement: not a DNS response of port 53.
  void Mdns(bool v6) {
    Packet q = Udp(false);
    q.app = WiredApp::kMdns;
    q.ipv6 = v6;
    q.dns_qr = true;
    q.src = client_;
    q.dst = v6 ? 0x3333000000fbULL : 0x01005e0000fbULL;
    q.src_ip = client_ip_;
    q.dst_ip = 0xe00000fbu;
    q.src_port = q.dst_port = 5353;
    q.length = l2_ + L3(v6) + DnsPayloadSize(q);
    Push(q, 0);
  }

  // A query and (95 %) its response from port 53.
  void Dns(bool v6) {
    Packet query = Udp(false);
    query.app = WiredApp::kDns;
    query.ipv6 = v6;
    query.xid = static_cast<uint32_t>(g_.NextRandom() & 0xffff);
    query.src = client_;
    query.dst = kGatewayMac;
    query.src_ip = client_ip_;
    query.dst_ip = server_ip_;
    query.src_port = 49152 + static_cast<int>(g_.NextRandom() % 16000);
    query.dst_port = 53;
    query.length = l2_ + L3(v6) + DnsPayloadSize(query);
    Push(query, 0);
    if (g_.Uniform() < 0.05) return;  // no answer
    constexpr int kRcodeWeights[] = {74, 2, 6, 12, 2, 3, 1};
    constexpr uint8_t kRcodes[] = {0, 1, 2, 3, 4, 5, 9};
    Packet resp = query;
    resp.tx = true;
    resp.seq = static_cast<uint16_t>(g_.seq_++ & 0x0fff);
    resp.dns_qr = true;
    resp.dns_rcode = kRcodes[Pick(kRcodeWeights, g_.Uniform())];
    std::swap(resp.src, resp.dst);
    std::swap(resp.src_ip, resp.dst_ip);
    std::swap(resp.src_port, resp.dst_port);
    resp.length = l2_ + L3(v6) + DnsPayloadSize(resp);
    Push(resp, Ms(1, 60));
  }

 private:
  static uint32_t L3(bool v6) { return v6 ? 48 : 28; }

  int64_t Ms(int lo, int hi) {
    return static_cast<int64_t>(lo) * 1000 +
           static_cast<int64_t>(g_.NextRandom() % ((hi - lo) * 1000));
  }

  Packet Udp(bool from_server) {
    Packet q;
    q.wired = true;
    q.ap_mac = ap_.mac;
    q.vlan = vlan_;
    q.proto = WiredProto::kUdp;
    q.tx = from_server;
    q.seq = static_cast<uint16_t>(g_.seq_++ & 0x0fff);
    return q;
  }

  void Push(const Packet& q, int64_t gap) {
    at_ += gap;
    s_->packets.emplace_back(at_, q);
  }

  // A DHCP message of option 53 `type`, from the server (offer, ack, nak) or the client;
  // yiaddr carries the client's address unless `yiaddr` is false.
  void DhcpMessage(uint8_t type, int64_t gap, bool yiaddr = true) {
    bool from_server = type == 2 || type == 5 || type == 6;
    Packet q = Udp(from_server);
    q.app = WiredApp::kDhcp;
    q.dhcp_type = type;
    q.xid = xid_;
    q.fill = client_;
    q.yiaddr = yiaddr ? client_ip_ : 0;
    bool bound = type == 7 || type == 8;  // release, inform: from the client's address
    if (from_server) {
      q.src = kGatewayMac;
      q.src_ip = server_ip_;
      q.src_port = 67;
      q.dst_port = 68;
      bool bcast = type == 6;
      q.dst = bcast ? kBroadcast : client_;
      q.dst_ip = bcast ? 0xffffffffu : client_ip_;
    } else {
      q.src = client_;
      q.src_ip = bound ? client_ip_ : 0;
      q.src_port = 68;
      q.dst_port = 67;
      q.dst = type == 7 ? kGatewayMac : kBroadcast;
      q.dst_ip = type == 7 ? server_ip_ : 0xffffffffu;
    }
    q.length = l2_ + 28 + kDhcpPayload;
    Push(q, gap);
  }

  PacketGenerator& g_;
  const ApRadio& ap_;
  int64_t at_;
  Script* s_;
  int vlan_ = 0;
  uint64_t client_ = 0;
  uint32_t client_ip_ = 0, server_ip_ = 0;
  uint32_t l2_ = 14;
  uint32_t xid_ = 0;
};

void PacketGenerator::StartWiredScript(const StreamTarget& t, const ApRadio& ap, int64_t now_us,
                                       Script* s) {
  WiredScript script(*this, t, ap, now_us, s);
  constexpr int kKinds[] = {45, 50, 5};  // DHCP, DNS, mDNS
  int kind = Pick(kKinds, Uniform());
  if (kind == 0) {
    script.Dhcp();
    return;
  }
  bool v6 = Uniform() < (kind == 1 ? 0.25 : 0.3);
  if (kind == 2) {
    script.Mdns(v6);
  } else {
    script.Dns(v6);
  }
}

bool PacketGenerator::NextConnectivity(const StreamTarget& t, const ApRadio& ap, bool wired,
                                       int64_t now_us, Packet* p) {
  SiteState& site = sites_[t.site_index];
  auto ap_ok = [&t](uint64_t mac) {
    for (const ApRadio& a : t.aps) {
      if (a.mac == mac) return true;
    }
    return false;
  };
  // A due packet of a running sequence first (the earliest).
  while (true) {
    size_t best = site.scripts.size();
    for (size_t i = 0; i < site.scripts.size(); ++i) {
      int64_t due = site.scripts[i].packets.front().first;
      if (due <= now_us &&
          (best == site.scripts.size() || due < site.scripts[best].packets.front().first)) {
        best = i;
      }
    }
    if (best == site.scripts.size()) break;
    Script& s = site.scripts[best];
    Packet q = s.packets.front().second;
    s.packets.pop_front();
    bool usable = ap_ok(q.ap_mac) && (q.wired ? t.wired : t.wireless);
    if (s.packets.empty() || !usable)
      site.scripts.erase(site.scripts.begin() + static_cast<long>(best));
    if (!usable) continue;  // its AP failed or the capture changed: the sequence ends
    *p = q;
    return true;
  }
  bool can_start = site.scripts.size() < kMaxScripts;
  if (!wired && (!can_start || Uniform() < 0.5)) {
    ClientData(t, ap, p);
    return true;
  }
  if (!can_start) return false;
  Script s;
  if (wired) {
    StartWiredScript(t, ap, now_us, &s);
  } else {
    StartWirelessScript(t, ap, now_us, &s);
  }
  *p = s.packets.front().second;
  s.packets.pop_front();
  if (!s.packets.empty()) site.scripts.push_back(std::move(s));
  return true;
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
  PacketLayout layout;
  BuildPcap(p, t.max_pkt_len, &pcap_, &layout);
  AppendBase64(pcap_, &inner);
  inner.append("\"}");

  out->clear();
  out->reserve(inner.size() + t.channel.size() + 128);
  AppendDataEvent(t.channel, inner, data_as_string, out);

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
  FillConnectivityTruth(p, layout, &d);
}

void PacketGenerator::MakeCaptureEndMessage(std::string_view channel, std::string_view capture_id,
                                            bool data_as_string, std::string* out) {
  std::string inner = "{\"capture_id\":\"";
  inner.append(capture_id);
  inner.append("\",\"pcap_dict\":null}");
  out->clear();
  AppendDataEvent(channel, inner, data_as_string, out);
}

}  // namespace mpe::sim
