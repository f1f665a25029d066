#include "capture/cli.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fakes/capture_test_util.h"
#include "fakes/mist_fake_server.h"
#include "sim/cloud_sim.h"

namespace mpe::capture {
namespace {

constexpr const char* kSite = "978c48e6-6ef6-11e6-8bbf-02e208b2d34f";
constexpr const char* kOrg = "9e1f3c2a-0000-4000-8000-000000000001";

struct CliRun {
  int code = -1;
  std::string out;
  std::string err;
};

class CapturesCliTest : public ::testing::Test {
 protected:
  void WriteConfig(const std::string& api_url) {
    config_path_ = (dir_.path() / "exporter.yaml").string();
    std::ofstream(config_path_) << "mist:\n  api_url: " << api_url << "\nsites:\n  - id: " << kSite
                                << "\n    name: HQ\n";
  }

  CliRun Run(std::vector<std::string> args) {
    config::CommandLine cl;
    cl.config_file = config_path_;
    cl.subcommand = {"captures"};
    cl.subcommand.insert(cl.subcommand.end(), args.begin(), args.end());
    config::LoadOptions opts;
    opts.env = [this](const std::string& name) -> std::optional<std::string> {
      if (name == "MIST_API_TOKEN") return token_;
      return std::nullopt;
    };
    std::ostringstream out, err;
    CliRun r;
    r.code = RunCapturesCli(cl, opts, out, err);
    r.out = out.str();
    r.err = err.str();
    return r;
  }

  static rapidjson::Document Json(const std::string& text) {
    rapidjson::Document d;
    d.Parse(text.c_str());
    return d;
  }

  fakes::TempDir dir_;
  std::string config_path_;
  std::string token_ = "demo-token";
};

class CapturesCliSimTest : public CapturesCliTest {
 protected:
  void SetUp() override {
    sim::SimOptions opts;
    opts.scenario_yaml = std::string("email: demo@example.com\norgs:\n  - id: ") + kOrg +
                         "\n    name: Demo\nsites:\n  - id: " + kSite +
                         "\n    name: HQ\n"
                         "    org: " +
                         kOrg +
                         "\n    aps: [5c5b350e0001, 5c5b350e0002]\n"
                         "    history:\n"
                         "      - {type: radiotap, started_ago: 1h, duration: 600, "
                         "notes: \"roaming, floor 2\"}\n"
                         "      - {type: wired, started_ago: 3h, duration: 300}\n";
    sim_ = std::make_unique<sim::CloudSim>(opts);
    ASSERT_TRUE(sim_->Start().ok());
    WriteConfig(sim_->base_url());
  }
  void TearDown() override {
    if (sim_) sim_->Stop();
  }
  std::unique_ptr<sim::CloudSim> sim_;
};

TEST_F(CapturesCliSimTest, ListPrintsAnAlignedTableNewestFirst) {
  CliRun r = Run({"list", "--site", "HQ", "--duration", "1d"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto lines = fakes::SplitLines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0].rfind("ID", 0), 0u);
  const size_t type_col = lines[0].find("TYPE");
  const size_t started_col = lines[0].find("STARTED");
  ASSERT_NE(type_col, std::string::npos);
  EXPECT_EQ(lines[1].substr(type_col, 8), "radiotap");
  EXPECT_EQ(lines[2].substr(type_col, 5), "wired");
  EXPECT_EQ(lines[1][started_col + 19], 'Z');  // 2025-11-26T10:00:00Z
  EXPECT_NE(lines[1].find("10m"), std::string::npos);
  EXPECT_NE(lines[0].find("ENDED"), std::string::npos);
  EXPECT_NE(lines[0].find("PCAP_URL"), std::string::npos);
  // Mist's list items carry no notes: the column is gone rather than always empty.
  EXPECT_EQ(lines[0].find("NOTES"), std::string::npos);
  EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST_F(CapturesCliSimTest, ListAsJsonParses) {
  CliRun r = Run({"list", "--site", kSite, "--duration", "1d", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto d = Json(r.out);
  ASSERT_TRUE(d.IsObject()) << r.out;
  EXPECT_STREQ(d["site_id"].GetString(), kSite);
  EXPECT_STREQ(d["site"].GetString(), "HQ");
  ASSERT_EQ(d["captures"].Size(), 2u);
  EXPECT_STREQ(d["captures"][0]["type"].GetString(), "radiotap");
  EXPECT_FALSE(d["captures"][0].HasMember("notes"));
  EXPECT_TRUE(d["captures"][0]["termination_reason"].IsString());
  EXPECT_TRUE(d["captures"][0]["pcap_url"].IsString());
  EXPECT_EQ(d["captures"][0]["duration"].GetDouble(), 600);
}

TEST_F(CapturesCliSimTest, StartStatusAnnotateAndStopRoundTrip) {
  CliRun none = Run({"status", "--site", "HQ"});
  ASSERT_EQ(none.code, 0) << none.err;
  EXPECT_NE(none.out.find("running:"), std::string::npos);
  EXPECT_NE(none.out.find("no"), std::string::npos);

  CliRun start =
      Run({"start", "--site", "HQ", "--type", "radiotap", "--ap-mac", "5c:5b:35:0e:00:01",
           "--duration", "10m", "--max-pkt-len", "256", "--num-packets", "500", "-o", "json"});
  ASSERT_EQ(start.code, 0) << start.err;
  auto started = Json(start.out);
  ASSERT_TRUE(started.IsObject()) << start.out;
  const std::string id = started["id"].GetString();
  EXPECT_FALSE(id.empty());
  EXPECT_EQ(started["duration"].GetDouble(), 600);
  EXPECT_GT(started["started_time"].GetDouble(), 1e9);  // from the reply's timestamp
  EXPECT_EQ(started["expiry"].GetDouble(), started["started_time"].GetDouble() + 600);
  EXPECT_EQ(started["ap_count"].GetInt64(), 1);

  CliRun status = Run({"status", "--site", "HQ"});
  ASSERT_EQ(status.code, 0) << status.err;
  EXPECT_NE(status.out.find("id:            " + id), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("type:          radiotap"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("aps_requested: 1"), std::string::npos) << status.out;

  CliRun annotate = Run({"annotate", "--site", "HQ", "--id", id, "--notes", "lab test"});
  ASSERT_EQ(annotate.code, 0) << annotate.err;
  EXPECT_EQ(annotate.out, "annotated capture " + id + " on site HQ\n");

  CliRun stop = Run({"stop", "--site", "HQ"});
  ASSERT_EQ(stop.code, 0) << stop.err;
  CliRun after = Run({"status", "--site", "HQ", "-o", "json"});
  ASSERT_EQ(after.code, 0) << after.err;
  EXPECT_FALSE(Json(after.out)["running"].GetBool());

  CliRun list = Run({"list", "--site", "HQ", "--duration", "1d", "-o", "json"});
  ASSERT_EQ(list.code, 0) << list.err;
  auto d = Json(list.out);
  bool found = false;
  for (const auto& c : d["captures"].GetArray()) found = found || id == c["id"].GetString();
  EXPECT_TRUE(found) << list.out;
}

TEST_F(CapturesCliSimTest, StopWithoutARunningCaptureIsAnApiError) {
  CliRun r = Run({"stop", "--site", "HQ"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err.rfind("mist_pcap_exporter: stop failed: HTTP 404", 0), 0u) << r.err;
}

class CapturesCliFakeTest : public CapturesCliTest {
 protected:
  void SetUp() override { WriteConfig(server_.base_url()); }
  fakes::MistFakeServer server_;
};

TEST_F(CapturesCliFakeTest, InvalidRequestsExitOneWithoutSendingAnything) {
  const std::vector<std::vector<std::string>> cases = {
      {"start", "--site", "HQ", "--type", "bogus"},
      {"start", "--site", "HQ"},
      {"start", "--site", "HQ", "--type", "radiotap", "--duration", "59"},
      {"start", "--site", "HQ", "--type", "radiotap", "--duration", "86401"},
      {"start", "--site", "HQ", "--type", "radiotap", "--num-packets", "10001"},
      {"start", "--site", "HQ", "--type", "radiotap", "--max-pkt-len", "63"},
      {"start", "--site", "HQ", "--type", "radiotap", "--max-pkt-len", "2049"},
      {"start", "--site", "HQ", "--type", "client"},
      {"start", "--site", "HQ", "--type", "client", "--client-mac", "nope"},
      {"start", "--site", "HQ", "--type", "radiotap", "--ap-mac", "5c5b350e0001,zz"},
      {"start", "--site", "HQ", "--type", "radiotap", "--ap-mac", "zz"},
      {"start", "--site", "HQ", "--type", "radiotap", "--band", "7"},
      {"start", "--site", "HQ", "--type", "radiotap", "--band", "5,6"},
      {"start", "--site", "HQ", "--type", "wireless", "--band", "24,5,6"},
      {"start", "--site", "HQ", "--type", "wired", "--band", "5"},
      {"start", "--site", "HQ", "--type", "wired", "--ssid", "Corp"},
      {"start", "--site", "HQ", "--type", "radiotap", "--includes-mcast"},
      {"start", "--site", "HQ", "--type", "client", "--client-mac", "5c5b350e0001", "--format",
       "stream"},
      {"start", "--site", "HQ", "--type", "scan", "--bandwidth", "30"},
      {"start", "--site", "HQ", "--type", "radiotap", "--wlan-id", "not-a-uuid"},
      {"start", "--site", "HQ", "--type", "gateway"},
      {"start", "--site", "HQ", "--type", "switch"},
      {"download", "--site", "HQ"},
      {"download", "--site", "HQ", "--id", "-"},
      {"start", "--site", "HQ", "--type", "radiotap", "--format", "mp4"},
      {"start", "--site", "Nowhere", "--type", "radiotap"},
      {"start", "--type", "radiotap"},
      {"status", "--site", "HQ", "--bogus"},
      {"status", "--site", "HQ", "-o", "yaml"},
      {"list", "--site", "HQ", "--duration", "soon"},
      {"list", "--site", "HQ", "--duration", "1d", "--start", "5"},
      {"annotate", "--site", "HQ", "--id", "x"},
      {"explode", "--site", "HQ"},
  };
  for (const auto& args : cases) {
    CliRun r = Run(args);
    EXPECT_EQ(r.code, 1) << args[0] << " " << (args.size() > 4 ? args[4] : "");
    EXPECT_EQ(r.err.rfind("mist_pcap_exporter: ", 0), 0u) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  EXPECT_EQ(server_.Total(), 0);
}

TEST_F(CapturesCliFakeTest, BadFieldsNameTheFieldAndWhatIsAllowed) {
  struct Case {
    std::vector<std::string> args;
    std::string err;
  };
  const std::vector<Case> cases = {
      {{"start", "--site", "HQ", "--type", "radiotap", "--ap-mac", "5c5b350e0001", "--ap-mac",
        "5c5b350e0002"},
       "--ap-mac: takes one MAC (Mist captures on one AP, or on every AP of the site when "
       "--ap-mac is left out)"},
      {{"start", "--site", "HQ", "--type", "radiotap", "--ap-mac", "5c5b350e0001,5c5b350e0002"},
       "--ap-mac: takes one MAC (Mist captures on one AP, or on every AP of the site when "
       "--ap-mac is left out)"},
      {{"start", "--site", "HQ", "--type", "radiotap", "--band", "5,6"},
       "--band: \"5,6\" is not allowed for type radiotap (allowed: 24, 24,5,6, 5, 6; 2.4 may be "
       "written for 24)"},
      {{"start", "--site", "HQ", "--type", "wired", "--band", "5"},
       "--band: is not a field of type wired (it takes: ap_mac, duration, num_packets, "
       "max_pkt_len, tcpdump_expression, format)"},
      {{"start", "--site", "HQ", "--type", "new_assoc", "--format", "stream"},
       "--format: is not a field of type new_assoc (it takes: ap_mac, client_mac, ssid, "
       "duration, num_packets, max_pkt_len, includes_mcast)"},
  };
  for (const auto& c : cases) {
    CliRun r = Run(c.args);
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.err, "mist_pcap_exporter: captures start: " + c.err +
                         " (see mist_pcap_exporter captures --help)\n");
  }
  EXPECT_EQ(server_.Total(), 0);
}

TEST_F(CapturesCliFakeTest, StartSendsOneApMacAndAskesForTheStream) {
  const std::string path = std::string("/api/v1/sites/") + kSite + "/pcaps/capture";
  server_.SetJson("POST", path,
                  R"({"id":"c9","org_id":"o","site_id":"s","type":"radiotap",)"
                  R"("timestamp":1700000000.5,"expiry":1700000600.5,"duration":600,)"
                  R"("ap_count":1,"aps":["5c5b350e0001"],"format":"stream"})");
  CliRun r = Run({"start", "--site", "HQ", "--type", "radiotap", "--ap-mac", "5C:5B:35:0E:00:01"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(server_.Total(), 1);
  EXPECT_EQ(server_.Requests()[0].body,
            R"({"type":"radiotap","ap_mac":"5c5b350e0001","format":"stream"})");
  EXPECT_EQ(r.out,
            "started capture c9 on site HQ\n"
            "type:     radiotap\n"
            "format:   stream\n"
            "started:  2023-11-14T22:13:20Z\n"
            "expiry:   2023-11-14T22:23:20Z\n"
            "duration: 10m\n"
            "aps:      1\n");
}

TEST_F(CapturesCliFakeTest, StartBodiesFollowEachTypesSchema) {
  const std::string path = std::string("/api/v1/sites/") + kSite + "/pcaps/capture";
  server_.SetJson("POST", path, R"({"id":"c1","timestamp":1700000000})");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--type", "client", "--client-mac", "a4:b1:c2:d3:e4:f5", "--includes-mcast"},
       R"({"type":"client","client_mac":"a4b1c2d3e4f5","includes_mcast":true})"},
      {{"--type", "wired", "--tcpdump-expression", "udp port 67", "--format", "pcap"},
       R"({"type":"wired","tcpdump_expression":"udp port 67","format":"pcap"})"},
      {{"--type", "wireless", "--band", "2.4", "--ssid", "Corp"},
       R"({"type":"wireless","ssid":"Corp","band":"24","format":"stream"})"},
      {{"--type", "scan", "--band", "6", "--channel", "37", "--bandwidth", "160", "--width", "160"},
       R"({"type":"scan","band":"6","channel":37,"bandwidth":160,"width":"160","format":"stream"})"},
      {{"--type", "radiotap,wired", "--band", "2.4,5,6", "--radiotap-tcpdump-expression", "a",
        "--wired-tcpdump-expression", "b", "--wireless-tcpdump-expression", "c"},
       R"({"type":"radiotap,wired","band":"24,5,6","radiotap_tcpdump_expression":"a",)"
       R"("wired_tcpdump_expression":"b","wireless_tcpdump_expression":"c","format":"stream"})"},
  };
  for (const auto& [flags, body] : cases) {
    std::vector<std::string> args = {"start", "--site", "HQ"};
    args.insert(args.end(), flags.begin(), flags.end());
    CliRun r = Run(args);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(server_.Requests().back().body, body);
  }
}

class CapturesCliDownloadTest : public CapturesCliFakeTest {
 protected:
  void SetList(const std::string& item) {
    server_.SetJson("GET", std::string("/api/v1/sites/") + kSite + "/pcaps",
                    R"({"results":[)" + item + R"(],"start":1,"end":2,"limit":100})");
  }
  static std::string Pcap(int packets) {
    std::string b("\xd4\xc3\xb2\xa1\x02\x00\x04\x00", 8);
    b += std::string(8, '\0');
    b += std::string("\xff\xff\x00\x00\x7f\x00\x00\x00", 8);
    for (int i = 0; i < packets; ++i) {
      b += std::string(8, '\x01');
      b += std::string("\x03\x00\x00\x00\x03\x00\x00\x00", 8);
      b += "abc";
    }
    return b;
  }
  std::string Path(const std::string& name) { return (dir_.path() / name).string(); }
  bool Exists(const std::string& name) { return std::filesystem::exists(dir_.path() / name); }
  size_t FilesInDir() {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_.path())) ++n;
    return n;
  }
};

TEST_F(CapturesCliDownloadTest, WritesTheFileAndCountsPacketsWithoutSendingTheTokenElsewhere) {
  const std::string foreign = "http://localhost:" + std::to_string(server_.port());
  SetList(R"({"id":"c1","type":"radiotap","timestamp":1700000000,"url":"",)"
          R"("pcap_url":")" +
          foreign + R"(/store/c1.pcap?sig=abc"})");
  server_.Set("GET", "/store/c1.pcap", {fakes::MistFakeServer::Reply{200, Pcap(3), {}}});
  CliRun r = Run({"download", "--site", "HQ", "--id", "c1", "--file", Path("out.pcap")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "wrote " + Path("out.pcap") + ": 3 packets, " + std::to_string(Pcap(3).size()) +
                       " bytes (pcap)\n");
  std::ifstream in(Path("out.pcap"), std::ios::binary);
  std::string written((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(written, Pcap(3));
  auto requests = server_.Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].authorization, "Token demo-token");  // the list, on the API origin
  EXPECT_EQ(requests[1].authorization, "");                  // the file, on another origin
  EXPECT_EQ(FilesInDir(), 2u);                               // exporter.yaml and out.pcap
}

TEST_F(CapturesCliDownloadTest, FailuresExitTwoAndLeaveNoFile) {
  struct Case {
    std::string item;
    fakes::MistFakeServer::Reply file;
    std::string err;
  };
  const std::string item =
      R"({"id":"c1","type":"radiotap","timestamp":1700000000,"url":"","pcap_url":"/f/c1"})";
  const std::vector<Case> cases = {
      {R"({"id":"c1","type":"radiotap","timestamp":1700000000,"url":""})",
       {200, Pcap(1), {}},
       "mist_pcap_exporter: download failed: capture c1 has no pcap_url in Mist's list (no file "
       "yet: it may still be running, or Mist kept none)\n"},
      {item,
       {403, R"({"detail":"denied"})", {}},
       "mist_pcap_exporter: download failed: HTTP 403: denied\n"},
      {item,
       {404, R"({"detail":"gone"})", {}},
       "mist_pcap_exporter: download failed: HTTP 404: gone\n"},
      {item,
       {200, "<html>sign in</html>", {}},
       "mist_pcap_exporter: download failed: the file at pcap_url is not a pcap or pcapng file "
       "(it starts with something else, e.g. an error page); nothing written\n"},
      {item,
       {200, Pcap(2).substr(0, Pcap(2).size() - 1), {}},
       "mist_pcap_exporter: download failed: the file at pcap_url is pcap record 2 is cut short "
       "(file truncated); nothing written\n"},
      {R"({"type":"radiotap","timestamp":1700000000,"url":""})",
       {200, Pcap(1), {}},
       "mist_pcap_exporter: download failed: capture c1 is not in the site's capture list for "
       "this window (widen it with --duration or --start/--end)\n"},
  };
  for (const auto& c : cases) {
    SetList(c.item);
    server_.Set("GET", "/f/c1", {c.file});
    CliRun r = Run({"download", "--site", "HQ", "--id", "c1", "--file", Path("c1.pcap")});
    EXPECT_EQ(r.code, 2);
    EXPECT_EQ(r.err, c.err);
    EXPECT_TRUE(r.out.empty());
    EXPECT_FALSE(Exists("c1.pcap"));
    EXPECT_EQ(FilesInDir(), 1u);  // exporter.yaml only: no partial or temporary file
  }
}

TEST_F(CapturesCliFakeTest, MissingTokenIsAUsageError) {
  token_.clear();
  CliRun r = Run({"status", "--site", "HQ"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(server_.Total(), 0);
}

TEST_F(CapturesCliFakeTest, ForbiddenPrintsMistDetailAndExitsTwo) {
  fakes::MistFakeServer::Reply forbidden;
  forbidden.status = 403;
  forbidden.body = R"({"detail":"You do not have permission to perform this action."})";
  server_.Set("POST", std::string("/api/v1/sites/") + kSite + "/pcaps/capture", forbidden);
  CliRun r = Run({"start", "--site", "HQ", "--type", "radiotap"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err,
            "mist_pcap_exporter: start failed: HTTP 403: You do not have permission to perform "
            "this action.\n");
  EXPECT_TRUE(r.out.empty());
  ASSERT_EQ(server_.Total(), 1);
  EXPECT_EQ(server_.Requests()[0].body, R"({"type":"radiotap","format":"stream"})");
  EXPECT_EQ(r.err.find("demo-token"), std::string::npos);
}

TEST_F(CapturesCliFakeTest, ListFollowsPagingAndAcceptsASiteIdOutsideTheConfig) {
  const std::string other = "11111111-2222-3333-4444-555555555555";
  const std::string path = "/api/v1/sites/" + other + "/pcaps";
  server_.SetJson("GET", path,
                  R"({"results":[{"id":"a","type":"wired","format":"pcap","timestamp":1700000000,)"
                  R"("duration":60}],"next":")" +
                      path + R"(?page=2"})");
  server_.SetJson("GET", path,
                  R"({"results":[{"id":"b","type":"radiotap","timestamp":1700003600,)"
                  R"("duration":86400,"termination_reason":"user"}]})",
                  {{"page", "2"}});
  CliRun r = Run({"list", "--site", other, "--start", "1699990000", "--end", "1700010000",
                  "--client-mac", "D4:20:B0:81:99:2E", "--limit", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto lines = fakes::SplitLines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[1].rfind("b  ", 0), 0u) << r.out;
  EXPECT_NE(lines[1].find("2023-11-14T23:13:20Z"), std::string::npos) << r.out;
  EXPECT_NE(lines[1].find("1d"), std::string::npos) << r.out;
  EXPECT_EQ(lines[2].rfind("a  ", 0), 0u) << r.out;
  auto requests = server_.Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].params["start"], "1699990000");
  EXPECT_EQ(requests[0].params["end"], "1700010000");
  EXPECT_EQ(requests[0].params["client_mac"], "d420b081992e");
  EXPECT_EQ(requests[0].params["limit"], "1");
}

TEST_F(CapturesCliFakeTest, HelpPrintsUsage) {
  CliRun r = Run({"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("captures COMMAND"), std::string::npos);
  CliRun sub = Run({"start", "--help"});
  EXPECT_EQ(sub.code, 0);
  EXPECT_NE(sub.out.find("--tcpdump-expression"), std::string::npos);
  CliRun none = Run({});
  EXPECT_EQ(none.code, 1);
  EXPECT_EQ(server_.Total(), 0);
}

}  // namespace
}  // namespace mpe::capture
