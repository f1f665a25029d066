#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace mpe::sim {

// A capture start body (POST /api/v1/sites/{site_id}/pcaps/capture) after validation against
// the simulator's own per-type table, written from the capture_* schemas of Mist's OpenAPI
// description (capture_client, capture_new_assoc, capture_radiotap, capture_radiotapwired,
// capture_wired, capture_wireless, capture_scan, capture_gateway, capture_switch). Defaults
// are the schemas' defaults. Plain data.
struct CaptureRequest {
  std::string type;
  std::string format;  // "pcap" or "stream"; the type's default when left out
  int duration = 600;
  int num_packets = 1024;  // the limit; 0 = unlimited
  int max_pkt_len = 512;
  std::optional<uint64_t> ap_mac;  // nullopt: every AP of the site
  std::string client_mac, ssid, band, tcpdump_expression;
  bool includes_mcast = false;
  std::optional<int> channel, bandwidth;    // scan
  std::vector<uint64_t> devices;            // gateway / switch MACs (keys of gateways/switches)
  std::vector<std::string> ignored_fields;  // fields the type does not declare (accepted)
};

// The capture types the simulator accepts, in the order of its messages.
const std::vector<std::string>& CaptureTypes();

// Validates `body` for its own type: JSON types, enums, ranges, required fields. The error
// (code 400) names the field first, e.g. `band: "5,6" is not one of 24, 24,5,6, 5, 6 for type
// radiotap`. Unknown fields are accepted and listed in ignored_fields. Pure.
common::Result<CaptureRequest> ParseCaptureRequest(std::string_view body);

// Whether captures of this type report num_packets in their status (not client, new_assoc).
bool ReportsPacketCount(std::string_view type);
// Whether the type captures on AP radios (status carries pcap_aps).
bool CapturesRadio(std::string_view type);

}  // namespace mpe::sim
