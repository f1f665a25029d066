#include "decode/fast_frame.h"

#include <emmintrin.h>

#include <cstdint>
#include <cstring>
#include <string_view>

#include "common/mac.h"
#include "decode/json_scan.h"

namespace mpe::decode::internal {
namespace {

using json::Hex4;
using json::Is;

// See fast_frame.h. Everything here either reads exactly what InsituJsonReader + the general
// Handler would read, or returns false. The rules that make that true:
// - Only the three object levels (frame, data, pcap_dict) are accepted; a skipped value must be
//   a string, a number or a literal (an object or array anywhere else: false).
// - A known key seen twice: false (the general decoder's precedence rules are not repeated).
// - Kept strings must have no escapes, so their views are where the general reader leaves
//   them; skipped strings are validated like the general reader does, but surrogate escapes
//   (valid only in pairs) make it give up.
// - Numbers: JSON grammar; an exponent or more than 19 digits: false. A decimal becomes a
//   double only when its digits fit 2^53 (then digits / 10^k is exactly what from_chars gives).
// - Keys with escapes: false (they could unescape to a known name).

inline bool IsDigit(char c) { return static_cast<unsigned char>(c - '0') < 10; }

// Exact powers of ten as doubles (10^22 is the largest).
constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                             1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

// A JSON number without exponent: sign, all its digits as one integer, how many of them follow
// the point, and whether there was a point (then the general reader makes it a double).
struct Number {
  bool neg = false;
  bool point = false;
  int frac = 0;
  uint64_t digits = 0;

  // The value the general decoder's ToInt gives, for integers without a point only.
  bool ToInt(int64_t lo, int64_t hi, int64_t* out) const {
    if (point) return false;
    const int64_t v = neg ? -static_cast<int64_t>(digits) : static_cast<int64_t>(digits);
    if (v < lo || v > hi) return false;
    *out = v;
    return true;
  }
  // The value ToDouble gives: an integer converted, or a decimal read by from_chars (correctly
  // rounded), which digits / 10^frac is too when both are exact doubles.
  bool ToDouble(double* out) const {
    if (!point) {
      const int64_t v = neg ? -static_cast<int64_t>(digits) : static_cast<int64_t>(digits);
      *out = static_cast<double>(v);
      return true;
    }
    if (digits > (uint64_t{1} << 53) || frac > 22) return false;
    const double d = static_cast<double>(digits) / kPow10[frac];
    *out = neg ? -d : d;
    return true;
  }
};

// Reads number text at p (p points at '-' or a digit); false on anything the fast path does not
// take. *end is the byte after it.
inline bool ReadNumber(const char* p, Number* n, const char** end) {
  n->neg = *p == '-';
  if (n->neg) ++p;
  if (!IsDigit(*p)) return false;
  uint64_t d = 0;
  int count = 0;
  if (*p == '0') {
    ++p;
    count = 1;
  } else {
    while (IsDigit(*p)) {
      if (++count > 19) return false;
      d = d * 10 + static_cast<unsigned>(*p - '0');
      ++p;
    }
  }
  if (*p == '.') {
    ++p;
    if (!IsDigit(*p)) return false;
    n->point = true;
    while (IsDigit(*p)) {
      if (++count > 19) return false;
      d = d * 10 + static_cast<unsigned>(*p - '0');
      ++n->frac;
      ++p;
    }
  }
  if (*p == 'e' || *p == 'E') return false;
  n->digits = d;
  *end = p;
  return true;
}

inline bool ReadMac(std::string_view s, uint64_t* out) {
  const auto mac = common::ParseMac(s);
  if (!mac) return false;
  *out = *mac;
  return true;
}

// "54.0 Mbps": what ToDatarate gives for that spelling; others are left to the general decoder.
inline bool ReadMbps(std::string_view s, double* out) {
  const char* p = s.data();
  const char* const end = p + s.size();
  if (s.size() < 6 || std::memcmp(end - 5, " Mbps", 5) != 0 || !IsDigit(*p)) return false;
  Number n;
  const char* after = nullptr;
  if (!ReadNumber(p, &n, &after) || after != end - 5) return false;
  double d = 0;
  if (!n.ToDouble(&d) || d > kMaxDatarateMbps) return false;
  *out = d;
  return true;
}

// The reader over the frame (kEscaped = false) or over the text of a `data` string read without
// unescaping it (kEscaped = true: strings open and close with \", whitespace may be \n \r \t).
template <bool kEscaped>
class Reader {
 public:
  // `end`: one past the frame's NUL.
  Reader(const char* p, const char* end) : p_(p), end_(end) {}
  const char* p() const { return p_; }
  char c() const { return *p_; }
  void Advance() { ++p_; }

  void SkipSpace() {
    // Compact JSON has none: one test decides that.
    if (static_cast<unsigned char>(*p_) > ' ' && *p_ != '\\') [[likely]]
      return;
    for (;;) {
      const char c = *p_;
      if constexpr (kEscaped) {
        if (c == ' ') {
          ++p_;
        } else if (c == '\\' && (p_[1] == 'n' || p_[1] == 'r' || p_[1] == 't')) {
          p_ += 2;
        } else {
          return;
        }
      } else {
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
          ++p_;
        } else {
          return;
        }
      }
    }
  }

  bool AtQuote() const {
    if constexpr (kEscaped) {
      return p_[0] == '\\' && p_[1] == '"';
    } else {
      return *p_ == '"';
    }
  }

  // At an opening quote: a string without escapes (its view), or false.
  bool PlainString(std::string_view* out) {
    if (!AtQuote()) return false;
    const char* const start = p_ + (kEscaped ? 2 : 1);
    const char* const e = json::ScanString(start);
    if constexpr (kEscaped) {
      if (e[0] != '\\' || e[1] != '"') return false;
      p_ = e + 2;
    } else {
      if (*e != '"') return false;
      p_ = e + 1;
    }
    *out = std::string_view(start, static_cast<size_t>(e - start));
    return true;
  }

  // At an opening quote: skips a string, checking its escapes as the general reader does.
  bool SkipString() {
    const char* q = p_ + (kEscaped ? 2 : 1);
    for (;;) {
      q = json::ScanString(q);
      if (*q != '\\') {
        if (!kEscaped && *q == '"') {
          p_ = q + 1;
          return true;
        }
        return false;  // a control byte (the NUL too); escaped: the quote ending the text
      }
      const char e = q[1];
      if constexpr (kEscaped) {
        if (e == '"') {  // the closing \"
          p_ = q + 2;
          return true;
        }
        if (e == '/') {  // \/ of the outer level: a plain '/'
          q += 2;
          continue;
        }
        if (e != '\\') return false;  // \n, \u ... of the outer level
        // An escape of the inner text: its letter follows, escaped where the outer level needs.
        const char x = q[2];
        if (x == '\\') {
          const char y = q[3];
          if (y != '"' && y != '\\' && y != '/') return false;
          q += 4;
        } else if (x == '/' || x == 'b' || x == 'f' || x == 'n' || x == 'r' || x == 't') {
          q += 3;
        } else if (x == 'u') {
          const int cp = Hex4(q + 3);
          if (cp < 0 || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
          q += 7;
        } else {
          return false;
        }
      } else {
        if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
            e == 't') {
          q += 2;
        } else if (e == 'u') {
          const int cp = Hex4(q + 2);
          if (cp < 0 || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
          q += 6;
        } else {
          return false;
        }
      }
    }
  }

  bool ReadNum(Number* n) {
    const char* end = nullptr;
    if (!ReadNumber(p_, n, &end)) return false;
    p_ = end;
    return true;
  }

  // Byte by byte, so that a truncated literal stops at the NUL.
  bool Literal(const char* word, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      if (p_[i] != word[i]) return false;
    }
    p_ += n;
    return true;
  }

  // A value we do not use: a string, a number or a literal.
  bool SkipScalar() {
    const char c = *p_;
    if (AtQuote()) return SkipString();
    if (c == '-' || IsDigit(c)) {
      Number n;
      return ReadNum(&n);
    }
    if (c == 't') return Literal("true", 4);
    if (c == 'f') return Literal("false", 5);
    if (c == 'n') return Literal("null", 4);
    return false;
  }

  // After a member's value: true at ',' (consumed, *more set) or '}' (consumed).
  bool NextMember(bool* more) {
    SkipSpace();
    if (*p_ == ',') {
      ++p_;
      SkipSpace();
      *more = true;
      return true;
    }
    if (*p_ == '}') {
      ++p_;
      *more = false;
      return true;
    }
    return false;
  }

  // At a key: when the text here is exactly `tok` (the quoted key and its colon), moves past it
  // and any space after it. The 32-byte load stays within the frame, or within its 15 bytes of
  // padding when that does not cross into another page (FrameDecoder::kPadding's rule).
  bool Match(const KeyChain::Token& tok) {
    const ptrdiff_t room = end_ - p_;
    if (room < 32 && (room + 15 < 32 || (reinterpret_cast<uintptr_t>(p_) & 4095) > 4096 - 32)) {
      return false;
    }
    const __m128i a0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p_));
    const __m128i a1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p_ + 16));
    const __m128i b0 = _mm_load_si128(reinterpret_cast<const __m128i*>(tok.bytes));
    const __m128i b1 = _mm_load_si128(reinterpret_cast<const __m128i*>(tok.bytes + 16));
    const uint32_t eq = static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(a0, b0))) |
                        static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(a1, b1))) << 16;
    const uint32_t need = tok.len >= 32 ? ~0u : (1u << tok.len) - 1;
    if ((eq & need) != need) return false;
    p_ += tok.len;
    SkipSpace();
    return true;
  }

  // A key and its colon; *text is their exact text when written without space between them
  // (the usual case), else empty. The reader is left at the value.
  bool KeyText(std::string_view* k, std::string_view* text) {
    const char* const start = p_;
    if (!PlainString(k)) return false;
    const bool tight = *p_ == ':';
    SkipSpace();
    if (*p_ != ':') return false;
    ++p_;
    *text = tight ? std::string_view(start, static_cast<size_t>(p_ - start)) : std::string_view();
    SkipSpace();
    return true;
  }

 private:
  const char* p_;
  const char* end_;
};

enum PcapBit : uint32_t {
  kBInterface = 1u << 0,
  kBDirection = 1u << 1,
  kBApMac = 1u << 2,
  kBLength = 1u << 3,
  kBFrequency = 1u << 4,
  kBChannel = 1u << 5,
  kBRssi = 1u << 6,
  kBDatarate = 1u << 7,
  kBFrameType = 1u << 8,
  kBFrameSubtype = 1u << 9,
  kBProto = 1u << 10,
  kBVlan = 1u << 11,
  kBTimestamp = 1u << 12,
  kBUnknown = 0,
  kBGiveUp = 1u << 31,  // a key whose handling the fast path leaves to the general decoder
};

inline uint32_t PcapKey(std::string_view k) {
  switch (k.size()) {
    case 4:
      if (Is(k, "rssi")) return kBRssi;
      if (Is(k, "vlan")) return kBVlan;
      break;
    case 5:
      if (Is(k, "proto")) return kBProto;
      break;
    case 6:
      if (Is(k, "ap_mac")) return kBApMac;
      if (Is(k, "length")) return kBLength;
      break;
    case 7:
      if (Is(k, "channel")) return kBChannel;
      break;
    case 8:
      if (Is(k, "datarate")) return kBDatarate;
      if (Is(k, "pcap_raw")) return kBGiveUp;
      break;
    case 9:
      if (Is(k, "interface")) return kBInterface;
      if (Is(k, "direction")) return kBDirection;
      if (Is(k, "timestamp")) return kBTimestamp;
      break;
    case 10:
      if (Is(k, "frame_type")) return kBFrameType;
      if (Is(k, "capture_id")) return kBGiveUp;
      break;
    case 13:
      if (Is(k, "frame_subtype")) return kBFrameSubtype;
      break;
    case 17:
      if (Is(k, "channel_frequency")) return kBFrequency;
      break;
    default:
      break;
  }
  return kBUnknown;
}

// Valid UTF-8, with ASCII (labels nearly always are) decided 16 bytes at a time. Reads up to 15
// bytes past the string (it lies in the frame, whose padding covers that), but never into the
// next page.
inline bool Utf8(std::string_view s) {
  const char* p = s.data();
  size_t n = s.size();
  for (; n >= 16; p += 16, n -= 16) {
    if (_mm_movemask_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))) != 0) {
      return ValidUtf8(s);
    }
  }
  if (n > 0) {
    // The 16-byte load may not reach into a page past the frame's end.
    if ((reinterpret_cast<uintptr_t>(p) & 4095) > 4096 - 16)
      return ValidUtf8(std::string_view(p, n));
    const unsigned high = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
    if ((high & ((1u << n) - 1)) != 0) return ValidUtf8(s);
  }
  return true;
}

// A string kept for a label: no escapes and valid UTF-8.
template <bool kEscaped>
inline bool KeptString(Reader<kEscaped>& r, std::string_view* out) {
  return r.PlainString(out) && Utf8(*out);
}

// The id of the next key: the remembered successor of the previous key (*at) when the text
// here matches it, else read and looked up with `lookup`, and remembered as that successor.
// False on a malformed key.
template <bool kEscaped, class Lookup>
inline bool NextKey(Reader<kEscaped>& r, KeyChain* chain, int* at, Lookup lookup, uint32_t* id) {
  if (chain != nullptr) {
    const int next = chain->tokens[*at].next;
    if (next > 0 && r.Match(chain->tokens[next])) {
      *id = chain->tokens[next].id;
      *at = next;
      return true;
    }
  }
  std::string_view k, text;
  if (!r.KeyText(&k, &text)) return false;
  *id = lookup(k);
  if (chain == nullptr) return true;
  int found = 0;  // the object's start: nothing to predict from
  if (!text.empty() && text.size() <= 32) {
    for (int i = 1; i < chain->n; ++i) {
      const KeyChain::Token& t = chain->tokens[i];
      if (t.len == text.size() && std::memcmp(t.bytes, text.data(), text.size()) == 0) {
        found = i;
        break;
      }
    }
    if (found == 0 && chain->n < KeyChain::kMaxKeys) {
      found = chain->n++;
      KeyChain::Token& t = chain->tokens[found];
      std::memset(t.bytes, 0, sizeof t.bytes);
      std::memcpy(t.bytes, text.data(), text.size());
      t.len = static_cast<uint32_t>(text.size());
      t.id = *id;
      t.next = -1;
    }
  }
  chain->tokens[*at].next = found;
  *at = found;
  return true;
}

// Long on purpose: the fast path's one pass over pcap_dict, a key switch the compiler keeps in
// registers (bench/README.md: decode_bench); every key is one case of it.
template <bool kEscaped>
bool ParsePcap(Reader<kEscaped>& r, PacketFields* pkt, KeyChain* chain) {
  r.Advance();  // '{'
  r.SkipSpace();
  if (r.c() == '}') {
    r.Advance();
    return true;
  }
  uint32_t seen = 0;
  int at = 0;
  for (bool more = true; more;) {
    uint32_t bit = 0;
    if (!NextKey(r, chain, &at, PcapKey, &bit)) return false;
    if ((seen & bit) != 0 || bit == kBGiveUp) return false;
    seen |= bit;
    Number n;
    int64_t i = 0;
    double d = 0;
    std::string_view s;
    switch (bit) {
      case kBInterface:
        if (!r.PlainString(&s)) return false;
        if (Is(s, "radiotap")) {
          pkt->interface = Interface::kRadiotap;
        } else if (Is(s, "wired")) {
          pkt->interface = Interface::kWired;
        } else {
          return false;
        }
        break;
      case kBDirection:
        if (!r.PlainString(&s)) return false;
        if (Is(s, "tx")) {
          pkt->direction = Direction::kTx;
        } else if (Is(s, "rx")) {
          pkt->direction = Direction::kRx;
        } else {
          return false;
        }
        break;
      case kBApMac:
        if (!r.PlainString(&s) || !ReadMac(s, &pkt->ap_mac)) return false;
        pkt->has_ap_mac = true;
        break;
      case kBLength:
        if (!r.ReadNum(&n) || !n.ToDouble(&d) || d < 0 || d > kMaxLength) return false;
        pkt->has_length = true;
        pkt->length = d;
        break;
      case kBFrequency:
        if (!r.ReadNum(&n) || !n.ToInt(1, 1000000, &i)) return false;
        pkt->has_frequency = true;
        pkt->channel_frequency = static_cast<int32_t>(i);
        break;
      case kBChannel:
        if (r.AtQuote()) {
          // "36": digits only (what from_chars takes whole after Trim, less sign and spaces).
          if (!r.PlainString(&s) || s.empty() || s.size() > 5) return false;
          i = 0;
          for (char c : s) {
            if (!IsDigit(c)) return false;
            i = i * 10 + (c - '0');
          }
          if (i > 65535) return false;
        } else if (!r.ReadNum(&n) || !n.ToInt(0, 65535, &i)) {
          return false;
        }
        pkt->has_channel = true;
        pkt->channel = static_cast<int32_t>(i);
        break;
      case kBRssi:
        if (!r.ReadNum(&n) || !n.ToDouble(&d) || !(d >= -kMaxAbsRssi && d <= kMaxAbsRssi)) {
          return false;
        }
        pkt->has_rssi = true;
        pkt->rssi = d;
        break;
      case kBDatarate:
        if (r.AtQuote()) {
          if (!r.PlainString(&s) || !ReadMbps(s, &d)) return false;
        } else if (!r.ReadNum(&n) || !n.ToDouble(&d) || !(d >= 0 && d <= kMaxDatarateMbps)) {
          return false;
        }
        pkt->has_datarate = true;
        pkt->datarate_mbps = d;
        break;
      case kBFrameType:
        if (!KeptString(r, &pkt->frame_type)) return false;
        break;
      case kBFrameSubtype:
        if (!KeptString(r, &pkt->frame_subtype)) return false;
        break;
      case kBProto:
        if (!KeptString(r, &pkt->proto)) return false;
        break;
      case kBVlan:
        if (!r.ReadNum(&n) || !n.ToInt(0, 4095, &i)) return false;
        pkt->has_vlan = true;
        pkt->vlan = static_cast<int32_t>(i);
        break;
      case kBTimestamp:
        if (!r.ReadNum(&n) || !n.ToDouble(&d) || !(d >= 0)) return false;
        pkt->timestamp = d;
        break;
      default:
        if (!r.SkipScalar()) return false;
        break;
    }
    if (!r.NextMember(&more)) return false;
  }
  return true;
}

enum DataBit : uint32_t {
  kDUnknown = 0,
  kDCaptureId = 1u << 0,
  kDLostMessages = 1u << 1,
  kDPcapDict = 1u << 2,
  kDPcapRaw = 1u << 3,
};

inline uint32_t DataKey(std::string_view k) {
  switch (k.size()) {
    case 8:
      return Is(k, "pcap_raw") ? kDPcapRaw : kDUnknown;
    case 9:
      return Is(k, "pcap_dict") ? kDPcapDict : kDUnknown;
    case 10:
      return Is(k, "capture_id") ? kDCaptureId : kDUnknown;
    case 13:
      return Is(k, "lost_messages") ? kDLostMessages : kDUnknown;
    default:
      return kDUnknown;
  }
}

// The data object; true only when it held a pcap_dict object.
template <bool kEscaped>
bool ParseData(Reader<kEscaped>& r, Event* ev, KeyOrders* keys) {
  r.Advance();  // '{'
  r.SkipSpace();
  if (r.c() == '}') return false;  // no pcap_dict
  KeyChain* const chain = keys != nullptr ? &keys->chain[0][kEscaped] : nullptr;
  KeyChain* const pcap_chain = keys != nullptr ? &keys->chain[1][kEscaped] : nullptr;
  uint32_t seen = 0;
  int at = 0;
  for (bool more = true; more;) {
    uint32_t bit = 0;
    if (!NextKey(r, chain, &at, DataKey, &bit)) return false;
    if ((seen & bit) != 0) return false;
    seen |= bit;
    switch (bit) {
      case kDPcapRaw:
        if (!r.PlainString(&ev->packet.pcap_raw)) return false;
        break;
      case kDPcapDict:
        if (r.c() != '{' || !ParsePcap(r, &ev->packet, pcap_chain)) return false;
        break;
      case kDCaptureId:
        if (!KeptString(r, &ev->capture_id)) return false;
        break;
      case kDLostMessages: {
        Number n;
        int64_t v = 0;
        if (!r.ReadNum(&n) || !n.ToInt(0, kMaxExactInt, &v)) return false;
        ev->has_lost_messages = true;
        ev->lost_messages = v;
        break;
      }
      default:
        if (!r.SkipScalar()) return false;
        break;
    }
    if (!r.NextMember(&more)) return false;
  }
  return (seen & kDPcapDict) != 0;
}

}  // namespace

bool FastDecodeData(const char* data, size_t len, Event* ev, KeyOrders* keys) {
  const char* const end = data + len + 1;
  Reader<false> r(data, end);
  r.SkipSpace();
  if (r.c() != '{') return false;
  r.Advance();
  r.SkipSpace();
  if (r.c() == '}') return false;
  bool event = false, channel = false, has_data = false;
  for (bool more = true; more;) {
    std::string_view k;
    std::string_view text;
    if (!r.KeyText(&k, &text)) return false;
    if (Is(k, "event")) {
      if (event || !KeptString(r, &ev->event_name)) return false;
      event = true;
    } else if (Is(k, "channel")) {
      if (channel || !KeptString(r, &ev->channel)) return false;
      channel = true;
    } else if (Is(k, "data")) {
      if (has_data) return false;
      has_data = true;
      if (r.c() == '{') {
        if (!ParseData(r, ev, keys)) return false;
      } else if (r.c() == '"') {
        // The JSON text inside the string, read as it stands (escaped); it must be exactly one
        // object and whitespace.
        Reader<true> inner(r.p() + 1, end);
        inner.SkipSpace();
        if (inner.c() != '{' || !ParseData(inner, ev, keys)) return false;
        inner.SkipSpace();
        if (inner.c() != '"') return false;
        r = Reader<false>(inner.p() + 1, end);
      } else {
        return false;
      }
    } else if (Is(k, "detail")) {
      return false;
    } else if (!r.SkipScalar()) {
      return false;
    }
    if (!r.NextMember(&more)) return false;
  }
  r.SkipSpace();
  return r.p() == data + len && event && channel && has_data && Is(ev->event_name, "data");
}

}  // namespace mpe::decode::internal
