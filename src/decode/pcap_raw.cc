#include "decode/pcap_raw.h"

#include <smmintrin.h>  // SSE4.1 (the build targets SSE4.2)
#include <tmmintrin.h>  // SSSE3

#include <array>
#include <cstdint>

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

// Base64 values pre-shifted to their place in a group of four characters (so a group is four
// loads and three ORs); kBadBit marks a character outside the alphabet.
constexpr uint32_t kBadBit = 0x80000000u;
constexpr std::array<uint32_t, 256> MakeTable(int shift) {
  std::array<uint32_t, 256> t{};
  for (auto& v : t) v = kBadBit;
  constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  for (uint32_t i = 0; i < 62; ++i) t[static_cast<uint8_t>(kAlphabet[i])] = i << shift;
  t['+'] = t['-'] = 62u << shift;
  t['/'] = t['_'] = 63u << shift;
  return t;
}
constexpr std::array<uint32_t, 256> kTable0 = MakeTable(18), kTable1 = MakeTable(12),
                                    kTable2 = MakeTable(6), kTable3 = MakeTable(0);

// Sixteen base64 characters to twelve bytes with SSSE3 (the nibble-lookup method described by
// W. Muła and D. Lemire, "Faster Base64 Encoding and Decoding using AVX2 Instructions"):
// each character's high nibble picks a class, its low nibble the classes it is invalid in;
// a per-class offset turns it into its 6-bit value; two multiply-adds pack four values into
// three bytes. Writes 16 bytes at `dst` (12 valid). False, writing nothing useful, when a
// character is not in the standard alphabet ('=', '-', '_', spaces): the caller goes on
// with the scalar loop.
bool DecodeBlock16(const uint8_t* src, uint8_t* dst) {
  const __m128i in = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
  const __m128i nibble = _mm_set1_epi8(0x0f);
  const __m128i hi = _mm_and_si128(_mm_srli_epi32(in, 4), nibble);
  const __m128i lo = _mm_and_si128(in, nibble);
  // Classes by high nibble: 0x01 '+' '/' (2x), 0x02 digits (3x), 0x04 A-O a-o (4x, 6x),
  // 0x08 P-Z p-z (5x, 7x), 0x10 nothing valid.
  const __m128i class_of_hi = _mm_setr_epi8(0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10,
                                            0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10);
  // For each low nibble, the classes it is NOT valid in.
  const __m128i invalid_in = _mm_setr_epi8(0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                           0x11, 0x13, 0x1a, 0x1b, 0x1b, 0x1b, 0x1a);
  const __m128i bad =
      _mm_and_si128(_mm_shuffle_epi8(class_of_hi, hi), _mm_shuffle_epi8(invalid_in, lo));
  if (!_mm_testz_si128(bad, bad)) return false;
  // Offset by high nibble; '/' (0x2f) shares 2x with '+' and takes index 1.
  const __m128i offset_of = _mm_setr_epi8(0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m128i slash = _mm_cmpeq_epi8(in, _mm_set1_epi8(0x2f));
  const __m128i values = _mm_add_epi8(in, _mm_shuffle_epi8(offset_of, _mm_add_epi8(hi, slash)));
  // (a, b, c, d) -> a<<6|b, c<<6|d -> a<<18|b<<12|c<<6|d per 32-bit lane -> 3 bytes, big-endian.
  const __m128i pairs = _mm_maddubs_epi16(values, _mm_set1_epi32(0x01400140));
  const __m128i words = _mm_madd_epi16(pairs, _mm_set1_epi32(0x00011000));
  const __m128i bytes = _mm_shuffle_epi8(
      words, _mm_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), bytes);
  return true;
}

}  // namespace

size_t internal::Base64DecodeGroups(std::string_view text, size_t* pos_io, uint8_t* o,
                                    size_t decoded, size_t want) {
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  size_t pos = *pos_io;  // locals: the stores below cannot alias them
  while (decoded < want && pos + 16 <= n && DecodeBlock16(s + pos, o + decoded)) {
    decoded += 12;
    pos += 16;
  }
  while (decoded < want && pos + 4 <= n) {
    const uint32_t v =
        kTable0[s[pos]] | kTable1[s[pos + 1]] | kTable2[s[pos + 2]] | kTable3[s[pos + 3]];
    if (v & kBadBit) break;
    o[decoded] = static_cast<uint8_t>(v >> 16);
    o[decoded + 1] = static_cast<uint8_t>(v >> 8);
    o[decoded + 2] = static_cast<uint8_t>(v);
    decoded += 3;
    pos += 4;
  }
  *pos_io = pos;
  return decoded;
}

common::Status Base64Decode(std::string_view text, std::vector<uint8_t>* out) {
  out->resize(text.size() / 4 * 3 + 16);  // Base64DecodeGroups writes 4 bytes ahead
  uint8_t* o = out->data();
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  // Fast path: whole groups of four alphabet characters (a space, '=' or junk stops it; the
  // general loop below goes on from that group).
  o += internal::Base64DecodeGroups(text, &i, o, 0, SIZE_MAX);
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
