#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "decode/event.h"

namespace mpe::decode {

// Turns one Mist stream text frame into an Event in place, without copying it: a data frame of
// the usual shape takes the fast path (decode/fast_frame.h), every other frame the general
// in-place reader (decode/insitu_json.h); both give the same event. Malformed fields are
// reported best-effort in Event::error. Owns the readers' reusable state: one instance per
// stream connection (app::StreamIngest), used on that connection's io thread only; not
// thread-safe. Never throws.
class FrameDecoder {
 public:
  static constexpr size_t kMaxFrameBytes = 1 << 20;
  // Nesting deeper than this (objects + arrays) makes the frame invalid_json; it bounds the
  // recursion of the parser so a hostile frame cannot exhaust the thread's stack.
  static constexpr int kMaxDepth = 128;
  // Spare bytes callers should allocate after data[len]. Only data[len] is written, but the
  // readers' string and whitespace scans load whole 16-byte blocks, so they may READ up to 15
  // bytes past data[len], never into another page. Harmless in hardware; AddressSanitizer flags
  // it unless this padding exists (simdjson has the same rule).
  static constexpr size_t kPadding = 16;

  FrameDecoder();
  ~FrameDecoder();
  FrameDecoder(FrameDecoder&&) noexcept;
  FrameDecoder& operator=(FrameDecoder&&) noexcept;
  FrameDecoder(const FrameDecoder&) = delete;
  FrameDecoder& operator=(const FrameDecoder&) = delete;

  // Decodes one text frame IN PLACE (the buffer is modified). `data` must be writable and
  // have at least len+1 bytes (data[len] is overwritten with '\0'; see kPadding). The
  // returned Event's string_views point into `data`, or into scratch() for strings that had
  // to be unescaped out of a `data` string; both stay valid until the next Decode (and for as
  // long as `data` lives). Frames above kMaxFrameBytes are not touched. Never throws.
  Event Decode(char* data, size_t len);

  // The decoder's own buffer that event views may point into besides the frame.
  std::string_view scratch() const;

  // A `data` sent as a JSON string is read in one pass over the escaped text when it is plain
  // enough, else unescaped and parsed (two passes); both give the same event. On by default;
  // off only to compare the two in tests.
  void set_one_pass_data_strings(bool on);

  // Data frames of the usual shape are read by a fast path (decode/fast_frame.h) that gives
  // the same event as the general reading, which takes every other frame. On by default; off
  // only to compare the two in tests and benches.
  void set_fast_path(bool on);

  // Binary frames carry nothing we understand: kInvalid with kBinaryFrame.
  static Event DecodeBinary(size_t len);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mpe::decode
