#include "decode/pcap_raw.h"

#include <array>

namespace mpe::decode {
namespace {

constexpr uint8_t kSkip = 0xFE;
constexpr uint8_t kBad = 0xFF;

constexpr std::array<uint8_t, 256> MakeBase64Table() {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) v = kBad;
  constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  for (uint8_t i = 0; i < 62; ++i) t[static_cast<uint8_t>(kAlphabet[i])] = i;
  t['+'] = t['-'] = 62;
  t['/'] = t['_'] = 63;
  t['\r'] = t['\n'] = t[' '] = kSkip;
  return t;
}
constexpr std::array<uint8_t, 256> kBase64 = MakeBase64Table();

uint16_t Read16(const uint8_t* p, bool big_endian) {
  return big_endian ? static_cast<uint16_t>((p[0] << 8) | p[1])
                    : static_cast<uint16_t>((p[1] << 8) | p[0]);
}

uint32_t Read32(const uint8_t* p, bool big_endian) {
  if (big_endian) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
  }
  return (uint32_t{p[3]} << 24) | (uint32_t{p[2]} << 16) | (uint32_t{p[1]} << 8) | p[0];
}

}  // namespace

common::Status Base64Decode(std::string_view text, std::vector<uint8_t>* out) {
  out->resize(text.size() / 4 * 3 + 3);
  uint8_t* o = out->data();
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  // Fast path: whole groups of four alphabet characters (every table value >= 64 is a space,
  // '=' or junk, handled by the general loop below from the first such group on).
  while (i + 4 <= n) {
    const uint32_t a = kBase64[s[i]], b = kBase64[s[i + 1]], c = kBase64[s[i + 2]],
                   d = kBase64[s[i + 3]];
    if ((a | b | c | d) >= 64) break;
    const uint32_t v = (a << 18) | (b << 12) | (c << 6) | d;
    o[0] = static_cast<uint8_t>(v >> 16);
    o[1] = static_cast<uint8_t>(v >> 8);
    o[2] = static_cast<uint8_t>(v);
    o += 3;
    i += 4;
  }
  uint32_t acc = 0;
  int bits = 0;
  size_t padding = 0;
  for (; i < n; ++i) {
    const char ch = static_cast<char>(s[i]);
    if (ch == '=') {
      ++padding;
      continue;
    }
    uint8_t v = kBase64[static_cast<uint8_t>(ch)];
    if (v == kSkip) continue;
    if (v == kBad || padding > 0) {  // data after '=' is not base64 either
      out->clear();
      return common::MakeError("pcap_raw: invalid base64");
    }
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      *o++ = static_cast<uint8_t>(acc >> bits);
    }
  }
  out->resize(static_cast<size_t>(o - out->data()));
  // A lone 6-bit group cannot encode a byte; more than two '=' is malformed.
  if (bits >= 6 || padding > 2) {
    out->clear();
    return common::MakeError("pcap_raw: invalid base64 length");
  }
  return common::Ok{};
}

common::Result<RawPacketInfo> DecodePcapRaw(std::string_view base64,
                                            std::vector<uint8_t>* scratch) {
  if (auto st = Base64Decode(base64, scratch); !st) return st.error();
  const uint8_t* p = scratch->data();
  const size_t size = scratch->size();
  if (size < kPcapGlobalHeaderBytes) return common::MakeError("pcap_raw: short global header");

  RawPacketInfo info;
  const uint32_t magic_le = Read32(p, false);
  switch (magic_le) {
    case 0xa1b2c3d4:
      break;
    case 0xa1b23c4d:
      info.nanosecond = true;
      break;
    case 0xd4c3b2a1:
      info.big_endian = true;
      break;
    case 0x4d3cb2a1:
      info.big_endian = info.nanosecond = true;
      break;
    default:
      return common::MakeError("pcap_raw: not a pcap file (bad magic)");
  }
  const bool be = info.big_endian;
  info.version_major = Read16(p + 4, be);
  info.version_minor = Read16(p + 6, be);
  info.snaplen = Read32(p + 16, be);
  info.linktype = Read32(p + 20, be) & 0xFFFF;

  if (size < kPcapGlobalHeaderBytes + kPcapRecordHeaderBytes) {
    return common::MakeError("pcap_raw: short record header");
  }
  const uint8_t* rec = p + kPcapGlobalHeaderBytes;
  info.ts_sec = Read32(rec, be);
  info.ts_frac = Read32(rec + 4, be);
  info.caplen = Read32(rec + 8, be);
  info.origlen = Read32(rec + 12, be);
  const size_t available = size - kPcapGlobalHeaderBytes - kPcapRecordHeaderBytes;
  if (info.caplen > available) return common::MakeError("pcap_raw: truncated packet");
  info.packet = std::span<const uint8_t>(rec + kPcapRecordHeaderBytes, info.caplen);
  return info;
}

bool LooksLikeRadiotap(std::span<const uint8_t> bytes) {
  if (bytes.size() < 8 || bytes[0] != 0 || bytes[1] != 0) return false;
  const size_t len = static_cast<size_t>(bytes[2] | (bytes[3] << 8));
  return len >= 8 && len <= bytes.size();
}

}  // namespace mpe::decode
