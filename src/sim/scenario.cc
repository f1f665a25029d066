#include "sim/scenario.h"

#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "common/mac.h"
#include "common/units.h"
#include "sim/capture_request.h"

namespace mpe::sim {

namespace {

// Keep in sync with config/sim_scenario.yaml (a test compares both).
constexpr std::string_view kDefaultScenario = R"yaml(
email: demo@example.com
orgs:
  - id: 9e1f3c2a-0000-4000-8000-000000000001
    name: Demo Org
sites:
  - id: 978c48e6-6ef6-11e6-8bbf-02e208b2d34f
    name: HQ
    org: 9e1f3c2a-0000-4000-8000-000000000001
    aps: [5c5b350e0001, 5c5b350e0002, 5c5b350e0003, 5c5b350e0004]
    failing_aps: [5c5b350e0004]
    stream:
      wired_share: 0.3
      bands: ["2.4", "5", "6"]
      vlans: [1, 10, 20, 0]
      lost_messages_every: 0
      connectivity: true
    capture:
      type: radiotap,wired
      format: stream
      duration: 3600
      max_pkt_len: 128
    history:
      - {type: radiotap, started_ago: 1h, duration: 600, notes: "roaming complaints, floor 2"}
      - {type: wired, started_ago: 3h, duration: 300}
      - {type: client, started_ago: 5h, duration: 900, notes: "laptop of J. Doe"}
      - {type: radiotap, started_ago: 8h, duration: 600}
      - {type: "radiotap,wired", started_ago: 12h, duration: 1200}
      - {type: wired, started_ago: 18h, duration: 300, notes: "DHCP check"}
      - {type: client, started_ago: 23h, duration: 600}
  - id: a1b2c3d4-0000-4000-8000-000000000002
    name: Branch-01
    org: 9e1f3c2a-0000-4000-8000-000000000001
    aps: [5c5b350e0101, 5c5b350e0102]
    stream:
      bands: ["2.4", "5"]
      lost_messages_every: 500
      connectivity: true
    capture:
      type: radiotap
      format: stream
      duration: 3600
      max_pkt_len: 512
    history:
      - {type: radiotap, started_ago: 2h, duration: 600}
      - {type: radiotap, started_ago: 9h, duration: 600, notes: "weekly check"}
      - {type: wired, started_ago: 20h, duration: 300}
  - id: a1b2c3d4-0000-4000-8000-000000000003
    name: Warehouse
    org: 9e1f3c2a-0000-4000-8000-000000000001
    aps: [5c5b350e0201, 5c5b350e0202]
    stream:
      bands: ["2.4", "5"]
      vlans: [30]
    history:
      - {type: radiotap, started_ago: 6h, duration: 600}
)yaml";

// Thrown inside the parser only; converted to common::Error at the edge.
struct ScenarioError {
  std::string message;
};

[[noreturn]] void Fail(const std::string& where, const std::string& what) {
  throw ScenarioError{where + ": " + what};
}

void CheckKeys(const YAML::Node& node, const std::string& where,
               std::initializer_list<const char*> allowed) {
  if (!node.IsMap()) Fail(where, "expected a mapping");
  for (const auto& kv : node) {
    std::string key = kv.first.as<std::string>();
    bool ok = false;
    for (const char* a : allowed) ok = ok || key == a;
    if (!ok) Fail(where + "." + key, "unknown key");
  }
}

std::string Str(const YAML::Node& node, const std::string& where) {
  if (!node.IsScalar()) Fail(where, "expected a string");
  return node.as<std::string>();
}

double Seconds(const YAML::Node& node, const std::string& where) {
  if (!node.IsScalar()) Fail(where, "expected a duration");
  std::string text = node.as<std::string>();
  try {
    size_t used = 0;
    double v = std::stod(text, &used);
    if (used == text.size()) {
      if (v < 0) Fail(where, "negative duration");
      return v;
    }
  } catch (const std::logic_error&) {
  }
  auto d = common::ParseDuration(text);
  if (!d) Fail(where, "bad duration '" + text + "'");
  return static_cast<double>(d->count()) / 1000.0;
}

int Int(const YAML::Node& node, const std::string& where) {
  try {
    return node.as<int>();
  } catch (const YAML::Exception&) {
    Fail(where, "expected an integer");
  }
}

uint64_t Mac(const YAML::Node& node, const std::string& where) {
  auto mac = common::ParseMac(Str(node, where));
  if (!mac) Fail(where, "bad MAC '" + node.as<std::string>() + "'");
  return *mac;
}

std::vector<uint64_t> Macs(const YAML::Node& node, const std::string& where) {
  if (!node.IsSequence()) Fail(where, "expected a list of MACs");
  std::vector<uint64_t> out;
  for (size_t i = 0; i < node.size(); ++i) {
    out.push_back(Mac(node[i], where + "[" + std::to_string(i) + "]"));
  }
  return out;
}

// A site's `aps`: MACs, or {mac, name, model} mappings for the org inventory.
void ParseAps(const YAML::Node& node, const std::string& where, SiteSpec* site) {
  if (!node.IsSequence()) Fail(where, "expected a list of MACs");
  for (size_t i = 0; i < node.size(); ++i) {
    std::string at = where + "[" + std::to_string(i) + "]";
    if (!node[i].IsMap()) {
      site->aps.push_back(Mac(node[i], at));
      continue;
    }
    CheckKeys(node[i], at, {"mac", "name", "model"});
    if (!node[i]["mac"]) Fail(at + ".mac", "missing");
    uint64_t mac = Mac(node[i]["mac"], at + ".mac");
    site->aps.push_back(mac);
    ApDetails& d = site->ap_details[mac];
    if (node[i]["name"]) d.name = Str(node[i]["name"], at + ".name");
    if (node[i]["model"]) d.model = Str(node[i]["model"], at + ".model");
  }
}

ChurnSpec ParseChurn(const YAML::Node& node, const std::string& where) {
  CheckKeys(node, where, {"start_every", "duration", "type", "fail_ap_every", "max_running"});
  ChurnSpec c;
  if (node["start_every"]) c.start_every_s = Seconds(node["start_every"], where + ".start_every");
  if (c.start_every_s <= 0) Fail(where + ".start_every", "must be positive");
  if (node["duration"]) c.duration_s = Seconds(node["duration"], where + ".duration");
  // At least a second: churn captures start on whole seconds like REST ones, so a shorter
  // one could end before the moment it started.
  if (c.duration_s < 1) Fail(where + ".duration", "must be at least 1s");
  if (node["type"]) c.type = Str(node["type"], where + ".type");
  // Churn captures start like a REST start of this type with format stream: a type that such
  // a body cannot carry (client needs client_mac, gateway its gateways) is refused here.
  auto req = ParseCaptureRequest("{\"type\":\"" + c.type + "\",\"format\":\"stream\"}");
  if (!req.ok()) Fail(where + ".type", req.error().message);
  if (node["fail_ap_every"]) {
    c.fail_ap_every_s = Seconds(node["fail_ap_every"], where + ".fail_ap_every");
  }
  if (node["max_running"]) c.max_running = Int(node["max_running"], where + ".max_running");
  if (c.max_running < 0) Fail(where + ".max_running", "negative");
  return c;
}

InventorySpec ParseInventory(const YAML::Node& node, const std::string& where) {
  CheckKeys(node, where, {"model", "unnamed_every"});
  InventorySpec inv;
  if (node["model"]) inv.model = Str(node["model"], where + ".model");
  if (node["unnamed_every"]) {
    inv.unnamed_every = Int(node["unnamed_every"], where + ".unnamed_every");
  }
  if (inv.unnamed_every < 0) Fail(where + ".unnamed_every", "negative");
  return inv;
}

StreamSettings ParseStream(const YAML::Node& node, const std::string& where) {
  CheckKeys(node, where,
            {"wired_share", "bands", "vlans", "lost_messages_every", "connectivity",
             "connectivity_share", "retry_share"});
  StreamSettings s;
  auto share = [&](const char* key, double* out) {
    if (!node[key]) return;
    try {
      *out = node[key].as<double>();
    } catch (const YAML::Exception&) {
      Fail(where + "." + key, "expected a number");
    }
    if (*out < 0 || *out > 1) Fail(where + "." + key, "not in 0..1");
  };
  share("wired_share", &s.wired_share);
  share("connectivity_share", &s.connectivity_share);
  share("retry_share", &s.retry_share);
  if (node["connectivity"]) {
    try {
      s.connectivity = node["connectivity"].as<bool>();
    } catch (const YAML::Exception&) {
      Fail(where + ".connectivity", "expected true or false");
    }
  }
  if (node["bands"]) {
    s.bands.clear();
    const YAML::Node& bands = node["bands"];
    if (!bands.IsSequence()) Fail(where + ".bands", "expected a list");
    for (const auto& b : bands) {
      std::string name = Str(b, where + ".bands");
      if (name == "2.4")
        s.bands.push_back(Band::k24);
      else if (name == "5")
        s.bands.push_back(Band::k5);
      else if (name == "6")
        s.bands.push_back(Band::k6);
      else
        Fail(where + ".bands", "unknown band '" + name + "' (2.4, 5 or 6)");
    }
  }
  if (node["vlans"]) {
    s.vlans.clear();
    const YAML::Node& vlans = node["vlans"];
    if (!vlans.IsSequence()) Fail(where + ".vlans", "expected a list");
    for (const auto& v : vlans) {
      int vlan = Int(v, where + ".vlans");
      if (vlan < 0 || vlan > 4094) Fail(where + ".vlans", "VLAN out of range 0..4094");
      s.vlans.push_back(vlan);
    }
    if (s.vlans.empty()) s.vlans.push_back(0);
  }
  if (node["lost_messages_every"]) {
    s.lost_messages_every = Int(node["lost_messages_every"], where + ".lost_messages_every");
    if (s.lost_messages_every < 0) Fail(where + ".lost_messages_every", "negative");
  }
  return s;
}

RunningCaptureSpec ParseRunning(const YAML::Node& node, const std::string& where) {
  CheckKeys(node, where,
            {"type", "format", "duration", "started_ago", "num_packets", "max_pkt_len", "aps",
             "failed_aps"});
  RunningCaptureSpec c;
  if (node["type"]) c.type = Str(node["type"], where + ".type");
  if (node["format"]) c.format = Str(node["format"], where + ".format");
  if (node["duration"]) c.duration_s = Seconds(node["duration"], where + ".duration");
  if (node["started_ago"]) c.started_ago_s = Seconds(node["started_ago"], where + ".started_ago");
  if (node["num_packets"]) c.num_packets = Int(node["num_packets"], where + ".num_packets");
  if (node["max_pkt_len"]) c.max_pkt_len = Int(node["max_pkt_len"], where + ".max_pkt_len");
  if (c.max_pkt_len <= 0) Fail(where + ".max_pkt_len", "must be positive");
  if (node["aps"]) c.aps = Macs(node["aps"], where + ".aps");
  if (node["failed_aps"]) c.failed_aps = Macs(node["failed_aps"], where + ".failed_aps");
  return c;
}

HistoryCaptureSpec ParseHistory(const YAML::Node& node, const std::string& where) {
  CheckKeys(node, where,
            {"type", "format", "duration", "started_ago", "notes", "id", "termination_reason"});
  HistoryCaptureSpec h;
  if (node["id"]) {
    // Only `id: false` is meaningful: the list item then has no "id" (Mist's schema allows it).
    bool listed = true;
    try {
      listed = node["id"].as<bool>();
    } catch (const YAML::Exception&) {
      Fail(where + ".id", "expected false (no id in the list item) or true");
    }
    h.listed_with_id = listed;
  }
  if (node["termination_reason"]) {
    h.termination_reason = Str(node["termination_reason"], where + ".termination_reason");
  }
  if (node["type"]) h.type = Str(node["type"], where + ".type");
  if (node["format"]) h.format = Str(node["format"], where + ".format");
  if (node["duration"]) h.duration_s = Seconds(node["duration"], where + ".duration");
  if (node["started_ago"]) h.started_ago_s = Seconds(node["started_ago"], where + ".started_ago");
  if (node["notes"]) h.notes = Str(node["notes"], where + ".notes");
  return h;
}

std::vector<OrgSpec> ParseOrgs(const YAML::Node& orgs, std::set<std::string>* org_ids) {
  if (!orgs.IsSequence()) Fail("orgs", "expected a list");
  std::vector<OrgSpec> out;
  for (size_t i = 0; i < orgs.size(); ++i) {
    std::string where = "orgs[" + std::to_string(i) + "]";
    CheckKeys(orgs[i], where, {"id", "name"});
    OrgSpec org;
    if (!orgs[i]["id"]) Fail(where + ".id", "missing");
    org.id = Str(orgs[i]["id"], where + ".id");
    if (orgs[i]["name"]) org.name = Str(orgs[i]["name"], where + ".name");
    if (!org_ids->insert(org.id).second) Fail(where + ".id", "duplicate org id");
    out.push_back(org);
  }
  return out;
}

SiteSpec ParseSite(const YAML::Node& n, const std::string& where,
                   const std::set<std::string>& org_ids, std::set<std::string>* site_ids) {
  CheckKeys(n, where, {"id", "name", "org", "aps", "failing_aps", "stream", "capture", "history"});
  SiteSpec s;
  if (!n["id"]) Fail(where + ".id", "missing");
  s.id = Str(n["id"], where + ".id");
  if (!site_ids->insert(s.id).second) Fail(where + ".id", "duplicate site id");
  if (n["name"]) s.name = Str(n["name"], where + ".name");
  if (!n["org"]) Fail(where + ".org", "missing");
  s.org_id = Str(n["org"], where + ".org");
  if (!org_ids.count(s.org_id)) Fail(where + ".org", "unknown org '" + s.org_id + "'");
  if (n["aps"]) ParseAps(n["aps"], where + ".aps", &s);
  if (n["failing_aps"]) s.failing_aps = Macs(n["failing_aps"], where + ".failing_aps");
  if (n["stream"]) s.stream = ParseStream(n["stream"], where + ".stream");
  if (n["capture"] && !n["capture"].IsNull()) {
    s.capture = ParseRunning(n["capture"], where + ".capture");
  }
  if (const YAML::Node& hist = n["history"]) {
    if (!hist.IsSequence()) Fail(where + ".history", "expected a list");
    for (size_t j = 0; j < hist.size(); ++j) {
      s.history.push_back(ParseHistory(hist[j], where + ".history[" + std::to_string(j) + "]"));
    }
  }
  return s;
}

// `generate_sites:` ids, names and MACs as bench/simbench.py writes them, so `simbench.py
// config N` lists the same sites for the exporter without a 2,000-entry scenario file.
void GenerateSites(const YAML::Node& gen, const std::set<std::string>& org_ids,
                   std::set<std::string>* site_ids, std::vector<SiteSpec>* sites) {
  const std::string where = "generate_sites";
  CheckKeys(gen, where, {"count", "org", "aps_per_site", "stream"});
  if (!gen["count"]) Fail(where + ".count", "missing");
  int count = Int(gen["count"], where + ".count");
  if (count < 0 || count > 100000) Fail(where + ".count", "not in 0..100000");
  if (!gen["org"]) Fail(where + ".org", "missing");
  std::string org = Str(gen["org"], where + ".org");
  if (!org_ids.count(org)) Fail(where + ".org", "unknown org '" + org + "'");
  int aps = gen["aps_per_site"] ? Int(gen["aps_per_site"], where + ".aps_per_site") : 2;
  if (aps < 0 || aps > 4096) Fail(where + ".aps_per_site", "not in 0..4096");
  StreamSettings stream;
  if (gen["stream"]) stream = ParseStream(gen["stream"], where + ".stream");
  for (int i = 0; i < count; ++i) {
    SiteSpec s;
    char buf[48];
    std::snprintf(buf, sizeof buf, "5be1e000-0000-4000-8000-%012d", i);
    s.id = buf;
    if (!site_ids->insert(s.id).second) Fail(where, "generated site id " + s.id + " is taken");
    std::snprintf(buf, sizeof buf, "site-%04d", i);
    s.name = buf;
    s.org_id = org;
    for (int a = 0; a < aps; ++a) {
      s.aps.push_back(0x5c5b35000000ULL + static_cast<uint64_t>(i) * 4096 + a);
    }
    s.stream = stream;
    sites->push_back(std::move(s));
  }
}

Scenario Parse(const YAML::Node& root) {
  Scenario sc;
  if (root.IsNull()) return sc;
  CheckKeys(root, "scenario",
            {"email", "orgs", "sites", "idle_status", "generate_sites", "churn", "inventory"});
  if (root["email"]) sc.email = Str(root["email"], "email");
  if (root["idle_status"]) {
    std::string idle = Str(root["idle_status"], "idle_status");
    if (idle != "not_found" && idle != "empty") {
      Fail("idle_status", "expected not_found or empty, got '" + idle + "'");
    }
    sc.idle_status_empty = idle == "empty";
  }
  std::set<std::string> org_ids;
  if (const YAML::Node& orgs = root["orgs"]) sc.orgs = ParseOrgs(orgs, &org_ids);
  std::set<std::string> site_ids;
  if (const YAML::Node& sites = root["sites"]) {
    if (!sites.IsSequence()) Fail("sites", "expected a list");
    for (size_t i = 0; i < sites.size(); ++i) {
      std::string where = "sites[" + std::to_string(i) + "]";
      sc.sites.push_back(ParseSite(sites[i], where, org_ids, &site_ids));
    }
  }
  if (const YAML::Node& gen = root["generate_sites"]) {
    GenerateSites(gen, org_ids, &site_ids, &sc.sites);
  }
  if (root["churn"]) sc.churn = ParseChurn(root["churn"], "churn");
  if (root["inventory"]) sc.inventory = ParseInventory(root["inventory"], "inventory");
  return sc;
}

}  // namespace

const char* BandName(Band b) {
  switch (b) {
    case Band::k24:
      return "2.4";
    case Band::k5:
      return "5";
    case Band::k6:
      return "6";
  }
  return "unknown";
}

common::Result<Scenario> ParseScenario(std::string_view yaml) {
  try {
    return Parse(YAML::Load(std::string(yaml)));
  } catch (const ScenarioError& e) {
    return common::MakeError("scenario: " + e.message);
  } catch (const YAML::Exception& e) {
    return common::MakeError(std::string("scenario: invalid YAML: ") + e.what());
  }
}

common::Result<Scenario> LoadScenarioFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return common::MakeError("scenario: cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto r = ParseScenario(ss.str());
  if (!r.ok()) return common::MakeError(path + ": " + r.error().message);
  return r;
}

std::string_view DefaultScenarioYaml() { return kDefaultScenario; }

}  // namespace mpe::sim
