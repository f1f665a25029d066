// The client-connectivity families as StreamAggregator prints them: exact lines for given
// ClientFacts (the decoder's part is tested in tests/decode/client_facts_test.cc).
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "common/clock.h"
#include "metrics/stream_aggregator.h"

namespace mpe::metrics {
namespace {

using decode::ClientFacts;
using decode::Event;
using decode::EventKind;

constexpr char kSite[] = "s1";
constexpr char kChannel[] = "/sites/s1/pcaps";
constexpr uint64_t kAp1 = 0x5c5b350e0001ULL;
constexpr uint64_t kAp2 = 0x5c5b350e0002ULL;
constexpr uint64_t kBssid = 0x5c5b350e1001ULL;
constexpr char kLabels[] = "site_id=\"s1\",site=\"Lab\"";

Event Packet(uint64_t ap, bool wireless) {
  Event e;
  e.kind = EventKind::kData;
  e.channel = kChannel;
  e.capture_id = "c";
  e.packet.interface = wireless ? decode::Interface::kRadiotap : decode::Interface::kWired;
  e.packet.has_ap_mac = true;
  e.packet.ap_mac = ap;
  e.packet.has_frequency = wireless;
  e.packet.channel_frequency = 5180;
  return e;
}

ClientFacts Facts(bool wireless, int64_t ts_us) {
  ClientFacts f;
  f.ok = true;
  f.radiotap = wireless;
  f.ts_us = ts_us;
  f.caplen = f.origlen = 100;
  return f;
}

class ClientFamiliesTest : public ::testing::Test {
 protected:
  ClientFamiliesTest() : agg_(Options(), clock_) { agg_.AddSite(kSite, "Lab"); }
  static AggregatorOptions Options() {
    AggregatorOptions o;
    o.top_clients = 2;
    o.top_clients_window = std::chrono::minutes(5);
    return o;
  }
  void Eapol(uint64_t ap, uint64_t client, int msg, int64_t ts_us, bool retry = false) {
    ClientFacts f = Facts(true, ts_us);
    f.has_fc = true;
    f.retry = retry;
    f.eapol_message = static_cast<uint8_t>(msg);
    f.bssid = kBssid;
    f.client = client;
    agg_.Record(Packet(ap, true), &f);
  }
  // Lines of `family` (samples only, no comments), in print order.
  std::string Lines(const std::string& family) {
    std::string text;
    agg_.AppendText(&text);
    std::stringstream in(text);
    std::string out;
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(family, 0) == 0 && (line[family.size()] == '{' || line[family.size()] == ' ' ||
                                         line[family.size()] == '_')) {
        out += line + "\n";
      }
    }
    return out;
  }

  common::ManualClock clock_;
  StreamAggregator agg_;
};

std::string L(const std::string& family, const std::string& extra, const std::string& value) {
  return family + "{" + kLabels + extra + "} " + value + "\n";
}

TEST_F(ClientFamiliesTest, RetriesJoinsDisconnects) {
  ClientFacts f = Facts(true, 1);
  f.has_fc = true;
  f.retry = true;
  f.join = decode::JoinSubtype::kAuthentication;
  f.status_code = 17;
  agg_.Record(Packet(kAp1, true), &f);
  f.retry = false;
  f.join = decode::JoinSubtype::kReassociationResponse;
  f.status_code = 0;
  agg_.Record(Packet(kAp1, true), &f);
  f.join = decode::JoinSubtype::kNone;
  f.disconnect = decode::DisconnectSubtype::kDeauthentication;
  f.reason_code = 7;
  agg_.Record(Packet(kAp2, true), &f);
  agg_.Record(Packet(kAp2, true), &f);
  EXPECT_EQ(Lines("mist_pcap_wireless_retries_total"),
            L("mist_pcap_wireless_retries_total", ",ap_mac=\"5c5b350e0001\",band=\"5\"", "1"));
  EXPECT_EQ(Lines("mist_pcap_wireless_join_responses_total"),
            L("mist_pcap_wireless_join_responses_total",
              ",ap_mac=\"5c5b350e0001\",frame_subtype=\"authentication\",status_code=\"17\"", "1") +
                L("mist_pcap_wireless_join_responses_total",
                  ",ap_mac=\"5c5b350e0001\",frame_subtype=\"reassociation_response\","
                  "status_code=\"0\"",
                  "1"));
  f.disconnect = decode::DisconnectSubtype::kDisassociation;
  f.reason_code = 256;  // not an IEEE 802.11 code: "other"
  agg_.Record(Packet(kAp2, true), &f);
  EXPECT_EQ(
      Lines("mist_pcap_wireless_disconnects_total"),
      L("mist_pcap_wireless_disconnects_total",
        ",ap_mac=\"5c5b350e0002\",frame_subtype=\"deauthentication\",reason_code=\"7\"", "2") +
          L("mist_pcap_wireless_disconnects_total",
            ",ap_mac=\"5c5b350e0002\",frame_subtype=\"disassociation\",reason_code=\"other\"",
            "1"));
}

TEST_F(ClientFamiliesTest, HandshakesByTheRule) {
  const uint64_t c1 = 0x0a0000000001ULL, c2 = 0x0a0000000002ULL, c3 = 0x0a0000000003ULL;
  // c1: complete in 30 ms (retried copy of message 2 counted as a message, ignored by the rule).
  Eapol(kAp1, c1, 1, 1000000);
  Eapol(kAp1, c1, 2, 1010000);
  Eapol(kAp1, c1, 2, 1012000, /*retry=*/true);
  Eapol(kAp1, c1, 3, 1020000);
  Eapol(kAp1, c1, 4, 1030000);
  // c2: messages 3 and 4 each exactly 5.000000 s after the one before: complete in 10.1 s.
  Eapol(kAp1, c2, 1, 2000000);
  Eapol(kAp1, c2, 2, 2100000);
  Eapol(kAp1, c2, 3, 7100000);
  Eapol(kAp1, c2, 4, 12100000);
  // c3: message 1, then nothing: incomplete at capture end.
  Eapol(kAp2, c3, 1, 13000000);
  EXPECT_EQ(
      Lines("mist_pcap_eapol_handshakes_total"),
      L("mist_pcap_eapol_handshakes_total", ",ap_mac=\"5c5b350e0001\",result=\"complete\"", "2"));
  Event end;
  end.kind = EventKind::kCaptureEnd;
  end.channel = kChannel;
  end.capture_id = "c";
  agg_.Record(end);
  EXPECT_EQ(
      Lines("mist_pcap_eapol_handshakes_total"),
      L("mist_pcap_eapol_handshakes_total", ",ap_mac=\"5c5b350e0001\",result=\"complete\"", "2") +
          L("mist_pcap_eapol_handshakes_total", ",ap_mac=\"5c5b350e0002\",result=\"incomplete\"",
            "1"));
  EXPECT_EQ(Lines("mist_pcap_eapol_messages_total"),
            L("mist_pcap_eapol_messages_total", ",ap_mac=\"5c5b350e0001\",message=\"1\"", "2") +
                L("mist_pcap_eapol_messages_total", ",ap_mac=\"5c5b350e0001\",message=\"2\"", "3") +
                L("mist_pcap_eapol_messages_total", ",ap_mac=\"5c5b350e0001\",message=\"3\"", "2") +
                L("mist_pcap_eapol_messages_total", ",ap_mac=\"5c5b350e0001\",message=\"4\"", "2") +
                L("mist_pcap_eapol_messages_total", ",ap_mac=\"5c5b350e0002\",message=\"1\"", "1"));
  const std::string ap = ",ap_mac=\"5c5b350e0001\"";
  const std::string h = "mist_pcap_eapol_handshake_duration_seconds";
  EXPECT_EQ(
      Lines(h),
      L(h + "_bucket", ap + ",le=\"0.01\"", "0") + L(h + "_bucket", ap + ",le=\"0.025\"", "0") +
          L(h + "_bucket", ap + ",le=\"0.05\"", "1") + L(h + "_bucket", ap + ",le=\"0.1\"", "1") +
          L(h + "_bucket", ap + ",le=\"0.25\"", "1") + L(h + "_bucket", ap + ",le=\"0.5\"", "1") +
          L(h + "_bucket", ap + ",le=\"1\"", "1") + L(h + "_bucket", ap + ",le=\"2.5\"", "1") +
          L(h + "_bucket", ap + ",le=\"5\"", "1") + L(h + "_bucket", ap + ",le=\"+Inf\"", "2") +
          L(h + "_sum", ap, "10.13") + L(h + "_count", ap, "2"));
}

TEST_F(ClientFamiliesTest, TimeoutJudgedByALaterPacketOfTheSite) {
  const uint64_t c1 = 0x0a0000000001ULL;
  Eapol(kAp1, c1, 1, 1000000);
  Eapol(kAp1, c1, 2, 1100000);
  // A wired packet of the same site 5.000001 s after message 2 passes the deadline.
  const ClientFacts later = Facts(false, 6100001);
  agg_.Record(Packet(kAp2, false), &later);
  EXPECT_EQ(
      Lines("mist_pcap_eapol_handshakes_total"),
      L("mist_pcap_eapol_handshakes_total", ",ap_mac=\"5c5b350e0001\",result=\"incomplete\"", "1"));
}

TEST_F(ClientFamiliesTest, DhcpDnsTruncated) {
  ClientFacts f = Facts(false, 1);
  for (int t : {1, 2, 3, 5, 6, 6}) {
    f.dhcp_message_type = static_cast<uint8_t>(t);
    agg_.Record(Packet(kAp1, false), &f);
  }
  f.dhcp_message_type = 0;
  for (int r : {0, 3, 9}) {
    f.dns_rcode = static_cast<int8_t>(r);
    agg_.Record(Packet(kAp1, false), &f);
  }
  f.dns_rcode = -1;
  f.truncated = true;
  f.truncated_layer = decode::TruncatedLayer::kDhcp;
  agg_.Record(Packet(kAp1, false), &f);
  const std::string ap = ",ap_mac=\"5c5b350e0001\"";
  const std::string d = "mist_pcap_wired_dhcp_messages_total";
  EXPECT_EQ(Lines(d), L(d, ap + ",message_type=\"discover\"", "1") +
                          L(d, ap + ",message_type=\"offer\"", "1") +
                          L(d, ap + ",message_type=\"request\"", "1") +
                          L(d, ap + ",message_type=\"ack\"", "1") +
                          L(d, ap + ",message_type=\"nak\"", "2"));
  const std::string n = "mist_pcap_wired_dns_responses_total";
  EXPECT_EQ(Lines(n), L(n, ap + ",rcode=\"noerror\"", "1") + L(n, ap + ",rcode=\"nxdomain\"", "1") +
                          L(n, ap + ",rcode=\"other\"", "1"));
  std::string truncated;
  for (const char* layer :
       {"radiotap", "802.11", "llc", "eapol", "ethernet", "vlan", "ip", "udp", "dhcp", "dns"}) {
    truncated += L("mist_pcap_decode_truncated_total", std::string(",layer=\"") + layer + "\"",
                   std::string(layer) == "dhcp" ? "1" : "0");
  }
  EXPECT_EQ(Lines("mist_pcap_decode_truncated_total"), truncated);
}

TEST_F(ClientFamiliesTest, TopClientsAndWindow) {
  ClientFacts f = Facts(true, 1);
  f.has_fc = true;
  f.has_data_client = true;
  auto send = [&](uint64_t client, uint32_t bytes) {
    f.data_client = client;
    f.origlen = bytes;
    agg_.Record(Packet(kAp1, true), &f);
  };
  send(0x0a0000000001ULL, 1000);
  send(0x0a0000000002ULL, 300);
  send(0x0a0000000001ULL, 500);
  send(0x0a0000000003ULL, 200);
  const std::string t = "mist_pcap_top_clients_bytes";
  EXPECT_EQ(Lines(t), L(t, ",client_mac=\"0a0000000001\"", "1500") +
                          L(t, ",client_mac=\"0a0000000002\"", "300"));
  // Past the window (5 min) nothing is left.
  clock_.Advance(std::chrono::minutes(6));
  agg_.Tick();
  EXPECT_EQ(Lines(t), "");
}

TEST_F(ClientFamiliesTest, RemoveSiteForgetsItsSeries) {
  ClientFacts f = Facts(false, 1);
  f.dhcp_message_type = 1;
  agg_.Record(Packet(kAp1, false), &f);
  agg_.RemoveSite(kSite);
  EXPECT_EQ(Lines("mist_pcap_wired_dhcp_messages_total"), "");
}

TEST(ClientFamiliesCapTest, OverflowGoesToOther) {
  common::ManualClock clock;
  AggregatorOptions o;
  o.max_series_per_family = 3;
  StreamAggregator agg(o, clock);
  agg.AddSite(kSite, "Lab");
  ClientFacts f = Facts(true, 1);
  f.join = decode::JoinSubtype::kAuthentication;
  for (uint16_t code : {1, 2, 3, 4}) {
    f.status_code = code;
    agg.Record(Packet(kAp1, true), &f);
  }
  std::string text;
  agg.AppendText(&text);
  EXPECT_NE(text.find("mist_pcap_wireless_join_responses_total{site_id=\"other\",site=\"other\","
                      "ap_mac=\"other\",frame_subtype=\"other\",status_code=\"other\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("mist_pcap_series_dropped_total{family=\""
                      "mist_pcap_wireless_join_responses_total\"} 2\n"),
            std::string::npos);
}

}  // namespace
}  // namespace mpe::metrics
