#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace mpe::sim {

// Radio bands the simulator can generate frames on (index into per-band tables).
enum class Band : uint8_t { k24 = 0, k5 = 1, k6 = 2 };
inline constexpr int kBandCount = 3;
const char* BandName(Band b);  // "2.4", "5", "6"

// How the packet stream of one site looks (config/sim_scenario.yaml documents the keys).
struct StreamSettings {
  double wired_share = 0.3;  // share of wired packets when a capture has both kinds
  std::vector<Band> bands = {Band::k24, Band::k5, Band::k6};
  int lost_messages_every = 0;   // 0: no lost_messages field
  std::vector<int> vlans = {1};  // 0 = untagged (no vlan key, no 802.1Q tag)
  // Client connectivity sequences (joins, deauthentications, 4-way handshakes, client data,
  // DHCP, DNS) make up connectivity_share of the packets; retry_share of the 802.11
  // management and data frames carry the Retry bit. Off: the base mix only, as before.
  bool connectivity = false;
  double connectivity_share = 0.4;
  double retry_share = 0.1;
};

// A capture that runs when the simulator starts.
struct RunningCaptureSpec {
  std::string type = "radiotap";
  std::string format = "stream";
  double duration_s = 600;
  double started_ago_s = 0;
  int num_packets = 1024;
  int max_pkt_len = 128;
  std::vector<uint64_t> aps;         // empty: every AP of the site
  std::vector<uint64_t> failed_aps;  // in addition to the site's failing APs
};

// A finished capture preloaded into the list.
struct HistoryCaptureSpec {
  std::string type = "radiotap";
  std::string format = "stream";
  double started_ago_s = 3600;
  double duration_s = 600;
  std::string notes;  // kept by the simulator, never listed (Mist list items have no notes)
  bool listed_with_id = true;  // `id: false`: the list item carries no "id"
  std::string termination_reason = "default";
};

// What the org inventory says about one AP (GET /api/v1/orgs/{org_id}/inventory); unset
// fields are derived (scenario `inventory:` defaults).
struct ApDetails {
  std::optional<std::string> name;  // "" = no name (Mist: "Device name if configured")
  std::optional<std::string> model;
};

struct SiteSpec {
  std::string id;
  std::string name;
  std::string org_id;
  std::vector<uint64_t> aps;
  std::map<uint64_t, ApDetails> ap_details;  // APs written as {mac, name, model}
  std::vector<uint64_t> failing_aps;
  StreamSettings stream;
  std::optional<RunningCaptureSpec> capture;
  std::vector<HistoryCaptureSpec> history;
};

// Captures that come and go on the simulator's own clock (scenario `churn:`), for
// benchmarks of how quickly and cheaply a client notices changes.
struct ChurnSpec {
  double start_every_s = 60;  // a capture starts at a random idle site this often
  double duration_s = 600;    // each one ends after this (termination_reason "default")
  std::string type = "radiotap";
  double fail_ap_every_s = 0;  // 0: never; else an OK AP of a running churn capture fails
  int max_running = 0;         // 0: no cap on running churn captures
};

// Defaults of the org inventory's AP entries.
struct InventorySpec {
  std::string model = "AP43";
  int unnamed_every = 7;  // every Nth AP of the org has no name (0: all named)
};

struct OrgSpec {
  std::string id;
  std::string name;
};

// The whole simulated cloud at start. Plain data.
struct Scenario {
  std::string email = "demo@example.com";
  // Capture status when no capture runs: false = 404 {"detail"}, true = 200 {}.
  bool idle_status_empty = false;
  std::vector<OrgSpec> orgs;
  std::vector<SiteSpec> sites;  // `sites:` then the `generate_sites:` ones
  std::optional<ChurnSpec> churn;
  InventorySpec inventory;
};

// Parses the YAML format of config/sim_scenario.yaml. Unknown keys, bad MACs, unknown bands
// and sites of undeclared orgs are errors (message names the key). Pure.
common::Result<Scenario> ParseScenario(std::string_view yaml);
common::Result<Scenario> LoadScenarioFile(const std::string& path);

// The demo scenario built into the binary (same content as config/sim_scenario.yaml).
std::string_view DefaultScenarioYaml();

}  // namespace mpe::sim
