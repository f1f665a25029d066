#pragma once

// The invariants the fuzz targets enforce, shared by the libFuzzer mains (tests/fuzz/*_fuzz.cc)
// and the GoogleTest replay of the corpus and regression files
// (tests/decode/fuzz_replay_test.cc, tests/config/fuzz_replay_test.cc), so a crash found by the
// fuzzer stays a failing unit test in the normal build. Each Check* function runs one input
// through the production code and returns "" when every invariant holds, else a description of
// the first one broken. Everything is inline: a test binary that links only common+decode can
// include this header as long as it does not call CheckConfig.
// The functions keep function-local statics (a reused decoder and scratch buffer, as in
// production), so they are not thread-safe: call them from one thread.

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/mac.h"
#include "config/capture_rules.h"
#include "config/config_loader.h"
#include "decode/event.h"
#include "decode/frame_decoder.h"
#include "decode/pcap_raw.h"

namespace mpe::fuzz {

// Folder names under tests/fuzz/{corpus,regressions,pending}/.
inline constexpr std::string_view kDecodeFrameTarget = "decode_frame";
inline constexpr std::string_view kPcapRawTarget = "pcap_raw";
inline constexpr std::string_view kConfigTarget = "config";

namespace internal {

// Independent of the decoder's own validator on purpose: strict UTF-8.
inline bool IsUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const unsigned char* end = p + s.size();
  while (p < end) {
    const unsigned char c = *p;
    int extra = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++p;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      extra = 1, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (end - p <= extra) return false;
    for (int k = 1; k <= extra; ++k) {
      if ((p[k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[k] & 0x3F);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    p += extra + 1;
  }
  return true;
}

// A view the decoder returned must be empty or lie inside [base, base+len).
inline bool Inside(std::string_view v, const char* base, size_t len) {
  if (v.empty()) return true;
  const auto b = reinterpret_cast<uintptr_t>(base);
  const auto p = reinterpret_cast<uintptr_t>(v.data());
  return p >= b && p - b <= len && v.size() <= len - (p - b);
}

// "offset+size" of a view relative to its buffer, so events decoded from two copies of one
// frame can be compared.
inline std::string Where(std::string_view v, const char* base) {
  if (v.empty()) return "-";
  if (base == nullptr) return "?";  // content only
  return std::to_string(v.data() - base) + "+" + std::to_string(v.size());
}

// Every field of an event in one string, views by position and content (by content only when
// base is null).
inline std::string Dump(const decode::Event& e, const char* base) {
  auto view = [&](const char* name, std::string_view v) {
    return std::string(name) + "=" + Where(v, base) + "'" + std::string(v) + "' ";
  };
  const decode::PacketFields& p = e.packet;
  std::string out = "kind=" + std::to_string(static_cast<int>(e.kind)) +
                    " error=" + decode::ReasonName(e.error) + " ";
  out += view("channel", e.channel) + view("event", e.event_name) + view("detail", e.detail) +
         view("capture_id", e.capture_id);
  out += "lost=" + std::to_string(e.has_lost_messages) + "/" + std::to_string(e.lost_messages);
  out += " if=" + std::to_string(static_cast<int>(p.interface)) + " " +
         view("if_text", p.interface_text);
  out += "dir=" + std::to_string(static_cast<int>(p.direction));
  out += " mac=" + std::to_string(p.has_ap_mac) + "/" + std::to_string(p.ap_mac);
  out += " len=" + std::to_string(p.has_length) + "/" + std::to_string(p.length);
  out += " freq=" + std::to_string(p.has_frequency) + "/" + std::to_string(p.channel_frequency);
  out += " ch=" + std::to_string(p.has_channel) + "/" + std::to_string(p.channel);
  out += " rssi=" + std::to_string(p.has_rssi) + "/" + std::to_string(p.rssi);
  out += " rate=" + std::to_string(p.has_datarate) + "/" + std::to_string(p.datarate_mbps);
  out += " vlan=" + std::to_string(p.has_vlan) + "/" + std::to_string(p.vlan);
  out += " ts=" + std::to_string(p.timestamp) + " ";
  out += view("type", p.frame_type) + view("subtype", p.frame_subtype) + view("proto", p.proto) +
         view("pcap_raw", p.pcap_raw);
  return out;
}

// Field-by-field equality of two events decoded from two copies of one frame; views must sit
// at the same offset with the same bytes, in the frame or in the decoder's scratch buffer
// (strings unescaped out of a `data` string). Cheap: Dump only runs when this fails.
inline bool SameEvent(const decode::Event& a, const char* base_a, std::string_view scratch_a,
                      const decode::Event& b, const char* base_b, std::string_view scratch_b) {
  auto in = [](std::string_view v, std::string_view area) {
    return Inside(v, area.data(), area.size()) && area.data() != nullptr;
  };
  auto same = [&](std::string_view x, std::string_view y) {
    if (x.size() != y.size()) return false;
    if (x.empty()) return true;
    if (in(x, scratch_a) || in(y, scratch_b)) {
      return in(x, scratch_a) && in(y, scratch_b) &&
             x.data() - scratch_a.data() == y.data() - scratch_b.data() && x == y;
    }
    return x.data() - base_a == y.data() - base_b && x == y;
  };
  const decode::PacketFields& p = a.packet;
  const decode::PacketFields& q = b.packet;
  return a.kind == b.kind && a.error == b.error && same(a.channel, b.channel) &&
         same(a.event_name, b.event_name) && same(a.detail, b.detail) &&
         same(a.capture_id, b.capture_id) && a.has_lost_messages == b.has_lost_messages &&
         a.lost_messages == b.lost_messages && p.interface == q.interface &&
         same(p.interface_text, q.interface_text) && p.direction == q.direction &&
         p.has_ap_mac == q.has_ap_mac && p.ap_mac == q.ap_mac && p.has_length == q.has_length &&
         p.length == q.length && p.has_frequency == q.has_frequency &&
         p.channel_frequency == q.channel_frequency && p.has_channel == q.has_channel &&
         p.channel == q.channel && p.has_rssi == q.has_rssi && p.rssi == q.rssi &&
         p.has_datarate == q.has_datarate && p.datarate_mbps == q.datarate_mbps &&
         same(p.frame_type, q.frame_type) && same(p.frame_subtype, q.frame_subtype) &&
         same(p.proto, q.proto) && p.has_vlan == q.has_vlan && p.vlan == q.vlan &&
         p.timestamp == q.timestamp && same(p.pcap_raw, q.pcap_raw);
}

inline bool IsDefault(const decode::PacketFields& p) {
  return p.interface == decode::Interface::kUnknown && p.interface_text.empty() &&
         p.direction == decode::Direction::kUnknown && !p.has_ap_mac && p.ap_mac == 0 &&
         !p.has_length && !p.has_frequency && !p.has_channel && !p.has_rssi && !p.has_datarate &&
         p.frame_type.empty() && p.frame_subtype.empty() && p.proto.empty() && !p.has_vlan &&
         p.timestamp == 0 && p.pcap_raw.empty();
}

inline bool IsLowerHex12(std::string_view s) {
  if (s.size() != 12) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// What DecodePcapRaw and Base64Decode are documented to do, written independently: standard or
// URL-safe alphabet, CR/LF/space ignored, up to two '=' only at the end, and a trailing single
// 6-bit group is an error. nullopt when the text is not base64.
inline std::optional<std::vector<uint8_t>> ReferenceBase64(std::string_view text) {
  std::vector<uint8_t> out;
  uint32_t acc = 0;
  int bits = 0;
  int pad = 0;
  size_t sextets = 0;
  for (char ch : text) {
    int v = -1;
    if (ch >= 'A' && ch <= 'Z') v = ch - 'A';
    if (ch >= 'a' && ch <= 'z') v = ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') v = ch - '0' + 52;
    if (ch == '+' || ch == '-') v = 62;
    if (ch == '/' || ch == '_') v = 63;
    if (ch == '\r' || ch == '\n' || ch == ' ') continue;
    if (ch == '=') {
      ++pad;
      continue;
    }
    if (v < 0 || pad > 0) return std::nullopt;
    ++sextets;
    acc = ((acc << 6) | static_cast<uint32_t>(v)) & 0xFFFFFF;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>(acc >> bits));
    }
  }
  if (pad > 2 || sextets % 4 == 1) return std::nullopt;
  return out;
}

inline uint32_t Get32(const uint8_t* p, bool big_endian) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{p[big_endian ? 3 - i : i]} << (8 * i);
  return v;
}

inline uint16_t Get16(const uint8_t* p, bool big_endian) {
  return static_cast<uint16_t>(big_endian ? (p[0] << 8) | p[1] : (p[1] << 8) | p[0]);
}

inline bool ReferenceLooksLikeRadiotap(std::span<const uint8_t> b) {
  if (b.size() < 8 || b[0] != 0 || b[1] != 0) return false;
  const size_t len = b[2] + (size_t{b[3]} << 8);
  return len >= 8 && len <= b.size();
}

}  // namespace internal

// pcap_raw text (base64 of a one-packet pcap file) through Base64Decode and DecodePcapRaw,
// compared with an independent reading of the same bytes. The packet must lie inside the
// scratch buffer right after the two headers, with caplen == its size.
inline std::string CheckPcapRawText(std::string_view text) {
  // Reused like the stream session reuses it: stale bytes from a longer earlier input must
  // never show through.
  static std::vector<uint8_t> scratch;
  std::vector<uint8_t> bytes = {0xDE, 0xAD};  // must be cleared on error
  const std::optional<std::vector<uint8_t>> want = internal::ReferenceBase64(text);

  const common::Status st = decode::Base64Decode(text, &bytes);
  if (st.ok() != want.has_value()) {
    return "Base64Decode ok=" + std::to_string(st.ok()) + " but the reference says " +
           std::to_string(want.has_value());
  }
  if (!st.ok()) {
    if (!bytes.empty()) return "Base64Decode left bytes in out on error";
    if (st.error().message.rfind("pcap_raw: ", 0) != 0) {
      return "Base64Decode error without the pcap_raw prefix: " + st.error().message;
    }
  } else if (bytes != *want) {
    return "Base64Decode output differs from the reference (" + std::to_string(bytes.size()) +
           " vs " + std::to_string(want->size()) + " bytes)";
  }

  const common::Result<decode::RawPacketInfo> r = decode::DecodePcapRaw(text, &scratch);
  if (!want) {
    if (r.ok()) return "DecodePcapRaw accepted text that is not base64";
    if (r.error().message != st.error().message) {
      return "DecodePcapRaw base64 error '" + r.error().message + "' differs from Base64Decode's";
    }
    return "";
  }
  if (scratch != *want) return "DecodePcapRaw's scratch does not hold the decoded bytes";

  const std::vector<uint8_t>& b = *want;
  std::string expect_error;
  bool be = false;
  bool ns = false;
  if (b.size() < decode::kPcapGlobalHeaderBytes) {
    expect_error = "pcap_raw: short global header";
  } else {
    switch (internal::Get32(b.data(), false)) {
      case 0xa1b2c3d4:
        break;
      case 0xa1b23c4d:
        ns = true;
        break;
      case 0xd4c3b2a1:
        be = true;
        break;
      case 0x4d3cb2a1:
        be = ns = true;
        break;
      default:
        expect_error = "pcap_raw: not a pcap file (bad magic)";
    }
    if (expect_error.empty()) {
      if (b.size() < decode::kPcapGlobalHeaderBytes + decode::kPcapRecordHeaderBytes) {
        expect_error = "pcap_raw: short record header";
      } else if (internal::Get32(b.data() + 32, be) > b.size() - 40) {
        expect_error = "pcap_raw: truncated packet";
      }
    }
  }
  if (!expect_error.empty()) {
    if (r.ok()) return "DecodePcapRaw accepted a pcap that should fail with " + expect_error;
    if (r.error().message != expect_error) {
      return "DecodePcapRaw error '" + r.error().message + "', expected '" + expect_error + "'";
    }
    return "";
  }
  if (!r.ok()) return "DecodePcapRaw rejected a valid one-packet pcap: " + r.error().message;

  const decode::RawPacketInfo& info = r.value();
  const uint8_t* base = scratch.data();
  const size_t size = scratch.size();
  if (info.packet.data() != base + 40) return "packet does not start after the two headers";
  if (info.packet.size() != info.caplen) return "caplen != packet.size()";
  if (info.caplen > size || info.packet.size() > size - 40) return "packet runs past scratch";
  if (info.big_endian != be || info.nanosecond != ns) return "wrong byte order or resolution";
  if (info.version_major != internal::Get16(base + 4, be) ||
      info.version_minor != internal::Get16(base + 6, be)) {
    return "wrong version";
  }
  if (info.snaplen != internal::Get32(base + 16, be)) return "wrong snaplen";
  if (info.linktype != (internal::Get32(base + 20, be) & 0xFFFF)) return "wrong linktype";
  if (info.ts_sec != internal::Get32(base + 24, be) ||
      info.ts_frac != internal::Get32(base + 28, be) ||
      info.origlen != internal::Get32(base + 36, be)) {
    return "wrong record header fields";
  }
  if (decode::LooksLikeRadiotap(info.packet) != internal::ReferenceLooksLikeRadiotap(info.packet)) {
    return "LooksLikeRadiotap disagrees with the reference on the packet";
  }
  return "";
}

inline std::string CheckPcapRaw(std::span<const uint8_t> input) {
  if (decode::LooksLikeRadiotap(input) != internal::ReferenceLooksLikeRadiotap(input)) {
    return "LooksLikeRadiotap disagrees with the reference on the raw input";
  }
  return CheckPcapRawText(
      std::string_view(reinterpret_cast<const char*>(input.data()), input.size()));
}

// One stream text frame through FrameDecoder::Decode on a writable copy with kPadding spare
// bytes (as the stream session allocates it), then through the functions that consume events.
inline std::string CheckDecodeFrame(std::span<const uint8_t> input) {
  using decode::DecodeError;
  using decode::EventKind;
  using decode::FrameDecoder;
  using internal::Inside;
  const size_t len = input.size();
  constexpr char kFill = '\xA5';

  auto copy = [&] {
    auto buf = std::make_unique<char[]>(len + FrameDecoder::kPadding);
    if (len > 0) std::memcpy(buf.get(), input.data(), len);
    std::memset(buf.get() + len, kFill, FrameDecoder::kPadding);
    return buf;
  };
  // The session keeps one decoder for every frame: state from earlier frames must not leak.
  static FrameDecoder reused;
  std::unique_ptr<char[]> buf = copy();
  const decode::Event e = reused.Decode(buf.get(), len);
  const char* base = buf.get();

  if (len > FrameDecoder::kMaxFrameBytes) {
    if (e.kind != EventKind::kInvalid || e.error != DecodeError::kFrameTooLarge) {
      return "an oversized frame is not frame_too_large";
    }
    if (std::memcmp(base, input.data(), len) != 0 || base[len] != kFill) {
      return "an oversized frame was modified";
    }
    return "";
  }
  if (base[len] != '\0') return "data[len] is not NUL after Decode";
  for (size_t i = 1; i < FrameDecoder::kPadding; ++i) {
    if (base[len + i] != kFill) return "Decode wrote past data[len]";
  }

  // A fresh decoder on a second copy must see exactly the same event.
  std::unique_ptr<char[]> buf2 = copy();
  FrameDecoder fresh;
  const decode::Event e2 = fresh.Decode(buf2.get(), len);
  if (!internal::SameEvent(e, base, reused.scratch(), e2, buf2.get(), fresh.scratch())) {
    return "reused and fresh decoders disagree: " + internal::Dump(e, base) + " vs " +
           internal::Dump(e2, buf2.get());
  }
  // Reading a `data` string in one pass must give what unescaping and parsing it gives.
  std::unique_ptr<char[]> buf3 = copy();
  static FrameDecoder two_pass = [] {
    FrameDecoder d;
    d.set_fast_path(false);
    d.set_one_pass_data_strings(false);
    return d;
  }();
  const decode::Event e3 = two_pass.Decode(buf3.get(), len);
  if (internal::Dump(e, nullptr) != internal::Dump(e3, nullptr)) {
    return "one-pass and two-pass readings of data disagree: " + internal::Dump(e, nullptr) +
           " vs " + internal::Dump(e3, nullptr);
  }
  // The fast path for usual data frames must give what the general reading gives: every
  // field, doubles bit for bit (Dump prints six decimals).
  std::unique_ptr<char[]> buf4 = copy();
  static FrameDecoder general = [] {
    FrameDecoder d;
    d.set_fast_path(false);
    return d;
  }();
  const decode::Event e4 = general.Decode(buf4.get(), len);
  const auto bits = [](const decode::Event& x) {
    const double d[] = {x.packet.length, x.packet.rssi, x.packet.datarate_mbps, x.packet.timestamp};
    return std::string(reinterpret_cast<const char*>(d), sizeof d);
  };
  if (internal::Dump(e, nullptr) != internal::Dump(e4, nullptr) || bits(e) != bits(e4)) {
    return "the fast path and the general reading disagree: " + internal::Dump(e, nullptr) +
           " vs " + internal::Dump(e4, nullptr);
  }
  // Only built when a check fails.
  auto dump = [&] { return internal::Dump(e, base); };

  const decode::PacketFields& p = e.packet;
  const std::string_view views[] = {e.channel,       e.event_name,     e.detail,
                                    e.capture_id,    p.interface_text, p.frame_type,
                                    p.frame_subtype, p.proto,          p.pcap_raw};
  const std::string_view scratch = reused.scratch();
  for (std::string_view v : views) {
    if (!Inside(v, base, len) && !Inside(v, scratch.data(), scratch.size())) {
      return "a string_view points outside the frame and the decoder's scratch: " + dump();
    }
  }
  // Strings kept for labels and logs are valid UTF-8 (pcap_raw is base64, checked below).
  for (size_t i = 0; i + 1 < std::size(views); ++i) {
    if (!internal::IsUtf8(views[i])) return "a kept string is not valid UTF-8: " + dump();
  }

  const std::string_view reason = decode::ReasonName(e.error);
  if (reason == "unknown") return "error outside the enum: " + dump();
  // Only the caller sets these; frame_too_large is handled above.
  if (e.error == DecodeError::kBinaryFrame || e.error == DecodeError::kUnknownChannel ||
      e.error == DecodeError::kFrameTooLarge) {
    return "Decode set an error reserved for others: " + dump();
  }

  const bool is_data_event = e.event_name == "data";
  switch (e.kind) {
    case EventKind::kInvalid:
      if (e.error == DecodeError::kNone) return "kInvalid without an error: " + dump();
      break;
    case EventKind::kData:
    case EventKind::kCaptureEnd:
      if (!is_data_event) return "a data kind for event '" + std::string(e.event_name) + "'";
      if (e.error != DecodeError::kNone && e.error != DecodeError::kWrongType &&
          e.error != DecodeError::kMissingField) {
        return "a data kind with error " + std::string(reason);
      }
      break;
    case EventKind::kSubscribed:
    case EventKind::kSubscribeFailed:
    case EventKind::kUnsubscribed:
    case EventKind::kOther: {
      if (e.error != DecodeError::kNone && e.error != DecodeError::kWrongType) {
        return "a control event with error " + std::string(reason);
      }
      const std::string_view n = e.event_name;
      const EventKind want = n == "channel_subscribed"     ? EventKind::kSubscribed
                             : n == "subscribe_failed"     ? EventKind::kSubscribeFailed
                             : n == "channel_unsubscribed" ? EventKind::kUnsubscribed
                                                           : EventKind::kOther;
      if (is_data_event || e.kind != want) return "kind does not match the event name: " + dump();
      if (!e.capture_id.empty() || e.has_lost_messages || !internal::IsDefault(p)) {
        return "a control event carries data fields: " + dump();
      }
      break;
    }
  }
  if (e.kind == EventKind::kCaptureEnd && !internal::IsDefault(p)) {
    return "a capture end carries packet fields: " + dump();
  }
  if (e.kind == EventKind::kData && e.error == DecodeError::kNone) {
    const bool complete =
        p.interface != decode::Interface::kUnknown && p.direction != decode::Direction::kUnknown &&
        p.has_ap_mac && p.has_length &&
        (p.interface != decode::Interface::kRadiotap || (p.has_frequency && p.has_rssi));
    if (!complete) return "a packet without error misses a field: " + dump();
  }
  // interface_text is only defined for kOther: a duplicate "interface" key (other, then
  // wired) leaves the first text behind (regressions/decode_frame/duplicate_interface_key).
  if (p.interface == decode::Interface::kOther) {
    std::string lower(p.interface_text);
    for (char& c : lower) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (lower == "radiotap" || lower == "wired") return "a known interface as kOther: " + dump();
  }
  if (!e.has_lost_messages && e.lost_messages != 0) return "lost_messages without has_: " + dump();

  // Ranges the consumers rely on (pcap lengths, label values, histogram inputs).
  if (e.lost_messages < 0 || e.lost_messages > (int64_t{1} << 53)) return "lost_messages range";
  if (!p.has_ap_mac && p.ap_mac != 0) return "ap_mac without has_ap_mac";
  if (p.ap_mac >> 48 != 0) return "ap_mac wider than 48 bits: " + dump();
  if (!std::isfinite(p.length) || p.length < 0 || p.length > 4294967295.0) return "length range";
  if (p.has_frequency ? p.channel_frequency < 1 || p.channel_frequency > 1000000
                      : p.channel_frequency != 0) {
    return "channel_frequency range: " + dump();
  }
  if (p.channel < 0 || p.channel > 65535 || (!p.has_channel && p.channel != 0)) {
    return "channel range";
  }
  if (!std::isfinite(p.rssi) || std::fabs(p.rssi) > 1000) return "rssi range";
  if (!std::isfinite(p.datarate_mbps) || p.datarate_mbps < 0 || p.datarate_mbps > 1e6) {
    return "datarate range";
  }
  if (p.vlan < 0 || p.vlan > 4095 || (!p.has_vlan && p.vlan != 0)) return "vlan range";
  if (!std::isfinite(p.timestamp) || p.timestamp < 0) return "timestamp range";

  // What the aggregator does with a packet.
  const std::string_view band = decode::BandFromFrequency(p.channel_frequency, p.has_frequency);
  const int32_t f = p.channel_frequency;
  const std::string_view want_band = !p.has_frequency || f <= 0 ? "unknown"
                                     : f < 3000                 ? "2.4"
                                     : f < 5925                 ? "5"
                                     : f <= 7125                ? "6"
                                                                : "unknown";
  if (band != want_band) return "BandFromFrequency gave " + std::string(band) + ": " + dump();
  if (p.has_ap_mac) {
    const std::string mac = common::FormatMac(p.ap_mac);
    if (!internal::IsLowerHex12(mac) || common::ParseMac(mac) != p.ap_mac) {
      return "FormatMac/ParseMac do not round-trip " + mac;
    }
  }
  if (!p.pcap_raw.empty()) {
    if (std::string problem = CheckPcapRawText(p.pcap_raw); !problem.empty()) {
      return "pcap_raw of the frame: " + problem;
    }
  }
  const decode::Event bin = FrameDecoder::DecodeBinary(len);
  if (bin.kind != EventKind::kInvalid || bin.error != DecodeError::kBinaryFrame) {
    return "DecodeBinary is not an invalid binary_frame";
  }
  return "";
}

// The token the fixed environment hands out. The loader must never put it in a message; the
// check is skipped when the input itself contains it (an unknown key may be quoted back).
inline constexpr std::string_view kFuzzToken = "fuzz-T0KEN-9f3c2b71";
inline constexpr std::string_view kFuzzSource = "fuzz.yaml";

// YAML text through LoadConfigString with require_token=false and an environment that knows
// every variable (so the loader never opens a token file named by the input: the fuzzer must
// not make it read /dev/zero or block on a FIFO). The result is a config that respects its
// documented normalisations, or one error message that starts with the source name.
inline std::string CheckConfig(std::span<const uint8_t> input) {
  const std::string_view yaml(reinterpret_cast<const char*>(input.data()), input.size());
  const bool input_has_token = yaml.find(kFuzzToken) != std::string_view::npos;
  config::CommandLine cl;  // no flag overrides: every message then names the file
  config::LoadOptions opts;
  opts.require_token = false;
  opts.env = [](const std::string&) -> std::optional<std::string> {
    return std::string(kFuzzToken);
  };
  const common::Result<config::Config> r =
      config::LoadConfigString(yaml, std::string(kFuzzSource), cl, opts);
  if (!r.ok()) {
    const std::string& msg = r.error().message;
    if (msg.rfind(std::string(kFuzzSource) + ":", 0) != 0) {
      return "error does not start with the source name: " + msg;
    }
    if (msg.size() <= kFuzzSource.size() + 1) return "error says nothing: " + msg;
    if (!input_has_token && msg.find(kFuzzToken) != std::string::npos) {
      return "error message leaks the token: " + msg;
    }
    return "";
  }
  const config::Config& c = r.value();
  if (c.token != kFuzzToken) return "token not taken from the environment";
  if (!input_has_token && config::Summary(c).find(kFuzzToken) != std::string::npos) {
    return "Summary leaks the token";
  }
  if (c.mist.api_url.empty() || c.mist.api_url.back() == '/') {
    return "api_url empty or with a trailing slash: " + c.mist.api_url;
  }
  if (c.mist.stream_url.empty()) return "stream_url not derived";
  if (auto problem = config::ListenAddressProblem(c.web.listen_address)) {
    return "accepted listen address is invalid: " + *problem;
  }
  if (c.stream.reconnect_min > c.stream.reconnect_max) return "reconnect_min > reconnect_max";
  if (c.shard.index != 0 || c.shard.count != 1) return "shard changed without flags";
  for (const config::ManagedCapture& cap : c.captures) {
    if (!cap.ap_mac.empty() && !internal::IsLowerHex12(cap.ap_mac)) {
      return "capture ap_mac not normalised: " + cap.ap_mac;
    }
    // What the loader accepts is what Mist's schema for the type allows (one rule, one place).
    config::ManagedCapture again = cap;
    if (auto problem = config::CheckCapture(&again)) {
      return "accepted capture breaks Mist's rules: " + problem->key + ": " + problem->message;
    }
    if (!(again == cap)) return "CheckCapture is not idempotent on an accepted capture";
    if (!cap.client_mac.empty() && !internal::IsLowerHex12(cap.client_mac)) {
      return "capture client_mac not normalised: " + cap.client_mac;
    }
    if (cap.band.find("2.4") != std::string::npos) return "band 2.4 not normalised";
  }
  return "";
}

// The libFuzzer mains turn a broken invariant into a crash, which libFuzzer saves as input.
inline void EnforceOrAbort(const std::string& problem) {
  if (problem.empty()) return;
  std::fprintf(stderr, "fuzz invariant broken: %s\n", problem.c_str());
  std::abort();
}

}  // namespace mpe::fuzz
