#include "decode/client_facts.h"

#include <algorithm>

namespace mpe::decode {

namespace {

// Bounds on a hostile header: the walk never reads past caplen, and stops after these.
constexpr size_t kMaxPcapPacket = 256 * 1024;
constexpr int kMaxVlanTags = 4;
constexpr int kMaxRadiotapWords = 8;

// The packet bytes of a one-packet pcap, base64-decoded on demand: Need(end) decodes whole
// groups of four characters until packet bytes [0, end) are there. A text that is not plain
// base64 (spaces, line breaks, padding in the middle) is decoded whole once, by
// Base64Decode, which also rejects it when it is not base64 at all.
class PacketBytes {
 public:
  bool OpenBase64(std::string_view text, std::vector<uint8_t>* scratch) {
    text_ = text;
    out_ = scratch;
    // Only grown, never shrunk: a resize up would zero the bytes each time.
    // +16: DecodeBlock16 writes four bytes past the twelve it decodes.
    if (out_->size() < text.size() / 4 * 3 + 16) out_->resize(text.size() / 4 * 3 + 16);
    decoded_ = 0;
    pos_ = 0;
    // The headers and the bytes most walks need (radiotap + 802.11 header) in one go.
    DecodeTo(kPcapGlobalHeaderBytes + kPcapRecordHeaderBytes + 32);
    if (decoded_ < kPcapGlobalHeaderBytes + kPcapRecordHeaderBytes) return false;
    return ReadHeaders();
  }

  void OpenDecoded(const RawPacketInfo& raw) {
    text_ = {};
    out_ = nullptr;
    packet_ = raw.packet.data();
    caplen_ = std::min<size_t>(raw.caplen, raw.packet.size());
    available_ = caplen_;
    origlen_ = raw.origlen;
    ts_us_ = int64_t{raw.ts_sec} * 1000000 + (raw.nanosecond ? raw.ts_frac / 1000 : raw.ts_frac);
    linktype_ = raw.linktype;
  }

  // Packet bytes [0, end) readable (end <= caplen).
  bool Need(size_t end) {
    if (end > caplen_) return false;
    if (end <= available_) return true;
    if (out_ == nullptr) return false;
    if (!DecodeTo(kHeaders + end)) return false;
    available_ = std::min(caplen_, decoded_ - kHeaders);
    packet_ = out_->data() + kHeaders;
    return end <= available_;
  }

  uint8_t U8(size_t o) const { return packet_[o]; }
  uint16_t Le16(size_t o) const {
    return static_cast<uint16_t>(packet_[o] | (packet_[o + 1] << 8));
  }
  uint16_t Be16(size_t o) const {
    return static_cast<uint16_t>((packet_[o] << 8) | packet_[o + 1]);
  }
  uint32_t Le32(size_t o) const { return Le16(o) | (static_cast<uint32_t>(Le16(o + 2)) << 16); }
  uint64_t Mac(size_t o) const {
    uint64_t v = 0;
    for (size_t i = 0; i < 6; ++i) v = (v << 8) | packet_[o + i];
    return v;
  }

  size_t caplen() const { return caplen_; }
  uint32_t origlen() const { return origlen_; }
  int64_t ts_us() const { return ts_us_; }
  uint32_t linktype() const { return linktype_; }

 private:
  static constexpr size_t kHeaders = kPcapGlobalHeaderBytes + kPcapRecordHeaderBytes;

  // Decodes until `want` bytes of the file are there (or the text ends).
  bool DecodeTo(size_t want) {
    if (decoded_ >= want) return true;
    decoded_ = internal::Base64DecodeGroups(text_, &pos_, out_->data(), decoded_, want);
    if (decoded_ >= want) return true;
    return pos_ < text_.size() ? DecodeRest(want) : false;
  }

  // Padding, an unpadded tail or characters outside the alphabet: the whole text, once.
  bool DecodeRest(size_t want) {
    std::vector<uint8_t> all;
    if (!Base64Decode(text_, &all).ok()) return false;
    out_->assign(all.begin(), all.end());
    decoded_ = out_->size();
    pos_ = text_.size();
    if (decoded_ >= kHeaders) packet_ = out_->data() + kHeaders;
    return decoded_ >= want;
  }

  bool ReadHeaders() {
    const uint8_t* h = out_->data();
    const uint32_t magic = static_cast<uint32_t>(h[0]) | (static_cast<uint32_t>(h[1]) << 8) |
                           (static_cast<uint32_t>(h[2]) << 16) |
                           (static_cast<uint32_t>(h[3]) << 24);
    bool big = false, nano = false;
    switch (magic) {
      case 0xa1b2c3d4:
        break;
      case 0xa1b23c4d:
        nano = true;
        break;
      case 0xd4c3b2a1:
        big = true;
        break;
      case 0x4d3cb2a1:
        big = nano = true;
        break;
      default:
        return false;
    }
    auto u32 = [h, big](size_t o) {
      return big ? (uint32_t{h[o]} << 24) | (uint32_t{h[o + 1]} << 16) | (uint32_t{h[o + 2]} << 8) |
                       h[o + 3]
                 : (uint32_t{h[o + 3]} << 24) | (uint32_t{h[o + 2]} << 16) |
                       (uint32_t{h[o + 1]} << 8) | h[o];
    };
    linktype_ = u32(20) & 0xffff;
    const uint32_t ts_sec = u32(24), ts_frac = u32(28);
    caplen_ = u32(32);
    origlen_ = u32(36);
    if (caplen_ > kMaxPcapPacket) return false;
    // The text must hold caplen bytes (whole groups; an approximation when it has spaces,
    // and then Need fails at the real end).
    if ((text_.size() + 3) / 4 * 3 < kHeaders + caplen_) return false;
    ts_us_ = int64_t{ts_sec} * 1000000 + (nano ? ts_frac / 1000 : ts_frac);
    packet_ = h + kHeaders;
    available_ = std::min(caplen_, decoded_ - kHeaders);
    return true;
  }

  std::string_view text_;
  std::vector<uint8_t>* out_ = nullptr;
  size_t decoded_ = 0;  // bytes of the file decoded
  size_t pos_ = 0;      // characters consumed
  const uint8_t* packet_ = nullptr;
  size_t available_ = 0;  // packet bytes readable
  size_t caplen_ = 0;
  uint32_t origlen_ = 0;
  int64_t ts_us_ = 0;
  uint32_t linktype_ = 0;
};

// Where the walk stopped: the innermost listed layer the packet reaches, as tshark 4.0 lists
// it in frame.protocols. A layer is reached when its first byte was captured (Enter), or, for
// the header-to-header steps where tshark hands an empty buffer on (radiotap -> 802.11,
// 802.11 -> LLC, LLC -> EAPOL / IP, Ethernet -> VLAN / IP, VLAN -> IP, IP -> UDP), when the
// capture ends exactly where it starts (EnterAt). UDP never hands an empty payload to DHCP or
// DNS.
struct Walk {
  PacketBytes& b;
  ClientFacts& f;
  TruncatedLayer layer;
  bool Enter(TruncatedLayer inner, size_t start) {
    if (start >= b.caplen()) return false;
    layer = inner;
    return true;
  }
  bool EnterAt(TruncatedLayer inner, size_t start) {
    if (start > b.caplen()) return false;
    layer = inner;
    return true;
  }
};

// Radiotap: it_len, and the Flags field for the data padding bit. Returns the 802.11 header
// offset, or 0 when the header is cut or malformed.
size_t RadiotapLength(PacketBytes& b, bool* data_pad) {
  if (!b.Need(8)) return 0;
  const size_t it_len = b.Le16(2);
  if (it_len < 8 || !b.Need(it_len)) return 0;
  size_t offset = 4;
  uint32_t first = 0;
  for (int words = 0;; ++words) {
    if (offset + 4 > it_len || words == kMaxRadiotapWords) return it_len;
    const uint32_t w = b.Le32(offset);
    if (words == 0) first = w;
    offset += 4;
    if ((w & 0x80000000u) == 0) break;
  }
  if (first & 1u) offset = ((offset + 7) & ~size_t{7}) + 8;  // TSFT
  if ((first & 2u) && offset < it_len) *data_pad = (b.U8(offset) & 0x20) != 0;
  return it_len;
}

void UdpPayload(Walk& w, size_t app, uint16_t sport, uint16_t dport, bool wired) {
  PacketBytes& b = w.b;
  if (sport == 67 || sport == 68 || dport == 67 || dport == 68) {
    if (!w.Enter(TruncatedLayer::kDhcp, app)) return;
    // BOOTP's fixed 236 bytes, the magic cookie, then options (code, length, value).
    size_t o = app + 240;
    if (!b.Need(o) || b.Be16(app + 236) != 0x6382 || b.Be16(app + 238) != 0x5363) return;
    // tshark 4.0 shows option 53 only when the options were captured up to the End option, or
    // to the packet's real end (not cut) at an option boundary.
    uint8_t message_type = 0;
    auto counted = [&] {
      if (wired && message_type >= 1 && message_type <= 8) w.f.dhcp_message_type = message_type;
    };
    while (true) {
      if (!b.Need(o + 1)) {
        if (b.caplen() >= b.origlen() && o == b.caplen()) counted();
        return;
      }
      const uint8_t code = b.U8(o);
      if (code == 0) {
        ++o;
        continue;
      }
      if (code == 255) {
        counted();
        return;
      }
      if (!b.Need(o + 2)) return;
      const uint8_t len = b.U8(o + 1);
      if (code == 53 && len >= 1 && message_type == 0) {
        if (!b.Need(o + 3)) return;
        message_type = b.U8(o + 2);
      }
      o += 2 + size_t{len};
    }
  }
  if (sport == 53 || dport == 53) {
    if (!w.Enter(TruncatedLayer::kDns, app)) return;
    if (wired && sport == 53 && b.Need(app + 4) && (b.U8(app + 2) & 0x80) != 0) {
      w.f.dns_rcode = static_cast<int8_t>(b.U8(app + 3) & 0x0f);
    }
  }
}

// IPv4 / IPv6 at `off`, then UDP and DHCP / DNS.
void IpLayers(Walk& w, size_t off, uint16_t ethertype, bool wired) {
  PacketBytes& b = w.b;
  if (ethertype != 0x0800 && ethertype != 0x86dd) return;
  if (!w.EnterAt(TruncatedLayer::kIp, off)) return;
  size_t udp;
  if (ethertype == 0x0800) {
    if (!b.Need(off + 20) || (b.U8(off) >> 4) != 4) return;
    const size_t ihl = static_cast<size_t>(b.U8(off) & 0x0f) * 4;
    if (ihl < 20 || !b.Need(off + ihl)) return;
    if ((b.Be16(off + 6) & 0x3fff) != 0) return;  // a fragment: no UDP header to read
    if (b.U8(off + 9) != 17) return;
    udp = off + ihl;
  } else {
    if (!b.Need(off + 40) || (b.U8(off) >> 4) != 6 || b.U8(off + 6) != 17) return;
    udp = off + 40;
  }
  if (!w.EnterAt(TruncatedLayer::kUdp, udp) || !b.Need(udp + 8)) return;
  UdpPayload(w, udp + 8, b.Be16(udp), b.Be16(udp + 2), wired);
}

void Eapol(Walk& w, size_t off, uint64_t bssid, uint64_t client) {
  PacketBytes& b = w.b;
  if (!w.EnterAt(TruncatedLayer::kEapol, off) || !b.Need(off + 4)) return;
  if (b.U8(off + 1) != 3) return;  // not an EAPOL-Key frame
  const size_t body_end = off + 4 + b.Be16(off + 2);
  // The key descriptor: type 1, key info 2, key length 2, replay counter 8, nonce 32, IV 16,
  // RSC 8, reserved/ID 8, MIC 16, key data length 2: 95 bytes before the key data.
  if (!b.Need(body_end) || body_end < off + 4 + 95) return;
  const uint8_t descriptor = b.U8(off + 4);
  if (descriptor != 2 && descriptor != 254) return;
  const uint16_t key_info = b.Be16(off + 5);
  if ((key_info & 0x0008) == 0) return;  // a group key: not part of the 4-way handshake
  const int message = EapolMessageNumber(key_info, b.Be16(off + 4 + 93));
  if (message == 0) return;
  w.f.eapol_message = static_cast<uint8_t>(message);
  w.f.bssid = bssid;
  w.f.client = client;
}

// The body of an unprotected data frame: LLC/SNAP, then EAPOL or IP.
void DataBody(Walk& w, size_t body, uint64_t bssid, uint64_t client) {
  PacketBytes& b = w.b;
  if (!w.EnterAt(TruncatedLayer::kLlc, body) || !b.Need(body + 8)) return;
  if (b.U8(body) != 0xaa || b.U8(body + 1) != 0xaa || b.U8(body + 2) != 0x03) return;
  const uint16_t ethertype = b.Be16(body + 6);
  if (ethertype == 0x888e) {
    Eapol(w, body + 8, bssid, client);
  } else {
    IpLayers(w, body + 8, ethertype, false);
  }
}

constexpr uint64_t kGroupBit = 1ULL << 40;  // I/G bit of the first octet

void Management(Walk& w, size_t h, size_t hdr_len, uint8_t subtype, bool protected_frame) {
  PacketBytes& b = w.b;
  const bool join = subtype == 11 || subtype == 1 || subtype == 3;  // auth, (re)assoc response
  const bool disconnect = subtype == 12 || subtype == 10;  // deauthentication, disassociation
  if ((!join && !disconnect) || !b.Need(h + 22)) return;   // beacons, probes, ...: nothing
  const uint64_t ta = b.Mac(h + 10), bssid = b.Mac(h + 16);
  const size_t body = h + hdr_len;
  ClientFacts& f = w.f;
  if (join) {
    const size_t at = body + (subtype == 11 ? 4 : 2);
    if (ta != bssid || protected_frame || !b.Need(at + 2)) return;
    f.join = subtype == 11  ? JoinSubtype::kAuthentication
             : subtype == 1 ? JoinSubtype::kAssociationResponse
                            : JoinSubtype::kReassociationResponse;
    f.status_code = b.Le16(at);
  } else {
    if (protected_frame || !b.Need(body + 2)) return;
    f.disconnect =
        subtype == 12 ? DisconnectSubtype::kDeauthentication : DisconnectSubtype::kDisassociation;
    f.reason_code = b.Le16(body);
  }
}

void Data(Walk& w, size_t h, size_t hdr_len, uint8_t subtype, uint8_t flags, bool data_pad) {
  PacketBytes& b = w.b;
  ClientFacts& f = w.f;
  const bool to_ds = flags & 0x01, from_ds = flags & 0x02;
  // tshark 4.0 shows the transmitter only with the whole MAC header, the receiver from 10 bytes.
  if (to_ds && !from_ds && b.Need(h + hdr_len)) {
    f.has_data_client = true;
    f.data_client = b.Mac(h + 10);
  } else if (from_ds && !to_ds && b.Need(h + 10) && (b.Mac(h + 4) & kGroupBit) == 0) {
    f.has_data_client = true;
    f.data_client = b.Mac(h + 4);
  }
  const bool has_body = (subtype & 0x04) == 0;  // Null, QoS Null and CF-only carry none
  if (!has_body || (flags & 0x40) != 0 || !b.Need(h + hdr_len)) return;
  // An A-MSDU (QoS Control bit 7) carries subframes, not one LLC/SNAP payload.
  if ((subtype & 0x08) != 0 && (b.U8(h + 24 + ((flags & 0x03) == 0x03 ? 6 : 0)) & 0x80) != 0) {
    return;
  }
  uint64_t bssid = 0, client = 0;  // a WDS frame (both DS bits) has no BSSID: no handshake
  if (to_ds && !from_ds) {
    bssid = b.Mac(h + 4);
    client = b.Mac(h + 10);
  } else if (from_ds && !to_ds) {
    bssid = b.Mac(h + 10);
    client = b.Mac(h + 4);
  } else if (!to_ds) {
    bssid = b.Mac(h + 16);
    const uint64_t a1 = b.Mac(h + 4);
    client = a1 == bssid ? b.Mac(h + 10) : a1;
  }
  size_t body = h + hdr_len;
  if (data_pad) body = (body + 3) & ~size_t{3};
  DataBody(w, body, bssid, client);
}

void Wireless(Walk& w) {
  PacketBytes& b = w.b;
  bool data_pad = false;
  const size_t h = RadiotapLength(b, &data_pad);
  if (h == 0 || !w.EnterAt(TruncatedLayer::kDot11, h) || !b.Need(h + 2)) return;
  ClientFacts& f = w.f;
  const uint8_t fc0 = b.U8(h), flags = b.U8(h + 1);
  const uint8_t type = (fc0 >> 2) & 3, subtype = fc0 >> 4;
  const bool order = (flags & 0x80) != 0;
  const bool qos = type == 2 && (subtype & 0x08) != 0;
  size_t data_len = 24 + ((flags & 0x03) == 0x03 ? 6 : 0);
  // tshark 4.0 shows no 802.11 field at all of a QoS data frame cut before its QoS Control.
  if (qos && !b.Need(h + data_len + 2)) return;
  f.has_fc = true;
  f.retry = (flags & 0x08) != 0;
  if (type == 0) {
    Management(w, h, 24 + (order ? 4 : 0), subtype, (flags & 0x40) != 0);
  } else if (type == 2) {
    if (qos) data_len += 2 + (order ? 4 : 0);
    Data(w, h, data_len, subtype, flags, data_pad);
  }
}

void Wired(Walk& w) {
  PacketBytes& b = w.b;
  if (!w.Enter(TruncatedLayer::kEthernet, 0) || !b.Need(14)) return;
  uint16_t type = b.Be16(12);
  size_t off = 14;
  for (int tags = 0; (type == 0x8100 || type == 0x88a8 || type == 0x9100) && tags < kMaxVlanTags;
       ++tags) {
    if (!w.EnterAt(TruncatedLayer::kVlan, off) || !b.Need(off + 4)) return;
    type = b.Be16(off + 2);
    off += 4;
  }
  IpLayers(w, off, type, true);
}

void Analyze(PacketBytes& b, bool radiotap, ClientFacts* f) {
  *f = ClientFacts{};
  f->ok = true;
  f->radiotap = radiotap;
  f->ts_us = b.ts_us();
  f->caplen = static_cast<uint32_t>(b.caplen());
  f->origlen = b.origlen();
  f->truncated = b.caplen() < b.origlen();
  Walk w{b, *f, radiotap ? TruncatedLayer::kRadiotap : TruncatedLayer::kEthernet};
  if (radiotap) {
    Wireless(w);
  } else {
    Wired(w);
  }
  f->truncated_layer = w.layer;
}

}  // namespace

const char* JoinSubtypeName(JoinSubtype s) {
  switch (s) {
    case JoinSubtype::kAuthentication:
      return "authentication";
    case JoinSubtype::kAssociationResponse:
      return "association_response";
    case JoinSubtype::kReassociationResponse:
      return "reassociation_response";
    case JoinSubtype::kNone:
      break;
  }
  return "";
}

const char* DisconnectSubtypeName(DisconnectSubtype s) {
  switch (s) {
    case DisconnectSubtype::kDeauthentication:
      return "deauthentication";
    case DisconnectSubtype::kDisassociation:
      return "disassociation";
    case DisconnectSubtype::kNone:
      break;
  }
  return "";
}

int EapolMessageNumber(uint16_t key_info, uint16_t key_data_length) {
  // tshark 4.0 (found by feeding it every combination of these bits): only Request, Ack,
  // Install and the Key Data Length field matter; MIC, Secure, Error and the nonce do not.
  constexpr uint16_t kPairwise = 0x0008, kInstall = 0x0040, kAck = 0x0080, kRequest = 0x0800;
  if ((key_info & kRequest) != 0 || (key_info & kPairwise) == 0) return 0;
  if ((key_info & kAck) != 0) return (key_info & kInstall) != 0 ? 3 : 1;
  return key_data_length == 0 ? 4 : 2;
}

bool ClientFactsDecoder::Decode(std::string_view pcap_raw, Interface interface,
                                ClientFacts* facts) {
  PacketBytes b;
  if (pcap_raw.empty() || !b.OpenBase64(pcap_raw, &scratch_)) {
    *facts = ClientFacts{};
    return false;
  }
  bool radiotap;
  if (interface == Interface::kRadiotap) {
    radiotap = true;
  } else if (interface == Interface::kWired) {
    radiotap = false;
  } else {
    radiotap = b.linktype() == kLinktypeIeee80211Radiotap ||
               (b.Need(8) && b.U8(0) == 0 && b.Le16(2) >= 8 && b.Le16(2) <= b.caplen());
  }
  Analyze(b, radiotap, facts);
  return true;
}

void ClientFactsDecoder::Decode(const RawPacketInfo& raw, bool radiotap, ClientFacts* facts) {
  PacketBytes b;
  b.OpenDecoded(raw);
  Analyze(b, radiotap, facts);
}

}  // namespace mpe::decode
