#include "sim/capture_request.h"

#include <gtest/gtest.h>

namespace mpe::sim {
namespace {

std::string ErrorOf(const std::string& body) {
  auto r = ParseCaptureRequest(body);
  if (r.ok()) return "ok";
  EXPECT_EQ(r.error().code, 400);
  return r.error().message;
}

TEST(CaptureRequestTest, FormatDefaultsFollowTheTypesSchemas) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"type":"radiotap"})", "pcap"},
      {R"({"type":"radiotap,wired"})", "pcap"},
      {R"({"type":"wired"})", "pcap"},
      {R"({"type":"wireless"})", "pcap"},
      {R"({"type":"scan"})", "pcap"},
      {R"({"type":"gateway","gateways":{}})", "stream"},
      {R"({"type":"switch","switches":{}})", "stream"},
      {R"({"type":"client","client_mac":"60a10a773412"})", "stream"},  // no format field
      {R"({"type":"new_assoc"})", "stream"},
  };
  for (const auto& [body, format] : cases) {
    auto r = ParseCaptureRequest(body);
    ASSERT_TRUE(r.ok()) << body << ": " << r.error().message;
    EXPECT_EQ(r->format, format) << body;
    EXPECT_EQ(r->duration, 600);
    EXPECT_EQ(r->num_packets, 1024);
    EXPECT_EQ(r->max_pkt_len, 512);
    EXPECT_FALSE(r->ap_mac.has_value());
  }
}

TEST(CaptureRequestTest, BandEnumsDifferByType) {
  for (const char* band : {"24", "24,5,6", "5", "6"}) {
    for (const char* type : {"radiotap", "radiotap,wired"}) {
      EXPECT_EQ(ErrorOf(std::string(R"({"type":")") + type + R"(","band":")" + band + "\"}"), "ok");
    }
  }
  EXPECT_EQ(ErrorOf(R"({"type":"radiotap,wired","band":"2.4"})"),
            R"(band: "2.4" is not one of 24, 24,5,6, 5, 6 for type radiotap,wired)");
  EXPECT_EQ(ErrorOf(R"({"type":"wireless","band":"24,5,6"})"),
            R"(band: "24,5,6" is not one of 24, 5, 6 for type wireless)");
  EXPECT_EQ(ErrorOf(R"({"type":"scan","band":null})"), "ok");  // scan's band is nullable
  EXPECT_EQ(ErrorOf(R"({"type":"wireless","band":null})"),
            "band: must not be null for type wireless");
  EXPECT_EQ(ErrorOf(R"({"type":"wired","band":"5"})"), "ok");  // not a wired field: ignored
  EXPECT_EQ(ParseCaptureRequest(R"({"type":"wired","band":"5"})")->ignored_fields,
            std::vector<std::string>{"band"});
}

TEST(CaptureRequestTest, ApMacIsOneMacOrNullWhereNullable) {
  auto r = ParseCaptureRequest(R"({"type":"wired","ap_mac":"5C:5B:35:0E:00:01"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ap_mac, 0x5c5b350e0001ULL);
  EXPECT_EQ(ErrorOf(R"({"type":"wired","ap_mac":null})"), "ok");
  EXPECT_EQ(ErrorOf(R"({"type":"radiotap","ap_mac":null})"),
            "ap_mac: must not be null for type radiotap");
  EXPECT_EQ(ErrorOf(R"({"type":"new_assoc","ap_mac":null})"),
            "ap_mac: must not be null for type new_assoc");
  EXPECT_EQ(ErrorOf(R"({"type":"wired","ap_mac":["5c5b350e0001"]})"),
            "ap_mac: expected a string or null for type wired, got array");
  EXPECT_EQ(ErrorOf(R"({"type":"scan","ap_mac":"string"})"),
            R"(ap_mac: "string" is not a MAC address for type scan)");
  EXPECT_EQ(ErrorOf(R"({"type":"gateway","gateways":{},"ap_mac":"5c5b350e0001"})"), "ok");
  EXPECT_EQ(ParseCaptureRequest(R"({"type":"gateway","gateways":{},"ap_mac":"x"})")->ignored_fields,
            std::vector<std::string>{"ap_mac"});
}

TEST(CaptureRequestTest, RangesTypesAndRequiredFields) {
  EXPECT_EQ(ErrorOf(R"({"type":"wired","duration":86401})"),
            "duration: 86401 is out of range 60..86400 for type wired");
  EXPECT_EQ(ErrorOf(R"({"type":"wired","duration":60.5})"),
            "duration: expected an integer or null for type wired, got number");
  EXPECT_EQ(ErrorOf(R"({"type":"wired","duration":"60"})"),
            "duration: expected an integer or null for type wired, got string");
  EXPECT_EQ(ErrorOf(R"({"type":"wired","duration":null,"num_packets":0,"max_pkt_len":2048})"),
            "ok");
  EXPECT_EQ(ErrorOf(R"({"type":"wired","max_pkt_len":63})"),
            "max_pkt_len: 63 is out of range 64..2048 for type wired");
  EXPECT_EQ(ErrorOf(R"({"type":"client","client_mac":null})"),
            "client_mac: required for type client");
  EXPECT_EQ(ErrorOf(R"({"type":"switch"})"), "switches: required for type switch");
  EXPECT_EQ(ErrorOf(R"({"type":"client","client_mac":"60a10a773412","includes_mcast":1})"),
            "includes_mcast: expected a boolean for type client, got integer");
  EXPECT_EQ(ErrorOf(R"({"type":["radiotap"]})"), "type: expected a string, got array");
  EXPECT_EQ(ErrorOf("not json"), "JSON parse error - the body is not valid JSON");
}

TEST(CaptureRequestTest, NestedMapsAreCheckedAndNameTheirPath) {
  auto r = ParseCaptureRequest(
      R"({"type":"gateway","gateways":{"00:11:22:33:44:55":{"ports":{"ge-0/0/0":)"
      R"({"tcpdump_expression":"tcp"}}},"001122334466":{}}})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->devices, (std::vector<uint64_t>{0x001122334455ULL, 0x001122334466ULL}));
  EXPECT_EQ(ErrorOf(R"({"type":"gateway","gateways":{"001122334455":{"ports":{"ge-0/0/0":)"
                    R"({"tcpdump_expression":5}}}}})"),
            "gateways.001122334455.ports.ge-0/0/0.tcpdump_expression: expected a string, got "
            "integer");
  EXPECT_EQ(ErrorOf(R"({"type":"switch","switches":{"001122334455":[]}})"),
            "switches.001122334455: expected an object, got array");
  EXPECT_EQ(ErrorOf(R"({"type":"scan","aps":{"5c5b350e0001":{"band":"24,5,6"}}})"),
            R"(aps.5c5b350e0001.band: "24,5,6" is not one of 24, 5, 6)");
  EXPECT_EQ(ErrorOf(R"({"type":"scan","bandwidth":80,"channel":36})"), "ok");
  EXPECT_EQ(ErrorOf(R"({"type":"scan","channel":"36"})"),
            "channel: expected an integer for type scan, got string");
}

TEST(CaptureRequestTest, FieldsOfTheRequestAreKept) {
  auto r = ParseCaptureRequest(
      R"({"type":"client","client_mac":"60a10a773412","includes_mcast":true,"ssid":"corp",)"
      R"("duration":300,"num_packets":0,"max_pkt_len":64,"ap_macs":["x"]})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->client_mac, "60a10a773412");
  EXPECT_TRUE(r->includes_mcast);
  EXPECT_EQ(r->ssid, "corp");
  EXPECT_EQ(r->duration, 300);
  EXPECT_EQ(r->num_packets, 0);
  EXPECT_EQ(r->max_pkt_len, 64);
  EXPECT_EQ(r->ignored_fields, std::vector<std::string>{"ap_macs"});
}

}  // namespace
}  // namespace mpe::sim
