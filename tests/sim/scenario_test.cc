#include "sim/scenario.h"

#include <gtest/gtest.h>

namespace mpe::sim {
namespace {

constexpr char kHq[] = "978c48e6-6ef6-11e6-8bbf-02e208b2d34f";
constexpr char kOrg[] = "9e1f3c2a-0000-4000-8000-000000000001";

TEST(ScenarioTest, DefaultScenarioHoldsTheThreeDemoSites) {
  auto sc = ParseScenario(DefaultScenarioYaml());
  ASSERT_TRUE(sc.ok()) << sc.error().message;
  ASSERT_EQ(sc->orgs.size(), 1u);
  EXPECT_EQ(sc->orgs[0].id, kOrg);
  EXPECT_EQ(sc->orgs[0].name, "Demo Org");
  ASSERT_EQ(sc->sites.size(), 3u);

  const SiteSpec& hq = sc->sites[0];
  EXPECT_EQ(hq.id, kHq);
  EXPECT_EQ(hq.name, "HQ");
  EXPECT_EQ(hq.org_id, kOrg);
  EXPECT_EQ(hq.aps, (std::vector<uint64_t>{0x5c5b350e0001, 0x5c5b350e0002, 0x5c5b350e0003,
                                           0x5c5b350e0004}));
  EXPECT_EQ(hq.failing_aps, (std::vector<uint64_t>{0x5c5b350e0004}));
  ASSERT_TRUE(hq.capture.has_value());
  EXPECT_EQ(hq.capture->type, "radiotap,wired");
  EXPECT_EQ(hq.capture->duration_s, 3600);
  ASSERT_EQ(hq.history.size(), 7u);
  std::set<std::string> types;
  for (const auto& h : hq.history) {
    types.insert(h.type);
    EXPECT_LT(h.started_ago_s, 86400);
  }
  EXPECT_TRUE(types.count("radiotap") && types.count("wired") && types.count("client"));

  const SiteSpec& branch = sc->sites[1];
  EXPECT_EQ(branch.id, "a1b2c3d4-0000-4000-8000-000000000002");
  EXPECT_EQ(branch.name, "Branch-01");
  EXPECT_EQ(branch.aps.size(), 2u);
  ASSERT_TRUE(branch.capture.has_value());
  EXPECT_EQ(branch.capture->type, "radiotap");
  EXPECT_EQ(branch.history.size(), 3u);

  const SiteSpec& warehouse = sc->sites[2];
  EXPECT_EQ(warehouse.id, "a1b2c3d4-0000-4000-8000-000000000003");
  EXPECT_EQ(warehouse.name, "Warehouse");
  EXPECT_EQ(warehouse.aps.size(), 2u);
  EXPECT_FALSE(warehouse.capture.has_value());
  EXPECT_EQ(warehouse.history.size(), 1u);
}

std::string Canonical(const Scenario& sc) {
  std::string out = sc.email + "\n";
  for (const auto& o : sc.orgs) out += o.id + "|" + o.name + "\n";
  for (const auto& s : sc.sites) {
    out += s.id + "|" + s.name + "|" + s.org_id + "|";
    for (auto m : s.aps) out += std::to_string(m) + ",";
    out += "|";
    for (auto m : s.failing_aps) out += std::to_string(m) + ",";
    out += "|" + std::to_string(s.stream.wired_share) + "|" +
           std::to_string(s.stream.lost_messages_every) + "|";
    for (auto b : s.stream.bands) out += BandName(b) + std::string(",");
    for (auto v : s.stream.vlans) out += std::to_string(v) + ",";
    if (s.capture) {
      out += "|cap " + s.capture->type + " " + s.capture->format + " " +
             std::to_string(s.capture->duration_s) + " " + std::to_string(s.capture->max_pkt_len);
    }
    for (const auto& h : s.history) {
      out += "|h " + h.type + " " + std::to_string(h.started_ago_s) + " " +
             std::to_string(h.duration_s) + " " + h.notes;
    }
    out += "\n";
  }
  return out;
}

TEST(ScenarioTest, ConfigFileEqualsTheBuiltInDefault) {
  auto file = LoadScenarioFile(std::string(MPE_SOURCE_DIR) + "/config/sim_scenario.yaml");
  ASSERT_TRUE(file.ok()) << file.error().message;
  auto builtin = ParseScenario(DefaultScenarioYaml());
  ASSERT_TRUE(builtin.ok());
  EXPECT_EQ(Canonical(*file), Canonical(*builtin));
}

TEST(ScenarioTest, UnknownKeyIsAnErrorThatNamesIt) {
  auto sc = ParseScenario("orgs: [{id: o1}]\nsites:\n  - {id: s1, org: o1, colour: blue}\n");
  ASSERT_FALSE(sc.ok());
  EXPECT_NE(sc.error().message.find("sites[0].colour"), std::string::npos) << sc.error().message;
}

TEST(ScenarioTest, SiteOfUndeclaredOrgIsAnError) {
  auto sc = ParseScenario("orgs: [{id: o1}]\nsites: [{id: s1, org: o2}]\n");
  ASSERT_FALSE(sc.ok());
  EXPECT_NE(sc.error().message.find("unknown org"), std::string::npos);
}

TEST(ScenarioTest, DurationsAcceptSecondsAndUnits) {
  auto sc = ParseScenario(
      "orgs: [{id: o1}]\n"
      "sites:\n"
      "  - id: s1\n"
      "    org: o1\n"
      "    capture: {duration: 1.5}\n"
      "    history: [{started_ago: 2h, duration: 90}, {started_ago: 1d30m, duration: 5m}]\n");
  ASSERT_TRUE(sc.ok()) << sc.error().message;
  EXPECT_EQ(sc->sites[0].capture->duration_s, 1.5);
  EXPECT_EQ(sc->sites[0].history[0].started_ago_s, 7200);
  EXPECT_EQ(sc->sites[0].history[0].duration_s, 90);
  EXPECT_EQ(sc->sites[0].history[1].started_ago_s, 88200);
  EXPECT_EQ(sc->sites[0].history[1].duration_s, 300);
}

TEST(ScenarioTest, IdleStatusAndHistoryItemsWithoutIdOrWithAReason) {
  auto sc = ParseScenario(
      "idle_status: empty\n"
      "orgs: [{id: o1}]\n"
      "sites:\n"
      "  - id: s1\n"
      "    org: o1\n"
      "    history: [{id: false, termination_reason: user}, {}]\n");
  ASSERT_TRUE(sc.ok()) << sc.error().message;
  EXPECT_TRUE(sc->idle_status_empty);
  EXPECT_FALSE(sc->sites[0].history[0].listed_with_id);
  EXPECT_EQ(sc->sites[0].history[0].termination_reason, "user");
  EXPECT_TRUE(sc->sites[0].history[1].listed_with_id);
  EXPECT_EQ(sc->sites[0].history[1].termination_reason, "default");
  EXPECT_FALSE(ParseScenario("")->idle_status_empty);
  auto bad = ParseScenario("idle_status: '{}'\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "scenario: idle_status: expected not_found or empty, got '{}'");
  auto bad_id = ParseScenario("orgs: [{id: o1}]\nsites: [{id: s1, org: o1, history: [{id: x}]}]\n");
  ASSERT_FALSE(bad_id.ok());
  EXPECT_NE(bad_id.error().message.find("sites[0].history[0].id"), std::string::npos)
      << bad_id.error().message;
}

TEST(ScenarioTest, BadMacAndBandAreErrors) {
  EXPECT_FALSE(ParseScenario("orgs: [{id: o1}]\nsites: [{id: s1, org: o1, aps: [zz]}]\n").ok());
  EXPECT_FALSE(
      ParseScenario("orgs: [{id: o1}]\nsites: [{id: s1, org: o1, stream: {bands: [\"7\"]}}]\n")
          .ok());
}

TEST(ScenarioTest, GeneratedSitesFollowTheBenchHelpersNaming) {
  auto sc = ParseScenario(
      "orgs: [{id: o1}]\n"
      "sites: [{id: s0, org: o1}]\n"
      "generate_sites: {count: 2000, org: o1, aps_per_site: 3, stream: {bands: [\"5\"]}}\n");
  ASSERT_TRUE(sc.ok()) << sc.error().message;
  ASSERT_EQ(sc->sites.size(), 2001u);
  EXPECT_EQ(sc->sites[0].id, "s0");
  const SiteSpec& last = sc->sites[2000];
  EXPECT_EQ(last.id, "5be1e000-0000-4000-8000-000000001999");
  EXPECT_EQ(last.name, "site-1999");
  EXPECT_EQ(last.org_id, "o1");
  EXPECT_EQ(last.aps,
            (std::vector<uint64_t>{0x5c5b35000000 + 1999 * 4096, 0x5c5b35000000 + 1999 * 4096 + 1,
                                   0x5c5b35000000 + 1999 * 4096 + 2}));
  EXPECT_EQ(last.stream.bands, (std::vector<Band>{Band::k5}));
  EXPECT_FALSE(last.capture.has_value());
  EXPECT_EQ(sc->sites[1].id, "5be1e000-0000-4000-8000-000000000000");
  EXPECT_EQ(sc->sites[1].aps.size(), 3u);
  auto unknown = ParseScenario("orgs: [{id: o1}]\ngenerate_sites: {count: 2, org: o2}\n");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().message, "scenario: generate_sites.org: unknown org 'o2'");
}

TEST(ScenarioTest, ChurnKeysAndTheirChecks) {
  auto sc = ParseScenario(
      "churn: {start_every: 1m, duration: 10m, type: \"radiotap,wired\", fail_ap_every: 180,"
      " max_running: 12}\n");
  ASSERT_TRUE(sc.ok()) << sc.error().message;
  ASSERT_TRUE(sc->churn.has_value());
  EXPECT_EQ(sc->churn->start_every_s, 60);
  EXPECT_EQ(sc->churn->duration_s, 600);
  EXPECT_EQ(sc->churn->type, "radiotap,wired");
  EXPECT_EQ(sc->churn->fail_ap_every_s, 180);
  EXPECT_EQ(sc->churn->max_running, 12);
  auto defaults = ParseScenario("churn: {}\n");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->churn->start_every_s, 60);
  EXPECT_EQ(defaults->churn->duration_s, 600);
  EXPECT_EQ(defaults->churn->type, "radiotap");
  EXPECT_EQ(defaults->churn->fail_ap_every_s, 0);
  EXPECT_EQ(defaults->churn->max_running, 0);
  EXPECT_FALSE(ParseScenario("")->churn.has_value());
  auto client = ParseScenario("churn: {type: client}\n");
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.error().message.rfind("scenario: churn.type: client_mac: required", 0), 0u)
      << client.error().message;
  EXPECT_FALSE(ParseScenario("churn: {start_every: 0}\n").ok());
  EXPECT_FALSE(ParseScenario("churn: {duration: 0.5}\n").ok());
  EXPECT_FALSE(ParseScenario("churn: {max_running: -1}\n").ok());
  auto unknown = ParseScenario("churn: {every: 5}\n");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().message, "scenario: churn.every: unknown key");
}

TEST(ScenarioTest, ApsMayCarryInventoryNamesAndModels) {
  auto sc = ParseScenario(
      "inventory: {model: AP45, unnamed_every: 0}\n"
      "orgs: [{id: o1}]\n"
      "sites: [{id: s1, org: o1, aps: [5c5b350e0001, {mac: 5c5b350e0002, name: hall,"
      " model: AP32}]}]\n");
  ASSERT_TRUE(sc.ok()) << sc.error().message;
  EXPECT_EQ(sc->inventory.model, "AP45");
  EXPECT_EQ(sc->inventory.unnamed_every, 0);
  EXPECT_EQ(sc->sites[0].aps, (std::vector<uint64_t>{0x5c5b350e0001, 0x5c5b350e0002}));
  ASSERT_EQ(sc->sites[0].ap_details.size(), 1u);
  EXPECT_EQ(sc->sites[0].ap_details.at(0x5c5b350e0002).name, "hall");
  EXPECT_EQ(sc->sites[0].ap_details.at(0x5c5b350e0002).model, "AP32");
  auto bad = ParseScenario("orgs: [{id: o1}]\nsites: [{id: s1, org: o1, aps: [{name: x}]}]\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "scenario: sites[0].aps[0].mac: missing");
  EXPECT_EQ(ParseScenario("")->inventory.unnamed_every, 7);
}

}  // namespace
}  // namespace mpe::sim
