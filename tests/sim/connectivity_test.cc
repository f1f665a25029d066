// Client-connectivity sequences of the simulator (issue 18): the bytes, the truth families
// computed from the generator's own parameters, the truncation rules and the handshake rule,
// cross-checked against an independent reading of the bytes in this file and against tshark.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "fakes/capture_test_util.h"
#include "sim/cloud_sim.h"
#include "sim/packet_gen.h"
#include "sim/sim_test_util.h"
#include "sim/truth.h"

namespace mpe::sim {
namespace {

constexpr uint64_t kAp1 = 0x5c5b350e0001, kAp2 = 0x5c5b350e0002;

StreamTarget Target(bool wireless, bool wired, int max_pkt_len) {
  StreamTarget t;
  t.site_index = 0;
  t.channel = "/sites/s1/pcaps";
  t.capture_id = "cap-1";
  t.capture_serial = 1;
  t.wireless = wireless;
  t.wired = wired;
  t.max_pkt_len = max_pkt_len;
  t.aps = {MakeApRadio(kAp1), MakeApRadio(kAp2)};
  t.settings.wired_share = 0.4;
  t.settings.vlans = {10, 0};
  t.settings.connectivity = true;
  t.settings.connectivity_share = 0.6;
  return t;
}

uint16_t Le16(const std::string& b, size_t o) {
  return static_cast<uint16_t>(static_cast<uint8_t>(b[o]) | static_cast<uint8_t>(b[o + 1]) << 8);
}
uint16_t Be16(const std::string& b, size_t o) {
  return static_cast<uint16_t>(static_cast<uint8_t>(b[o]) << 8 | static_cast<uint8_t>(b[o + 1]));
}
uint32_t Le32(const std::string& b, size_t o) {
  return Le16(b, o) | static_cast<uint32_t>(Le16(b, o + 2)) << 16;
}
uint64_t Mac(const std::string& b, size_t o) {
  uint64_t m = 0;
  for (int i = 0; i < 6; ++i) m = m << 8 | static_cast<uint8_t>(b[o + i]);
  return m;
}
std::string Hex(uint64_t mac) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%012llx",
                static_cast<unsigned long long>(mac & 0xffffffffffffULL));
  return buf;
}

// One generated and "delivered" packet: its parameters, record and what the truth got.
struct Sent {
  Packet p;
  std::string record;  // 16-byte record header + captured bytes
  TruthDelta d;
};

std::vector<Sent> Generate(PacketGenerator& gen, const StreamTarget& t, int n, GroundTruth* truth,
                           double t0 = 1764150000.0, double step = 0.002) {
  std::vector<Sent> out;
  for (int i = 0; i < n; ++i) {
    Sent s;
    s.p = gen.NextPacket(t, t0 + i * step);
    std::string pcap;
    PacketLayout layout;
    BuildPcap(s.p, t.max_pkt_len, &pcap, &layout);
    s.record = pcap.substr(24);
    s.d.kind = s.p.wired ? TruthDelta::Kind::kWired : TruthDelta::Kind::kWireless;
    s.d.ap_mac = s.p.ap_mac;
    s.d.band = static_cast<uint8_t>(s.p.band);
    s.d.length = s.p.length;
    FillConnectivityTruth(s.p, layout, &s.d);
    if (truth) truth->Add(s.d);
    out.push_back(std::move(s));
  }
  return out;
}

// Family -> (labels joined as k=v,... without site labels) -> value.
std::map<std::string, std::map<std::string, uint64_t>> Families(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  std::map<std::string, std::map<std::string, uint64_t>> out;
  for (const auto& f : doc["families"].GetObject()) {
    std::string name = f.name.GetString();
    for (const auto& s : f.value.GetArray()) {
      std::string key;
      for (const auto& l : s["labels"].GetObject()) {
        std::string k = l.name.GetString();
        if (k == "site_id" || k == "site") continue;
        key += (key.empty() ? "" : ",") + k + "=" + l.value.GetString();
      }
      if (s.HasMember("value") && s["value"].IsUint64()) {
        out[name][key] = s["value"].GetUint64();
      } else if (s.HasMember("count")) {
        out[name][key] = s["count"].GetUint64();
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// An independent reading of the captured bytes with the rules of the issue's decisions.

struct Recount {
  std::map<std::string, uint64_t> retries, joins, disconnects, eapol, dhcp, dns, top, truncated;
  std::map<std::string, uint64_t> handshakes;
  std::vector<int64_t> durations;
};

int MsgNr(uint16_t key_info, uint16_t key_data_len) {
  if (key_info & 0x0080) return (key_info & 0x0040) ? 3 : 1;
  return key_data_len == 0 ? 4 : 2;
}

Recount Reread(const std::vector<Sent>& sent, bool end_of_capture) {
  static const char* kBands[] = {"2.4", "5", "6"};
  static const char* kDhcp[] = {"",    "discover", "offer",   "request", "decline",
                                "ack", "nak",      "release", "inform"};
  static const char* kRcodes[] = {"noerror", "formerr", "servfail", "nxdomain",
                                  "notimp",  "refused", "other"};
  Recount r;
  struct Hs {
    std::string ap;
    int64_t start = 0, last = 0;
    int next = 2;
  };
  std::map<std::pair<uint64_t, uint64_t>, Hs> pending;
  auto expire = [&](int64_t now, bool all) {
    for (auto it = pending.begin(); it != pending.end();) {
      if (all || now - it->second.last > 5000000) {
        ++r.handshakes["ap_mac=" + it->second.ap + ",result=incomplete"];
        it = pending.erase(it);
      } else {
        ++it;
      }
    }
  };
  for (const Sent& s : sent) {
    const std::string& b = s.record;
    int64_t ts = static_cast<int64_t>(Le32(b, 0)) * 1000000 + Le32(b, 4);
    uint32_t caplen = Le32(b, 8), len = Le32(b, 12);
    std::string pkt = b.substr(16);
    std::string ap = "ap_mac=" + Hex(s.p.ap_mac);
    std::string layer;  // innermost layer reached by the last captured byte
    // A cut at a header's exact end already lists the next layer (tshark 4.0), except for
    // DHCP and DNS, which need a payload byte.
    auto reach = [&](size_t start, const char* name) {
      bool app = std::string(name) == "dhcp" || std::string(name) == "dns";
      if (start <= caplen - (app ? 1 : 0)) layer = name;
    };
    expire(ts, false);
    if (!s.p.wired) {
      size_t rt = Le16(pkt, 2);
      layer = "radiotap";
      reach(rt, "802.11");
      if (caplen < rt + 2) {
        if (caplen < len) ++r.truncated["layer=" + layer];
        continue;
      }
      uint8_t fc0 = static_cast<uint8_t>(pkt[rt]), fc1 = static_cast<uint8_t>(pkt[rt + 1]);
      int type = (fc0 >> 2) & 3, sub = fc0 >> 4;
      if (fc1 & 0x08) ++r.retries[ap + ",band=" + kBands[s.d.band]];
      size_t body = rt + 24;
      auto has = [&](size_t end) { return end <= caplen; };
      if (type == 0 && has(rt + 22)) {
        uint64_t ta = Mac(pkt, rt + 10), bssid = Mac(pkt, rt + 16);
        const char* js = sub == 11  ? "authentication"
                         : sub == 1 ? "association_response"
                         : sub == 3 ? "reassociation_response"
                                    : nullptr;
        size_t at = sub == 11 ? body + 4 : body + 2;
        if (js && ta == bssid && has(at + 2)) {
          ++r.joins[ap + ",frame_subtype=" + js + ",status_code=" + std::to_string(Le16(pkt, at))];
        }
        const char* ds = sub == 12 ? "deauthentication" : sub == 10 ? "disassociation" : nullptr;
        if (ds && has(body + 2)) {
          ++r.disconnects[ap + ",frame_subtype=" + ds +
                          ",reason_code=" + std::to_string(Le16(pkt, body))];
        }
      }
      if (type == 2 && has(rt + 16)) {
        bool to_ds = fc1 & 1, from_ds = fc1 & 2;
        uint64_t a1 = Mac(pkt, rt + 4), a2 = Mac(pkt, rt + 10);
        uint64_t client = 0;
        if (to_ds && !from_ds) client = a2;
        if (from_ds && !to_ds && !((a1 >> 40) & 1)) client = a1;
        if (client) r.top["client_mac=" + Hex(client)] += len;
        size_t llc = rt + 24 + ((sub & 8) ? 2 : 0);
        if (!(sub & 4) && !(fc1 & 0x40)) {
          reach(llc, "llc");
          reach(llc + 8, "eapol");
          size_t e = llc + 8;
          if (has(e + 7) && Be16(pkt, llc + 6) == 0x888e && pkt[e + 1] == 3) {
            size_t end = e + 4 + Be16(pkt, e + 2);
            uint16_t info = Be16(pkt, e + 5);
            if (has(end) && (info & 0x0008)) {
              int msg = MsgNr(info, Be16(pkt, e + 4 + 93));
              ++r.eapol[ap + ",message=" + std::to_string(msg)];
              uint64_t bssid = from_ds ? a2 : a1, sta = from_ds ? a1 : a2;
              auto key = std::make_pair(bssid, sta);
              if (!(fc1 & 0x08)) {
                auto it = pending.find(key);
                if (msg == 1) {
                  if (it != pending.end()) {
                    ++r.handshakes["ap_mac=" + it->second.ap + ",result=incomplete"];
                  }
                  pending[key] = Hs{Hex(s.p.ap_mac), ts, ts, 2};
                } else if (it != pending.end() && it->second.next == msg &&
                           ts - it->second.last <= 5000000) {
                  if (msg == 4) {
                    ++r.handshakes["ap_mac=" + it->second.ap + ",result=complete"];
                    r.durations.push_back(ts - it->second.start);
                    pending.erase(it);
                  } else {
                    ++it->second.next;
                    it->second.last = ts;
                  }
                }
              }
            }
          }
        }
      }
    } else {
      layer = "ethernet";
      size_t l3 = 12;
      uint16_t type = Be16(pkt, 12);
      if (type == 0x8100) {
        reach(14, "vlan");
        type = Be16(pkt, 16);
        l3 = 16;
      }
      l3 += 2;
      if (type == 0x0800 || type == 0x86dd) {
        reach(l3, "ip");
        bool v6 = type == 0x86dd;
        size_t udp = l3 + (v6 ? 40 : 20);
        int proto = static_cast<uint8_t>(pkt[l3 + (v6 ? 6 : 9)]);
        if (proto == 17) {
          reach(udp, "udp");
          size_t app = udp + 8;
          uint16_t sp = Be16(pkt, udp), dp = Be16(pkt, udp + 2);
          auto port = [&](int n) { return sp == n || dp == n; };
          if (port(67) || port(68)) {
            reach(app, "dhcp");
            size_t end = app + 240;  // options up to and with End (255)
            while (end < caplen && static_cast<uint8_t>(pkt[end]) != 255) {
              end +=
                  static_cast<uint8_t>(pkt[end]) == 0 ? 1 : 2u + static_cast<uint8_t>(pkt[end + 1]);
            }
            if (end < caplen && pkt[app + 240] == 53) {
              int t = static_cast<uint8_t>(pkt[app + 242]);
              if (t >= 1 && t <= 8) ++r.dhcp[ap + ",message_type=" + kDhcp[t]];
            }
          } else if (port(53)) {
            reach(app, "dns");
            if (sp == 53 && caplen >= app + 4 && (pkt[app + 2] & 0x80)) {
              int rcode = pkt[app + 3] & 0x0f;
              ++r.dns[ap + ",rcode=" + kRcodes[rcode > 5 ? 6 : rcode]];
            }
          }
        }
      }
    }
    if (caplen < len) ++r.truncated["layer=" + layer];
  }
  if (end_of_capture) expire(0, true);
  return r;
}

void ExpectFamily(const std::map<std::string, std::map<std::string, uint64_t>>& fam,
                  const char* name, const std::map<std::string, uint64_t>& want) {
  auto it = fam.find(name);
  std::map<std::string, uint64_t> got;
  if (it != fam.end()) got = it->second;
  EXPECT_EQ(got, want) << name;
}

TEST(SimConnectivityTest, TruthEqualsAnIndependentReadingOfTheBytes) {
  for (int max_pkt_len : {68, 128, 256, 512, 2000}) {
    SCOPED_TRACE(max_pkt_len);
    StreamTarget t = Target(true, true, max_pkt_len);
    PacketGenerator gen(7);
    GroundTruth truth;
    truth.SetSite(0, "s1", "Site 1");
    auto sent = Generate(gen, t, 6000, &truth);
    TruthDelta end;
    end.kind = TruthDelta::Kind::kCaptureEnd;
    truth.Add(end);
    Recount r = Reread(sent, true);
    auto fam = Families(truth.ToJson());
    ExpectFamily(fam, "mist_pcap_wireless_retries_total", r.retries);
    ExpectFamily(fam, "mist_pcap_wireless_join_responses_total", r.joins);
    ExpectFamily(fam, "mist_pcap_wireless_disconnects_total", r.disconnects);
    ExpectFamily(fam, "mist_pcap_eapol_messages_total", r.eapol);
    ExpectFamily(fam, "mist_pcap_eapol_handshakes_total", r.handshakes);
    ExpectFamily(fam, "mist_pcap_wired_dhcp_messages_total", r.dhcp);
    ExpectFamily(fam, "mist_pcap_wired_dns_responses_total", r.dns);
    ExpectFamily(fam, "mist_pcap_top_clients_bytes", r.top);
    ExpectFamily(fam, "mist_pcap_decode_truncated_total", r.truncated);
    // Durations: integer microseconds, the histogram from them.
    rapidjson::Document doc;
    std::string json = truth.ToJson();
    doc.Parse(json.c_str());
    std::vector<int64_t> durations;
    int64_t sum_us = 0;
    for (const auto& s : doc["families"]["mist_pcap_eapol_handshake_duration_seconds"].GetArray()) {
      for (const auto& d : s["durations_us"].GetArray()) durations.push_back(d.GetInt64());
      sum_us += s["sum_us"].GetInt64();
    }
    std::sort(durations.begin(), durations.end());
    std::sort(r.durations.begin(), r.durations.end());
    EXPECT_EQ(durations, r.durations);
    int64_t want_sum = 0;
    for (int64_t d : r.durations) want_sum += d;
    EXPECT_EQ(sum_us, want_sum);
  }
}

TEST(SimConnectivityTest, SeededRunHasExactValues) {
  // The same seed gives the same truth (values pinned by the independent reading above).
  StreamTarget t = Target(true, true, 512);
  std::string a, b;
  for (std::string* out : {&a, &b}) {
    PacketGenerator gen(11);
    GroundTruth truth;
    truth.SetSite(0, "s1", "Site 1");
    Generate(gen, t, 3000, &truth);
    *out = truth.ToJson();
  }
  EXPECT_EQ(a, b);
  auto fam = Families(a);
  uint64_t complete = 0;
  for (const auto& [k, v] : fam["mist_pcap_eapol_handshakes_total"]) {
    if (k.find("result=complete") != std::string::npos) complete += v;
  }
  EXPECT_GT(complete, 0u);
}

TEST(SimConnectivityTest, EveryLabelValueIsReachable) {
  std::map<std::string, std::set<std::string>> seen;
  for (int max_pkt_len : {12, 16, 20, 38, 40, 44, 48, 50, 52, 60, 68, 128, 512, 2000}) {
    StreamTarget t = Target(true, true, max_pkt_len);
    t.settings.bands = {Band::k24, Band::k5, Band::k6};
    PacketGenerator gen(static_cast<uint64_t>(max_pkt_len));
    GroundTruth truth;
    truth.SetSite(0, "s1", "Site 1");
    Generate(gen, t, max_pkt_len >= 512 ? 30000 : 4000, &truth, 1764150000.0, 0.01);
    for (const auto& [family, series] : Families(truth.ToJson())) {
      for (const auto& [labels, v] : series) {
        size_t start = 0;
        while (start < labels.size()) {
          size_t comma = labels.find(',', start);
          std::string kv =
              labels.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
          if (kv.rfind("ap_mac=", 0) != 0 && kv.rfind("client_mac=", 0) != 0) {
            seen[family].insert(kv);
          }
          if (comma == std::string::npos) break;
          start = comma + 1;
        }
      }
    }
  }
  auto expect = [&](const char* family, std::vector<std::string> values) {
    for (const auto& v : values) EXPECT_TRUE(seen[family].count(v)) << family << " " << v;
  };
  expect("mist_pcap_wireless_retries_total", {"band=2.4", "band=5", "band=6"});
  expect("mist_pcap_wireless_join_responses_total",
         {"frame_subtype=authentication", "frame_subtype=association_response",
          "frame_subtype=reassociation_response", "status_code=0", "status_code=1",
          "status_code=12", "status_code=15", "status_code=17", "status_code=30", "status_code=37",
          "status_code=76", "status_code=126"});
  expect("mist_pcap_wireless_disconnects_total",
         {"frame_subtype=deauthentication", "frame_subtype=disassociation", "reason_code=1",
          "reason_code=2", "reason_code=3", "reason_code=4", "reason_code=6", "reason_code=7",
          "reason_code=8", "reason_code=15", "reason_code=23"});
  expect("mist_pcap_eapol_messages_total", {"message=1", "message=2", "message=3", "message=4"});
  expect("mist_pcap_eapol_handshakes_total", {"result=complete", "result=incomplete"});
  expect("mist_pcap_wired_dhcp_messages_total",
         {"message_type=discover", "message_type=offer", "message_type=request",
          "message_type=decline", "message_type=ack", "message_type=nak", "message_type=release",
          "message_type=inform"});
  expect("mist_pcap_wired_dns_responses_total",
         {"rcode=noerror", "rcode=formerr", "rcode=servfail", "rcode=nxdomain", "rcode=notimp",
          "rcode=refused", "rcode=other"});
  expect("mist_pcap_decode_truncated_total",
         {"layer=radiotap", "layer=802.11", "layer=llc", "layer=eapol", "layer=ethernet",
          "layer=vlan", "layer=ip", "layer=udp", "layer=dhcp", "layer=dns"});
}

TEST(SimConnectivityTest, ACutJoinResponseIsNotCounted) {
  Packet p;
  p.frame = FrameKind::kAssociationResponse;
  p.tx = true;
  p.rate = 4;  // legacy: 15-byte radiotap header
  p.band = Band::k5;
  p.frequency = 5180;
  p.bssid = p.src = 0x025b350e1001;
  p.dst = 0xa4c3f0000105;
  p.status = 17;
  p.length = 15 + 120;
  std::string pcap;
  PacketLayout l;
  BuildPcap(p, 15 + 24 + 4, &pcap, &l);  // status code bytes 15+24+2..15+24+3 captured
  TruthDelta d;
  FillConnectivityTruth(p, l, &d);
  EXPECT_EQ(d.join, 2);
  EXPECT_EQ(d.code, 17);
  EXPECT_EQ(d.truncated, static_cast<int8_t>(Layer::kDot11));
  BuildPcap(p, 15 + 24 + 3, &pcap, &l);  // one status byte missing
  d = TruthDelta{};
  FillConnectivityTruth(p, l, &d);
  EXPECT_EQ(d.join, 0);
  EXPECT_EQ(d.truncated, static_cast<int8_t>(Layer::kDot11));
  // Transmitted by the client (TA != BSSID): never a join response.
  p.frame = FrameKind::kAuthentication;
  p.tx = false;
  std::swap(p.src, p.dst);
  p.length = 15 + 30;
  BuildPcap(p, 2000, &pcap, &l);
  d = TruthDelta{};
  FillConnectivityTruth(p, l, &d);
  EXPECT_EQ(d.join, 0);
  EXPECT_EQ(d.truncated, -1);
}

TEST(SimConnectivityTest, ACutEapolBodyIsNotAMessage) {
  Packet p;
  p.frame = FrameKind::kQosData;
  p.protect = false;
  p.tx = true;
  p.rate = 4;
  p.band = Band::k24;
  p.frequency = 2437;
  p.bssid = p.src = 0x025b350e1001;
  p.dst = 0xa4c3f0000105;
  p.eapol = EapolKind::kMsg3;
  p.key_data_len = 56;
  p.fill = 99;
  const uint32_t llc = 15 + 26, body_end = llc + 8 + 4 + 95 + 56;
  p.length = body_end;
  std::string pcap;
  PacketLayout l;
  BuildPcap(p, 2000, &pcap, &l);
  TruthDelta d;
  FillConnectivityTruth(p, l, &d);
  EXPECT_EQ(d.eapol_msg, 3);
  EXPECT_EQ(d.truncated, -1);
  EXPECT_EQ(d.top_client, p.dst);
  BuildPcap(p, static_cast<int>(body_end - 1), &pcap, &l);  // last key data byte cut
  d = TruthDelta{};
  FillConnectivityTruth(p, l, &d);
  EXPECT_EQ(d.eapol_msg, 0);
  EXPECT_EQ(d.truncated, static_cast<int8_t>(Layer::kEapol));
  BuildPcap(p, static_cast<int>(llc + 4), &pcap, &l);  // cut inside LLC/SNAP
  d = TruthDelta{};
  FillConnectivityTruth(p, l, &d);
  EXPECT_EQ(d.truncated, static_cast<int8_t>(Layer::kLlc));
  // The handshake of a pair sees nothing of a cut message.
  GroundTruth truth;
  truth.SetSite(0, "s1", "S");
  auto msg = [&](int n, int64_t ts, bool retry = false) {
    TruthDelta m;
    m.kind = TruthDelta::Kind::kWireless;
    m.ap_mac = kAp1;
    m.eapol_msg = static_cast<uint8_t>(n);
    m.ts_us = ts;
    m.retry = retry;
    m.bssid = 0x025b350e1001;
    m.client = 0xa4c3f0000105;
    truth.Add(m);
  };
  msg(1, 1000000);
  msg(2, 1010000);
  msg(0, 1020000);  // message 3, cut: not a message
  msg(4, 1030000);  // not the next expected: ignored
  TruthDelta end;
  end.kind = TruthDelta::Kind::kCaptureEnd;
  truth.Add(end);
  auto fam = Families(truth.ToJson());
  EXPECT_EQ(fam["mist_pcap_eapol_handshakes_total"],
            (std::map<std::string, uint64_t>{{"ap_mac=5c5b350e0001,result=incomplete", 1}}));
}

TEST(SimConnectivityTest, HandshakeRuleExactValues) {
  GroundTruth truth;
  truth.SetSite(0, "s1", "S");
  auto msg = [&](uint64_t client, int n, int64_t ts, uint64_t ap = kAp1, bool retry = false) {
    TruthDelta m;
    m.kind = TruthDelta::Kind::kWireless;
    m.ap_mac = ap;
    m.eapol_msg = static_cast<uint8_t>(n);
    m.ts_us = ts;
    m.retry = retry;
    m.bssid = 0x025b350e1001;
    m.client = client;
    truth.Add(m);
  };
  const int64_t t0 = 1764150000000000;
  // Complete in 30 ms, a retried message 2 in between changes nothing.
  msg(1, 1, t0);
  msg(1, 2, t0 + 10000);
  msg(1, 2, t0 + 11000, kAp1, true);
  msg(1, 3, t0 + 20000);
  msg(1, 4, t0 + 30000);
  // Exactly 5.000000 s between messages still completes (5 s + 3 s = 8 s: +Inf bucket);
  // message 1 from the other AP names the series.
  msg(2, 1, t0 + 100000, kAp2);
  msg(2, 2, t0 + 5100000, kAp1);
  msg(2, 3, t0 + 8100000, kAp1);
  msg(2, 4, t0 + 8100001, kAp1);
  // Message 1 repeated: the first is incomplete, the second completes in 250 ms.
  msg(3, 1, t0 + 9000000);
  msg(3, 1, t0 + 9500000);
  msg(3, 2, t0 + 9600000);
  msg(3, 3, t0 + 9700000);
  msg(3, 4, t0 + 9750000);
  // A 5.000001 s gap: incomplete when a later packet of the site passes the deadline.
  msg(4, 1, t0 + 10000000);
  msg(4, 2, t0 + 10010000);
  msg(4, 3, t0 + 15010001);
  msg(4, 4, t0 + 15020000);
  // Pending at the end of the capture: incomplete.
  msg(5, 1, t0 + 15030000);
  TruthDelta end;
  end.kind = TruthDelta::Kind::kCaptureEnd;
  truth.Add(end);
  std::string json = truth.ToJson();
  auto fam = Families(json);
  EXPECT_EQ(fam["mist_pcap_eapol_handshakes_total"],
            (std::map<std::string, uint64_t>{{"ap_mac=5c5b350e0001,result=complete", 2},
                                             {"ap_mac=5c5b350e0001,result=incomplete", 3},
                                             {"ap_mac=5c5b350e0002,result=complete", 1}}));
  EXPECT_EQ(fam["mist_pcap_eapol_messages_total"]["ap_mac=5c5b350e0001,message=2"], 5u);
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  const auto& h = doc["families"]["mist_pcap_eapol_handshake_duration_seconds"];
  ASSERT_EQ(h.Size(), 2u);
  EXPECT_EQ(h[0]["durations_us"][0].GetInt64(), 30000);
  EXPECT_EQ(h[0]["durations_us"][1].GetInt64(), 250000);
  EXPECT_EQ(h[0]["sum_us"].GetInt64(), 280000);
  EXPECT_EQ(h[0]["buckets"]["0.025"].GetUint64(), 0u);
  EXPECT_EQ(h[0]["buckets"]["0.05"].GetUint64(), 1u);
  EXPECT_EQ(h[0]["buckets"]["0.25"].GetUint64(), 2u);
  EXPECT_EQ(h[1]["durations_us"][0].GetInt64(), 8000001);
  EXPECT_EQ(h[1]["buckets"]["5"].GetUint64(), 0u);
  EXPECT_EQ(h[1]["buckets"]["+Inf"].GetUint64(), 1u);
}

TEST(SimConnectivityTest, TimestampsOfASiteStrictlyIncrease) {
  StreamTarget t = Target(true, true, 128);
  PacketGenerator gen(5);
  int64_t last = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string msg;
    TruthDelta d;
    gen.MakeDataMessage(t, 1764150000.5 + (i / 50) * 0.001, false, &msg, &d);
    const std::string& pcap = gen.last_pcap();
    int64_t ts = static_cast<int64_t>(Le32(pcap, 24)) * 1000000 + Le32(pcap, 28);
    EXPECT_GT(ts, last);
    EXPECT_EQ(d.ts_us, ts);
    rapidjson::Document doc;
    doc.Parse(msg.c_str());
    std::string dict_ts = std::to_string(ts / 1000000) + ".";
    char frac[8];
    std::snprintf(frac, sizeof frac, "%06d", static_cast<int>(ts % 1000000));
    ASSERT_NE(msg.find("\"timestamp\":" + dict_ts + frac), std::string::npos) << msg;
    last = ts;
  }
}

// ---------------------------------------------------------------------------------------------

std::string WriteFile(const fakes::TempDir& dir, const char* name, uint32_t linktype,
                      const std::vector<const Sent*>& sent) {
  std::string data = fakes::OnePacketPcap(linktype, "");
  data.resize(24);
  data[16] = data[17] = static_cast<char>(0xff);  // snaplen 65535
  data[18] = data[19] = 0;
  for (const Sent* s : sent) data += s->record;
  const std::string path = (dir.path() / name).string();
  std::ofstream(path, std::ios::binary) << data;
  return path;
}

TEST(SimConnectivityTsharkTest, FieldsAgreeWithWhatTheGeneratorSent) {
  if (!fakes::HaveTshark()) GTEST_SKIP() << "tshark not installed";
  fakes::TempDir dir;
  StreamTarget t = Target(true, true, 2000);
  t.settings.connectivity_share = 0.9;
  PacketGenerator gen(21);
  auto sent = Generate(gen, t, 900, nullptr);
  std::vector<const Sent*> wireless, wired;
  for (const Sent& s : sent) (s.p.wired ? wired : wireless).push_back(&s);
  ASSERT_GT(wireless.size(), 300u);
  ASSERT_GT(wired.size(), 200u);

  auto rows = fakes::TsharkRows(
      WriteFile(dir, "w.pcap", 127, wireless),
      {"wlan.fc.retry", "wlan.fixed.status_code", "wlan.fixed.reason_code",
       "wlan_rsna_eapol.keydes.msgnr", "wlan_rsna_eapol.keydes.key_info.key_type"},
      true);
  ASSERT_EQ(rows.size(), wireless.size());
  int eapol = 0, status = 0, reason = 0, retry = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const Packet& p = wireless[i]->p;
    SCOPED_TRACE("wireless packet " + std::to_string(i));
    bool ctrl = p.frame >= FrameKind::kAck && p.frame <= FrameKind::kBlockAckRequest;
    if (!ctrl) {
      EXPECT_EQ(rows[i][0], p.retry ? "1" : "0");
      retry += p.retry;
    }
    bool has_status = p.frame == FrameKind::kAuthentication ||
                      p.frame == FrameKind::kAssociationResponse ||
                      p.frame == FrameKind::kReassociationResponse;
    EXPECT_EQ(rows[i][1], has_status ? std::to_string(p.status < 0 ? 0 : p.status) : "");
    status += has_status;
    bool has_reason =
        p.frame == FrameKind::kDeauthentication || p.frame == FrameKind::kDisassociation;
    if (has_reason) {
      EXPECT_EQ(rows[i][2], std::to_string(p.reason >= 0                             ? p.reason
                                           : p.frame == FrameKind::kDeauthentication ? 3
                                                                                     : 8));
      ++reason;
    } else {
      EXPECT_EQ(rows[i][2], "");
    }
    if (!p.protect && p.eapol != EapolKind::kNone) {
      ++eapol;
      bool pairwise = p.eapol <= EapolKind::kMsg4;
      EXPECT_EQ(rows[i][4], pairwise ? "1" : "0");
      if (pairwise) {
        EXPECT_EQ(rows[i][3], std::to_string(static_cast<int>(p.eapol)));
      }
    } else {
      EXPECT_EQ(rows[i][3], "");
    }
  }
  EXPECT_GT(eapol, 10);
  EXPECT_GT(status, 10);
  EXPECT_GT(reason, 10);
  EXPECT_GT(retry, 10);

  rows = fakes::TsharkRows(
      WriteFile(dir, "e.pcap", 1, wired),
      {"dhcp.option.dhcp", "dns.flags.rcode", "dns.flags.response", "udp.srcport"}, true);
  ASSERT_EQ(rows.size(), wired.size());
  int dhcp = 0, dns = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const Packet& p = wired[i]->p;
    SCOPED_TRACE("wired packet " + std::to_string(i));
    if (p.app == WiredApp::kDhcp) {
      EXPECT_EQ(rows[i][0], std::to_string(p.dhcp_type));
      ++dhcp;
    } else {
      EXPECT_EQ(rows[i][0], "");
    }
    if (p.app == WiredApp::kDns) {
      EXPECT_EQ(rows[i][2], p.dns_qr ? "1" : "0");
      if (p.dns_qr) {
        EXPECT_EQ(rows[i][1], std::to_string(p.dns_rcode));
      }
      ++dns;
    }
  }
  EXPECT_GT(dhcp, 10);
  EXPECT_GT(dns, 10);
}

TEST(SimConnectivityTsharkTest, CutFramesAreNotNumberedNorCounted) {
  // 68..200-byte captures: tshark shows a status/reason code only when its bytes are there,
  // and numbers an EAPOL-Key message only when its whole body is there; so does the truth.
  if (!fakes::HaveTshark()) GTEST_SKIP() << "tshark not installed";
  fakes::TempDir dir;
  std::vector<Sent> all;
  for (int max_pkt_len : {68, 120, 160, 200, 230}) {
    StreamTarget t = Target(true, false, max_pkt_len);
    t.settings.connectivity_share = 0.9;
    PacketGenerator gen(static_cast<uint64_t>(max_pkt_len) * 3);
    auto sent = Generate(gen, t, 200, nullptr);
    all.insert(all.end(), sent.begin(), sent.end());
  }
  std::vector<const Sent*> frames;
  for (const Sent& s : all) frames.push_back(&s);
  auto rows = fakes::TsharkRows(
      WriteFile(dir, "cut.pcap", 127, frames),
      {"wlan.fixed.status_code", "wlan.fixed.reason_code", "wlan_rsna_eapol.keydes.msgnr",
       "wlan_rsna_eapol.keydes.key_info.key_type", "wlan.ta", "wlan.bssid", "wlan.fc.retry"},
      true);
  ASSERT_EQ(rows.size(), frames.size());
  int cut_eapol = 0, whole_eapol = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const Sent& s = *frames[i];
    SCOPED_TRACE("packet " + std::to_string(i));
    bool join = !rows[i][0].empty() && !rows[i][4].empty() && rows[i][4] == rows[i][5];
    EXPECT_EQ(join, s.d.join != 0);
    if (join) {
      EXPECT_EQ(rows[i][0], std::to_string(s.d.code));
    }
    EXPECT_EQ(!rows[i][1].empty(), s.d.disc != 0);
    bool numbered = !rows[i][2].empty() && rows[i][3] == "1";
    EXPECT_EQ(numbered, s.d.eapol_msg != 0);
    if (numbered) {
      EXPECT_EQ(rows[i][2], std::to_string(s.d.eapol_msg));
    }
    if (!s.p.protect && s.p.eapol != EapolKind::kNone) {
      (s.d.eapol_msg || s.p.eapol > EapolKind::kMsg4 ? whole_eapol : cut_eapol)++;
    }
    EXPECT_EQ(rows[i][6] == "1", s.d.retry);
  }
  EXPECT_GT(cut_eapol, 5);
  EXPECT_GT(whole_eapol, 5);
}

// The innermost listed layer of tshark's frame.protocols ("" = none listed).
std::string LayerOf(const std::string& protocols) {
  static const std::map<std::string, std::string> kLayers = {
      {"radiotap", "radiotap"}, {"wlan", "802.11"}, {"llc", "llc"}, {"eapol", "eapol"},
      {"eth", "ethernet"},      {"vlan", "vlan"},   {"ip", "ip"},   {"ipv6", "ip"},
      {"udp", "udp"},           {"dhcp", "dhcp"},   {"dns", "dns"}};
  std::string layer;
  size_t start = 0;
  while (start <= protocols.size()) {
    size_t colon = protocols.find(':', start);
    std::string name =
        protocols.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    auto it = kLayers.find(name);
    if (it != kLayers.end()) layer = it->second;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return layer;
}

TEST(SimConnectivityTsharkTest, TruncatedLayerIsTheInnermostTsharkLists) {
  if (!fakes::HaveTshark()) GTEST_SKIP() << "tshark not installed";
  fakes::TempDir dir;
  for (bool wired : {false, true}) {
    std::vector<Sent> all;
    for (int max_pkt_len :
         {14, 16, 18, 20, 30, 34, 38, 42, 46, 50, 54, 60, 68, 120, 160, 200, 250, 290}) {
      StreamTarget t = Target(!wired, wired, max_pkt_len);
      t.settings.connectivity_share = 0.8;
      PacketGenerator gen(static_cast<uint64_t>(max_pkt_len) + (wired ? 1000 : 0));
      auto sent = Generate(gen, t, 120, nullptr);
      all.insert(all.end(), sent.begin(), sent.end());
    }
    std::vector<const Sent*> packets;
    for (const Sent& s : all) packets.push_back(&s);
    auto rows =
        fakes::TsharkRows(WriteFile(dir, wired ? "we.pcap" : "ww.pcap", wired ? 1 : 127, packets),
                          {"frame.protocols", "dhcp.option.dhcp", "dns.flags.rcode"}, true);
    ASSERT_EQ(rows.size(), packets.size());
    std::set<std::string> layers;
    for (size_t i = 0; i < rows.size(); ++i) {
      const Sent& s = *packets[i];
      SCOPED_TRACE((wired ? "wired packet " : "wireless packet ") + std::to_string(i) + " " +
                   rows[i][0]);
      std::string want = s.d.truncated < 0 ? "" : LayerName(static_cast<Layer>(s.d.truncated));
      std::string got = Le32(s.record, 8) < Le32(s.record, 12) ? LayerOf(rows[i][0]) : "";
      EXPECT_EQ(got, want);
      layers.insert(want);
      if (wired) {
        EXPECT_EQ(!rows[i][1].empty(), s.d.dhcp != 0);
        bool response = s.p.app == WiredApp::kDns && s.p.dns_qr;
        EXPECT_EQ(response && !rows[i][2].empty(), s.d.dns_rcode >= 0);
      }
    }
    EXPECT_GE(layers.size(), wired ? 6u : 4u);
  }
}

TEST(SimConnectivityStreamTest, DemoScenarioStreamsEveryConnectivityFamily) {
  // The built-in demo turns connectivity on for HQ (radiotap,wired, 128 bytes) and Branch-01
  // (radiotap, 512 bytes): the truth of a short stream has data in every new family.
  SimOptions opts;
  opts.token = "tok";
  opts.rate = 4000;
  CloudSim sim(opts);
  ASSERT_TRUE(sim.Start().ok());
  constexpr size_t kN = 6000;
  sim.SetStreamLimit(kN);
  testing::TestWsClient ws;
  ASSERT_EQ(ws.Connect(sim.port(), "tok"), 101);
  for (const char* site :
       {"978c48e6-6ef6-11e6-8bbf-02e208b2d34f", "a1b2c3d4-0000-4000-8000-000000000002"}) {
    ws.Send(std::string(R"({"subscribe":"/sites/)") + site + R"(/pcaps"})");
  }
  std::map<std::string, int64_t> last_ts;  // per channel
  size_t data = 0;
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (data < kN && std::chrono::steady_clock::now() < end) {
    auto m = ws.Next(std::chrono::milliseconds(2000));
    if (!m) break;
    auto outer = testing::ParseJson(*m);
    if (std::string(outer["event"].GetString()) != "data") continue;
    rapidjson::Document d;
    const auto& v = outer["data"];
    if (v.IsString()) {
      d.Parse(v.GetString(), v.GetStringLength());
    } else {
      d.CopyFrom(v, d.GetAllocator());
    }
    if (!d["pcap_dict"].IsObject()) continue;
    ++data;
    // Strictly increasing per site, whole microseconds (checked on the dict's text).
    std::string text = *m;
    size_t at = text.find("timestamp");
    ASSERT_NE(at, std::string::npos);
    size_t num = text.find_first_of("0123456789", at);
    size_t dot = text.find('.', num);
    int64_t us =
        std::stoll(text.substr(num, dot - num)) * 1000000 + std::stoll(text.substr(dot + 1, 6));
    std::string channel = outer["channel"].GetString();
    EXPECT_GT(us, last_ts[channel]) << channel;
    last_ts[channel] = us;
  }
  ASSERT_EQ(data, kN);
  ASSERT_TRUE(testing::WaitFor(
      [&] { return testing::ParseJson(sim.TruthJson())["messages"]["data"].GetUint64() == kN; }));
  std::string json = sim.TruthJson();
  if (const char* path = std::getenv("MPE_SIM_TRUTH_DUMP")) std::ofstream(path) << json;
  auto fam = Families(json);
  for (const char* f :
       {"mist_pcap_wireless_retries_total", "mist_pcap_wireless_join_responses_total",
        "mist_pcap_wireless_disconnects_total", "mist_pcap_eapol_messages_total",
        "mist_pcap_eapol_handshakes_total", "mist_pcap_eapol_handshake_duration_seconds",
        "mist_pcap_wired_dns_responses_total", "mist_pcap_top_clients_bytes",
        "mist_pcap_decode_truncated_total"}) {
    EXPECT_FALSE(fam[f].empty()) << f;
  }
  EXPECT_GT(fam["mist_pcap_top_clients_bytes"].size(), 20u);  // many more clients than 10
  // Existing families keep their keys.
  for (const char* f : {"mist_pcap_packets_total", "mist_pcap_wireless_frames_total",
                        "mist_pcap_wired_packets_total", "mist_pcap_stream_messages_total"}) {
    EXPECT_FALSE(fam[f].empty()) << f;
  }
}

}  // namespace
}  // namespace mpe::sim
