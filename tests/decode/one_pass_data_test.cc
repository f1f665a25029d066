// The one-pass reading of a `data` sent as a JSON string (InsituJsonReader's escaped mode) must
// give exactly the event that unescaping and parsing it (two passes) gives: compared field by
// field on the fuzz corpus, on generated frames with every kind of escape at both levels, and
// on their mutations.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "decode/frame_decoder.h"
#include "fuzz/replay_inputs.h"

namespace mpe::decode {
namespace {

// Every field of an event; strings by content.
std::string Describe(const Event& e) {
  const PacketFields& p = e.packet;
  auto s = [](std::string_view v) { return "'" + std::string(v) + "' "; };
  return "kind=" + std::to_string(static_cast<int>(e.kind)) +
         " error=" + std::string(ReasonName(e.error)) + " channel=" + s(e.channel) +
         "event=" + s(e.event_name) + "detail=" + s(e.detail) + "capture_id=" + s(e.capture_id) +
         "lost=" + std::to_string(e.has_lost_messages) + "/" + std::to_string(e.lost_messages) +
         " if=" + std::to_string(static_cast<int>(p.interface)) + s(p.interface_text) +
         "dir=" + std::to_string(static_cast<int>(p.direction)) +
         " mac=" + std::to_string(p.has_ap_mac) + "/" + std::to_string(p.ap_mac) +
         " len=" + std::to_string(p.has_length) + "/" + std::to_string(p.length) +
         " freq=" + std::to_string(p.has_frequency) + "/" + std::to_string(p.channel_frequency) +
         " ch=" + std::to_string(p.has_channel) + "/" + std::to_string(p.channel) +
         " rssi=" + std::to_string(p.has_rssi) + "/" + std::to_string(p.rssi) +
         " rate=" + std::to_string(p.has_datarate) + "/" + std::to_string(p.datarate_mbps) +
         " vlan=" + std::to_string(p.has_vlan) + "/" + std::to_string(p.vlan) +
         " ts=" + std::to_string(p.timestamp) + " type=" + s(p.frame_type) +
         "subtype=" + s(p.frame_subtype) + "proto=" + s(p.proto) + "pcap_raw=" + s(p.pcap_raw);
}

class OnePassDataTest : public ::testing::Test {
 protected:
  // Both take the general reading (the fast path, tested in fast_frame_test.cc, would take most
  // of these frames before it).
  OnePassDataTest() {
    one_.set_fast_path(false);
    two_.set_fast_path(false);
    two_.set_one_pass_data_strings(false);
  }

  // Decodes copies of `frame` both ways; fails the test when the events differ. Returns true
  // when the one-pass reading was taken (its views then sit where the escaped text was, so the
  // capture id, which follows escapes, is at a different offset than after unescaping).
  bool ExpectSameEvent(const std::string& frame, const std::string& what) {
    auto copy = [&] {
      auto buf = std::make_unique<char[]>(frame.size() + FrameDecoder::kPadding);
      std::memcpy(buf.get(), frame.data(), frame.size());
      std::memset(buf.get() + frame.size(), 0x5A, FrameDecoder::kPadding);
      return buf;
    };
    auto b1 = copy();
    auto b2 = copy();
    const Event e1 = one_.Decode(b1.get(), frame.size());
    const Event e2 = two_.Decode(b2.get(), frame.size());
    EXPECT_EQ(Describe(e1), Describe(e2)) << what << "\n" << frame;
    ++compared_;
    return !e1.capture_id.empty() &&
           e1.capture_id.data() - b1.get() != e2.capture_id.data() - b2.get();
  }

  FrameDecoder one_;
  FrameDecoder two_;
  int compared_ = 0;
};

// A JSON string literal of `text`, written the way one of several encoders would: `slash`
// escapes '/', `ascii` writes every non-ASCII character as \uXXXX (surrogate pairs above the
// BMP), as Python's json.dumps does by default.
std::string Quote(const std::string& text, bool slash, bool ascii) {
  std::string out = "\"";
  char hex[16];
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '/' && slash) {
      out += "\\/";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20) {
      std::snprintf(hex, sizeof hex, "\\u%04x", c);
      out += hex;
    } else if (c >= 0x80 && ascii) {
      // Decode one UTF-8 sequence (the generator only writes valid ones).
      uint32_t cp;
      size_t n;
      if (c >= 0xF0) {
        cp = c & 0x07;
        n = 3;
      } else if (c >= 0xE0) {
        cp = c & 0x0F;
        n = 2;
      } else {
        cp = c & 0x1F;
        n = 1;
      }
      for (size_t k = 1; k <= n; ++k)
        cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
      i += n;
      if (cp >= 0x10000) {
        cp -= 0x10000;
        std::snprintf(hex, sizeof hex, "\\u%04X\\u%04X", 0xD800 + (cp >> 10),
                      0xDC00 + (cp & 0x3FF));
      } else {
        std::snprintf(hex, sizeof hex, "\\u%04x", cp);
      }
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// Random Mist-like `data` objects as JSON text, with every kind of string and whitespace.
class DataGenerator {
 public:
  explicit DataGenerator(uint32_t seed) : rng_(seed) {}

  std::string Data() {
    slash_ = Pick(4) == 0;
    ascii_ = Pick(2) == 0;
    std::vector<std::string> members = {
        Member("capture_id", Quote("c-" + Text(), slash_, ascii_)),  // never empty
        Member("lost_messages", Pick(3) == 0 ? Str() : std::to_string(Pick(5))),
        Member("pcap_dict", PcapDict()),
        Member("pcap", Quote("1MOyoQIABAA/+a/b+c==", slash_, ascii_)),
    };
    if (Pick(3) == 0) members.push_back(Member(Text(), Any(2)));
    std::shuffle(members.begin(), members.end(), rng_);
    return Object(members);
  }

  bool Pick1In(int n) { return Pick(n) == 0; }
  uint32_t Pick(uint32_t n) { return std::uniform_int_distribution<uint32_t>(0, n - 1)(rng_); }
  std::mt19937& rng() { return rng_; }

 private:
  std::string Space() {
    static const char* kSpaces[] = {"", "", "", "", " ", "\n", "  ", "\t", "\r\n "};
    return kSpaces[Pick(9)];
  }
  std::string Member(const std::string& key, const std::string& value) {
    return Space() + Quote(key, slash_, ascii_) + Space() + ":" + Space() + value + Space();
  }
  std::string Object(const std::vector<std::string>& members) {
    std::string out = "{";
    for (size_t i = 0; i < members.size(); ++i) out += (i ? "," : "") + members[i];
    return out + "}";
  }
  std::string Text() {
    static const char* kParts[] = {"5c5b35d0a1b2",
                                   "5C:5B:35:D0:A1:B2",
                                   "QoS Data",
                                   "802.11",
                                   "\xE2\x86\x92",      // →
                                   "\xC3\xA9",          // é
                                   "\xF0\x9F\x98\x80",  // 😀
                                   "\"",
                                   "\\",
                                   "/",
                                   "\n",
                                   "\t",
                                   "\x01",
                                   "a b",
                                   "54.0 Mbps",
                                   "radiotap",
                                   "wired",
                                   "rx",
                                   "tx",
                                   "12",
                                   ""};
    std::string out;
    for (uint32_t i = Pick(4); i > 0; --i) out += kParts[Pick(std::size(kParts))];
    return out;
  }
  std::string Str() { return Quote(Text(), slash_, ascii_); }
  std::string Number() {
    static const char* kNumbers[] = {"0",    "-63",   "5180",
                                     "36",   "412.0", "1764150001.123456",
                                     "1e3",  "-0.5",  "18446744073709551615",
                                     "1e400"};
    return kNumbers[Pick(std::size(kNumbers))];
  }
  std::string Any(int depth) {
    switch (Pick(depth > 0 ? 7 : 5)) {
      case 0:
        return Str();
      case 1:
        return Number();
      case 2:
        return "true";
      case 3:
        return "null";
      case 4:
        return Quote("d4:20:b0:81:99:2e", slash_, ascii_);
      case 5:
        return "[" + Space() + Any(depth - 1) + "," + Any(depth - 1) + Space() + "]";
      default:
        return Object({Member(Text(), Any(depth - 1))});
    }
  }
  std::string PcapDict() {
    static const char* kKeys[] = {
        "channel_frequency", "channel",       "datarate", "rssi",      "ap_mac",
        "direction",         "timestamp",     "length",   "interface", "info",
        "frame_type",        "frame_subtype", "proto",    "vlan",      "src"};
    std::vector<std::string> members;
    for (const char* k : kKeys) {
      if (Pick(5) == 0) continue;
      std::string v;
      const std::string key = k;
      if (key == "ap_mac" || key == "src") {
        v = Pick(4) == 0 ? Any(1)
                         : Quote(Pick(2) ? "5c5b35d0a1b2" : "d4:20:b0:81:99:2e", slash_, ascii_);
      } else if (key == "direction" || key == "interface" || key == "info" ||
                 key.rfind("frame", 0) == 0 || key == "proto" || key == "datarate") {
        v = Pick(5) == 0 ? Any(1) : Str();
      } else {
        v = Pick(5) == 0 ? Any(1) : Number();
      }
      members.push_back(Member(key, v));
    }
    return Object(members);
  }

  std::mt19937 rng_;
  bool slash_ = false;
  bool ascii_ = false;
};

std::string Frame(const std::string& data_json, bool slash, bool ascii) {
  return R"({"event":"data","channel":"/sites/8aaba0c5-5d1b-4a0e-9a36-2b1c5c5b35d0/pcaps","data":)" +
         Quote(data_json, slash, ascii) + "}";
}

TEST_F(OnePassDataTest, ReadsAPlainDataStringInOnePass) {
  const std::string data =
      R"({"pcap_dict":{"ap_mac":"5c5b35d0a1b2","interface":"radiotap","direction":"rx",)"
      R"("info":"1 \u2192 2 \"q\" a\\b","length":412.0,"channel_frequency":5180,"rssi":-63},)"
      R"("capture_id":"c1"})";
  EXPECT_TRUE(ExpectSameEvent(Frame(data, false, false), "plain"));
  // The info string held escapes of its own: it was unescaped into the decoder's scratch.
  EXPECT_FALSE(one_.scratch().empty());
}

TEST_F(OnePassDataTest, FallsBackToTwoPassesForUnusualSpellings) {
  const std::string data = R"({"capture_id":"c1","pcap_dict":{"info":"a/b é"}})";
  // \/ and \u00e9 at the outer level: the one-pass reading gives up, the result is the same.
  EXPECT_FALSE(ExpectSameEvent(Frame(data, true, true), "outer \\/ and \\u"));
  // A raw newline inside an inner string (\n at the outer level) is invalid inner JSON.
  EXPECT_FALSE(ExpectSameEvent(
      Frame("{\"pcap_dict\":{\"info\":\"a\nb\"},\"capture_id\":\"c1\"}", false, false),
      "raw newline in an inner string"));
}

TEST_F(OnePassDataTest, AgreesWithTwoPassesOnGeneratedFramesAndTheirMutations) {
  DataGenerator gen(20261126);
  int one_pass = 0;
  int frames = 0;
  static const char kNoise[] = "\"\\/{}[],:  un0e9.-\x01\xC3\x80";
  for (int i = 0; i < 6000; ++i) {
    const std::string frame = Frame(gen.Data(), gen.Pick1In(6), gen.Pick1In(6));
    one_pass += ExpectSameEvent(frame, "generated") ? 1 : 0;
    ++frames;
    for (int m = 0; m < 4; ++m) {
      std::string mutated = frame;
      const size_t at = 90 + gen.Pick(static_cast<uint32_t>(mutated.size() - 90));
      switch (gen.Pick(3)) {
        case 0:
          mutated[at] = kNoise[gen.Pick(sizeof kNoise - 1)];
          break;
        case 1:
          mutated.erase(at, 1 + gen.Pick(3));
          break;
        default:
          mutated.insert(at, 1, kNoise[gen.Pick(sizeof kNoise - 1)]);
          break;
      }
      ExpectSameEvent(mutated, "mutated");
    }
    if (HasFailure()) break;
  }
  EXPECT_EQ(compared_, frames * 5);
  // Most generated frames are plain enough for one pass (the rest use \/ or \u at the outer
  // level, or put a raw control byte in an inner string).
  EXPECT_GT(one_pass, frames / 3) << one_pass << " of " << frames;
}

TEST_F(OnePassDataTest, AgreesWithTwoPassesOnTheFuzzCorpus) {
  int n = 0;
  for (const char* folder : {"corpus", "regressions"}) {
    for (const auto& in : fuzz::ReadReplayInputs(MPE_SOURCE_DIR, folder, "decode_frame")) {
      ExpectSameEvent(in.bytes, in.path);
      ++n;
    }
  }
  EXPECT_GT(n, 20);
}

}  // namespace
}  // namespace mpe::decode
