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
    std::ofstream(config_path_) << "mist:\n  api_url: " << api_url
                                << "\nsites:\n  - id: " << kSite << "\n    name: HQ\n";
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
                         "\n    name: Demo\nsites:\n  - id: " + kSite + "\n    name: HQ\n"
                         "    org: " + kOrg + "\n    aps: [5c5b350e0001, 5c5b350e0002]\n"
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
  EXPECT_NE(lines[1].find("roaming, floor 2"), std::string::npos);
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
  EXPECT_STREQ(d["captures"][0]["notes"].GetString(), "roaming, floor 2");
  EXPECT_EQ(d["captures"][0]["duration"].GetDouble(), 600);
}

TEST_F(CapturesCliSimTest, StartStatusAnnotateAndStopRoundTrip) {
  CliRun none = Run({"status", "--site", "HQ"});
  ASSERT_EQ(none.code, 0) << none.err;
  EXPECT_NE(none.out.find("running:"), std::string::npos);
  EXPECT_NE(none.out.find("no"), std::string::npos);

  CliRun start = Run({"start", "--site", "HQ", "--type", "radiotap", "--ap-mac",
                      "5c:5b:35:0e:00:01,5c5b350e0002", "--duration", "10m", "--max-pkt-len",
                      "256", "--num-packets", "500", "-o", "json"});
  ASSERT_EQ(start.code, 0) << start.err;
  auto started = Json(start.out);
  ASSERT_TRUE(started.IsObject()) << start.out;
  ASSERT_TRUE(started["running"].GetBool());
  const std::string id = started["id"].GetString();
  EXPECT_FALSE(id.empty());
  EXPECT_EQ(started["duration"].GetDouble(), 600);
  EXPECT_EQ(started["max_pkt_len"].GetInt64(), 256);
  EXPECT_EQ(started["requested_aps"].Size(), 2u);

  CliRun status = Run({"status", "--site", "HQ"});
  ASSERT_EQ(status.code, 0) << status.err;
  EXPECT_NE(status.out.find("id:            " + id), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("type:          radiotap"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("aps_requested: 2"), std::string::npos) << status.out;

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
  for (const auto& c : d["captures"].GetArray()) {
    if (id == c["id"].GetString()) {
      found = true;
      EXPECT_STREQ(c["notes"].GetString(), "lab test");
    }
  }
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
      {"start", "--site", "HQ", "--type", "radiotap", "--band", "7"},
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
  EXPECT_EQ(server_.Requests()[0].body, R"({"type":"radiotap"})");
  EXPECT_EQ(r.err.find("demo-token"), std::string::npos);
}

TEST_F(CapturesCliFakeTest, ListFollowsPagingAndAcceptsASiteIdOutsideTheConfig) {
  const std::string other = "11111111-2222-3333-4444-555555555555";
  const std::string path = "/api/v1/sites/" + other + "/pcaps";
  server_.SetJson("GET", path,
                  R"({"results":[{"id":"a","type":"wired","format":"pcap","timestamp":1700000000,)"
                  R"("duration":60}],"next":")" + path + R"(?page=2"})");
  server_.SetJson("GET", path,
                  R"({"results":[{"id":"b","type":"radiotap","timestamp":1700003600,)"
                  R"("duration":86400,"notes":"n"}]})",
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
