#include "sim/capture_file.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <tuple>

#include "sim/cloud_sim.h"
#include "sim/sim_test_util.h"

namespace mpe::sim {
namespace {

using testing::ParseJson;
using testing::TestWsClient;
using testing::WaitFor;

constexpr char kHq[] = "978c48e6-6ef6-11e6-8bbf-02e208b2d34f";
constexpr char kWarehouse[] = "a1b2c3d4-0000-4000-8000-000000000003";

std::string Base64Decode(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = c >= 'A' && c <= 'Z'   ? c - 'A'
            : c >= 'a' && c <= 'z' ? c - 'a' + 26
            : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '+'             ? 62
            : c == '/'             ? 63
                                   : -1;
    if (v < 0) continue;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

uint32_t Le32(std::string_view b, size_t at) {
  auto u = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(b[at + i])); };
  return u(0) | u(1) << 8 | u(2) << 16 | u(3) << 24;
}

// A classic pcap record: ts, caplen, orig_len, bytes.
std::string Record(uint32_t sec, uint32_t usec, std::string_view bytes, uint32_t orig) {
  std::string r;
  for (uint32_t v : {sec, usec, static_cast<uint32_t>(bytes.size()), orig}) {
    for (int i = 0; i < 4; ++i) r.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  r.append(bytes);
  return r;
}

struct FilePacket {
  int linktype;
  std::string record;  // as a classic pcap record
  bool operator<(const FilePacket& o) const {
    return std::tie(linktype, record) < std::tie(o.linktype, o.record);
  }
  bool operator==(const FilePacket& o) const = default;
};

// Reads back a classic pcap or pcapng file as written by CaptureRecording (the test's own
// reader; the conformance test reads the same files with tshark).
std::vector<FilePacket> ReadFile(std::string_view f, bool* ng) {
  std::vector<FilePacket> out;
  *ng = Le32(f, 0) == 0x0a0d0d0a;
  if (!*ng) {
    EXPECT_EQ(Le32(f, 0), 0xa1b2c3d4u);
    int link = static_cast<int>(Le32(f, 20));
    for (size_t at = 24; at + 16 <= f.size();) {
      size_t len = 16 + Le32(f, at + 8);
      out.push_back({link, std::string(f.substr(at, len))});
      at += len;
    }
    return out;
  }
  std::vector<int> links;
  for (size_t at = 0; at + 12 <= f.size();) {
    uint32_t type = Le32(f, at), len = Le32(f, at + 4);
    EXPECT_EQ(Le32(f, at + len - 4), len) << "block trailer at " << at;
    if (type == 1) links.push_back(static_cast<int>(Le32(f, at + 8) & 0xffff));
    if (type == 6) {
      uint64_t us = uint64_t{Le32(f, at + 12)} << 32 | Le32(f, at + 16);
      uint32_t caplen = Le32(f, at + 20);
      out.push_back(
          {links.at(Le32(f, at + 8)),
           Record(static_cast<uint32_t>(us / 1000000), static_cast<uint32_t>(us % 1000000),
                  f.substr(at + 28, caplen), Le32(f, at + 24))});
    }
    at += len;
  }
  return out;
}

TEST(CaptureRecordingTest, OneLinkTypeIsClassicPcapWithThatLinkType) {
  RecordingTotals totals;
  CaptureRecording rec(10, 128, {1}, &totals);
  rec.Add(1, Record(1700000000, 5, "abcd", 60));
  rec.Add(1, Record(1700000001, 6, "efgh", 4));
  bool ng = true;
  std::string f = rec.File(&ng);
  EXPECT_FALSE(ng);
  ASSERT_EQ(f.size(), 24u + 2 * 20u);
  EXPECT_EQ(Le32(f, 0), 0xa1b2c3d4u);
  EXPECT_EQ(Le32(f, 16), 128u);  // snaplen = max_pkt_len
  EXPECT_EQ(Le32(f, 20), 1u);
  EXPECT_EQ(f.substr(24), Record(1700000000, 5, "abcd", 60) + Record(1700000001, 6, "efgh", 4));
  EXPECT_EQ(rec.delivered(), 2u);
  EXPECT_EQ(totals.recorded.load(), 2u);
}

TEST(CaptureRecordingTest, EmptyFileUsesTheCapturesLinkType) {
  CaptureRecording rec(10, 0, {127}, nullptr);
  bool ng = true;
  std::string f = rec.File(&ng);
  EXPECT_FALSE(ng);
  ASSERT_EQ(f.size(), 24u);
  EXPECT_EQ(Le32(f, 16), 65535u);
  EXPECT_EQ(Le32(f, 20), 127u);
}

TEST(CaptureRecordingTest, MixedCapturesArePcapngWithOneInterfacePerLinkType) {
  CaptureRecording empty(10, 256, {127, 1}, nullptr);
  bool empty_ng = false;
  EXPECT_EQ(empty.File(&empty_ng).size(), 28u + 2 * 20u);
  EXPECT_TRUE(empty_ng);
  CaptureRecording rec(10, 256, {127, 1}, nullptr);
  std::vector<FilePacket> in = {{127, Record(1700000000, 1, "radio", 5)},
                                {1, Record(1700000000, 2, "eth!!!", 70)},
                                {127, Record(1700000001, 999999, "r2", 2)}};
  for (const auto& p : in) rec.Add(p.linktype, p.record);
  bool ng = false;
  std::string f = rec.File(&ng);
  EXPECT_TRUE(ng);
  EXPECT_EQ(Le32(f, 8), 0x1a2b3c4du);  // byte-order magic
  // Section header (28) + two interface blocks (20 each) + padded packet blocks.
  EXPECT_EQ(f.size(), 28u + 2 * 20u + (32 + 8) + (32 + 8) + (32 + 4));
  EXPECT_EQ(Le32(f, 28), 1u);
  EXPECT_EQ(Le32(f, 28 + 8), 127u);
  EXPECT_EQ(Le32(f, 48 + 8), 1u);
  bool read_ng = false;
  EXPECT_EQ(ReadFile(f, &read_ng), in);
}

TEST(CaptureRecordingTest, KeepsAtMostTheBoundAndCountsTheRest) {
  RecordingTotals totals;
  CaptureRecording rec(2, 64, {1}, &totals);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(rec.Full(), i >= 2);
    rec.Add(1, Record(1, static_cast<uint32_t>(i), "x", 1));
  }
  rec.Add(1, "");  // the caller saw Full(): counted only
  EXPECT_EQ(rec.delivered(), 6u);
  EXPECT_EQ(rec.dropped(), 4u);
  EXPECT_EQ(totals.recorded.load(), 2u);
  EXPECT_EQ(totals.dropped.load(), 4u);
  bool ng = false;
  EXPECT_EQ(ReadFile(rec.File(&ng), &ng).size(), 2u);
  rec.Release();
  EXPECT_TRUE(rec.released());
  EXPECT_TRUE(rec.Full());
  EXPECT_EQ(rec.File(&ng).size(), 24u);
}

class CloudSimDownloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SimOptions opts;
    opts.token = "tok";
    opts.rate = 2000;
    opts.download_origin = "http://localhost:{port}/";
    sim_ = std::make_unique<CloudSim>(opts);
    ASSERT_TRUE(sim_->Start().ok());
    client_ = std::make_unique<httplib::Client>("127.0.0.1", sim_->port());
    client_->set_default_headers({{"Authorization", "Token tok"}});
    client_->set_read_timeout(5, 0);
    anonymous_ = std::make_unique<httplib::Client>("127.0.0.1", sim_->port());
  }

  // pcap_url of the newest finished capture of the site, as a path on the simulator.
  std::string NewestFilePath(const std::string& site) {
    auto list = ParseJson(client_->Get("/api/v1/sites/" + site + "/pcaps")->body);
    std::string url = list["results"][0]["pcap_url"].GetString();
    std::string origin = "http://localhost:" + std::to_string(sim_->port());
    EXPECT_EQ(url.rfind(origin + "/pcap-files/", 0), 0u) << url;
    return url.substr(origin.size());
  }

  std::unique_ptr<CloudSim> sim_;
  std::unique_ptr<httplib::Client> client_, anonymous_;
};

TEST_F(CloudSimDownloadTest, FileHoldsEachDeliveredPacketOnceAcrossConnections) {
  constexpr size_t kN = 30;
  sim_->SetStreamLimit(kN);
  TestWsClient a, b;
  ASSERT_EQ(a.Connect(sim_->port(), "tok"), 101);
  ASSERT_EQ(b.Connect(sim_->port(), "tok"), 101);
  for (TestWsClient* ws : {&a, &b}) {
    ws->Send(R"({"subscribe":"/sites/)" + std::string(kHq) + R"(/pcaps"})");
  }
  // Every data message of either connection, as (linktype, record) from its pcap_raw.
  std::vector<FilePacket> streamed;
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (streamed.size() < kN && std::chrono::steady_clock::now() < end) {
    for (TestWsClient* ws : {&a, &b}) {
      auto m = ws->Next(std::chrono::milliseconds(20));
      if (!m) continue;
      auto outer = ParseJson(*m);
      if (std::string(outer["event"].GetString()) != "data") continue;
      rapidjson::Document data;
      const auto& d = outer["data"];
      if (d.IsString())
        data.Parse(d.GetString(), d.GetStringLength());
      else
        data.CopyFrom(d, data.GetAllocator());
      std::string raw = Base64Decode(data["pcap_raw"].GetString());
      streamed.push_back({static_cast<int>(Le32(raw, 20)), raw.substr(24)});
    }
  }
  ASSERT_EQ(streamed.size(), kN);
  // A packet counts once the server's write completed, which may trail the client's read.
  std::string status_path = std::string("/api/v1/sites/") + kHq + "/pcaps/capture";
  EXPECT_TRUE(WaitFor(
      [&] { return ParseJson(client_->Get(status_path)->body)["num_packets"].GetUint64() == kN; }));
  ASSERT_EQ(client_->Delete(status_path)->status, 200);

  std::string path = NewestFilePath(kHq);
  EXPECT_TRUE(path.ends_with(".pcapng")) << path;  // radiotap,wired
  auto res = anonymous_->Get(path);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  bool ng = false;
  std::vector<FilePacket> in_file = ReadFile(res->body, &ng);
  EXPECT_TRUE(ng);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/x-pcapng");
  // The two connections interleave; each packet is in the file exactly once.
  std::sort(in_file.begin(), in_file.end());
  std::sort(streamed.begin(), streamed.end());
  EXPECT_EQ(in_file, streamed);
  auto stats = ParseJson(sim_->StatsJson());
  EXPECT_EQ(stats["capture_files"]["packets_recorded"].GetUint64(), kN);
  EXPECT_EQ(stats["capture_files"]["packets_dropped"].GetUint64(), 0u);
  EXPECT_EQ(stats["downloads"]["served"].GetUint64(), 1u);
  EXPECT_EQ(stats["downloads"]["with_authorization"].GetUint64(), 0u);
}

TEST_F(CloudSimDownloadTest, DownloadsNeedNoTokenAndCountTheOnesThatSendIt) {
  std::string path = NewestFilePath(kWarehouse);
  EXPECT_TRUE(path.ends_with(".pcap"));
  auto plain = anonymous_->Get(path);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 200);
  EXPECT_EQ(plain->body.size(), 24u);  // a scenario capture: no packets
  EXPECT_EQ(Le32(plain->body, 20), 127u);
  EXPECT_EQ(client_->Get(path)->status, 200);  // with the Mist token: served, but counted
  EXPECT_EQ(client_->Get("/pcap-files/00000000000000000000000000000000.pcap")->status, 404);
  auto stats = ParseJson(sim_->StatsJson());
  EXPECT_EQ(stats["downloads"]["requests"].GetUint64(), 3u);
  EXPECT_EQ(stats["downloads"]["served"].GetUint64(), 2u);
  EXPECT_EQ(stats["downloads"]["with_authorization"].GetUint64(), 2u);
  EXPECT_EQ(stats["downloads"]["not_found"].GetUint64(), 1u);
  // Downloads are not REST calls: no "other" endpoint was counted.
  ASSERT_TRUE(stats["requests"].IsObject());
  EXPECT_FALSE(stats["requests"].HasMember("other") && stats["requests"]["other"].GetUint64() != 0);
}

TEST_F(CloudSimDownloadTest, FailureControlsAnswer403404OrAPageThatIsNoCapture) {
  std::string path = NewestFilePath(kWarehouse);
  auto set = [&](const char* mode) {
    return client_
        ->Post("/sim/downloads", std::string(R"({"mode":")") + mode + "\"}", "application/json")
        ->status;
  };
  ASSERT_EQ(set("forbidden"), 200);
  EXPECT_EQ(anonymous_->Get(path)->status, 403);
  ASSERT_EQ(set("not_found"), 200);
  EXPECT_EQ(anonymous_->Get(path)->status, 404);
  ASSERT_EQ(set("not_pcap"), 200);
  auto page = anonymous_->Get(path);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html");
  EXPECT_EQ(page->body.rfind("<html>", 0), 0u);
  ASSERT_EQ(set("ok"), 200);
  EXPECT_EQ(anonymous_->Get(path)->status, 200);
  EXPECT_EQ(set("sometimes"), 400);
  EXPECT_EQ(ParseJson(sim_->StatsJson())["downloads"]["injected_failures"].GetUint64(), 3u);
  ASSERT_EQ(
      client_->Post("/sim/downloads", R"({"origin":"http://files.example:9"})", "application/json")
          ->status,
      200);
  auto list = ParseJson(client_->Get(std::string("/api/v1/sites/") + kWarehouse + "/pcaps")->body);
  EXPECT_EQ(std::string(list["results"][0]["pcap_url"].GetString())
                .rfind("http://files.example:9/pcap-files/", 0),
            0u);
}

TEST_F(CloudSimDownloadTest, OnlyTheLastHundredCaptureFilesAreKept) {
  std::string status = std::string("/api/v1/sites/") + kWarehouse + "/pcaps/capture";
  std::string first;
  for (int i = 0; i < 101; ++i) {
    ASSERT_EQ(client_->Post(status, R"({"type":"wired"})", "application/json")->status, 200);
    ASSERT_EQ(client_->Delete(status)->status, 200);
    if (i == 0) first = NewestFilePath(kWarehouse);
  }
  EXPECT_EQ(anonymous_->Get(first)->status, 404);
  EXPECT_EQ(anonymous_->Get(NewestFilePath(kWarehouse))->status, 200);
  auto stats = ParseJson(sim_->StatsJson());
  EXPECT_EQ(stats["capture_files"]["files_kept"].GetUint64(), 100u);
  EXPECT_EQ(stats["capture_files"]["files_evicted"].GetUint64(), 1u);
  EXPECT_EQ(stats["downloads"]["expired"].GetUint64(), 1u);
}

}  // namespace
}  // namespace mpe::sim
