#include "decode/frame_decoder.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace mpe::decode {
namespace {

// A copy of `text` placed so that data[len] is the last byte of a page followed by an
// inaccessible page: any read or write past the len+1 bytes the decoder may use faults.
// mmap memory is not tracked by AddressSanitizer, so this also holds under ASan.
class GuardedBuffer {
 public:
  explicit GuardedBuffer(const std::string& text) : len_(text.size()) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t pages = (len_ + 1 + page - 1) / page + 1;
    map_size_ = pages * page;
    void* p = mmap(nullptr, map_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) std::abort();
    base_ = static_cast<char*>(p);
    if (mprotect(base_ + (pages - 1) * page, page, PROT_NONE) != 0) std::abort();
    data_ = base_ + (pages - 1) * page - (len_ + 1);
    std::memcpy(data_, text.data(), len_);
    data_[len_] = 'X';  // must become '\0' or stay untouched, never be read as JSON
  }
  ~GuardedBuffer() { munmap(base_, map_size_); }
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;

  char* data() { return data_; }
  size_t size() const { return len_; }

 private:
  size_t len_;
  size_t map_size_ = 0;
  char* base_ = nullptr;
  char* data_ = nullptr;
};

// JSON string literal holding `text` (how the live cloud sends `data`).
std::string Quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// `base` with the first `from` replaced by `to`; aborts when `from` is absent so a typo in a
// table row cannot silently test the unmodified frame.
std::string With(std::string base, const std::string& from, const std::string& to) {
  size_t at = base.find(from);
  if (at == std::string::npos) {
    std::fprintf(stderr, "With(): '%s' not found in %s\n", from.c_str(), base.c_str());
    std::abort();
  }
  return base.replace(at, from.size(), to);
}

const std::string kChannel = "/sites/4ac1dcf4-9d8b-7211-65c4-057819f0862b/pcaps";

const std::string kWirelessDict =
    R"({"channel_frequency":5180,"channel":36,"datarate":"54.0 Mbps","rssi":-65,)"
    R"("dst":"ff:ff:ff:ff:ff:ff","src":"d4:20:b0:81:99:2e","bssid":"d4:20:b0:81:99:2e",)"
    R"("frame_type":"Management","frame_subtype":"Beacon","proto":"802.11",)"
    R"("ap_mac":"d4:20:b0:81:99:2e","direction":"tx","timestamp":1764150001.25,)"
    R"("length":342.0,"interface":"radiotap","info":"Beacon \u2192 SSID=\"corp\""})";

const std::string kWiredDict =
    R"({"dst_mac":"00:11:22:33:44:55","src_mac":"66:77:88:99:aa:bb","vlan":10,)"
    R"("src_ip":"10.0.0.1","dst_ip":"10.0.0.2","src_port":443,"dst_port":51514,"proto":"TCP",)"
    R"("ap_mac":"5c:5b:35:0e:00:1c","direction":"rx","timestamp":1764150002.5,"length":60.0,)"
    R"("interface":"wired","info":"443 \u2192 51514 [ACK]"})";

std::string Data(const std::string& dict) {
  return R"({"capture_id":"cap-1","lost_messages":0,"pcap_dict":)" + dict +
         R"(,"pcap_raw":"1MOyoQIABAA="})";
}

std::string Frame(const std::string& data) {
  return R"({"event":"data","channel":")" + kChannel + R"(","data":)" + data + "}";
}
std::string StringFrame(const std::string& data) { return Frame(Quote(data)); }
std::string Wireless(const std::string& from = "", const std::string& to = "") {
  return Frame(Data(from.empty() ? kWirelessDict : With(kWirelessDict, from, to)));
}
std::string Wired(const std::string& from = "", const std::string& to = "") {
  return Frame(Data(from.empty() ? kWiredDict : With(kWiredDict, from, to)));
}

void ExpectWirelessPacket(const Event& e) {
  EXPECT_EQ(e.channel, kChannel);
  EXPECT_EQ(e.event_name, "data");
  EXPECT_EQ(e.capture_id, "cap-1");
  EXPECT_TRUE(e.has_lost_messages);
  EXPECT_EQ(e.lost_messages, 0);
  const PacketFields& p = e.packet;
  EXPECT_EQ(p.interface, Interface::kRadiotap);
  EXPECT_EQ(p.direction, Direction::kTx);
  EXPECT_TRUE(p.has_ap_mac);
  EXPECT_EQ(p.ap_mac, 0xd420b081992eULL);
  EXPECT_TRUE(p.has_length);
  EXPECT_EQ(p.length, 342.0);
  EXPECT_TRUE(p.has_frequency);
  EXPECT_EQ(p.channel_frequency, 5180);
  EXPECT_TRUE(p.has_channel);
  EXPECT_EQ(p.channel, 36);
  EXPECT_TRUE(p.has_rssi);
  EXPECT_EQ(p.rssi, -65.0);
  EXPECT_TRUE(p.has_datarate);
  EXPECT_EQ(p.datarate_mbps, 54.0);
  EXPECT_EQ(p.frame_type, "Management");
  EXPECT_EQ(p.frame_subtype, "Beacon");
  EXPECT_EQ(p.proto, "802.11");
  EXPECT_FALSE(p.has_vlan);
  EXPECT_EQ(p.timestamp, 1764150001.25);
  EXPECT_EQ(p.pcap_raw, "1MOyoQIABAA=");
}

void ExpectWiredPacket(const Event& e) {
  EXPECT_EQ(e.channel, kChannel);
  EXPECT_EQ(e.capture_id, "cap-1");
  const PacketFields& p = e.packet;
  EXPECT_EQ(p.interface, Interface::kWired);
  EXPECT_EQ(p.direction, Direction::kRx);
  EXPECT_EQ(p.ap_mac, 0x5c5b350e001cULL);
  EXPECT_EQ(p.length, 60.0);
  EXPECT_TRUE(p.has_vlan);
  EXPECT_EQ(p.vlan, 10);
  EXPECT_EQ(p.proto, "TCP");
  EXPECT_FALSE(p.has_frequency);
  EXPECT_FALSE(p.has_rssi);
  EXPECT_FALSE(p.has_datarate);
  EXPECT_EQ(p.frame_type, "");
  EXPECT_EQ(p.timestamp, 1764150002.5);
}

struct Row {
  std::string name;
  std::string frame;
  EventKind kind;
  DecodeError error;
  std::function<void(const Event&)> check;
};

void PrintTo(const Row& row, std::ostream* os) { *os << row.name; }

std::vector<Row> Rows() {
  const auto none = DecodeError::kNone;
  const auto missing = DecodeError::kMissingField;
  const auto wrong = DecodeError::kWrongType;
  const auto invalid_json = DecodeError::kInvalidJson;
  const auto invalid_data = DecodeError::kInvalidData;
  const auto data = EventKind::kData;
  const auto bad = EventKind::kInvalid;
  std::string deep(200, '[');
  deep += std::string(200, ']');
  std::string nested(60, '[');
  nested += std::string(60, ']');
  return {
      {"WirelessDataAsObject", Wireless(), data, none, ExpectWirelessPacket},
      {"WirelessDataAsEscapedString", StringFrame(Data(kWirelessDict)), data, none,
       ExpectWirelessPacket},
      {"WiredDataAsObject", Wired(), data, none, ExpectWiredPacket},
      {"WiredDataAsEscapedString", StringFrame(Data(kWiredDict)), data, none, ExpectWiredPacket},
      {"PythonStyleSpacesAndNewlines",
       " {\"event\": \"data\", \"channel\": \"" + kChannel +
           "\",\n \"data\": " + Quote(With(Data(kWirelessDict), ",", ", ")) + "}\n",
       data, none, ExpectWirelessPacket},
      {"CaptureEndAsObject", Frame(R"({"capture_id":"cap-9","pcap_dict":null})"),
       EventKind::kCaptureEnd, none,
       [](const Event& e) {
         EXPECT_EQ(e.capture_id, "cap-9");
         EXPECT_EQ(e.channel, kChannel);
       }},
      {"CaptureEndAsString", StringFrame(R"({"capture_id": "cap-9", "pcap_dict": null})"),
       EventKind::kCaptureEnd, none, [](const Event& e) { EXPECT_EQ(e.capture_id, "cap-9"); }},
      {"ChannelSubscribed", R"({"event":"channel_subscribed","channel":"/sites/s1/pcaps"})",
       EventKind::kSubscribed, none,
       [](const Event& e) { EXPECT_EQ(e.channel, "/sites/s1/pcaps"); }},
      {"SubscribeFailedWithDetail",
       R"({"event":"subscribe_failed","channel":"/sites/s2/pcaps","detail":"no \"access\""})",
       EventKind::kSubscribeFailed, none,
       [](const Event& e) {
         EXPECT_EQ(e.channel, "/sites/s2/pcaps");
         EXPECT_EQ(e.detail, "no \"access\"");
       }},
      {"ChannelUnsubscribed", R"({"channel":"/sites/s1/pcaps","event":"channel_unsubscribed"})",
       EventKind::kUnsubscribed, none,
       [](const Event& e) { EXPECT_EQ(e.channel, "/sites/s1/pcaps"); }},
      {"UnknownEventIsOther", R"({"event":"hello","channel":"/x","data":{"pcap_dict":{}}})",
       EventKind::kOther, none,
       [](const Event& e) {
         EXPECT_EQ(e.event_name, "hello");
         EXPECT_EQ(e.packet.interface, Interface::kUnknown);
       }},
      {"TruncatedJson", Wireless().substr(0, 200), bad, invalid_json, nullptr},
      {"Garbage", "hello world", bad, invalid_json, nullptr},
      {"EmptyString", "", bad, invalid_json, nullptr},
      {"OnlyWhitespace", " \n\t", bad, invalid_json, nullptr},
      {"TrailingGarbage", Wireless() + " x", bad, invalid_json, nullptr},
      {"NulByteInsideFrame", Wireless() + std::string(1, '\0') + "{}", bad, invalid_json, nullptr},
      {"EmptyObject", "{}", bad, DecodeError::kNotObject, nullptr},
      {"Array", R"([{"event":"data"}])", bad, DecodeError::kNotObject, nullptr},
      {"ScalarRoot", R"("event")", bad, DecodeError::kNotObject, nullptr},
      {"NoEventButChannel", R"({"channel":"/sites/s1/pcaps","data":{}})", bad,
       DecodeError::kNotObject, nullptr},
      {"EventNotAString", R"({"event":5,"channel":"/sites/s1/pcaps"})", bad, wrong, nullptr},
      {"DataFrameWithoutChannel", R"({"event":"data","data":{"pcap_dict":null}})", bad, missing,
       nullptr},
      {"DataStringWithBadJson", Frame(Quote("{\"capture_id\": \"c\", ")), bad, invalid_data,
       [](const Event& e) { EXPECT_EQ(e.channel, kChannel); }},
      {"DataStringWithTrailingNulAndGarbage", Frame(R"("{\"pcap_dict\":null}\u0000junk")"), bad,
       invalid_data, nullptr},
      {"DataStringHoldingAnArray", Frame(Quote("[1,2]")), bad, invalid_data, nullptr},
      {"DataEmptyString", Frame(R"("")"), bad, invalid_data, nullptr},
      {"DataANumber", Frame("42"), bad, invalid_data, nullptr},
      {"DataNull", Frame("null"), bad, invalid_data, nullptr},
      {"DataMissing", R"({"event":"data","channel":"/c"})", bad, invalid_data, nullptr},
      {"PcapDictAString", Frame(R"({"capture_id":"c","pcap_dict":"x"})"), bad, wrong, nullptr},
      {"PcapDictMissing", Frame(R"({"capture_id":"c"})"), bad, missing, nullptr},
      {"MissingApMacIsStillCounted", Wireless(R"("ap_mac":"d4:20:b0:81:99:2e",)", ""), data,
       missing,
       [](const Event& e) {
         EXPECT_FALSE(e.packet.has_ap_mac);
         EXPECT_EQ(e.packet.length, 342.0);
         EXPECT_EQ(e.packet.channel_frequency, 5180);
       }},
      {"ApMacInPlainHex", Wireless("d4:20:b0:81:99:2e\",\"direction", "D420B081992E\",\"direction"),
       data, none, [](const Event& e) { EXPECT_EQ(e.packet.ap_mac, 0xd420b081992eULL); }},
      {"InvalidApMac", Wireless("\"ap_mac\":\"d4:20:b0:81:99:2e\"", "\"ap_mac\":\"d4:20:zz\""),
       data, wrong, [](const Event& e) { EXPECT_FALSE(e.packet.has_ap_mac); }},
      {"ApMacANumber", Wireless("\"ap_mac\":\"d4:20:b0:81:99:2e\"", "\"ap_mac\":12"), data, wrong,
       [](const Event& e) { EXPECT_FALSE(e.packet.has_ap_mac); }},
      {"LengthAsNumericString", Wireless("\"length\":342.0", "\"length\":\"342\""), data, none,
       [](const Event& e) {
         EXPECT_TRUE(e.packet.has_length);
         EXPECT_EQ(e.packet.length, 342.0);
       }},
      {"LengthMissing", Wireless("\"length\":342.0,", ""), data, missing,
       [](const Event& e) { EXPECT_FALSE(e.packet.has_length); }},
      {"LengthNull", Wireless("\"length\":342.0", "\"length\":null"), data, missing, nullptr},
      {"ChannelAsString", Wireless("\"channel\":36", "\"channel\":\"36\""), data, none,
       [](const Event& e) {
         EXPECT_TRUE(e.packet.has_channel);
         EXPECT_EQ(e.packet.channel, 36);
       }},
      {"ChannelFrequencyAsStringAndChannelAsFloat",
       Wireless("\"channel_frequency\":5180,\"channel\":36",
                "\"channel_frequency\":\"5180\",\"channel\":36.0"),
       data, none,
       [](const Event& e) {
         EXPECT_EQ(e.packet.channel_frequency, 5180);
         EXPECT_EQ(e.packet.channel, 36);
       }},
      {"ChannelFrequencyMissingOnWireless", Wireless("\"channel_frequency\":5180,", ""), data,
       missing, [](const Event& e) { EXPECT_FALSE(e.packet.has_frequency); }},
      {"RssiMissingOnWireless", Wireless("\"rssi\":-65,", ""), data, missing, nullptr},
      {"WirelessFieldsAbsentOnWiredAreFine", Wired(), data, none, nullptr},
      {"RssiAsFloat", Wireless("\"rssi\":-65", "\"rssi\":-65.5"), data, none,
       [](const Event& e) { EXPECT_EQ(e.packet.rssi, -65.5); }},
      {"RssiAsNumericString", Wireless("\"rssi\":-65", "\"rssi\":\"-71\""), data, none,
       [](const Event& e) { EXPECT_EQ(e.packet.rssi, -71.0); }},
      {"RssiAsGarbageString", Wireless("\"rssi\":-65", "\"rssi\":\"strong\""), data, wrong,
       [](const Event& e) {
         EXPECT_FALSE(e.packet.has_rssi);
         EXPECT_EQ(e.packet.length, 342.0);
       }},
      {"Datarate866", Wireless("54.0 Mbps", "866.7 Mbps"), data, none,
       [](const Event& e) { EXPECT_EQ(e.packet.datarate_mbps, 866.7); }},
      {"Datarate1", Wireless("54.0 Mbps", "1.0 Mbps"), data, none,
       [](const Event& e) { EXPECT_EQ(e.packet.datarate_mbps, 1.0); }},
      {"DatarateIntegerWithUnit", Wireless("54.0 Mbps", "6 Mbps"), data, none,
       [](const Event& e) { EXPECT_EQ(e.packet.datarate_mbps, 6.0); }},
      {"DatarateANumber", Wireless("\"54.0 Mbps\"", "54"), data, none,
       [](const Event& e) { EXPECT_EQ(e.packet.datarate_mbps, 54.0); }},
      {"DatarateFast", Wireless("54.0 Mbps", "fast"), data, wrong,
       [](const Event& e) { EXPECT_FALSE(e.packet.has_datarate); }},
      {"DatarateMcs", Wireless("54.0 Mbps", "MCS9 NSS2"), data, wrong,
       [](const Event& e) { EXPECT_FALSE(e.packet.has_datarate); }},
      {"HugeIntegerLength", Wireless("\"length\":342.0", "\"length\":99999999999999999999"), data,
       wrong, [](const Event& e) { EXPECT_FALSE(e.packet.has_length); }},
      {"HugeIntegerVlan", Wired("\"vlan\":10", "\"vlan\":99999999999999999999"), data, wrong,
       [](const Event& e) { EXPECT_FALSE(e.packet.has_vlan); }},
      {"HugeIntegerChannelAsString", Wireless("\"channel\":36", "\"channel\":\"99999999999\""),
       data, wrong, [](const Event& e) { EXPECT_FALSE(e.packet.has_channel); }},
      {"HugeExponentAsString", Wireless("\"rssi\":-65", "\"rssi\":\"1e400\""), data, wrong,
       [](const Event& e) { EXPECT_FALSE(e.packet.has_rssi); }},
      // RapidJSON rejects a number literal beyond double range outright.
      {"HugeExponentNumberRejectsTheFrame", Wireless("\"rssi\":-65", "\"rssi\":1e400"), bad, wrong,
       nullptr},
      {"HugeExponentInsideDataString",
       StringFrame(With(Data(kWirelessDict), "\"rssi\":-65", "\"rssi\":-1e400")), bad, wrong,
       nullptr},
      {"LostMessagesNegative",
       Frame(R"({"capture_id":"c","lost_messages":-3,"pcap_dict":)" + kWiredDict + "}"), data,
       wrong, [](const Event& e) { EXPECT_FALSE(e.has_lost_messages); }},
      {"LostMessagesHuge",
       Frame(R"({"capture_id":"c","lost_messages":18446744073709551615,"pcap_dict":)" + kWiredDict +
             "}"),
       data, wrong, [](const Event& e) { EXPECT_FALSE(e.has_lost_messages); }},
      {"LostMessagesIntegralFloat",
       Frame(R"({"capture_id":"c","lost_messages":3.0,"pcap_dict":)" + kWiredDict + "}"), data,
       none,
       [](const Event& e) {
         EXPECT_TRUE(e.has_lost_messages);
         EXPECT_EQ(e.lost_messages, 3);
       }},
      {"LostMessagesFractional",
       Frame(R"({"capture_id":"c","lost_messages":3.5,"pcap_dict":)" + kWiredDict + "}"), data,
       wrong, [](const Event& e) { EXPECT_FALSE(e.has_lost_messages); }},
      {"LostMessagesOnCaptureEnd",
       Frame(R"({"capture_id":"c","lost_messages":7,"pcap_dict":null})"), EventKind::kCaptureEnd,
       none, [](const Event& e) { EXPECT_EQ(e.lost_messages, 7); }},
      {"VlanAsString", Wired("\"vlan\":10", "\"vlan\":\"42\""), data, none,
       [](const Event& e) { EXPECT_EQ(e.packet.vlan, 42); }},
      {"VlanMissingIsFine", Wired("\"vlan\":10,", ""), data, none,
       [](const Event& e) { EXPECT_FALSE(e.packet.has_vlan); }},
      {"OtherInterfaceKeepsItsName", Wired("\"interface\":\"wired\"", "\"interface\":\"eth1\""),
       data, none,
       [](const Event& e) {
         EXPECT_EQ(e.packet.interface, Interface::kOther);
         EXPECT_EQ(e.packet.interface_text, "eth1");
       }},
      {"InterfaceMissing", Wired(",\"interface\":\"wired\"", ""), data, missing, nullptr},
      {"UnknownDirection", Wired("\"direction\":\"rx\"", "\"direction\":\"both\""), data, wrong,
       [](const Event& e) { EXPECT_EQ(e.packet.direction, Direction::kUnknown); }},
      {"FrameTypeAnObject", Wireless("\"frame_type\":\"Management\"", "\"frame_type\":{\"a\":1}"),
       data, wrong,
       [](const Event& e) {
         EXPECT_EQ(e.packet.frame_type, "");
         EXPECT_EQ(e.packet.frame_subtype, "Beacon");
       }},
      // Only the strings we keep are checked for UTF-8; info is skipped (accepted).
      {"InvalidUtf8InInfoIsAccepted", Wireless("Beacon \\u2192", "Beacon \xC3\x28\xFF"), data, none,
       ExpectWirelessPacket},
      {"InvalidUtf8InFrameType", Wireless("\"Management\"", "\"Manag\xE2\x82ment\""), data, wrong,
       [](const Event& e) { EXPECT_EQ(e.packet.frame_type, ""); }},
      {"ValidUtf8InFrameType", Wireless("\"Management\"", "\"Gest\xC3\xA3o\""), data, none,
       [](const Event& e) { EXPECT_EQ(e.packet.frame_type, "Gest\xC3\xA3o"); }},
      {"NestingWithinLimitIsSkipped", Wireless("\"info\":", "\"x\":" + nested + ",\"info\":"), data,
       none, ExpectWirelessPacket},
      {"NestingBeyondLimitIsInvalid", Wireless("\"info\":", "\"x\":" + deep + ",\"info\":"), bad,
       invalid_json, nullptr},
      {"ExtraUnknownFieldsAreIgnored",
       R"({"extra":{"event":"nope","data":5},"event":"data","v":[1,{"a":null}],"channel":")" +
           kChannel + R"(","data":)" +
           With(Data(With(kWirelessDict, "\"info\"",
                          R"("pcap_dict":{"ap_mac":1},"tags":[true,false,null],"info")")),
                "\"lost_messages\"", R"("meta":{"pcap_dict":"x"},"lost_messages")") +
           "}",
       data, none, ExpectWirelessPacket},
      {"PcapRawInsidePcapDict",
       Frame(R"({"capture_id":"c","pcap_dict":)" +
             With(kWiredDict, "\"info\"", R"("pcap_raw":"QUJD","info")") + "}"),
       data, none, [](const Event& e) { EXPECT_EQ(e.packet.pcap_raw, "QUJD"); }},
  };
}

class FrameDecoderTableTest : public ::testing::TestWithParam<Row> {};

TEST_P(FrameDecoderTableTest, DecodesTheRowAsExpectedWithinTheBuffer) {
  const Row& row = GetParam();
  GuardedBuffer buf(row.frame);
  FrameDecoder decoder;
  Event e = decoder.Decode(buf.data(), buf.size());
  EXPECT_EQ(e.kind, row.kind) << ReasonName(e.error);
  EXPECT_EQ(e.error, row.error) << ReasonName(e.error) << " vs " << ReasonName(row.error);
  if (row.check) row.check(e);
}

INSTANTIATE_TEST_SUITE_P(Frames, FrameDecoderTableTest, ::testing::ValuesIn(Rows()),
                         [](const ::testing::TestParamInfo<Row>& info) { return info.param.name; });

TEST(FrameDecoderTest, TableHasAtLeastThirtyFiveRows) { EXPECT_GE(Rows().size(), 35u); }

TEST(FrameDecoderTest, EveryTruncationIsInvalidJsonAndStaysInsideTheBuffer) {
  FrameDecoder decoder;
  for (const std::string& frame : {Wireless(), StringFrame(Data(kWiredDict))}) {
    for (size_t n = 0; n < frame.size(); ++n) {
      GuardedBuffer buf(frame.substr(0, n));
      Event e = decoder.Decode(buf.data(), buf.size());
      ASSERT_EQ(e.kind, EventKind::kInvalid) << n;
      ASSERT_EQ(e.error, DecodeError::kInvalidJson) << n;
    }
  }
}

TEST(FrameDecoderTest, DecodingOneDecoderAThousandTimesKeepsWorking) {
  FrameDecoder decoder;
  const std::vector<std::string> frames = {Wireless(), StringFrame(Data(kWirelessDict)), Wired(),
                                           "garbage{", StringFrame(Data(kWiredDict))};
  for (int i = 0; i < 1000; ++i) {
    const std::string& frame = frames[static_cast<size_t>(i) % frames.size()];
    std::vector<char> buf(frame.begin(), frame.end());
    buf.resize(frame.size() + FrameDecoder::kPadding);
    Event e = decoder.Decode(buf.data(), frame.size());
    switch (i % 5) {
      case 0:
      case 1:
        ExpectWirelessPacket(e);
        break;
      case 2:
      case 4:
        ExpectWiredPacket(e);
        break;
      case 3:
        ASSERT_EQ(e.error, DecodeError::kInvalidJson);
        continue;
    }
    ASSERT_EQ(e.kind, EventKind::kData) << i;
    ASSERT_EQ(e.error, DecodeError::kNone) << i;
  }
}

TEST(FrameDecoderTest, ViewsPointIntoTheDecodedBuffer) {
  GuardedBuffer buf(StringFrame(Data(kWirelessDict)));
  FrameDecoder decoder;
  Event e = decoder.Decode(buf.data(), buf.size());
  ASSERT_EQ(e.kind, EventKind::kData);
  for (std::string_view v : {e.channel, e.capture_id, e.packet.frame_type, e.packet.pcap_raw}) {
    EXPECT_GE(v.data(), buf.data());
    EXPECT_LE(v.data() + v.size(), buf.data() + buf.size());
  }
}

TEST(FrameDecoderTest, FrameAboveOneMebibyteIsRejectedWithoutTouchingIt) {
  std::string frame = Wireless();
  frame.resize(FrameDecoder::kMaxFrameBytes + 1, ' ');
  GuardedBuffer buf(frame);
  FrameDecoder decoder;
  Event e = decoder.Decode(buf.data(), buf.size());
  EXPECT_EQ(e.kind, EventKind::kInvalid);
  EXPECT_EQ(e.error, DecodeError::kFrameTooLarge);
  EXPECT_EQ(buf.data()[buf.size()], 'X');
  EXPECT_EQ(std::string_view(buf.data(), 16), std::string_view(frame.data(), 16));
}

TEST(FrameDecoderTest, FrameOfExactlyOneMebibyteIsDecoded) {
  std::string frame = Wireless();
  frame.resize(FrameDecoder::kMaxFrameBytes, ' ');
  GuardedBuffer buf(frame);
  FrameDecoder decoder;
  Event e = decoder.Decode(buf.data(), buf.size());
  EXPECT_EQ(e.kind, EventKind::kData);
  EXPECT_EQ(e.error, DecodeError::kNone);
}

TEST(FrameDecoderTest, HostileNestingIsRejectedWithoutExhaustingTheStack) {
  FrameDecoder decoder;
  std::string open(FrameDecoder::kMaxFrameBytes / 2, '[');
  GuardedBuffer outer(open + std::string(open.size(), ']'));
  EXPECT_EQ(decoder.Decode(outer.data(), outer.size()).error, DecodeError::kInvalidJson);

  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  GuardedBuffer inner(Frame(Quote(objects)));
  Event e = decoder.Decode(inner.data(), inner.size());
  EXPECT_EQ(e.kind, EventKind::kInvalid);
  EXPECT_EQ(e.error, DecodeError::kInvalidData);
}

TEST(FrameDecoderTest, BinaryFrameIsInvalid) {
  Event e = FrameDecoder::DecodeBinary(123);
  EXPECT_EQ(e.kind, EventKind::kInvalid);
  EXPECT_EQ(e.error, DecodeError::kBinaryFrame);
  EXPECT_STREQ(ReasonName(e.error), "binary_frame");
}

TEST(FrameDecoderTest, NullBufferIsInvalidJson) {
  FrameDecoder decoder;
  EXPECT_EQ(decoder.Decode(nullptr, 0).error, DecodeError::kInvalidJson);
}

}  // namespace
}  // namespace mpe::decode
