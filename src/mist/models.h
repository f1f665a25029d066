#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/site.h"

namespace mpe::mist {

// One AP's radio settings in a status's `pcap_aps` (MAC -> band, bandwidth, channel). `band`
// is the label form used by every family: "2.4", "5", "6" (Mist sends 24/5/6 as numbers or
// strings), or Mist's text as it came when it is something else.
struct PcapAp {
  std::string mac;  // normalised
  std::string band;
  int64_t bandwidth = 0;  // MHz, 0 when absent
  int64_t channel = 0;    // 0 when absent
};

// The capture a site runs right now (GET /api/v1/sites/{id}/pcaps/capture, schema
// `response_pcap_status`). A value type. `running` is false for every "no capture" form (Mist
// does not document one: {}, no id, enabled:false, null, an empty body, 404); the other fields
// are then empty/zero. AP lists hold normalised MACs (12 lowercase hex digits), sorted and
// without duplicates.
struct CaptureStatus {
  bool running = false;
  std::string id;
  std::string type;
  std::string format;
  double started_time = 0;             // epoch seconds, 0 when unknown
  double duration = 0;                 // seconds, 0 when unknown
  double expiry = 0;                   // `expiry` when sent, else started_time + duration
  int64_t max_num_packets = 0;         // the configured limit (0 = unlimited or unknown)
  std::optional<int64_t> num_packets;  // captured so far; absent for client and new_assoc
  int64_t max_pkt_len = 0;
  std::vector<std::string> requested_aps;  // `aps` (targets; ap_mac when aps is absent)
  std::vector<std::string> ok_aps;         // `ok` less the failed ones
  std::vector<std::string> failed_aps;     // `failed` (a MAC in both ok and failed is failed)
  std::vector<PcapAp> pcap_aps;            // sorted by MAC
};

// The answer to a capture start (POST, schema `response_pcap_start`). A value type.
struct CaptureStarted {
  std::string id;  // "" when Mist answered without one
  std::string type;
  std::string format;
  double timestamp = 0;  // start, epoch seconds
  double expiry = 0;     // epoch seconds; timestamp + duration when absent
  double duration = 0;
  int64_t ap_count = -1;              // -1 when absent
  std::vector<std::string> aps;       // normalised
  std::optional<bool> include_mcast;  // `include_mcast` (or `includes_mcast`)
};

// One entry of the capture list (GET /api/v1/sites/{id}/pcaps, schema
// `response_pcap_search_item`). `id` is optional in the schema: an item without one is still
// listed. A value type.
struct CaptureSummary {
  std::string id;
  std::string type;
  std::string format;
  double timestamp = 0;  // capture start, epoch seconds
  double duration = 0;
  int64_t max_num_packets = 0;
  std::string termination_reason;
  std::string pcap_url;  // the finished file, when Mist has one
  std::string url;
  std::vector<std::string> ap_macs;  // normalised: ap_macs ∪ aps
};

// One page of the capture list: its items and the relative `next` link ("" on the last page,
// whether absent or null).
struct CaptureListPage {
  std::vector<CaptureSummary> results;
  std::string next;
};

// GET /api/v1/self/usage (schema `api_usage`): requests made with this token in the current
// hour, by every client, and the hourly limit.
struct ApiUsage {
  int64_t requests = 0;
  int64_t request_limit = 0;
};

struct OrgPrivilege {
  std::string org_id;
  std::string name;
  std::string role;
};

// GET /api/v1/self, reduced to what discovery needs: the org-scoped privileges.
struct SelfInfo {
  std::string email;
  std::vector<OrgPrivilege> privileges;
};

// One AP of GET /api/v1/orgs/{org_id}/inventory?type=ap (Mist's `inventory`): the MAC as 12
// lowercase hex digits; name and model as Mist sends them ("" when absent: `name` is "Device
// name if configured"); site_id "" for an unassigned AP.
struct InventoryAp {
  std::string mac;
  std::string name;
  std::string model;
  std::string site_id;
};

// Tolerant parsers: unknown fields are ignored, missing fields keep their defaults, numbers
// may arrive as ints, floats or numeric strings. They fail only when the body is not JSON or
// has the wrong top-level shape. Pure; thread-safe.
common::Result<CaptureStatus> ParseCaptureStatus(std::string_view json);
common::Result<CaptureStarted> ParseCaptureStarted(std::string_view json);
// Fails also when `requests` or `request_limit` is missing.
common::Result<ApiUsage> ParseApiUsage(std::string_view json);
common::Result<CaptureListPage> ParseCaptureListPage(std::string_view json);
common::Result<SelfInfo> ParseSelf(std::string_view json);
common::Result<std::vector<common::Site>> ParseSites(std::string_view json);
// Items of another device type, and items without a valid MAC, are skipped.
common::Result<std::vector<InventoryAp>> ParseInventory(std::string_view json);

// The `detail` string of a Mist error body ({"detail": "..."}), "" when there is none.
std::string ParseErrorDetail(std::string_view json);

}  // namespace mpe::mist
