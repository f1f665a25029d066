// ClientFactsDecoder on hand-built packets, each with the facts it must give; the same packets
// are then read by tshark 4.0, which must agree (message numbers, status and reason codes, DHCP
// message types, DNS rcodes and the truncated layer from frame.protocols).
#include "decode/client_facts.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "fakes/capture_test_util.h"

namespace mpe::decode {
namespace {

constexpr uint64_t kAp = 0x5c5b350e0010ULL;      // the BSSID
constexpr uint64_t kClient = 0x0a1b2c3d4e5fULL;  // a client
constexpr uint64_t kBroadcast = 0xffffffffffffULL;

void Put16Le(std::string* s, uint16_t v) {
  s->push_back(static_cast<char>(v));
  s->push_back(static_cast<char>(v >> 8));
}
void Put16Be(std::string* s, uint16_t v) {
  s->push_back(static_cast<char>(v >> 8));
  s->push_back(static_cast<char>(v));
}
void PutMac(std::string* s, uint64_t mac) {
  for (int i = 5; i >= 0; --i) s->push_back(static_cast<char>(mac >> (8 * i)));
}

const std::string kRadiotap("\x00\x00\x08\x00\x00\x00\x00\x00", 8);  // no fields

// Radiotap + an 802.11 header of `type`/`subtype` with three addresses (+ QoS Control for QoS
// data subtypes) + body.
std::string Dot11(int type, int subtype, uint8_t flags, uint64_t a1, uint64_t a2, uint64_t a3,
                  const std::string& body) {
  std::string f = kRadiotap;
  f.push_back(static_cast<char>((subtype << 4) | (type << 2)));
  f.push_back(static_cast<char>(flags));
  Put16Le(&f, 0x013a);  // duration
  PutMac(&f, a1);
  PutMac(&f, a2);
  PutMac(&f, a3);
  Put16Le(&f, 0x1230);  // sequence control
  if (type == 2 && (subtype & 8)) Put16Le(&f, 0x0006);
  return f + body;
}

std::string Status(uint16_t algorithm_or_capability, uint16_t seq, uint16_t status, bool auth) {
  std::string b;
  Put16Le(&b, algorithm_or_capability);
  if (auth) Put16Le(&b, seq);
  Put16Le(&b, status);
  if (!auth) Put16Le(&b, 0xc001);  // AID
  return b;
}

std::string Reason(uint16_t reason) {
  std::string b;
  Put16Le(&b, reason);
  return b;
}

// LLC/SNAP + EAPOL-Key (descriptor type 2) with `key_info` and `key_data` bytes of key data.
std::string EapolKey(uint16_t key_info, size_t key_data, uint8_t descriptor = 2) {
  std::string d;
  d.push_back(static_cast<char>(descriptor));
  Put16Be(&d, key_info);
  Put16Be(&d, 16);                                      // key length
  d.append(8, '\x01');                                  // replay counter
  d.append(32, (key_info & 0x0100) ? '\x22' : '\x11');  // nonce
  d.append(16 + 8 + 8 + 16, '\0');                      // IV, RSC, ID, MIC
  Put16Be(&d, static_cast<uint16_t>(key_data));
  d.append(key_data, '\x30');
  std::string b("\xaa\xaa\x03\x00\x00\x00\x88\x8e", 8);
  b.push_back(2);  // 802.1X-2004
  b.push_back(3);  // Key
  Put16Be(&b, static_cast<uint16_t>(d.size()));
  return b + d;
}

// Ethernet (+ VLAN tags) + IPv4/IPv6 + UDP + payload.
std::string Udp(bool ipv6, int vlans, uint16_t sport, uint16_t dport, const std::string& payload) {
  std::string f;
  PutMac(&f, kClient);
  PutMac(&f, kAp);
  for (int i = 0; i < vlans; ++i) {
    Put16Be(&f, i == 0 && vlans == 2 ? 0x88a8 : 0x8100);
    Put16Be(&f, static_cast<uint16_t>(10 + i));
  }
  std::string udp;
  Put16Be(&udp, sport);
  Put16Be(&udp, dport);
  Put16Be(&udp, static_cast<uint16_t>(8 + payload.size()));
  Put16Be(&udp, 0);  // no checksum
  udp += payload;
  if (ipv6) {
    Put16Be(&f, 0x86dd);
    f += std::string("\x60\x00\x00\x00", 4);
    Put16Be(&f, static_cast<uint16_t>(udp.size()));
    f.push_back(17);
    f.push_back(64);
    f += std::string("\x20\x01\x0d\xb8", 4) + std::string(11, '\0') + "\x01";
    f += std::string("\x20\x01\x0d\xb8", 4) + std::string(11, '\0') + "\x02";
  } else {
    Put16Be(&f, 0x0800);
    std::string ip("\x45\x00", 2);
    Put16Be(&ip, static_cast<uint16_t>(20 + udp.size()));
    ip += std::string("\x00\x01\x00\x00\x40\x11\x00\x00", 8);
    ip += std::string("\xc0\xa8\x01\x01\xc0\xa8\x01\x02", 8);
    f += ip;
  }
  return f + udp;
}

std::string Dhcp(uint8_t type, bool end = true) {
  std::string b(236, '\0');
  b[0] = type == 2 || type == 5 || type == 6 ? 2 : 1;  // op
  b[1] = 1;
  b[2] = 6;
  b += std::string("\x63\x82\x53\x63", 4);
  b += std::string("\x35\x01", 2);
  b.push_back(static_cast<char>(type));
  b += std::string("\x0c\x04host", 6);
  if (end) b.push_back('\xff');
  return b;
}

std::string Dns(bool response, uint8_t rcode) {
  std::string b("\x12\x34", 2);
  b.push_back(static_cast<char>(response ? 0x81 : 0x01));
  b.push_back(static_cast<char>(response ? (0x80 | rcode) : 0));
  b += std::string("\x00\x01\x00\x00\x00\x00\x00\x00", 8);
  b += std::string(
      "\x03www\x07"
      "example\x03"
      "com\x00\x00\x01\x00\x01",
      21);
  return b;
}

struct Case {
  std::string name;
  bool radiotap;
  std::string bytes;
  size_t caplen = 0;  // 0: bytes.size() (not cut)
  // Expected facts.
  JoinSubtype join = JoinSubtype::kNone;
  int status = -1;
  DisconnectSubtype disconnect = DisconnectSubtype::kNone;
  int reason = -1;
  int message = 0;
  bool retry = false;
  int dhcp = 0;
  int dns = -1;
  bool data_client = false;
  uint64_t client = 0;
  const char* layer = "";  // for truncated packets
};

std::vector<Case> Cases() {
  std::vector<Case> c;
  auto add = [&c](Case k) {
    if (k.caplen == 0) k.caplen = k.bytes.size();
    c.push_back(std::move(k));
  };
  // Join responses: only those the AP sends (TA == BSSID) count.
  add({.name = "auth_from_ap_17",
       .radiotap = true,
       .bytes = Dot11(0, 11, 0, kClient, kAp, kAp, Status(0, 2, 17, true)),
       .join = JoinSubtype::kAuthentication,
       .status = 17});
  add({.name = "auth_from_client",
       .radiotap = true,
       .bytes = Dot11(0, 11, 0, kAp, kClient, kAp, Status(0, 1, 0, true))});
  add({.name = "sae_commit_76_retry",
       .radiotap = true,
       .bytes = Dot11(0, 11, 0x08, kClient, kAp, kAp, Status(3, 1, 76, true)),
       .join = JoinSubtype::kAuthentication,
       .status = 76,
       .retry = true});
  add({.name = "assoc_resp_0",
       .radiotap = true,
       .bytes = Dot11(0, 1, 0, kClient, kAp, kAp, Status(0x0431, 0, 0, false)),
       .join = JoinSubtype::kAssociationResponse,
       .status = 0});
  add({.name = "reassoc_resp_17",
       .radiotap = true,
       .bytes = Dot11(0, 3, 0, kClient, kAp, kAp, Status(0x0431, 0, 17, false)),
       .join = JoinSubtype::kReassociationResponse,
       .status = 17});
  add({.name = "assoc_resp_status_cut",
       .radiotap = true,
       .bytes = Dot11(0, 1, 0, kClient, kAp, kAp, Status(0x0431, 0, 0, false)),
       .caplen = 8 + 27,
       .layer = "802.11"});
  // Disconnects, either direction; a protected one has no readable reason.
  add({.name = "deauth_from_client_3",
       .radiotap = true,
       .bytes = Dot11(0, 12, 0, kAp, kClient, kAp, Reason(3)),
       .disconnect = DisconnectSubtype::kDeauthentication,
       .reason = 3});
  add({.name = "disassoc_from_ap_8",
       .radiotap = true,
       .bytes = Dot11(0, 10, 0, kClient, kAp, kAp, Reason(8)),
       .disconnect = DisconnectSubtype::kDisassociation,
       .reason = 8});
  add({.name = "deauth_protected",
       .radiotap = true,
       .bytes = Dot11(0, 12, 0x40, kClient, kAp, kAp, std::string(18, '\x5a'))});
  // EAPOL-Key: tshark's numbering; group keys and requests are not handshake messages.
  add({.name = "eapol_m1",
       .radiotap = true,
       .bytes = Dot11(2, 8, 0x02, kClient, kAp, kAp, EapolKey(0x008a, 22)),
       .message = 1,
       .data_client = true,
       .client = kClient});
  add({.name = "eapol_m2",
       .radiotap = true,
       .bytes = Dot11(2, 8, 0x01, kAp, kClient, kAp, EapolKey(0x010a, 22)),
       .message = 2,
       .data_client = true,
       .client = kClient});
  add({.name = "eapol_m3_wpa",
       .radiotap = true,
       .bytes = Dot11(2, 0, 0x02, kClient, kAp, kAp, EapolKey(0x13ca, 56, 254)),
       .message = 3,
       .data_client = true,
       .client = kClient});
  add({.name = "eapol_m4_retry",
       .radiotap = true,
       .bytes = Dot11(2, 8, 0x09, kAp, kClient, kAp, EapolKey(0x030a, 0)),
       .message = 4,
       .retry = true,
       .data_client = true,
       .client = kClient});
  add({.name = "eapol_m2_without_key_data_is_4",
       .radiotap = true,
       .bytes = Dot11(2, 8, 0x01, kAp, kClient, kAp, EapolKey(0x010a, 0)),
       .message = 4,
       .data_client = true,
       .client = kClient});
  add({.name = "eapol_group",
       .radiotap = true,
       .bytes = Dot11(2, 8, 0x02, kClient, kAp, kAp, EapolKey(0x1382, 32)),
       .data_client = true,
       .client = kClient});
  add({.name = "eapol_request",
       .radiotap = true,
       .bytes = Dot11(2, 8, 0x01, kAp, kClient, kAp, EapolKey(0x0b0a, 0)),
       .data_client = true,
       .client = kClient});
  add({.name = "eapol_cut_in_descriptor",
       .radiotap = true,
       .bytes = Dot11(2, 8, 0x02, kClient, kAp, kAp, EapolKey(0x008a, 22)),
       .caplen = 8 + 26 + 100,
       .data_client = true,
       .client = kClient,
       .layer = "eapol"});
  add({.name = "eapol_cut_at_llc_end",
       .radiotap = true,
       .bytes = Dot11(2, 8, 0x02, kClient, kAp, kAp, EapolKey(0x008a, 22)),
       .caplen = 8 + 26 + 8,
       .data_client = true,
       .client = kClient,
       .layer = "eapol"});
  // Truncated at the other wireless layers.
  add({.name = "cut_in_radiotap",
       .radiotap = true,
       .bytes = Dot11(0, 8, 0, kBroadcast, kAp, kAp, std::string(40, '\x01')),
       .caplen = 6,
       .layer = "radiotap"});
  add({.name = "cut_at_radiotap_end",
       .radiotap = true,
       .bytes = Dot11(0, 8, 0, kBroadcast, kAp, kAp, std::string(40, '\x01')),
       .caplen = 8,
       .layer = "802.11"});
  add({.name = "cut_in_beacon_body_retry",
       .radiotap = true,
       .bytes = Dot11(0, 8, 0x08, kBroadcast, kAp, kAp, std::string(40, '\x01')),
       .caplen = 50,
       .retry = true,
       .layer = "802.11"});
  add({.name = "cut_at_data_header_end",
       .radiotap = true,
       .bytes = Dot11(2, 0, 0x01, kAp, kClient, kAp, std::string(60, '\x01')),
       .caplen = 8 + 24,
       .data_client = true,
       .client = kClient,
       .layer = "llc"});
  add({.name = "cut_in_llc",
       .radiotap = true,
       .bytes = Dot11(2, 0, 0x01, kAp, kClient, kAp, std::string(60, '\x01')),
       .caplen = 8 + 27,
       .data_client = true,
       .client = kClient,
       .layer = "llc"});
  add({.name = "protected_data_cut",
       .radiotap = true,
       .bytes = Dot11(2, 8, 0x41, kAp, kClient, kAp, std::string(60, '\x01')),
       .caplen = 8 + 40,
       .data_client = true,
       .client = kClient,
       .layer = "802.11"});
  add({.name = "null_from_client",
       .radiotap = true,
       .bytes = Dot11(2, 4, 0x11, kAp, kClient, kAp, ""),
       .data_client = true,
       .client = kClient});
  add({.name = "from_ds_broadcast",
       .radiotap = true,
       .bytes = Dot11(2, 0, 0x02, kBroadcast, kAp, kAp, std::string(20, '\x01'))});
  {
    std::string ip = Udp(false, 0, 53, 40000, Dns(true, 3)).substr(14);
    add({.name = "wireless_dns_cut",
         .radiotap = true,
         .bytes = Dot11(2, 0, 0x02, kClient, kAp, kAp,
                        std::string("\xaa\xaa\x03\x00\x00\x00\x08\x00", 8) + ip),
         .caplen = 8 + 24 + 8 + 20 + 8 + 3,
         .data_client = true,
         .client = kClient,
         .layer = "dns"});
    add({.name = "wireless_cut_at_ip_header_end",
         .radiotap = true,
         .bytes = Dot11(2, 0, 0x02, kClient, kAp, kAp,
                        std::string("\xaa\xaa\x03\x00\x00\x00\x08\x00", 8) + ip),
         .caplen = 8 + 24 + 8 + 20,
         .data_client = true,
         .client = kClient,
         .layer = "udp"});
  }
  // Wired: DHCP, DNS, and cuts.
  add({.name = "dhcp_discover",
       .radiotap = false,
       .bytes = Udp(false, 0, 68, 67, Dhcp(1)),
       .dhcp = 1});
  add({.name = "dhcp_nak_vlan",
       .radiotap = false,
       .bytes = Udp(false, 1, 67, 68, Dhcp(6)),
       .dhcp = 6});
  add({.name = "dhcp_ack_qinq",
       .radiotap = false,
       .bytes = Udp(false, 2, 67, 68, Dhcp(5)),
       .dhcp = 5});
  add({.name = "dhcp_no_end_option_not_cut",
       .radiotap = false,
       .bytes = Udp(false, 0, 68, 67, Dhcp(3, false)),
       .dhcp = 3});
  add({.name = "dhcp_cut_before_end",
       .radiotap = false,
       .bytes = Udp(false, 0, 68, 67, Dhcp(3)),
       .caplen = 14 + 20 + 8 + 243,
       .layer = "dhcp"});
  add({.name = "dns_nxdomain",
       .radiotap = false,
       .bytes = Udp(false, 0, 53, 40000, Dns(true, 3)),
       .dns = 3});
  add({.name = "dns6_servfail_vlan",
       .radiotap = false,
       .bytes = Udp(true, 1, 53, 40000, Dns(true, 2)),
       .dns = 2});
  add({.name = "dns_rcode_9",
       .radiotap = false,
       .bytes = Udp(false, 0, 53, 40000, Dns(true, 9)),
       .dns = 9});
  add({.name = "dns_query", .radiotap = false, .bytes = Udp(false, 0, 40000, 53, Dns(false, 0))});
  add({.name = "mdns_response_cut",
       .radiotap = false,
       .bytes = Udp(false, 0, 5353, 5353, Dns(true, 0)),
       .caplen = 14 + 20 + 8 + 6,
       .layer = "udp"});
  add({.name = "dns_cut_after_flags",
       .radiotap = false,
       .bytes = Udp(false, 0, 53, 40000, Dns(true, 0)),
       .caplen = 14 + 20 + 8 + 4,
       .dns = 0,
       .layer = "dns"});
  add({.name = "cut_in_ethernet",
       .radiotap = false,
       .bytes = Udp(false, 0, 53, 1, Dns(true, 0)),
       .caplen = 10,
       .layer = "ethernet"});
  add({.name = "cut_at_ethernet_end",
       .radiotap = false,
       .bytes = Udp(false, 0, 53, 1, Dns(true, 0)),
       .caplen = 14,
       .layer = "ip"});
  add({.name = "cut_at_vlan_start",
       .radiotap = false,
       .bytes = Udp(false, 1, 53, 1, Dns(true, 0)),
       .caplen = 14,
       .layer = "vlan"});
  add({.name = "cut_at_udp_header_end",
       .radiotap = false,
       .bytes = Udp(false, 0, 53, 1, Dns(true, 0)),
       .caplen = 14 + 20 + 8,
       .layer = "udp"});
  return c;
}

std::string PcapOf(bool radiotap, const std::string& bytes, size_t caplen, uint32_t sec,
                   uint32_t usec) {
  std::string p = fakes::OnePacketPcap(radiotap ? 127 : 1, bytes.substr(0, caplen), sec, usec);
  // orig_len is the whole packet.
  std::string orig;
  fakes::PutLe32(&orig, static_cast<uint32_t>(bytes.size()));
  p.replace(36, 4, orig);
  return p;
}

ClientFacts DecodeCase(const Case& k) {
  ClientFactsDecoder d;
  ClientFacts f;
  const std::string b64 = fakes::Base64(PcapOf(k.radiotap, k.bytes, k.caplen, 1700000000, 250));
  EXPECT_TRUE(d.Decode(b64, k.radiotap ? Interface::kRadiotap : Interface::kWired, &f)) << k.name;
  return f;
}

TEST(ClientFactsTest, EveryCaseGivesItsFacts) {
  for (const Case& k : Cases()) {
    SCOPED_TRACE(k.name);
    const ClientFacts f = DecodeCase(k);
    ASSERT_TRUE(f.ok);
    EXPECT_EQ(f.ts_us, 1700000000LL * 1000000 + 250);
    EXPECT_EQ(f.caplen, k.caplen);
    EXPECT_EQ(f.origlen, k.bytes.size());
    EXPECT_EQ(f.truncated, k.caplen < k.bytes.size());
    if (f.truncated) {
      EXPECT_STREQ(TruncatedLayerName(f.truncated_layer), k.layer);
    }
    EXPECT_EQ(f.join, k.join);
    if (k.status >= 0) {
      EXPECT_EQ(f.status_code, k.status);
    }
    EXPECT_EQ(f.disconnect, k.disconnect);
    if (k.reason >= 0) {
      EXPECT_EQ(f.reason_code, k.reason);
    }
    EXPECT_EQ(f.eapol_message, k.message);
    EXPECT_EQ(f.retry, k.retry);
    EXPECT_EQ(f.dhcp_message_type, k.dhcp);
    EXPECT_EQ(f.dns_rcode, k.dns);
    EXPECT_EQ(f.has_data_client, k.data_client);
    if (k.data_client) {
      EXPECT_EQ(f.data_client, k.client);
    }
    if (k.message != 0) {
      EXPECT_EQ(f.bssid, kAp);
      EXPECT_EQ(f.client, kClient);
    }
  }
}

TEST(ClientFactsTest, DecodedRecordGivesTheSameFacts) {
  for (const Case& k : Cases()) {
    SCOPED_TRACE(k.name);
    const std::string file = PcapOf(k.radiotap, k.bytes, k.caplen, 1700000000, 250);
    std::vector<uint8_t> scratch;
    auto raw = DecodePcapRaw(fakes::Base64(file), &scratch);
    ASSERT_TRUE(raw.ok());
    ClientFactsDecoder d;
    ClientFacts from_record;
    d.Decode(*raw, k.radiotap, &from_record);
    const ClientFacts lazy = DecodeCase(k);
    EXPECT_EQ(from_record.truncated_layer, lazy.truncated_layer);
    EXPECT_EQ(from_record.eapol_message, lazy.eapol_message);
    EXPECT_EQ(from_record.status_code, lazy.status_code);
    EXPECT_EQ(from_record.dhcp_message_type, lazy.dhcp_message_type);
    EXPECT_EQ(from_record.dns_rcode, lazy.dns_rcode);
    EXPECT_EQ(from_record.ts_us, lazy.ts_us);
  }
}

TEST(ClientFactsTest, BadOrOddPcapRaw) {
  ClientFactsDecoder d;
  ClientFacts f;
  EXPECT_FALSE(d.Decode("", Interface::kRadiotap, &f));
  EXPECT_FALSE(f.ok);
  EXPECT_FALSE(d.Decode("!!!!not base64", Interface::kRadiotap, &f));
  // caplen claims more bytes than the text holds.
  std::string file = fakes::OnePacketPcap(127, kRadiotap + std::string(30, '\x08'));
  std::string big;
  fakes::PutLe32(&big, 4000);
  std::string lying = file;
  lying.replace(32, 4, big);
  EXPECT_FALSE(d.Decode(fakes::Base64(lying), Interface::kRadiotap, &f));
  // Bad magic.
  std::string bad = file;
  bad[0] = 'x';
  EXPECT_FALSE(d.Decode(fakes::Base64(bad), Interface::kRadiotap, &f));
  // Line breaks inside the text: decoded whole, same facts.
  const Case k = Cases()[0];
  std::string b64 = fakes::Base64(PcapOf(true, k.bytes, k.bytes.size(), 5, 7));
  b64.insert(76, "\r\n");
  ASSERT_TRUE(d.Decode(b64, Interface::kRadiotap, &f));
  EXPECT_EQ(f.join, JoinSubtype::kAuthentication);
  EXPECT_EQ(f.status_code, 17);
  EXPECT_EQ(f.ts_us, 5000007);
  // Nanosecond pcap: microseconds, truncated.
  std::string nano = PcapOf(true, k.bytes, k.bytes.size(), 5, 7654321);
  nano[0] = '\x4d';
  nano[1] = '\x3c';
  ASSERT_TRUE(d.Decode(fakes::Base64(nano), Interface::kRadiotap, &f));
  EXPECT_EQ(f.ts_us, 5007654);
  // The linktype decides when pcap_dict names no interface.
  ASSERT_TRUE(d.Decode(fakes::Base64(PcapOf(true, k.bytes, k.bytes.size(), 5, 7)),
                       Interface::kUnknown, &f));
  EXPECT_TRUE(f.radiotap);
  EXPECT_EQ(f.status_code, 17);
}

TEST(ClientFactsTest, EapolNumberingTable) {
  // Pairwise: Ack+Install -> 3, Ack -> 1, else key data length 0 -> 4, > 0 -> 2; MIC and
  // Secure do not matter; Request and group keys get no number.
  EXPECT_EQ(EapolMessageNumber(0x0088, 0), 1);
  EXPECT_EQ(EapolMessageNumber(0x0388, 0), 1);
  EXPECT_EQ(EapolMessageNumber(0x00c8, 0), 3);
  EXPECT_EQ(EapolMessageNumber(0x0008, 1), 2);
  EXPECT_EQ(EapolMessageNumber(0x0308, 0), 4);
  EXPECT_EQ(EapolMessageNumber(0x0808, 0), 0);
  EXPECT_EQ(EapolMessageNumber(0x0380, 0), 0);
}

// tshark 4.0 reads the same packets: the reference the expectations above must agree with.
std::string LayerOf(const std::string& protocols) {
  static const std::map<std::string, std::string> kListed = {
      {"radiotap", "radiotap"}, {"wlan", "802.11"}, {"llc", "llc"},         {"eapol", "eapol"},
      {"eth", "ethernet"},      {"vlan", "vlan"},   {"ieee8021ad", "vlan"}, {"ip", "ip"},
      {"ipv6", "ip"},           {"udp", "udp"},     {"dhcp", "dhcp"},       {"dns", "dns"}};
  std::string layer;
  std::stringstream in(protocols);
  for (std::string p; std::getline(in, p, ':');) {
    auto it = kListed.find(p);
    if (it != kListed.end()) layer = it->second;
  }
  return layer;
}

TEST(ClientFactsTest, TsharkAgrees) {
  if (!fakes::HaveTshark()) GTEST_SKIP() << "tshark not installed";
  fakes::TempDir dir;
  std::vector<Case> cases = Cases();
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& k = cases[i];
    SCOPED_TRACE(k.name);
    const std::string path = (dir.path() / ("c" + std::to_string(i) + ".pcap")).string();
    std::ofstream(path, std::ios::binary) << PcapOf(k.radiotap, k.bytes, k.caplen, 1, 0);
    auto out = fakes::RunCommand(
        std::string(fakes::kTshark) + " -r '" + path +
        "' -T fields -E separator=/t -E occurrence=f -e frame.protocols -e wlan.fc.retry"
        " -e wlan.fixed.status_code -e wlan.fixed.reason_code -e wlan_rsna_eapol.keydes.msgnr"
        " -e wlan_rsna_eapol.keydes.key_info.key_type -e dhcp.option.dhcp -e dns.flags.rcode"
        " -e udp.srcport -e dns.flags.response 2>/dev/null");
    ASSERT_TRUE(out.has_value());
    auto lines = fakes::SplitLines(*out);
    ASSERT_EQ(lines.size(), 1u);
    std::vector<std::string> v;
    std::stringstream in(lines[0]);
    for (std::string cell; std::getline(in, cell, '\t');) v.push_back(cell);
    v.resize(10);
    auto num = [](const std::string& s) {
      if (s == "True") return 1;
      if (s == "False") return 0;
      return s.empty() ? -1 : std::stoi(s, nullptr, 0);
    };
    if (k.caplen < k.bytes.size()) {
      EXPECT_EQ(LayerOf(v[0]), k.layer) << v[0];
    }
    if (k.radiotap) {
      EXPECT_EQ(num(v[1]) == 1, k.retry);
    }
    if (k.join != JoinSubtype::kNone) {
      EXPECT_EQ(num(v[2]), k.status);
    }
    if (k.disconnect != DisconnectSubtype::kNone) {
      EXPECT_EQ(num(v[3]), k.reason);
    }
    if (k.disconnect == DisconnectSubtype::kNone && k.join == JoinSubtype::kNone &&
        v[0].find("eapol") == std::string::npos) {
      EXPECT_TRUE(v[2].empty() || k.name == "auth_from_client");
    }
    const int msgnr = num(v[5]) == 1 && !v[4].empty() ? num(v[4]) : 0;  // pairwise only
    EXPECT_EQ(msgnr, k.message);
    const int dhcp = num(v[6]);
    EXPECT_EQ(dhcp >= 1 && dhcp <= 8 ? dhcp : 0, k.dhcp);
    const bool dns_response = num(v[8]) == 53 && num(v[9]) == 1 && !v[7].empty();
    EXPECT_EQ(dns_response ? num(v[7]) : -1, k.dns);
  }
}

}  // namespace
}  // namespace mpe::decode

namespace mpe::decode {
namespace {

// The vector path (16 characters at a time) and the scalar path agree with Base64Decode on
// every byte value, at every length, and stop at the first character outside the alphabet.
TEST(ClientFactsBase64Test, GroupsDecodeLikeBase64Decode) {
  std::string bytes;
  for (int i = 0; i < 3 * 256; ++i) bytes.push_back(static_cast<char>((i * 7 + i / 256) & 0xff));
  for (size_t len = 0; len <= bytes.size(); len += len < 64 ? 1 : 37) {
    const std::string text = fakes::Base64(bytes.substr(0, len));
    std::vector<uint8_t> want;
    ASSERT_TRUE(Base64Decode(text, &want).ok());
    std::vector<uint8_t> out(text.size() / 4 * 3 + 16, 0);
    size_t pos = 0;
    const size_t got = internal::Base64DecodeGroups(text, &pos, out.data(), 0, want.size());
    // Whole groups without '=' are decoded; the padded last group is left to the caller.
    const size_t whole = len / 3 * 3;
    ASSERT_EQ(got, whole) << len;
    EXPECT_EQ(pos, whole / 3 * 4);
    EXPECT_TRUE(std::equal(out.begin(), out.begin() + static_cast<long>(got), want.begin())) << len;
  }
  // URL-safe characters decode like their standard twins (scalar path).
  std::string url = fakes::Base64(bytes.substr(0, 48));
  std::string std_text = url;
  for (char& c : url) c = c == '+' ? '-' : c == '/' ? '_' : c;
  std::vector<uint8_t> a(80), b(80);
  size_t pa = 0, pb = 0;
  EXPECT_EQ(internal::Base64DecodeGroups(url, &pa, a.data(), 0, 48), 48u);
  EXPECT_EQ(internal::Base64DecodeGroups(std_text, &pb, b.data(), 0, 48), 48u);
  EXPECT_EQ(a, b);
  // A bad character stops the decode at the group holding it, in either path.
  for (size_t at : {2u, 17u, 40u}) {
    std::string t = std_text;
    t[at] = '*';
    size_t p = 0;
    std::vector<uint8_t> o(80);
    EXPECT_EQ(internal::Base64DecodeGroups(t, &p, o.data(), 0, 48), at / 4 * 3) << at;
    EXPECT_EQ(p, at / 4 * 4);
  }
}

}  // namespace
}  // namespace mpe::decode
