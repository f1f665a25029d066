// Mist's own examples, from the official OpenAPI description and the SDK page in
// third_party/mist-api/ (a reference we did not write), fed to our parsers and capture rules.
// A missing description fails these tests: they never skip.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "capture/capture_request.h"
#include "config/config_loader.h"
#include "mist/models.h"

namespace mpe::mist {
namespace {

using Strings = std::vector<std::string>;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string ToJson(const rapidjson::Value& v) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  v.Accept(w);
  return sb.GetString();
}

class OpenApiExamplesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string path = std::string(MPE_MIST_API_DIR) + "/mist-pcaps.openapi.json";
    const std::string text = ReadFile(path);
    ASSERT_FALSE(text.empty()) << "Mist's OpenAPI description is missing: " << path
                               << " (vendored in third_party/mist-api/)";
    spec_.Parse(text.c_str());
    ASSERT_FALSE(spec_.HasParseError()) << path;
  }
  // components.examples.<name>.value as JSON text.
  std::string Example(const char* name) {
    const auto& examples = spec_["components"]["examples"];
    EXPECT_TRUE(examples.HasMember(name)) << name;
    if (!examples.HasMember(name)) return "";
    return ToJson(examples[name]["value"]);
  }
  rapidjson::Document spec_;
};

TEST_F(OpenApiExamplesTest, PcapStatusExample) {
  auto s = ParseCaptureStatus(Example("PcapStatusExample"));
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_TRUE(s->running);
  EXPECT_EQ(s->id, "a9a84e13-a714-b1eb-152f-a434416217d5");
  EXPECT_EQ(s->type, "client");
  EXPECT_EQ(s->started_time, 1435080709);
  EXPECT_EQ(s->duration, 300);
  EXPECT_EQ(s->expiry, 1435080709 + 300);
  EXPECT_EQ(s->max_pkt_len, 128);
  ASSERT_TRUE(s->num_packets.has_value());
  EXPECT_EQ(*s->num_packets, 1000);
  EXPECT_EQ(s->max_num_packets, 0);  // the example gives no limit
  EXPECT_EQ(s->requested_aps, (Strings{"5c5b350e001b", "5c5b350e001c"}));
  EXPECT_EQ(s->ok_aps, (Strings{"5c5b350e001b", "5c5b350e001c"}));
  EXPECT_TRUE(s->failed_aps.empty());
}

TEST_F(OpenApiExamplesTest, PcapStartExample) {
  auto c = ParseCaptureStarted(Example("PcapStartExample"));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->id, "a9a84e13-a714-b1eb-152f-a434416217d5");
  EXPECT_EQ(c->type, "radiotap");
  EXPECT_EQ(c->format, "stream");
  EXPECT_DOUBLE_EQ(c->timestamp, 1614886126.5411825);
  EXPECT_DOUBLE_EQ(c->expiry, 1614886726.5411825);
  EXPECT_EQ(c->duration, 600);
  EXPECT_EQ(c->ap_count, 3);
  EXPECT_TRUE(c->aps.empty());
  ASSERT_TRUE(c->include_mcast.has_value());
  EXPECT_FALSE(*c->include_mcast);
}

TEST_F(OpenApiExamplesTest, PcapsSearchExample) {
  auto p = ParseCaptureListPage(Example("PcapsSearchExample"));
  ASSERT_TRUE(p.ok()) << p.error().message;
  ASSERT_EQ(p->results.size(), 1u);
  const CaptureSummary& c = p->results[0];
  EXPECT_EQ(c.id, "");  // optional in the schema, absent here
  EXPECT_EQ(c.type, "new_assoc");
  EXPECT_EQ(c.timestamp, 1461869041);
  EXPECT_EQ(c.url, "https://...");
  EXPECT_EQ(c.ap_macs, (Strings{"5c5b35000010"}));
  EXPECT_EQ(p->next,
            "/api/v1/sites/67970e46-4e12-11e6-9188-0242ac110007/pcaps?start=1461099816&"
            "search_after=%5B1694537121217%5D&limit=100&end=1461089816");
}

TEST_F(OpenApiExamplesTest, ApiUsageErrorSelfAndSitesExamples) {
  auto u = ParseApiUsage(Example("ApiUsageExample"));
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(u->requests, 5);
  EXPECT_EQ(u->request_limit, 5000);
  EXPECT_EQ(ParseErrorDetail(Example("HTTP400Example")),
            "JSON parse error - Expecting value: line 5 column 8 (char 56)");
  auto self = ParseSelf(Example("AdminExample"));
  ASSERT_TRUE(self.ok());
  EXPECT_EQ(self->email, "user@example.com");
  ASSERT_EQ(self->privileges.size(), 1u);
  EXPECT_EQ(self->privileges[0].org_id, "b069b358-4c97-5319-1f8c-7c5ca64d6ab1");
  EXPECT_EQ(self->privileges[0].role, "admin");
  auto sites = ParseSites(Example("SitesArrayExample"));
  ASSERT_TRUE(sites.ok());
  ASSERT_EQ(sites->size(), 1u);
  EXPECT_EQ((*sites)[0].id, "497f6eca-6276-5007-bfeb-53cbbbba6f19");
  EXPECT_EQ((*sites)[0].name, "Mist Office");
  EXPECT_EQ((*sites)[0].org_id, "a40f5d1f-d889-42e9-94ea-b9b33585fc6b");
}

TEST_F(OpenApiExamplesTest, OrgInventoryExample) {
  auto aps = ParseInventory(Example("OrgInventoryExample"));
  ASSERT_TRUE(aps.ok()) << aps.error().message;
  ASSERT_EQ(aps->size(), 1u);
  EXPECT_EQ((*aps)[0].mac, "5c5b35000018");
  EXPECT_EQ((*aps)[0].name, "hallway");
  EXPECT_EQ((*aps)[0].model, "AP41");
  EXPECT_EQ((*aps)[0].site_id, "4ac1dcf4-9d8b-7211-65c4-057819f0862b");
  // `name` is "Device name if configured", `type` defaults to ap: both may be missing; other
  // device types and items without a MAC are skipped.
  auto mixed = ParseInventory(R"([{"mac": "5C:5B:35:00:00:19", "model": "AP43"},
    {"mac": "5c5b3500001a", "type": "switch", "name": "sw"}, {"name": "no mac"}, 7])");
  ASSERT_TRUE(mixed.ok());
  ASSERT_EQ(mixed->size(), 1u);
  EXPECT_EQ((*mixed)[0].mac, "5c5b35000019");
  EXPECT_EQ((*mixed)[0].name, "");
  EXPECT_FALSE(ParseInventory(R"({"results": []})").ok());
}

// Each start-body example of POST /sites/{id}/pcaps/capture, as a managed capture: the config
// loader accepts it (or refuses it for a documented reason) and the body we would send
// carries the same fields, plus format "stream" where the type has a format.
TEST_F(OpenApiExamplesTest, StartBodyExamplesPassOurRulesAndComeBackUnchanged) {
  const auto& examples = spec_["paths"]["/api/v1/sites/{site_id}/pcaps/capture"]["post"]
                              ["requestBody"]["content"]["application/json"]["examples"];
  ASSERT_TRUE(examples.IsObject());
  // Refused on purpose (docs/mist-api-conformance.md): gateway and switch need port maps; the
  // radiotap,wired example sends includes_mcast, which capture_radiotapwired does not have, and
  // "string" as ap_mac, which is no MAC.
  const std::map<std::string, std::string> refused = {
      {"SSR-Packet-Capture", "type gateway is not supported"},
      {"Switch-Packet-Capture", "type switch is not supported"},
      {"AP-Radiotap-Packet-Capture-and-Wired-Packet-Capture", "ap_mac: invalid MAC address"},
  };
  int accepted = 0;
  for (const auto& ex : examples.GetObject()) {
    const std::string name = ex.name.GetString();
    const rapidjson::Value& body = ex.value["value"];
    // JSON is YAML: the example, plus the site, becomes one captures entry.
    const std::string fields = ToJson(body);
    const std::string yaml = "sites: [{id: s1}]\ncaptures: [" +
                             fields.substr(0, fields.size() - 1) + ", \"site\": \"s1\"}]\n";
    config::CommandLine cl;
    config::LoadOptions opts;
    opts.env = [](const std::string&) -> std::optional<std::string> { return "t"; };
    auto cfg = config::LoadConfigString(yaml, "example.yaml", cl, opts);
    if (auto it = refused.find(name); it != refused.end()) {
      ASSERT_FALSE(cfg.ok()) << name;
      EXPECT_NE(cfg.error().message.find(it->second), std::string::npos)
          << name << ": " << cfg.error().message;
      continue;
    }
    ASSERT_TRUE(cfg.ok()) << name << ": " << cfg.error().message;
    ++accepted;
    rapidjson::Document sent;
    sent.Parse(capture::CaptureRequestJson(cfg->captures.at(0)).c_str());
    rapidjson::Document want;
    want.CopyFrom(body, want.GetAllocator());
    want.RemoveMember("ap_mac");  // null in the examples: every AP, which we send by omission
    const std::string type = want["type"].GetString();
    if (type != "client" && type != "new_assoc" && !want.HasMember("format")) {
      want.AddMember("format", "stream", want.GetAllocator());
    }
    EXPECT_EQ(sent, want) << name << "\nsent: " << ToJson(sent) << "\nwant: " << ToJson(want);
  }
  EXPECT_EQ(accepted, 6);
}

// The SDK page's JSON examples (those that are valid JSON) give the same values.
TEST_F(OpenApiExamplesTest, SdkPageExamples) {
  const std::string doc = ReadFile(std::string(MPE_MIST_API_DIR) + "/sites-pcaps-sdk-doc.md");
  ASSERT_FALSE(doc.empty());
  int status = 0, started = 0, pages = 0;
  for (size_t at = doc.find("```json"); at != std::string::npos; at = doc.find("```json", at)) {
    const size_t begin = at + 7;
    const size_t end = doc.find("```", begin);
    ASSERT_NE(end, std::string::npos);
    const std::string block = doc.substr(begin, end - begin);
    at = end + 3;
    rapidjson::Document d;
    d.Parse(block.c_str());
    if (d.HasParseError() || !d.IsObject()) continue;  // the stream examples are not JSON
    if (d.HasMember("started_time")) {
      auto s = ParseCaptureStatus(block);
      ASSERT_TRUE(s.ok());
      EXPECT_EQ(s->type, "client");
      EXPECT_EQ(s->requested_aps, (Strings{"5c5b350e001b", "5c5b350e001c"}));
      EXPECT_TRUE(s->failed_aps.empty());
      EXPECT_EQ(*s->num_packets, 1000);
      ++status;
    } else if (d.HasMember("ap_count")) {
      auto c = ParseCaptureStarted(block);
      ASSERT_TRUE(c.ok());
      EXPECT_EQ(c->ap_count, 3);
      EXPECT_DOUBLE_EQ(c->timestamp, 1614886126.5411825);
      ++started;
    } else if (d.HasMember("results")) {
      auto p = ParseCaptureListPage(block);
      ASSERT_TRUE(p.ok());
      ASSERT_EQ(p->results.size(), 1u);
      EXPECT_EQ(p->results[0].type, "new_assoc");
      EXPECT_EQ(p->results[0].ap_macs, (Strings{"5c5b35000010"}));
      ++pages;
    }
  }
  EXPECT_EQ(status, 1);
  EXPECT_EQ(started, 1);
  EXPECT_EQ(pages, 1);
}

}  // namespace
}  // namespace mpe::mist
