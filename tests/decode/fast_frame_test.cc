// The fast path (decode/fast_frame.h) must take the usual data frames and, whenever it takes a
// frame, give exactly the event the general reading gives: every field, doubles bit for bit,
// views at the same bytes. Checked on Mist-like frames in both `data` forms with values chosen
// to sit on both sides of every rule, on their byte mutations, and on the fuzz corpus.
#include "decode/fast_frame.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "decode/frame_decoder.h"
#include "fuzz/replay_inputs.h"

namespace mpe::decode {
namespace {

std::string Describe(const Event& e) {
  const PacketFields& p = e.packet;
  auto s = [](std::string_view v) { return "'" + std::string(v) + "' "; };
  auto bits = [](double d) {
    uint64_t u;
    std::memcpy(&u, &d, sizeof u);
    return std::to_string(d) + "#" + std::to_string(u);
  };
  return "kind=" + std::to_string(static_cast<int>(e.kind)) +
         " error=" + std::string(ReasonName(e.error)) + " channel=" + s(e.channel) +
         "event=" + s(e.event_name) + "detail=" + s(e.detail) + "capture_id=" + s(e.capture_id) +
         "lost=" + std::to_string(e.has_lost_messages) + "/" + std::to_string(e.lost_messages) +
         " if=" + std::to_string(static_cast<int>(p.interface)) + s(p.interface_text) +
         "dir=" + std::to_string(static_cast<int>(p.direction)) +
         " mac=" + std::to_string(p.has_ap_mac) + "/" + std::to_string(p.ap_mac) +
         " len=" + std::to_string(p.has_length) + "/" + bits(p.length) +
         " freq=" + std::to_string(p.has_frequency) + "/" + std::to_string(p.channel_frequency) +
         " ch=" + std::to_string(p.has_channel) + "/" + std::to_string(p.channel) +
         " rssi=" + std::to_string(p.has_rssi) + "/" + bits(p.rssi) +
         " rate=" + std::to_string(p.has_datarate) + "/" + bits(p.datarate_mbps) +
         " vlan=" + std::to_string(p.has_vlan) + "/" + std::to_string(p.vlan) +
         " ts=" + bits(p.timestamp) + " type=" + s(p.frame_type) + "subtype=" + s(p.frame_subtype) +
         "proto=" + s(p.proto) + "pcap_raw=" + s(p.pcap_raw);
}

std::unique_ptr<char[]> Copy(const std::string& frame) {
  auto buf = std::make_unique<char[]>(frame.size() + FrameDecoder::kPadding);
  std::memcpy(buf.get(), frame.data(), frame.size());
  std::memset(buf.get() + frame.size(), 0x5A, FrameDecoder::kPadding);
  return buf;
}

class FastFrameTest : public ::testing::Test {
 protected:
  FastFrameTest() { general_.set_fast_path(false); }

  // Decodes `frame` with and without the fast path; when the fast path takes it, the two events
  // must be identical, with views at the same offsets. Returns whether the fast path took it.
  bool Check(const std::string& frame, const std::string& what) {
    auto b0 = Copy(frame);
    b0[frame.size()] = '\0';
    Event probe;
    // With and without a remembered key order (the decoders keep theirs from frame to frame).
    const bool taken = internal::FastDecodeData(b0.get(), frame.size(), &probe, &keys_);
    Event probe2;
    EXPECT_EQ(internal::FastDecodeData(b0.get(), frame.size(), &probe2, nullptr), taken) << what;
    // The fast path never writes to the frame.
    EXPECT_EQ(std::memcmp(b0.get(), frame.data(), frame.size()), 0) << what;

    auto b1 = Copy(frame);
    auto b2 = Copy(frame);
    const Event fast = fast_.Decode(b1.get(), frame.size());
    const Event general = general_.Decode(b2.get(), frame.size());
    EXPECT_EQ(Describe(fast), Describe(general)) << what << "\n" << frame;
    if (taken) {
      EXPECT_EQ(fast.kind, EventKind::kData) << what;
      auto offset = [](std::string_view v, const char* base) {
        return v.empty() ? -1 : v.data() - base;
      };
      const std::string_view f[] = {
          fast.channel,           fast.event_name,           fast.capture_id,
          fast.packet.frame_type, fast.packet.frame_subtype, fast.packet.proto,
          fast.packet.pcap_raw};
      const std::string_view g[] = {
          general.channel,           general.event_name,           general.capture_id,
          general.packet.frame_type, general.packet.frame_subtype, general.packet.proto,
          general.packet.pcap_raw};
      for (size_t i = 0; i < std::size(f); ++i) {
        EXPECT_EQ(offset(f[i], b1.get()), offset(g[i], b2.get())) << what << " view " << i;
      }
    }
    ++compared_;
    return taken;
  }

  FrameDecoder fast_;
  FrameDecoder general_;
  internal::KeyOrders keys_;
  int compared_ = 0;
};

// A JSON string literal (only " and \ escaped; control bytes as \n/\t/\u00XX).
std::string Quote(const std::string& text) {
  std::string out = "\"";
  char hex[8];
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20) {
      std::snprintf(hex, sizeof hex, "\\u%04x", c);
      out += hex;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

constexpr char kChannel[] = "/sites/4ac1dcf4-9d8b-7211-65c4-057819f0862b/pcaps";

// The blaster's message shapes (bench/harness/blaster.py), compact like json.dumps.
const char kWireless[] =
    R"({"capture_id":"0c7f3c1e-2f55-4b1d-9a0e-5d3a1c2b4e6f","lost_messages":3,"pcap_dict":)"
    R"({"channel_frequency":5180,"channel":"36","datarate":"866.7 Mbps","rssi":-63,)"
    R"("dst":"ff:ff:ff:ff:ff:ff","src":"d4:20:b0:81:99:2e","bssid":"d4:20:b0:81:99:2e",)"
    R"("frame_type":"Data","frame_subtype":"QoS Data","proto":"802.11",)"
    R"("ap_mac":"d4:20:b0:81:99:20","direction":"rx","timestamp":1652246543,"length":1400.0,)"
    R"("interface":"radiotap","info":"QoS Data, SN=1234, FN=0, Flags=........C, BI=100, )"
    R"(SSID=\"corp\" [5180 MHz, 866.7 Mbps, -63 dBm, ant 2]"},)"
    R"("pcap_raw":"1MOyoQIABAAAAAAAAAAAAP//AAB/AAAAD6d8Yg=="})";
const char kWired[] =
    R"({"capture_id":"0c7f3c1e-2f55-4b1d-9a0e-5d3a1c2b4e6f","pcap_dict":)"
    R"({"dst_mac":"5c:5b:35:00:00:fe","src_mac":"a4:83:e7:11:22:33","vlan":10,)"
    R"("src_ip":"10.1.2.3","dst_ip":"93.184.216.34","dst_port":443,"src_port":51514,)"
    R"("proto":"TCP","ap_mac":"5c:5b:35:00:00:01","direction":"tx","timestamp":1652246543,)"
    R"("length":1514.0,"interface":"wired","info":"443 \u2192 51514 [ACK] Seq=1 Ack=1 Len=1448"},)"
    R"("pcap_raw":"1MOyoQIABAAAAAAAAAAAAP//AAABAAAAD6d8Yg=="})";

std::string Frame(const std::string& data, bool as_string) {
  return std::string(R"({"event":"data","channel":")") + kChannel + R"(","data":)" +
         (as_string ? Quote(data) : data) + "}";
}

TEST_F(FastFrameTest, TakesTheBlasterShapesInBothForms) {
  for (const char* data : {kWireless, kWired}) {
    for (bool as_string : {false, true}) {
      EXPECT_TRUE(Check(Frame(data, as_string), "blaster shape")) << data << " " << as_string;
    }
  }
  auto buf = Copy(Frame(kWireless, true));
  const Event e = fast_.Decode(buf.get(), Frame(kWireless, true).size());
  EXPECT_EQ(e.kind, EventKind::kData);
  EXPECT_EQ(e.error, DecodeError::kNone);
  EXPECT_EQ(e.packet.ap_mac, 0xd420b0819920u);
  EXPECT_EQ(e.packet.length, 1400.0);
  EXPECT_EQ(e.packet.rssi, -63.0);
  EXPECT_EQ(e.packet.datarate_mbps, 866.7);
  EXPECT_EQ(e.packet.channel, 36);
  EXPECT_EQ(e.lost_messages, 3);
  EXPECT_EQ(e.packet.frame_subtype, "QoS Data");
}

TEST_F(FastFrameTest, LeavesOtherFramesToTheGeneralReading) {
  const std::string leave[] = {
      R"({"event":"channel_subscribed","channel":"/sites/x/pcaps"})",
      R"({"event":"data","channel":"/sites/x/pcaps","data":{"pcap_dict":null}})",
      R"({"event":"data","channel":"/sites/x/pcaps","data":{"capture_id":"c\u0031",)"
      R"("pcap_dict":{}}})",  // an escape in a kept string
      R"({"event":"data","channel":"/sites/x/pcaps","data":{"pcap_dict":{"length":1e3}}})",
      R"({"event":"data","channel":"/sites/x/pcaps","data":{"pcap_dict":{"rssi":"-63"}}})",
      R"({"event":"data","channel":"/sites/x/pcaps","data":{"pcap_dict":{"x":[1]}}})",
      R"({"event":"data","channel":"/sites/x/pcaps","data":{"pcap_dict":{"proto":"a",)"
      R"("proto":"b"}}})",  // a duplicate
      R"({"event":"data","channel":"/sites/x/pcaps","data":{"pcap_dict":{"info":"\ud83d\ude00"}}})",
      R"({"event":"data","channel":"/sites/x/pcaps","data":{"pcap_dict":{}}} )"
      "x",
      R"({"event":"data","channel":"/sites/x/pcaps","data":{"pcap_dict":{"datarate":"MCS9"}}})",
      R"({"event":"data","channel":"/sites/x/pcaps","data":{"pcap_dict":{"interface":"Wired"}}})",
  };
  for (const std::string& f : leave) EXPECT_FALSE(Check(f, "leave")) << f;
  // Taken, with what the general reading makes of them.
  const std::string take[] = {
      R"( { "event" : "data" , "channel":"/sites/x/pcaps","data":{"pcap_dict":{}} } )",
      R"({"channel":"/sites/x/pcaps","data":{"pcap_dict":{"rssi":-0.0,"length":0}},"event":"data"})",
      R"({"event":"data","channel":"/sites/x/pcaps","other":[],"data":{"pcap_dict":{}}})",
  };
  EXPECT_TRUE(Check(take[0], "spaces"));
  EXPECT_TRUE(Check(take[1], "order"));
  EXPECT_FALSE(Check(take[2], "an array among the skipped values"));
}

// Mist-like data objects whose every value is drawn from a pool holding what the fast path takes
// and what it must leave alone.
class MistLikeGenerator {
 public:
  explicit MistLikeGenerator(uint32_t seed) : rng_(seed) {}

  std::string Data() {
    std::vector<std::string> members;
    if (Pick(8) != 0) members.push_back(Member("capture_id", One(kIds)));
    if (Pick(3) != 0) members.push_back(Member("lost_messages", One(kLost)));
    members.push_back(Member("pcap_dict", Pcap()));
    if (Pick(6) != 0) members.push_back(Member("pcap_raw", One(kRaw)));
    if (Pick(10) == 0) members.push_back(Member(Uniform(kOtherKeys), Uniform(kAny)));
    if (Pick(30) == 0) members.push_back(members[Pick(static_cast<uint32_t>(members.size()))]);
    std::shuffle(members.begin(), members.end(), rng_);
    return Object(members);
  }
  uint32_t Pick(uint32_t n) { return std::uniform_int_distribution<uint32_t>(0, n - 1)(rng_); }

 private:
  // Mostly one of the first two (the usual values, which the fast path takes), else any: with
  // some fifteen fields a frame, about a quarter of the frames are taken whole.
  template <size_t N>
  std::string One(const char* const (&pool)[N]) {
    return Pick(8) != 0 ? pool[Pick(2)] : pool[Pick(N)];
  }
  template <size_t N>
  std::string Uniform(const char* const (&pool)[N]) {
    return pool[Pick(N)];
  }
  std::string Space() { return Pick(12) == 0 ? Uniform(kSpaces) : ""; }
  std::string Member(const std::string& key, const std::string& value) {
    return Space() + "\"" + key + "\"" + Space() + ":" + Space() + value + Space();
  }
  static std::string Object(const std::vector<std::string>& members) {
    std::string out = "{";
    for (size_t i = 0; i < members.size(); ++i) out += (i ? "," : "") + members[i];
    return out + "}";
  }
  std::string Pcap() {
    std::vector<std::string> m;
    auto maybe = [&](const char* key, std::string value) {
      if (Pick(10) != 0) m.push_back(Member(key, std::move(value)));
    };
    maybe("interface", One(kInterfaces));
    maybe("direction", One(kDirections));
    maybe("ap_mac", One(kMacs));
    maybe("length", One(kLengths));
    maybe("channel_frequency", One(kFrequencies));
    maybe("channel", One(kChannels));
    maybe("rssi", One(kRssi));
    maybe("datarate", One(kRates));
    maybe("frame_type", One(kTexts));
    maybe("frame_subtype", One(kTexts));
    maybe("proto", One(kTexts));
    maybe("vlan", One(kVlans));
    maybe("timestamp", One(kTimestamps));
    maybe("info", One(kInfo));
    maybe("src", One(kMacs));
    if (Pick(20) == 0) m.push_back(Member(Uniform(kOtherKeys), Uniform(kAny)));
    if (Pick(30) == 0 && !m.empty()) m.push_back(m[Pick(static_cast<uint32_t>(m.size()))]);
    std::shuffle(m.begin(), m.end(), rng_);
    return Object(m);
  }

  static constexpr const char* kSpaces[] = {" ", "\n", "\t", "\r\n  "};
  static constexpr const char* kIds[] = {
      R"("0c7f3c1e-2f55")", R"("")",        R"("c\u00e9")", "7", "null",
      R"("\u00e9t\u00e9")", "\"\xC3\xA9\"", "\"\xC3\""};
  static constexpr const char* kLost[] = {
      "0", "3", "9007199254740992", "9007199254740993", "-1", "-0", "2.0", "1e2", R"("4")", "null"};
  static constexpr const char* kRaw[] = {R"("1MOyoQIABAAAAAAAAAAAAP//AAB/AAAA")", R"("")",
                                         R"("a\/b")", "12", "null"};
  static constexpr const char* kInterfaces[] = {
      R"("radiotap")", R"("wired")", R"("Radiotap")", R"("eth0")", R"("")", "1", "null"};
  static constexpr const char* kDirections[] = {R"("rx")", R"("tx")", R"("RX")",
                                                R"("up")", "null",    "true"};
  static constexpr const char* kMacs[] = {R"("d4:20:b0:81:99:2e")",
                                          R"("D4:20:B0:81:99:2E")",
                                          R"("d420b081992e")",
                                          R"("d4-20-b0-81-99-2e")",
                                          R"("d4:20:b0:81:99:2g")",
                                          R"("d4:20:b0:81:99")",
                                          R"("d4:20:b0:81:99:2e:00")",
                                          R"("xx:20:b0:81:99:2e")",
                                          "5",
                                          "null"};
  static constexpr const char* kLengths[] = {"1400.0",
                                             "1400",
                                             "0",
                                             "0.0",
                                             "-1",
                                             "-0.0",
                                             "4294967295",
                                             "4294967296",
                                             "4294967295.5",
                                             "123.456",
                                             "1e3",
                                             "0.1",
                                             "12345678901234567890",
                                             "1234567890123456789",
                                             R"("60")",
                                             "null"};
  static constexpr const char* kFrequencies[] = {
      "5180", "2437", "0", "1000000", "1000001", "5180.0", "-5180", R"("5180")", "null"};
  static constexpr const char* kChannels[] = {
      R"("36")",  R"("036")",    "36",      R"("65535")", R"("65536")", R"("")", R"("3a")",
      R"(" 36")", R"("123456")", R"("-1")", "36.0",       "-1",         "null"};
  static constexpr const char* kRssi[] = {"-63",      "-30",  "0",     "-0",     "-0.0",
                                          "-63.5",    "1000", "-1000", "1000.5", "-1001",
                                          R"("-63")", "1e2",  "null"};
  static constexpr const char* kRates[] = {R"("54.0 Mbps")",
                                           R"("866.7 Mbps")",
                                           R"("1 Mbps")",
                                           R"("54")",
                                           R"("54.0 mbps")",
                                           R"("54.0Mbps")",
                                           R"("1.2 Gbps")",
                                           R"("MCS9")",
                                           R"(" Mbps")",
                                           R"("0.5 Mbps")",
                                           R"("1000001 Mbps")",
                                           R"("-1 Mbps")",
                                           "54",
                                           "54.5",
                                           "-1",
                                           "null"};
  static constexpr const char* kTexts[] = {
      R"("Data")",   R"("QoS Data")",    R"("802.11")", R"("TCP")", R"("")", R"("a\"b")",
      R"("\u00e9")", "\"\xE2\x86\x92\"", "\"\xFF\"",    "3",        "null"};
  static constexpr const char* kVlans[] = {"10", "0",    "4095",    "4096",
                                           "-1", "10.0", R"("10")", "null"};
  static constexpr const char* kTimestamps[] = {
      "1652246543", "1652246543.123456", "0",   "-1", "1764150001.1234567", "9007199254.740993",
      "1.5e9",      R"("1652246543")",   "null"};
  static constexpr const char* kInfo[] = {R"("QoS Data, SN=1")",
                                          R"("443 \u2192 51514")",
                                          R"("SSID=\"corp\"")",
                                          R"("a\\b\/c")",
                                          R"("\b\f\n\r\t")",
                                          R"("\ud83d\ude00")",
                                          R"("\udc00")",
                                          R"("\u12G4")",
                                          R"("\x")",
                                          "\"\x01\"",
                                          "\"a\nb\"",
                                          "\"a\tb\"",
                                          "\"\xC3\xA9\"",
                                          "null",
                                          "true",
                                          "false",
                                          "-0.5",
                                          "[]",
                                          "{}"};
  static constexpr const char* kOtherKeys[] = {"extra",    "meta",       "detail",
                                               "pcap_raw", "capture_id", "channel"};
  static constexpr const char* kAny[] = {R"("x")",     "1",     "true", "null", "[1,2]",
                                         R"({"a":1})", "1e400", "-",    "01"};

  std::mt19937 rng_;
};

TEST_F(FastFrameTest, AgreesWithTheGeneralReadingOnMistLikeFramesAndTheirMutations) {
  MistLikeGenerator gen(20261126);
  int taken = 0;
  int frames = 0;
  static const char kNoise[] = "\"\\/{}[],: n0e9.-\x01\xC3";
  for (int i = 0; i < 8000; ++i) {
    const std::string frame = Frame(gen.Data(), gen.Pick(2) == 0);
    taken += Check(frame, "generated") ? 1 : 0;
    ++frames;
    for (int m = 0; m < 4; ++m) {
      std::string mutated = frame;
      const size_t at = gen.Pick(static_cast<uint32_t>(mutated.size()));
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
      Check(mutated, "mutated");
    }
    if (HasFailure()) break;
  }
  EXPECT_EQ(compared_, frames * 5);
  EXPECT_GT(taken, frames / 8) << taken << " of " << frames;
  EXPECT_LT(taken, frames * 3 / 4) << taken << " of " << frames;
}

TEST_F(FastFrameTest, AgreesWithTheGeneralReadingOnTheFuzzCorpus) {
  int n = 0;
  int taken = 0;
  for (const char* folder : {"corpus", "regressions"}) {
    for (const auto& in : fuzz::ReadReplayInputs(MPE_SOURCE_DIR, folder, "decode_frame")) {
      taken += Check(in.bytes, in.path) ? 1 : 0;
      ++n;
    }
  }
  EXPECT_GT(n, 20);
  EXPECT_GT(taken, 0);
}

}  // namespace
}  // namespace mpe::decode
