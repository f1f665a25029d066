#pragma once

#include <cstdint>
#include <string_view>

namespace mpe::decode {

// What one stream frame turned into. Views point into the frame buffer that was decoded
// (in-situ): they are valid only until that buffer is reused. Plain data; not thread-safe.
enum class EventKind : uint8_t {
  kData,             // a packet message with a pcap_dict object
  kCaptureEnd,       // data whose pcap_dict is null
  kSubscribed,       // channel_subscribed
  kSubscribeFailed,  // subscribe_failed (detail set)
  kUnsubscribed,     // channel_unsubscribed
  kOther,            // a well-formed event we do not use
  kInvalid,          // nothing usable: see error
};

// Why a frame (or one of its fields) could not be used as-is. Also the `reason` label of
// mist_pcap_stream_decode_errors_total (ReasonName).
enum class DecodeError : uint8_t {
  kNone = 0,
  kInvalidJson,     // frame is not JSON (truncated, garbage, invalid UTF-8 ...)
  kNotObject,       // JSON but not an object, or no "event"
  kInvalidData,     // "data" is a string that is not JSON, or neither object nor string
  kMissingField,    // a field needed for a label or value is absent or null
  kWrongType,       // a field has an unexpected type or unparseable value
  kBinaryFrame,     // a binary WebSocket frame
  kFrameTooLarge,   // above the 1 MiB limit
  kUnknownChannel,  // channel is not a subscribed site (set by the caller, not the decoder)
  kCount,
};
const char* ReasonName(DecodeError e);

enum class Direction : uint8_t { kUnknown, kTx, kRx };
enum class Interface : uint8_t { kUnknown, kRadiotap, kWired, kOther };

// Present-flags for optional numeric fields.
struct PacketFields {
  Interface interface = Interface::kUnknown;
  std::string_view interface_text;  // raw value when kOther
  Direction direction = Direction::kUnknown;
  bool has_ap_mac = false;
  uint64_t ap_mac = 0;  // 48-bit value, see common::FormatMac
  bool has_length = false;
  double length = 0;  // bytes
  // wireless
  bool has_frequency = false;
  int32_t channel_frequency = 0;  // MHz
  bool has_channel = false;
  int32_t channel = 0;
  bool has_rssi = false;
  double rssi = 0;  // dBm
  bool has_datarate = false;
  double datarate_mbps = 0;  // from "54.0 Mbps" or a number
  std::string_view frame_type;
  std::string_view frame_subtype;
  // wired
  std::string_view proto;
  bool has_vlan = false;
  int32_t vlan = 0;
  // both
  double timestamp = 0;       // seconds, 0 when absent
  std::string_view pcap_raw;  // base64 one-packet pcap, empty when absent
};

struct Event {
  EventKind kind = EventKind::kInvalid;
  std::string_view channel;     // e.g. "/sites/<id>/pcaps"
  std::string_view event_name;  // raw "event" value
  std::string_view detail;      // subscribe_failed detail
  std::string_view capture_id;  // data.capture_id / pcap_dict-level id when present
  bool has_lost_messages = false;
  int64_t lost_messages = 0;
  PacketFields packet;  // valid for kData
  // First problem met. kData with an error is best-effort: count the error AND the packet.
  DecodeError error = DecodeError::kNone;
};

// Band label from channel_frequency (MHz): "2.4" (< 3000), "5" (< 5925), "6" (<= 7125),
// "unknown" otherwise. Pure.
std::string_view BandFromFrequency(int32_t mhz, bool present);

}  // namespace mpe::decode
