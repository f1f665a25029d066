#include "stream/ws_frames.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace mpe::stream {
namespace {

namespace websocket = boost::beast::websocket;

// A server frame (never masked), with explicit control over every header bit.
std::string ServerFrame(uint8_t opcode, std::string_view payload, bool fin = true, uint8_t rsv = 0,
                        bool masked = false) {
  std::string out;
  out.push_back(static_cast<char>((fin ? 0x80 : 0) | (rsv << 4) | opcode));
  const size_t n = payload.size();
  const uint8_t mask_bit = masked ? 0x80 : 0;
  if (n < 126) {
    out.push_back(static_cast<char>(mask_bit | n));
  } else if (n <= 0xFFFF) {
    out.push_back(static_cast<char>(mask_bit | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127));
    for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<char>((uint64_t{n} >> s) & 0xFF));
  }
  if (masked) out.append("\x01\x02\x03\x04", 4);
  out.append(payload);
  return out;
}

struct Recorder : FrameReader::Handler {
  std::vector<std::pair<std::string, bool>> messages;
  std::vector<std::pair<Opcode, std::string>> controls;
  bool stop_after_message = false;
  bool padding_ok = true;

  bool OnMessage(char* data, size_t len, bool is_text) override {
    messages.emplace_back(std::string(data, len), is_text);
    // The contract FrameDecoder relies on: data[len] writable, 16 bytes addressable.
    data[len] = '\0';
    volatile char last = data[len + FrameReader::kPadding - 1];
    (void)last;
    return !stop_after_message;
  }
  bool OnControl(Opcode op, std::string_view payload) override {
    controls.emplace_back(op, std::string(payload));
    return true;
  }
};

TEST(WsFramesTest, ClientFramesAreMaskedWithTheKeyAndUseTheShortestLength) {
  std::string out;
  AppendClientFrame(out, Opcode::kText, "Hello", 0x37fa213d);
  // RFC 6455 §5.7's masked "Hello" example, byte for byte.
  EXPECT_EQ(out, std::string("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11));

  out.clear();
  AppendClientFrame(out, Opcode::kPing, "", 0);
  EXPECT_EQ(out, std::string("\x89\x80\x00\x00\x00\x00", 6));

  out.clear();
  AppendClientFrame(out, Opcode::kBinary, std::string(256, 'x'), 0);
  ASSERT_EQ(out.size(), 2u + 2 + 4 + 256);
  EXPECT_EQ(static_cast<uint8_t>(out[1]), 0x80 | 126);
  EXPECT_EQ(static_cast<uint8_t>(out[2]), 1);
  EXPECT_EQ(static_cast<uint8_t>(out[3]), 0);

  out.clear();
  AppendClientFrame(out, Opcode::kText, std::string(70000, 'y'), 0);
  ASSERT_EQ(out.size(), 2u + 8 + 4 + 70000);
  EXPECT_EQ(static_cast<uint8_t>(out[1]), 0x80 | 127);
  EXPECT_EQ(static_cast<uint8_t>(out[7]), 0x01);  // 70000 = 0x011170
  EXPECT_EQ(static_cast<uint8_t>(out[8]), 0x11);
  EXPECT_EQ(static_cast<uint8_t>(out[9]), 0x70);
}

TEST(WsFramesTest, ParsesClosePayloads) {
  ClosePayload close;
  const std::string payload("\x03\xf3going", 7);  // outlives close.reason, a view into it
  ASSERT_TRUE(ParseClosePayload(payload, &close));
  EXPECT_EQ(close.code, 1011);
  EXPECT_EQ(close.reason, "going");
  ASSERT_TRUE(ParseClosePayload("", &close));
  EXPECT_EQ(close.code, 0);
  EXPECT_FALSE(ParseClosePayload("x", &close));
}

TEST(WsFramesTest, DeliversManyMessagesFromOneReadInOrderAndRestoresTheNextHeader) {
  std::string wire = ServerFrame(0x1, R"({"event":"data","n":1})") +
                     ServerFrame(0x2, std::string("\x00\x01\x02", 3)) +
                     ServerFrame(0x1, std::string(300, 'a')) + ServerFrame(0x1, "");
  FrameReader reader(1 << 20);
  reader.Append(wire);
  Recorder rec;
  FrameReader::Error error;
  ASSERT_TRUE(reader.Parse(rec, &error));
  ASSERT_EQ(rec.messages.size(), 4u);
  EXPECT_EQ(rec.messages[0], std::make_pair(std::string(R"({"event":"data","n":1})"), true));
  EXPECT_EQ(rec.messages[1], std::make_pair(std::string("\x00\x01\x02", 3), false));
  EXPECT_EQ(rec.messages[2], std::make_pair(std::string(300, 'a'), true));
  EXPECT_EQ(rec.messages[3], std::make_pair(std::string(), true));
  EXPECT_EQ(reader.buffered(), 0u);
}

// Every way a stream of frames can be cut into reads gives the same messages.
TEST(WsFramesTest, SameMessagesWhateverTheReadBoundaries) {
  std::string wire;
  std::vector<std::string> expected;
  for (size_t n : {0u, 1u, 125u, 126u, 127u, 65535u, 65536u, 70000u, 5u}) {
    std::string payload(n, static_cast<char>('a' + n % 26));
    wire += ServerFrame(0x1, payload);
    expected.push_back(payload);
  }
  wire += ServerFrame(0x9, "pp");
  for (size_t chunk : {1u, 2u, 3u, 7u, 13u, 1000u, 65536u, 200000u}) {
    FrameReader reader(1 << 20);
    Recorder rec;
    FrameReader::Error error;
    for (size_t at = 0; at < wire.size();) {
      auto [tail, room] = reader.WritableTail();
      const size_t n = std::min({chunk, room, wire.size() - at});
      std::memcpy(tail, wire.data() + at, n);
      reader.Commit(n);
      at += n;
      ASSERT_TRUE(reader.Parse(rec, &error)) << "chunk " << chunk << ": " << error.message;
    }
    ASSERT_EQ(rec.messages.size(), expected.size()) << "chunk " << chunk;
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(rec.messages[i].first, expected[i]) << "chunk " << chunk << " message " << i;
    }
    ASSERT_EQ(rec.controls.size(), 1u);
    EXPECT_EQ(rec.controls[0].first, Opcode::kPing);
    EXPECT_EQ(rec.controls[0].second, "pp");
    EXPECT_EQ(reader.buffered(), 0u);
  }
}

TEST(WsFramesTest, ReassemblesFragmentsWithControlFramesInBetween) {
  std::string wire = ServerFrame(0x1, "{\"event\":", false) + ServerFrame(0x9, "p1") +
                     ServerFrame(0x0, "\"data\",", false) + ServerFrame(0xA, "") +
                     ServerFrame(0x0, "\"x\":1}", true) + ServerFrame(0x2, "bin", false) +
                     ServerFrame(0x0, "ary", true);
  FrameReader reader(1 << 20);
  reader.Append(wire);
  Recorder rec;
  FrameReader::Error error;
  ASSERT_TRUE(reader.Parse(rec, &error));
  ASSERT_EQ(rec.messages.size(), 2u);
  EXPECT_EQ(rec.messages[0], std::make_pair(std::string(R"({"event":"data","x":1})"), true));
  EXPECT_EQ(rec.messages[1], std::make_pair(std::string("binary"), false));
  ASSERT_EQ(rec.controls.size(), 2u);
  EXPECT_EQ(rec.controls[0], std::make_pair(Opcode::kPing, std::string("p1")));
  EXPECT_EQ(rec.controls[1], std::make_pair(Opcode::kPong, std::string()));
}

TEST(WsFramesTest, AHandlerCanStopParsingAndResumeLater) {
  FrameReader reader(1 << 20);
  reader.Append(ServerFrame(0x1, "one") + ServerFrame(0x1, "two"));
  Recorder rec;
  rec.stop_after_message = true;
  FrameReader::Error error;
  ASSERT_TRUE(reader.Parse(rec, &error));
  ASSERT_EQ(rec.messages.size(), 1u);
  EXPECT_EQ(reader.buffered(), 5u);
  ASSERT_TRUE(reader.Parse(rec, &error));
  ASSERT_EQ(rec.messages.size(), 2u);
  EXPECT_EQ(rec.messages[1].first, "two");
}

TEST(WsFramesTest, RefusesAMessageOverTheLimitWholeOrFragmented) {
  {
    FrameReader reader(1000);
    reader.Append(ServerFrame(0x1, std::string(1000, 'a')));
    Recorder rec;
    FrameReader::Error error;
    ASSERT_TRUE(reader.Parse(rec, &error));  // exactly the limit is fine
    ASSERT_EQ(rec.messages.size(), 1u);
    // Refused from the header alone, before the payload arrives.
    reader.Append(ServerFrame(0x1, std::string(1001, 'a')).substr(0, 4));
    ASSERT_FALSE(reader.Parse(rec, &error));
    EXPECT_EQ(error.code, websocket::error::message_too_big);
    EXPECT_TRUE(error.oversized);
    EXPECT_EQ(error.message, "message larger than max_frame_bytes=1000");
  }
  {
    FrameReader reader(1000);
    reader.Append(ServerFrame(0x1, std::string(600, 'a'), false) +
                  ServerFrame(0x0, std::string(401, 'a'), true));
    Recorder rec;
    FrameReader::Error error;
    ASSERT_FALSE(reader.Parse(rec, &error));
    EXPECT_TRUE(error.oversized);
    EXPECT_TRUE(rec.messages.empty());
  }
}

TEST(WsFramesTest, ProtocolViolationsFailWithTheirBeastErrorCode) {
  struct Case {
    const char* name;
    std::string wire;
    websocket::error code;
  };
  const std::vector<Case> cases = {
      {"reserved bits", ServerFrame(0x1, "x", true, 4), websocket::error::bad_reserved_bits},
      {"masked", ServerFrame(0x1, "x", true, 0, true), websocket::error::bad_masked_frame},
      {"opcode 3", ServerFrame(0x3, "x"), websocket::error::bad_opcode},
      {"opcode 0xB", ServerFrame(0xB, "x"), websocket::error::bad_opcode},
      {"fragmented ping", ServerFrame(0x9, "x", false), websocket::error::bad_control_fragment},
      {"126-byte ping", ServerFrame(0x9, std::string(126, 'p')),
       websocket::error::bad_control_size},
      {"lone continuation", ServerFrame(0x0, "x"), websocket::error::bad_continuation},
      {"text inside a fragmented message", ServerFrame(0x1, "a", false) + ServerFrame(0x1, "b"),
       websocket::error::bad_data_frame},
      {"length with the top bit", std::string("\x81\x7f\x80\x00\x00\x00\x00\x00\x00\x01", 10),
       websocket::error::bad_size},
  };
  for (const Case& c : cases) {
    FrameReader reader(1 << 20);
    reader.Append(c.wire);
    Recorder rec;
    FrameReader::Error error;
    EXPECT_FALSE(reader.Parse(rec, &error)) << c.name;
    EXPECT_EQ(error.code, c.code) << c.name;
    EXPECT_FALSE(error.message.empty()) << c.name;
    EXPECT_FALSE(error.oversized) << c.name;
    EXPECT_TRUE(rec.messages.empty()) << c.name;
  }
}

TEST(WsFramesTest, GrowsForAFrameLargerThanOneReadAndKeepsItContiguous) {
  const std::string big(3 * FrameReader::kReadSize + 17, 'z');
  const std::string wire = ServerFrame(0x1, "small") + ServerFrame(0x1, big);
  FrameReader reader(4 * FrameReader::kReadSize);
  Recorder rec;
  FrameReader::Error error;
  size_t at = 0;
  while (at < wire.size()) {
    auto [tail, room] = reader.WritableTail();
    ASSERT_GE(room, std::min(FrameReader::kReadSize, wire.size() - at));
    const size_t n = std::min(room, wire.size() - at);
    std::memcpy(tail, wire.data() + at, n);
    reader.Commit(n);
    at += n;
    ASSERT_TRUE(reader.Parse(rec, &error)) << error.message;
  }
  ASSERT_EQ(rec.messages.size(), 2u);
  EXPECT_EQ(rec.messages[1].first, big);
  EXPECT_GE(reader.capacity(), big.size() + 10);
}

}  // namespace
}  // namespace mpe::stream
