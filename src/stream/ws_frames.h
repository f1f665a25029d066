#pragma once

#include <boost/beast/websocket/error.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mpe::stream {

// RFC 6455 framing for the client side of one connection, without any I/O: the session reads
// socket bytes straight into FrameReader's buffer and FrameReader hands out whole messages.
//
// Why not Beast's websocket::stream: it reads the socket 1,536 bytes at a time and completes one
// composed async operation (several handler dispatches) per message, then validates the UTF-8
// of every text message. At ~1.2 KB per Mist message that was ~4 us of CPU per message, about
// two thirds of the exporter's ingest cost. Here one read of up to kReadSize bytes yields every
// message in it, delivered in place (no copy) unless it was fragmented.
//
// UTF-8 is not validated per message: the decoder validates the strings it keeps (labels, log
// text) and counts the rest as bad input instead of dropping the connection.
enum class Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

// Appends one client frame (FIN set, masked with `mask_key` as RFC 6455 §5.3 requires of a
// client) carrying `payload`.
void AppendClientFrame(std::string& out, Opcode op, std::string_view payload, uint32_t mask_key);

// A close frame's payload: code (0 when absent) and reason (a view into the parsed payload).
struct ClosePayload {
  uint16_t code = 0;
  std::string_view reason;
};
// False when the payload is one byte long (a protocol error).
bool ParseClosePayload(std::string_view payload, ClosePayload* out);

class FrameReader {
 public:
  // Bytes after every delivered message that stay allocated: data[len] is writable and
  // data[len + 15] readable (FrameDecoder::kPadding).
  static constexpr size_t kPadding = 16;
  static constexpr size_t kReadSize = 128 * 1024;

  class Handler {
   public:
    virtual ~Handler() = default;
    // A whole text or binary message. `data` is writable, valid until the call returns and
    // followed by kPadding spare bytes (which may hold the next frame: the byte at data[len] is
    // restored after the call). Return false to stop parsing.
    virtual bool OnMessage(char* data, size_t len, bool is_text) = 0;
    // A ping, pong or close frame (payload ≤ 125 bytes). Return false to stop parsing.
    virtual bool OnControl(Opcode op, std::string_view payload) = 0;
  };

  struct Error {
    boost::beast::websocket::error code;
    std::string message;
    bool oversized = false;
  };

  // Messages above max_message bytes (whole payload, fragments summed) are refused.
  explicit FrameReader(size_t max_message);

  // Where the next socket read goes: at least min(kReadSize, what the frame being read needs)
  // bytes. Moves the unparsed rest to the front of the buffer or grows it as needed.
  std::pair<char*, size_t> WritableTail();
  // `n` bytes were read into WritableTail().
  void Commit(size_t n);
  // Copies bytes in (e.g. what the upgrade response read ahead). Convenience for tests too.
  void Append(std::string_view bytes);

  // Delivers every complete frame in the buffer. Returns false with *error set on a protocol
  // violation or an oversized message; the reader is then unusable. A handler returning false
  // stops parsing (the rest stays buffered) and Parse returns true.
  bool Parse(Handler& handler, Error* error);

  size_t buffered() const { return end_ - begin_; }
  size_t capacity() const { return cap_; }

 private:
  bool Fail(Error* error, boost::beast::websocket::error code, std::string message,
            bool oversized = false);
  void Reserve(size_t want);

  size_t max_message_;
  std::unique_ptr<char[]> buf_;  // cap_ + kPadding bytes
  size_t cap_ = 0;
  size_t begin_ = 0;  // first unparsed byte
  size_t end_ = 0;    // one past the last byte read
  size_t need_ = 0;   // bytes the frame at begin_ needs in all, once its header was seen

  // A fragmented message being assembled.
  bool in_message_ = false;
  bool message_text_ = false;
  std::vector<char> fragments_;
};

}  // namespace mpe::stream
