#include "sim/packet_gen.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim/sim_test_util.h"

namespace mpe::sim {
namespace {

std::string Base64Decode(const std::string& in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = value(c);
    if (v < 0) break;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

uint32_t Le32(const std::string& b, size_t off) {
  return static_cast<uint8_t>(b[off]) | static_cast<uint8_t>(b[off + 1]) << 8 |
         static_cast<uint8_t>(b[off + 2]) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(b[off + 3])) << 24;
}

std::shared_ptr<StreamTarget> MakeTarget(bool wireless, bool wired, int max_pkt_len = 2000) {
  auto t = std::make_shared<StreamTarget>();
  t->site_index = 0;
  t->channel = "/sites/s1/pcaps";
  t->capture_id = "cap-1";
  t->wireless = wireless;
  t->wired = wired;
  t->max_pkt_len = max_pkt_len;
  t->aps = {MakeApRadio(0x5c5b350e0001), MakeApRadio(0x5c5b350e0002)};
  t->settings.wired_share = 0.5;
  t->settings.vlans = {10, 0};
  return t;
}

// The data object of a stream message, whether it was sent as an object or a JSON string.
rapidjson::Document DataOf(const std::string& message) {
  rapidjson::Document outer = testing::ParseJson(message);
  EXPECT_TRUE(outer.IsObject());
  EXPECT_STREQ(outer["event"].GetString(), "data");
  const auto& data = outer["data"];
  rapidjson::Document inner;
  if (data.IsString()) {
    inner.Parse(data.GetString(), data.GetStringLength());
  } else {
    inner.CopyFrom(data, inner.GetAllocator());
  }
  return inner;
}

TEST(PacketGenTest, Base64MatchesKnownVectors) {
  std::string out;
  AppendBase64("", &out);
  EXPECT_EQ(out, "");
  AppendBase64("f", &out);
  EXPECT_EQ(out, "Zg==");
  out.clear();
  AppendBase64("fo", &out);
  EXPECT_EQ(out, "Zm8=");
  out.clear();
  AppendBase64("foobar", &out);
  EXPECT_EQ(out, "Zm9vYmFy");
}

TEST(PacketGenTest, SameSeedGivesSameMessages) {
  auto t1 = MakeTarget(true, true);
  auto t2 = MakeTarget(true, true);
  PacketGenerator a(7), b(7);
  for (int i = 0; i < 50; ++i) {
    std::string ma, mb;
    TruthDelta da, db;
    a.MakeDataMessage(*t1, 1764150000.25, i % 2 == 0, &ma, &da);
    b.MakeDataMessage(*t2, 1764150000.25, i % 2 == 0, &mb, &db);
    ASSERT_EQ(ma, mb);
  }
}

TEST(PacketGenTest, PcapRawIsAOnePacketClassicPcapAgreeingWithTheDict) {
  auto t = MakeTarget(true, true, 128);
  PacketGenerator gen(3);
  for (int i = 0; i < 300; ++i) {
    std::string msg;
    TruthDelta d;
    gen.MakeDataMessage(*t, 1764150000.123456, i % 2 == 1, &msg, &d);
    rapidjson::Document data = DataOf(msg);
    ASSERT_TRUE(data.IsObject()) << msg;
    EXPECT_STREQ(data["capture_id"].GetString(), "cap-1");
    const auto& dict = data["pcap_dict"];
    std::string raw = Base64Decode(data["pcap_raw"].GetString());
    ASSERT_GE(raw.size(), 40u);
    EXPECT_EQ(Le32(raw, 0), 0xa1b2c3d4u);
    bool wired = std::string(dict["interface"].GetString()) == "wired";
    EXPECT_EQ(Le32(raw, 20), wired ? 1u : 127u);
    EXPECT_EQ(Le32(raw, 24), 1764150000u);
    // One site's packets get strictly increasing microseconds, even at the same clock reading.
    EXPECT_EQ(Le32(raw, 28), 123456u + static_cast<uint32_t>(i));
    uint32_t caplen = Le32(raw, 32);
    uint32_t orig = Le32(raw, 36);
    EXPECT_EQ(raw.size(), 40u + caplen);
    EXPECT_LE(caplen, 128u);
    EXPECT_EQ(orig, static_cast<uint32_t>(dict["length"].GetDouble()));
    EXPECT_EQ(d.length, dict["length"].GetDouble());
    if (!wired) {
      // radiotap: channel frequency at 10, dBm antenna signal at 14.
      uint16_t freq = static_cast<uint8_t>(raw[40 + 10]) | static_cast<uint8_t>(raw[40 + 11]) << 8;
      EXPECT_EQ(freq, dict["channel_frequency"].GetInt());
      EXPECT_EQ(static_cast<int8_t>(raw[40 + 14]), dict["rssi"].GetInt());
      EXPECT_GE(dict["rssi"].GetInt(), -95);
      EXPECT_LE(dict["rssi"].GetInt(), -25);
      EXPECT_EQ(d.rssi, dict["rssi"].GetInt());
    }
  }
}

TEST(PacketGenTest, EveryFrameKindAndBandAppears) {
  auto t = MakeTarget(true, false);
  PacketGenerator gen(11);
  std::set<std::string> subtypes, bands;
  std::set<int> protos;
  for (int i = 0; i < 5000; ++i) {
    Packet p = gen.NextPacket(*t, 1.0);
    subtypes.insert(FrameSubtypeName(p.frame));
    bands.insert(BandName(p.band));
    // Channel and frequency agree with the band.
    EXPECT_EQ(ChannelFrequency(p.band, p.channel), p.frequency);
  }
  EXPECT_EQ(subtypes.size(), static_cast<size_t>(kFrameKindCount));
  EXPECT_EQ(bands, (std::set<std::string>{"2.4", "5", "6"}));
}

std::string RunCommand(const std::string& cmd) {
  std::string out;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  pclose(pipe);
  return out;
}

std::vector<std::vector<std::string>> Rows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cols;
    size_t pos = 0;
    while (true) {
      size_t tab = line.find('\t', pos);
      cols.push_back(line.substr(pos, tab == std::string::npos ? std::string::npos : tab - pos));
      if (tab == std::string::npos) break;
      pos = tab + 1;
    }
    rows.push_back(cols);
  }
  return rows;
}

class PcapTsharkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (RunCommand("command -v tshark").empty()) GTEST_SKIP() << "tshark not installed";
    dir_ = std::filesystem::temp_directory_path() / ("mpe_sim_pcap_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::string Tshark(const std::filesystem::path& file, const std::string& fields) {
    return RunCommand("tshark -r '" + file.string() + "' -T fields -E separator=/t " + fields +
                      " 2>/dev/null");
  }
  std::filesystem::path dir_;
};

// Writes the pcap_raw of `count` messages: the first one as its own file (exactly as sent),
// all of them merged into one file (same linktype) so tshark runs once.
void WriteCaptures(PacketGenerator& gen, const StreamTarget& t, int count,
                   const std::filesystem::path& single, const std::filesystem::path& merged,
                   std::vector<rapidjson::Document>* dicts) {
  std::ofstream all(merged, std::ios::binary);
  for (int i = 0; i < count; ++i) {
    std::string msg;
    TruthDelta d;
    gen.MakeDataMessage(t, 1764150000.5 + i, i % 2 == 0, &msg, &d);
    rapidjson::Document data = DataOf(msg);
    std::string raw = Base64Decode(data["pcap_raw"].GetString());
    if (i == 0) {
      std::ofstream one(single, std::ios::binary);
      one << raw;
      all << raw;
    } else {
      all << raw.substr(24);
    }
    rapidjson::Document dict;
    dict.CopyFrom(data["pcap_dict"], dict.GetAllocator());
    dicts->push_back(std::move(dict));
  }
}

TEST_F(PcapTsharkTest, WirelessFramesDecodeToThePcapDictValues) {
  auto t = MakeTarget(true, false, 256);
  PacketGenerator gen(5);
  std::vector<rapidjson::Document> dicts;
  WriteCaptures(gen, *t, 60, dir_ / "one.pcap", dir_ / "wireless.pcap", &dicts);

  auto one = Rows(Tshark(dir_ / "one.pcap", "-e radiotap.channel.freq"));
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0][0], std::to_string(dicts[0]["channel_frequency"].GetInt()));

  auto rows = Rows(Tshark(dir_ / "wireless.pcap",
                          "-e wlan.fc.type_subtype -e radiotap.dbm_antsignal "
                          "-e radiotap.channel.freq -e frame.len -e wlan.ra -e radiotap.datarate "
                          "-e wlan.bssid -e wlan.da -e wlan.sa"));
  ASSERT_EQ(rows.size(), dicts.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& d = dicts[i];
    const auto& r = rows[i];
    SCOPED_TRACE(std::string(d["frame_subtype"].GetString()) + " #" + std::to_string(i));
    int code = -1;
    for (int k = 0; k < kFrameKindCount; ++k) {
      if (std::string(FrameSubtypeName(static_cast<FrameKind>(k))) ==
          d["frame_subtype"].GetString()) {
        code = FrameTypeSubtypeCode(static_cast<FrameKind>(k));
      }
    }
    ASSERT_GE(r.size(), 9u);
    EXPECT_EQ(std::stoi(r[0], nullptr, 0), code);
    EXPECT_EQ(r[1], std::to_string(d["rssi"].GetInt()));
    EXPECT_EQ(r[2], std::to_string(d["channel_frequency"].GetInt()));
    EXPECT_EQ(r[3], std::to_string(static_cast<int>(d["length"].GetDouble())));
    // The receiver address is the dict's dst for frames sent to a station.
    std::string type = d["frame_type"].GetString();
    if (type != "Data") {
      EXPECT_EQ(r[4], d["dst"].GetString());
    }
    if (type == "Data") {  // ToDS/FromDS address order resolved by tshark
      EXPECT_EQ(r[7], d["dst"].GetString());
      EXPECT_EQ(r[8], d["src"].GetString());
      EXPECT_EQ(r[6], d["bssid"].GetString());
    }
    if (d.HasMember("bssid") && type == "Management") {
      EXPECT_EQ(r[6], d["bssid"].GetString());
    }
    // Legacy and HT rates are in the radiotap header (tshark computes HT rates exactly,
    // 72.222 for "72.2 Mbps"); HE rates are not encoded.
    std::string rate = d["datarate"].GetString();
    if (!r[5].empty()) {
      EXPECT_NEAR(std::stod(r[5]), std::stod(rate), 0.06);
    }
  }
}

TEST_F(PcapTsharkTest, WiredPacketsDecodeToThePcapDictValues) {
  auto t = MakeTarget(false, true, 1600);
  PacketGenerator gen(9);
  std::vector<rapidjson::Document> dicts;
  WriteCaptures(gen, *t, 60, dir_ / "one.pcap", dir_ / "wired.pcap", &dicts);
  auto rows = Rows(Tshark(dir_ / "wired.pcap",
                          "-e eth.src -e eth.dst -e vlan.id -e ip.src -e ip.dst -e ip.proto "
                          "-e tcp.srcport -e udp.srcport -e tcp.dstport -e udp.dstport "
                          "-e frame.len -e arp.opcode"));
  ASSERT_EQ(rows.size(), dicts.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& d = dicts[i];
    const auto& r = rows[i];
    SCOPED_TRACE(std::string(d["proto"].GetString()) + " #" + std::to_string(i));
    ASSERT_GE(r.size(), 12u);
    EXPECT_EQ(r[0], d["src_mac"].GetString());
    EXPECT_EQ(r[1], d["dst_mac"].GetString());
    EXPECT_EQ(r[2], d.HasMember("vlan") ? std::to_string(d["vlan"].GetInt()) : "");
    EXPECT_EQ(r[10], std::to_string(static_cast<int>(d["length"].GetDouble())));
    std::string proto = d["proto"].GetString();
    if (proto == "ARP") {
      EXPECT_FALSE(r[11].empty());
      continue;
    }
    EXPECT_EQ(r[3], d["src_ip"].GetString());
    EXPECT_EQ(r[4], d["dst_ip"].GetString());
    EXPECT_EQ(r[5], proto == "TCP" ? "6" : proto == "UDP" ? "17" : "1");
    if (proto == "TCP") {
      EXPECT_EQ(r[6], std::to_string(d["src_port"].GetInt()));
      EXPECT_EQ(r[8], std::to_string(d["dst_port"].GetInt()));
    } else if (proto == "UDP") {
      EXPECT_EQ(r[7], std::to_string(d["src_port"].GetInt()));
      EXPECT_EQ(r[9], std::to_string(d["dst_port"].GetInt()));
    }
  }
}

}  // namespace
}  // namespace mpe::sim
