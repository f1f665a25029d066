#include "stream/ws_frames.h"

#include <algorithm>
#include <cstring>

namespace mpe::stream {

namespace websocket = boost::beast::websocket;

void AppendClientFrame(std::string& out, Opcode op, std::string_view payload, uint32_t mask_key) {
  const size_t n = payload.size();
  out.push_back(static_cast<char>(0x80 | static_cast<uint8_t>(op)));
  if (n < 126) {
    out.push_back(static_cast<char>(0x80 | n));
  } else if (n <= 0xFFFF) {
    out.push_back(static_cast<char>(0x80 | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xFF));
  } else {
    out.push_back(static_cast<char>(0x80 | 127));
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((n >> shift) & 0xFF));
  }
  const uint8_t key[4] = {static_cast<uint8_t>(mask_key >> 24),
                          static_cast<uint8_t>(mask_key >> 16), static_cast<uint8_t>(mask_key >> 8),
                          static_cast<uint8_t>(mask_key)};
  out.append(reinterpret_cast<const char*>(key), 4);
  const size_t at = out.size();
  out.append(payload);
  for (size_t i = 0; i < n; ++i) out[at + i] = static_cast<char>(out[at + i] ^ key[i & 3]);
}

bool ParseClosePayload(std::string_view payload, ClosePayload* out) {
  *out = {};
  if (payload.empty()) return true;
  if (payload.size() == 1) return false;
  out->code = static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8) |
                                    static_cast<uint8_t>(payload[1]));
  out->reason = payload.substr(2);
  return true;
}

FrameReader::FrameReader(size_t max_message) : max_message_(max_message) { Reserve(kReadSize); }

void FrameReader::Reserve(size_t want) {
  if (want <= cap_) return;
  auto grown = std::make_unique<char[]>(want + kPadding);
  if (end_ > begin_) std::memcpy(grown.get(), buf_.get() + begin_, end_ - begin_);
  end_ -= begin_;
  begin_ = 0;
  buf_ = std::move(grown);
  cap_ = want;
}

std::pair<char*, size_t> FrameReader::WritableTail() {
  if (begin_ == end_) begin_ = end_ = 0;
  const size_t have = end_ - begin_;
  // Room for the rest of the current frame (so it ends up contiguous), at least kReadSize.
  const size_t want = std::max(kReadSize, need_ > have ? need_ - have : 0);
  if (cap_ - end_ < want) {
    if (begin_ > 0) {
      std::memmove(buf_.get(), buf_.get() + begin_, have);
      begin_ = 0;
      end_ = have;
    }
    // Geometric growth: a server that trickles a large frame a byte at a time must not cost a
    // new buffer per byte (the buffer stays under twice max_message + kReadSize).
    if (cap_ - end_ < want) Reserve(std::max(end_ + want, cap_ * 2));
  }
  return {buf_.get() + end_, cap_ - end_};
}

void FrameReader::Commit(size_t n) { end_ += std::min(n, cap_ - end_); }

void FrameReader::Append(std::string_view bytes) {
  while (!bytes.empty()) {
    auto [tail, room] = WritableTail();
    const size_t n = std::min(room, bytes.size());
    std::memcpy(tail, bytes.data(), n);
    Commit(n);
    bytes.remove_prefix(n);
  }
}

bool FrameReader::Fail(Error* error, websocket::error code, std::string message, bool oversized) {
  error->code = code;
  error->message = std::move(message);
  error->oversized = oversized;
  begin_ = end_ = need_ = 0;
  return false;
}

// Long on purpose: RFC 6455 framing as one loop over the bytes of a socket read (header,
// length forms, mask, control frames, fragments), every branch bounded in the same place.
bool FrameReader::Parse(Handler& handler, Error* error) {
  for (;;) {
    const size_t avail = end_ - begin_;
    if (avail < 2) return true;
    auto* p = reinterpret_cast<uint8_t*>(buf_.get() + begin_);
    const bool fin = (p[0] & 0x80) != 0;
    const uint8_t op = p[0] & 0x0F;
    size_t header = 2;
    uint64_t len = p[1] & 0x7F;
    if (len == 126) {
      if (avail < 4) return true;
      len = (uint64_t{p[2]} << 8) | p[3];
      header = 4;
    } else if (len == 127) {
      if (avail < 10) return true;
      len = 0;
      for (int i = 2; i < 10; ++i) len = (len << 8) | p[i];
      header = 10;
      if (len >> 63) return Fail(error, websocket::error::bad_size, "frame length over 2^63");
    }
    if ((p[0] & 0x70) != 0) {
      return Fail(error, websocket::error::bad_reserved_bits,
                  "frame with reserved bits set (no extension was negotiated)");
    }
    if ((p[1] & 0x80) != 0) {
      return Fail(error, websocket::error::bad_masked_frame, "masked frame from the server");
    }
    const bool control = (op & 0x8) != 0;
    if (control) {
      if (op != 0x8 && op != 0x9 && op != 0xA) {
        return Fail(error, websocket::error::bad_opcode,
                    "unknown control opcode " + std::to_string(op));
      }
      if (!fin)
        return Fail(error, websocket::error::bad_control_fragment, "fragmented control frame");
      if (len > 125)
        return Fail(error, websocket::error::bad_control_size, "control frame over 125 bytes");
    } else if (op == 0x0) {
      if (!in_message_) {
        return Fail(error, websocket::error::bad_continuation,
                    "continuation frame without a message");
      }
    } else if (op == 0x1 || op == 0x2) {
      if (in_message_) {
        return Fail(error, websocket::error::bad_data_frame,
                    "new message before the fragmented one ended");
      }
    } else {
      return Fail(error, websocket::error::bad_opcode, "unknown data opcode " + std::to_string(op));
    }
    if (!control) {
      const uint64_t total = (in_message_ ? fragments_.size() : 0) + len;
      if (len > max_message_ || total > max_message_) {
        return Fail(error, websocket::error::message_too_big,
                    "message larger than max_frame_bytes=" + std::to_string(max_message_),
                    /*oversized=*/true);
      }
    }
    if (avail - header < len) {
      need_ = header + static_cast<size_t>(len);
      return true;
    }
    need_ = 0;
    char* payload = buf_.get() + begin_ + header;
    const size_t n = static_cast<size_t>(len);
    begin_ += header + n;
    bool more = true;
    if (control) {
      more = handler.OnControl(static_cast<Opcode>(op), std::string_view(payload, n));
    } else if (op != 0x0 && fin) {
      // The common case: a whole message in one frame, handed out where it lies.
      const char saved = payload[n];
      more = handler.OnMessage(payload, n, op == 0x1);
      payload[n] = saved;
    } else {
      if (op != 0x0) {
        in_message_ = true;
        message_text_ = op == 0x1;
        fragments_.clear();
      }
      fragments_.insert(fragments_.end(), payload, payload + n);
      if (fin) {
        in_message_ = false;
        const size_t size = fragments_.size();
        fragments_.resize(size + kPadding);
        more = handler.OnMessage(fragments_.data(), size, message_text_);
        fragments_.clear();
      }
    }
    if (!more) return true;
  }
}

}  // namespace mpe::stream
