#include "decode/frame_decoder.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>
#include <system_error>

#include "common/mac.h"
#include "decode/fast_frame.h"
#include "decode/insitu_json.h"
#include "decode/json_scan.h"

namespace mpe::decode {
namespace {

// Frames are parsed in place (InsituJsonReader): strings are unescaped where they lie and
// NUL-terminated, so views need no copy and a `data` string is ready for a second in-place
// pass. The reader does not validate UTF-8; the few strings we keep are checked (ValidUtf8).

using internal::kMaxAbsRssi;
using internal::kMaxDatarateMbps;
using internal::kMaxExactInt;
using internal::kMaxLength;
using internal::ValidUtf8;

enum class Ctx : uint8_t { kTop, kData, kPcap };

// Shape of "data" (top level) and "pcap_dict" (data level).
enum class Shape : uint8_t { kAbsent, kObject, kString, kNull, kOther };

enum class Field : uint8_t {
  kUnknown,
  // top level
  kEvent,
  kChannel,
  kDetail,
  kData,
  // data level (capture_id and pcap_raw are also accepted inside pcap_dict)
  kCaptureId,
  kLostMessages,
  kPcapDict,
  kPcapRaw,
  // pcap_dict
  kInterface,
  kDirection,
  kApMac,
  kLength,
  kFrequency,
  kChannelNumber,
  kRssi,
  kDatarate,
  kFrameType,
  kFrameSubtype,
  kProto,
  kVlan,
  kTimestamp,
};

using json::Is;

Field TopField(std::string_view k) {
  switch (k.size()) {
    case 4:
      return Is(k, "data") ? Field::kData : Field::kUnknown;
    case 5:
      return Is(k, "event") ? Field::kEvent : Field::kUnknown;
    case 6:
      return Is(k, "detail") ? Field::kDetail : Field::kUnknown;
    case 7:
      return Is(k, "channel") ? Field::kChannel : Field::kUnknown;
    default:
      return Field::kUnknown;
  }
}

Field DataField(std::string_view k) {
  switch (k.size()) {
    case 8:
      return Is(k, "pcap_raw") ? Field::kPcapRaw : Field::kUnknown;
    case 9:
      return Is(k, "pcap_dict") ? Field::kPcapDict : Field::kUnknown;
    case 10:
      return Is(k, "capture_id") ? Field::kCaptureId : Field::kUnknown;
    case 13:
      return Is(k, "lost_messages") ? Field::kLostMessages : Field::kUnknown;
    default:
      return Field::kUnknown;
  }
}

Field PcapField(std::string_view k) {
  switch (k.size()) {
    case 4:
      if (Is(k, "rssi")) return Field::kRssi;
      if (Is(k, "vlan")) return Field::kVlan;
      break;
    case 5:
      if (Is(k, "proto")) return Field::kProto;
      break;
    case 6:
      if (Is(k, "ap_mac")) return Field::kApMac;
      if (Is(k, "length")) return Field::kLength;
      break;
    case 7:
      if (Is(k, "channel")) return Field::kChannelNumber;
      break;
    case 8:
      if (Is(k, "datarate")) return Field::kDatarate;
      if (Is(k, "pcap_raw")) return Field::kPcapRaw;
      break;
    case 9:
      if (Is(k, "interface")) return Field::kInterface;
      if (Is(k, "direction")) return Field::kDirection;
      if (Is(k, "timestamp")) return Field::kTimestamp;
      break;
    case 10:
      if (Is(k, "frame_type")) return Field::kFrameType;
      if (Is(k, "capture_id")) return Field::kCaptureId;
      break;
    case 13:
      if (Is(k, "frame_subtype")) return Field::kFrameSubtype;
      break;
    case 17:
      if (Is(k, "channel_frequency")) return Field::kFrequency;
      break;
    default:
      break;
  }
  return Field::kUnknown;
}

// One JSON scalar as the SAX reader reported it. Unsigned values above INT64_MAX arrive as
// doubles: every integer field we read is far below that, so they fail the range checks.
struct Scalar {
  enum class Type : uint8_t { kNull, kBool, kInt, kDouble, kString };
  Type type = Type::kNull;
  int64_t i = 0;
  double d = 0;
  std::string_view s;

  static Scalar OfType(Type t) {
    Scalar v;
    v.type = t;
    return v;
  }
  static Scalar OfInt(int64_t i) {
    Scalar v = OfType(Type::kInt);
    v.i = i;
    return v;
  }
  static Scalar OfDouble(double d) {
    Scalar v = OfType(Type::kDouble);
    v.d = d;
    return v;
  }
  static Scalar OfString(const char* s, unsigned n) {
    Scalar v = OfType(Type::kString);
    v.s = std::string_view(s, n);
    return v;
  }
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

// Parses a leading decimal number; `rest` gets what follows. Rejects non-finite values
// ("inf", "nan", "1e400" is out of range for from_chars).
bool ParseLeadingDouble(std::string_view s, double* out, std::string_view* rest) {
  const char* begin = s.data();
  const char* end = begin + s.size();
  if (begin != end && *begin == '+') ++begin;
  auto [ptr, ec] = std::from_chars(begin, end, *out);
  if (ec != std::errc() || !std::isfinite(*out)) return false;
  *rest = std::string_view(ptr, static_cast<size_t>(end - ptr));
  return true;
}

bool ParseDouble(std::string_view s, double* out) {
  std::string_view rest;
  return ParseLeadingDouble(Trim(s), out, &rest) && rest.empty();
}

bool ToDouble(const Scalar& v, double* out) {
  switch (v.type) {
    case Scalar::Type::kInt:
      *out = static_cast<double>(v.i);
      return true;
    case Scalar::Type::kDouble:
      *out = v.d;
      return std::isfinite(v.d);
    case Scalar::Type::kString:
      return ParseDouble(v.s, out);
    default:
      return false;
  }
}

// Integral value in [lo, hi]; |lo|, |hi| <= 2^53 so the double comparisons are exact.
bool DoubleToInt(double d, int64_t lo, int64_t hi, int64_t* out) {
  if (!std::isfinite(d) || d != std::trunc(d)) return false;
  if (d < static_cast<double>(lo) || d > static_cast<double>(hi)) return false;
  *out = static_cast<int64_t>(d);
  return true;
}

bool ToInt(const Scalar& v, int64_t lo, int64_t hi, int64_t* out) {
  switch (v.type) {
    case Scalar::Type::kInt:
      if (v.i < lo || v.i > hi) return false;
      *out = v.i;
      return true;
    case Scalar::Type::kDouble:
      return DoubleToInt(v.d, lo, hi, out);
    case Scalar::Type::kString: {
      std::string_view s = Trim(v.s);
      int64_t i = 0;
      auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
      if (ec == std::errc() && ptr == s.data() + s.size()) {
        if (i < lo || i > hi) return false;
        *out = i;
        return true;
      }
      double d = 0;  // "36.0", "5.18e3"
      return ParseDouble(s, &d) && DoubleToInt(d, lo, hi, out);
    }
    default:
      return false;
  }
}

// "54.0 Mbps", "1 Mbps", "866.7Mbps", "54" or a JSON number. "MCS9" and the like carry no
// rate in Mbps: wrong_type.
bool ToDatarate(const Scalar& v, double* out) {
  double d = 0;
  if (v.type == Scalar::Type::kString) {
    std::string_view rest;
    if (!ParseLeadingDouble(Trim(v.s), &d, &rest)) return false;
    rest = Trim(rest);
    if (rest.empty() || EqualsIgnoreCase(rest, "mbps") || EqualsIgnoreCase(rest, "mb/s")) {
      // Mbps already.
    } else if (EqualsIgnoreCase(rest, "gbps")) {
      d *= 1000;
    } else if (EqualsIgnoreCase(rest, "kbps")) {
      d /= 1000;
    } else {
      return false;
    }
  } else if (!ToDouble(v, &d)) {
    return false;
  }
  if (d < 0 || d > kMaxDatarateMbps) return false;
  *out = d;
  return true;
}

// The SAX handler: a tiny state machine over the three object levels we care about (frame,
// data, pcap_dict); every other value, however nested, is only counted for the depth limit.
// Field values go straight into the Event; problems inside data/pcap_dict are kept apart
// in data_error so a non-data event never reports them.
class Handler {
 public:
  explicit Handler(Event* ev) : ev_(ev), pkt_(&ev->packet) {}

  // Prepares the second pass over a `data` string: its root object is the data level.
  void BeginInner() {
    depth_ = 0;
    known_ = 0;
    skip_ = 0;
    inner_ = true;
    root_is_object_ = false;
  }

  bool Null() { return OnScalar(Scalar{}); }
  bool Bool(bool) { return OnScalar(Scalar::OfType(Scalar::Type::kBool)); }
  bool Int(int i) { return OnScalar(Scalar::OfInt(i)); }
  bool Uint(unsigned u) { return OnScalar(Scalar::OfInt(u)); }
  bool Int64(int64_t i) { return OnScalar(Scalar::OfInt(i)); }
  bool Uint64(uint64_t u) {
    if (u <= static_cast<uint64_t>(INT64_MAX))
      return OnScalar(Scalar::OfInt(static_cast<int64_t>(u)));
    return OnScalar(Scalar::OfDouble(static_cast<double>(u)));
  }
  bool Double(double d) { return OnScalar(Scalar::OfDouble(d)); }
  bool RawNumber(const char* s, unsigned n, bool) { return OnScalar(Scalar::OfString(s, n)); }
  bool String(const char* s, unsigned n, bool) { return OnScalar(Scalar::OfString(s, n)); }

  // The outer reader asks before each string value: a `data` string is taken raw (escaped, not
  // unescaped) so that it can be parsed in one pass (InsituJsonReader's escaped mode).
  bool WantsRawString() const {
    return skip_ == 0 && known_ > 0 && Top() == Ctx::kTop && field_ == Field::kData;
  }
  bool RawString(char* begin, char* end) {
    data_shape_ = Shape::kString;
    data_raw_ = true;
    data_string_ = begin;
    data_string_len_ = static_cast<size_t>(end - begin);
    return true;
  }
  // After a failed one-pass attempt: the `data` string, now unescaped in place.
  void SetDataString(char* s, size_t n) {
    data_raw_ = false;
    data_string_ = s;
    data_string_len_ = n;
  }

  bool Key(const char* s, unsigned n, bool) {
    if (skip_ > 0) return true;
    std::string_view k(s, n);
    switch (ctx_[known_ - 1]) {
      case Ctx::kTop:
        field_ = TopField(k);
        break;
      case Ctx::kData:
        field_ = DataField(k);
        break;
      case Ctx::kPcap:
        field_ = PcapField(k);
        break;
    }
    return true;
  }

  bool StartObject() {
    if (++depth_ > FrameDecoder::kMaxDepth) {
      too_deep_ = true;
      return false;
    }
    if (skip_ > 0) {
      ++skip_;
    } else if (known_ == 0) {
      root_is_object_ = true;
      Push(inner_ ? Ctx::kData : Ctx::kTop);
    } else if (Top() == Ctx::kTop && field_ == Field::kData) {
      data_shape_ = Shape::kObject;
      Push(Ctx::kData);
    } else if (Top() == Ctx::kData && field_ == Field::kPcapDict) {
      pcap_shape_ = Shape::kObject;
      Push(Ctx::kPcap);
    } else {
      WrongType();
      ++skip_;
    }
    return true;
  }

  bool EndObject(unsigned) {
    --depth_;
    if (skip_ > 0) {
      --skip_;
    } else {
      --known_;
    }
    field_ = Field::kUnknown;
    return true;
  }

  bool StartArray() {
    if (++depth_ > FrameDecoder::kMaxDepth) {
      too_deep_ = true;
      return false;
    }
    if (skip_ == 0 && known_ > 0) WrongType();
    ++skip_;  // also a root array: root_is_object_ stays false
    return true;
  }

  bool EndArray(unsigned) {
    --depth_;
    --skip_;
    field_ = Field::kUnknown;
    return true;
  }

  bool root_is_object() const { return root_is_object_; }
  bool too_deep() const { return too_deep_; }
  bool has_event() const { return has_event_; }
  bool event_wrong_type() const { return event_wrong_type_; }
  bool has_channel() const { return has_channel_; }
  bool channel_wrong_type() const { return channel_wrong_type_; }
  Shape data_shape() const { return data_shape_; }
  Shape pcap_shape() const { return pcap_shape_; }
  char* data_string() const { return data_string_; }
  bool data_raw() const { return data_raw_; }
  size_t data_string_len() const { return data_string_len_; }
  DecodeError data_error() const { return data_error_; }

 private:
  Ctx Top() const { return ctx_[known_ - 1]; }
  void Push(Ctx c) { ctx_[known_++] = c; }

  void NoteDataError(DecodeError e) {
    if (data_error_ == DecodeError::kNone) data_error_ = e;
  }

  // A value of the wrong JSON type (object, array, bool, number-for-string ...) for the
  // current key.
  void WrongType() {
    if (field_ == Field::kUnknown) return;
    switch (Top()) {
      case Ctx::kTop:
        if (field_ == Field::kEvent) event_wrong_type_ = true;
        if (field_ == Field::kChannel) channel_wrong_type_ = true;
        if (field_ == Field::kData) data_shape_ = Shape::kOther;
        break;
      case Ctx::kData:
        if (field_ == Field::kPcapDict) {
          pcap_shape_ = Shape::kOther;
        } else {
          NoteDataError(DecodeError::kWrongType);
        }
        break;
      case Ctx::kPcap:
        NoteDataError(DecodeError::kWrongType);
        break;
    }
  }

  // A string we keep for labels/logs; false (and wrong_type) when it is not valid UTF-8.
  bool KeepString(const Scalar& v, std::string_view* out) {
    if (v.type != Scalar::Type::kString || !ValidUtf8(v.s)) {
      WrongType();
      return false;
    }
    *out = v.s;
    return true;
  }

  bool OnScalar(const Scalar& v) {
    if (skip_ > 0) return true;
    if (known_ == 0) return true;  // a scalar root: root_is_object_ stays false
    if (v.type == Scalar::Type::kNull) {
      // null means absent, except where it carries meaning.
      if (Top() == Ctx::kTop && field_ == Field::kData) data_shape_ = Shape::kNull;
      if (Top() == Ctx::kData && field_ == Field::kPcapDict) pcap_shape_ = Shape::kNull;
      return true;
    }
    switch (Top()) {
      case Ctx::kTop:
        OnTopValue(v);
        break;
      case Ctx::kData:
        OnDataValue(v);
        break;
      case Ctx::kPcap:
        OnPcapValue(v);
        break;
    }
    return true;
  }

  void OnTopValue(const Scalar& v) {
    switch (field_) {
      case Field::kEvent:
        if (KeepString(v, &ev_->event_name)) has_event_ = true;
        break;
      case Field::kChannel:
        if (KeepString(v, &ev_->channel)) has_channel_ = true;
        break;
      case Field::kDetail:
        if (v.type == Scalar::Type::kString && ValidUtf8(v.s)) ev_->detail = v.s;
        break;
      case Field::kData:
        if (v.type == Scalar::Type::kString) {
          data_shape_ = Shape::kString;
          // In situ: the unescaped text starts here and is NUL-terminated at [size].
          data_raw_ = false;
          data_string_ = const_cast<char*>(v.s.data());
          data_string_len_ = v.s.size();
        } else {
          data_shape_ = Shape::kOther;
        }
        break;
      default:
        break;
    }
  }

  void OnDataValue(const Scalar& v) {
    switch (field_) {
      case Field::kCaptureId:
        if (KeepString(v, &ev_->capture_id)) capture_id_from_data_ = true;
        break;
      case Field::kLostMessages: {
        int64_t n = 0;
        if (ToInt(v, 0, kMaxExactInt, &n)) {
          ev_->has_lost_messages = true;
          ev_->lost_messages = n;
        } else {
          NoteDataError(DecodeError::kWrongType);
        }
        break;
      }
      case Field::kPcapDict:
        pcap_shape_ = Shape::kOther;
        break;
      case Field::kPcapRaw:
        if (v.type == Scalar::Type::kString) {
          pkt_->pcap_raw = v.s;
        } else {
          WrongType();
        }
        break;
      default:
        break;
    }
  }

  // Long on purpose: one switch over every pcap_dict key, run for each field of each message
  // (the general reader's hot path); split, it would pass the same state to each piece.
  void OnPcapValue(const Scalar& v) {
    int64_t n = 0;
    double d = 0;
    switch (field_) {
      case Field::kInterface: {
        std::string_view s;
        if (!KeepString(v, &s)) break;
        if (EqualsIgnoreCase(s, "radiotap")) {
          pkt_->interface = Interface::kRadiotap;
        } else if (EqualsIgnoreCase(s, "wired")) {
          pkt_->interface = Interface::kWired;
        } else {
          pkt_->interface = Interface::kOther;
          pkt_->interface_text = s;
        }
        break;
      }
      case Field::kDirection: {
        std::string_view s;
        if (!KeepString(v, &s)) break;
        if (EqualsIgnoreCase(s, "tx")) {
          pkt_->direction = Direction::kTx;
        } else if (EqualsIgnoreCase(s, "rx")) {
          pkt_->direction = Direction::kRx;
        } else {
          NoteDataError(DecodeError::kWrongType);
        }
        break;
      }
      case Field::kApMac: {
        std::optional<uint64_t> mac;
        if (v.type == Scalar::Type::kString) mac = common::ParseMac(v.s);
        if (mac) {
          pkt_->has_ap_mac = true;
          pkt_->ap_mac = *mac;
        } else {
          NoteDataError(DecodeError::kWrongType);
        }
        break;
      }
      case Field::kLength:
        if (ToDouble(v, &d) && d >= 0 && d <= kMaxLength) {
          pkt_->has_length = true;
          pkt_->length = d;
        } else {
          NoteDataError(DecodeError::kWrongType);
        }
        break;
      case Field::kFrequency:
        if (ToInt(v, 1, 1000000, &n)) {
          pkt_->has_frequency = true;
          pkt_->channel_frequency = static_cast<int32_t>(n);
        } else {
          NoteDataError(DecodeError::kWrongType);
        }
        break;
      case Field::kChannelNumber:
        if (ToInt(v, 0, 65535, &n)) {
          pkt_->has_channel = true;
          pkt_->channel = static_cast<int32_t>(n);
        } else {
          NoteDataError(DecodeError::kWrongType);
        }
        break;
      case Field::kRssi:
        if (ToDouble(v, &d) && std::fabs(d) <= kMaxAbsRssi) {
          pkt_->has_rssi = true;
          pkt_->rssi = d;
        } else {
          NoteDataError(DecodeError::kWrongType);
        }
        break;
      case Field::kDatarate:
        if (ToDatarate(v, &d)) {
          pkt_->has_datarate = true;
          pkt_->datarate_mbps = d;
        } else {
          NoteDataError(DecodeError::kWrongType);
        }
        break;
      case Field::kFrameType:
        KeepString(v, &pkt_->frame_type);
        break;
      case Field::kFrameSubtype:
        KeepString(v, &pkt_->frame_subtype);
        break;
      case Field::kProto:
        KeepString(v, &pkt_->proto);
        break;
      case Field::kVlan:
        if (ToInt(v, 0, 4095, &n)) {
          pkt_->has_vlan = true;
          pkt_->vlan = static_cast<int32_t>(n);
        } else {
          NoteDataError(DecodeError::kWrongType);
        }
        break;
      case Field::kTimestamp:
        if (ToDouble(v, &d) && d >= 0) {
          pkt_->timestamp = d;
        } else {
          NoteDataError(DecodeError::kWrongType);
        }
        break;
      case Field::kPcapRaw:
        if (v.type == Scalar::Type::kString) {
          if (pkt_->pcap_raw.empty()) pkt_->pcap_raw = v.s;
        } else {
          WrongType();
        }
        break;
      case Field::kCaptureId:
        // pcap_dict-level id: only a fallback for the data-level one.
        if (v.type == Scalar::Type::kString && ValidUtf8(v.s) && !capture_id_from_data_) {
          ev_->capture_id = v.s;
        }
        break;
      default:
        break;
    }
  }

  Event* ev_;
  PacketFields* pkt_;
  int depth_ = 0;  // all open objects/arrays
  int known_ = 0;  // open objects among ctx_ (frame, data, pcap_dict)
  int skip_ = 0;   // open values below a key we ignore
  Ctx ctx_[3] = {};
  Field field_ = Field::kUnknown;
  bool inner_ = false;
  bool root_is_object_ = false;
  bool too_deep_ = false;
  bool has_event_ = false;
  bool event_wrong_type_ = false;
  bool has_channel_ = false;
  bool channel_wrong_type_ = false;
  bool capture_id_from_data_ = false;
  Shape data_shape_ = Shape::kAbsent;
  Shape pcap_shape_ = Shape::kAbsent;
  bool data_raw_ = false;  // data_string_ is still escaped (RawString), not NUL-terminated
  char* data_string_ = nullptr;
  size_t data_string_len_ = 0;
  DecodeError data_error_ = DecodeError::kNone;
};

Event Invalid(Event ev, DecodeError error) {
  ev.kind = EventKind::kInvalid;
  ev.error = error;
  return ev;
}

// First missing field a packet needs for its labels and values, kNone when complete.
DecodeError MissingField(const PacketFields& p) {
  if (p.interface == Interface::kUnknown || p.direction == Direction::kUnknown || !p.has_ap_mac ||
      !p.has_length) {
    return DecodeError::kMissingField;
  }
  if (p.interface == Interface::kRadiotap && (!p.has_frequency || !p.has_rssi)) {
    return DecodeError::kMissingField;
  }
  return DecodeError::kNone;
}

}  // namespace

namespace internal {

// Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF). Only the short strings we keep
// for labels and logs are checked (the JSON reader does not validate encoding).
bool ValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const unsigned char* end = p + s.size();
  // ASCII fast path, 8 bytes at a time: channels, ids and frame types are ASCII.
  while (end - p >= 8) {
    uint64_t word;
    std::memcpy(&word, p, sizeof(word));
    if (word & 0x8080808080808080ULL) break;
    p += 8;
  }
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n = 0;
    uint32_t cp = 0;
    uint32_t min = 0;
    if ((c & 0xE0) == 0xC0) {
      n = 1, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (end - p <= n) return false;
    for (int k = 1; k <= n; ++k) {
      if ((p[k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    p += n + 1;
  }
  return true;
}

}  // namespace internal

struct FrameDecoder::Impl {
  enum class Outcome { kOk, kInvalidJson, kNumberTooBig, kNotObject };

  // Parses the NUL-terminated text [text, text+len) with `handler`.
  static Outcome Parse(char* text, size_t len, Handler* handler) {
    InsituJsonReader<Handler> reader(text, *handler);
    const JsonStatus status = reader.Parse(text);
    if (status != JsonStatus::kOk) {
      if (!handler->too_deep() && status == JsonStatus::kNumberTooBig) {
        return Outcome::kNumberTooBig;
      }
      return Outcome::kInvalidJson;
    }
    // The reader stops after the root value: anything before `len` (a NUL too) is an error.
    if (reader.offset() != len) return Outcome::kInvalidJson;
    if (!handler->root_is_object()) return Outcome::kNotObject;
    return Outcome::kOk;
  }

  // One pass over a raw (still escaped) `data` string. True when it parsed completely into an
  // object: the handler then holds exactly what unescaping and Parse would have given. False
  // otherwise, with the handler and the event restored to what they were before, so that the
  // caller can take the two-pass path, which decides what went wrong.
  bool ParseEscaped(Handler* handler, Event* ev) {
    const Handler saved_handler = *handler;
    const Event saved_event = *ev;
    handler->BeginInner();
    char* const text = handler->data_string();
    // Strings with escapes of their own are unescaped into `scratch`; the event's views into
    // it stay valid until the next Decode, like its views into the frame.
    const size_t need = handler->data_string_len() + 16;
    if (scratch_size < need) {
      scratch = std::make_unique<char[]>(need);
      scratch_size = need;
    }
    InsituJsonReader<Handler, true> reader(text, *handler);
    reader.set_scratch(scratch.get());
    if (reader.Parse(text) == JsonStatus::kOk && reader.offset() == handler->data_string_len() &&
        handler->root_is_object()) {
      return true;
    }
    *handler = saved_handler;
    *ev = saved_event;
    return false;
  }

  std::unique_ptr<char[]> scratch;
  size_t scratch_size = 0;
  bool one_pass = true;
  bool fast_path = true;
  internal::KeyOrders key_orders;  // what the fast path learnt of the key order
};

FrameDecoder::FrameDecoder() : impl_(std::make_unique<Impl>()) {}

std::string_view FrameDecoder::scratch() const {
  return {impl_->scratch.get(), impl_->scratch_size};
}

void FrameDecoder::set_one_pass_data_strings(bool on) { impl_->one_pass = on; }
void FrameDecoder::set_fast_path(bool on) { impl_->fast_path = on; }
FrameDecoder::~FrameDecoder() = default;
FrameDecoder::FrameDecoder(FrameDecoder&&) noexcept = default;
FrameDecoder& FrameDecoder::operator=(FrameDecoder&&) noexcept = default;

Event FrameDecoder::DecodeBinary(size_t) {
  Event ev;
  ev.error = DecodeError::kBinaryFrame;
  return ev;
}

// Long on purpose: the per-message entry of the ingest path, the fast path, its fallback and
// the envelope checks in the order a frame is read (bench/README.md: ingest_bench).
Event FrameDecoder::Decode(char* data, size_t len) {
  Event ev;
  if (len > kMaxFrameBytes) return Invalid(ev, DecodeError::kFrameTooLarge);
  if (data == nullptr) return Invalid(ev, DecodeError::kInvalidJson);
  data[len] = '\0';

  if (impl_->fast_path) {
    if (internal::FastDecodeData(data, len, &ev, &impl_->key_orders)) [[likely]] {
      ev.kind = EventKind::kData;
      ev.error = MissingField(ev.packet);
      return ev;
    }
    ev = Event{};  // the general reading below starts afresh
  }

  Handler h(&ev);
  switch (impl_->Parse(data, len, &h)) {
    case Impl::Outcome::kOk:
      break;
    case Impl::Outcome::kInvalidJson:
      return Invalid(ev, DecodeError::kInvalidJson);
    // RapidJSON refuses numbers beyond double range (1e400) instead of reporting them.
    case Impl::Outcome::kNumberTooBig:
      return Invalid(ev, DecodeError::kWrongType);
    case Impl::Outcome::kNotObject:
      return Invalid(ev, DecodeError::kNotObject);
  }
  if (h.event_wrong_type()) return Invalid(ev, DecodeError::kWrongType);
  if (!h.has_event()) return Invalid(ev, DecodeError::kNotObject);

  const std::string_view name = ev.event_name;
  if (name != "data") {
    if (h.channel_wrong_type()) ev.error = DecodeError::kWrongType;
    if (name == "channel_subscribed") {
      ev.kind = EventKind::kSubscribed;
    } else if (name == "subscribe_failed") {
      ev.kind = EventKind::kSubscribeFailed;
    } else if (name == "channel_unsubscribed") {
      ev.kind = EventKind::kUnsubscribed;
    } else {
      ev.kind = EventKind::kOther;
    }
    // Fields of a `data` member belong to data events only.
    ev.capture_id = {};
    ev.has_lost_messages = false;
    ev.lost_messages = 0;
    ev.packet = PacketFields{};
    return ev;
  }

  if (h.channel_wrong_type()) return Invalid(ev, DecodeError::kWrongType);
  if (!h.has_channel()) return Invalid(ev, DecodeError::kMissingField);
  if (h.data_shape() == Shape::kString && h.data_raw() &&
      (!impl_->one_pass || !impl_->ParseEscaped(&h, &ev))) {
    // Not plain enough for one pass: unescape it where it lies and parse it as before. Every
    // escape in it is a valid two-byte one (RawString), so unescaping cannot fail.
    unsigned n = 0;
    InsituJsonReader<Handler>::UnescapeString(h.data_string(), &n);
    h.SetDataString(h.data_string(), n);
  }
  if (h.data_shape() == Shape::kString && h.data_raw()) {
    // Parsed in one pass.
  } else if (h.data_shape() == Shape::kString) {
    h.BeginInner();
    switch (impl_->Parse(h.data_string(), h.data_string_len(), &h)) {
      case Impl::Outcome::kOk:
        break;
      case Impl::Outcome::kNumberTooBig:
        return Invalid(ev, DecodeError::kWrongType);
      case Impl::Outcome::kInvalidJson:
      case Impl::Outcome::kNotObject:
        return Invalid(ev, DecodeError::kInvalidData);
    }
  } else if (h.data_shape() != Shape::kObject) {
    return Invalid(ev, DecodeError::kInvalidData);
  }

  switch (h.pcap_shape()) {
    case Shape::kNull:
      ev.kind = EventKind::kCaptureEnd;
      ev.error = h.data_error();
      ev.packet = PacketFields{};
      return ev;
    case Shape::kObject:
      ev.kind = EventKind::kData;
      ev.error = h.data_error();
      if (ev.error == DecodeError::kNone) ev.error = MissingField(ev.packet);
      return ev;
    case Shape::kAbsent:
      return Invalid(ev, DecodeError::kMissingField);
    default:
      return Invalid(ev, DecodeError::kWrongType);
  }
}

}  // namespace mpe::decode
