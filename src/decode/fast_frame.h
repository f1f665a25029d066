#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "decode/event.h"

// Internal to decode/: shared by the general decoder (frame_decoder.cc) and its fast path
// (fast_frame.cc).
namespace mpe::decode::internal {

// Largest integer a double represents exactly; bounds lost_messages.
inline constexpr int64_t kMaxExactInt = int64_t{1} << 53;
// pcap caplen/origlen are 32-bit: a longer packet is not a packet.
inline constexpr double kMaxLength = 4294967295.0;
inline constexpr double kMaxDatarateMbps = 1e6;
inline constexpr double kMaxAbsRssi = 1000;

// Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool ValidUtf8(std::string_view s);

// The fast path for the frames a stream is made of: a data message
//   {"event":"data","channel":"...","data":{...}}   or   ..."data":"{...}"}
// whose known fields all have their usual JSON types and plain values (strings we keep without
// escapes, integers where integers are expected, decimals without exponents, `datarate` as
// "<decimal> Mbps"), in any order, with scalar values for the fields we skip. Such a frame is
// read in one pass with the field handling fused into the reader: no handler calls, strings
// that are skipped are validated but not unescaped, and a `data` string is read in its escaped
// form without first finding its end.
//
// `data` must be NUL-terminated at data[len] with 15 readable bytes after it; it is not
// written. Returns true with the event's fields set (not kind/error: the caller sets kData and
// the missing-field check) only when the general decoder would read exactly the same from this
// frame; false for anything else (another event, a null pcap_dict, an escape in a kept string,
// an unusual number, a duplicate key, a nested value among the skipped ones, any syntax error
// ...), and the caller decodes the frame the general way, which also decides what was wrong.
// tests/decode/fast_frame_test.cc and the decode_frame fuzz target check the equivalence.
//
// `keys` (may be null) remembers which key followed which in the data and pcap_dict objects, per
// form: a key where the remembered successor of the previous one stands again (frames of one
// kind repeat their order) is recognised by one 32-byte compare of its quoted text and colon
// instead of being scanned and looked up.
struct KeyChain {
  static constexpr int kMaxKeys = 48;
  struct Token {
    alignas(16) char bytes[32];  // "key": or \"key\": exactly as it appeared, zero-padded
    uint32_t len = 0;
    uint32_t id = 0;
    int next = -1;  // the token that followed this one last time
  };
  Token tokens[kMaxKeys];  // [0]: the object's start
  int n = 1;
};
struct KeyOrders {
  KeyChain chain[2][2];  // [pcap_dict][escaped]
};
bool FastDecodeData(const char* data, size_t len, Event* ev, KeyOrders* keys);

}  // namespace mpe::decode::internal
