#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace mpe::mist {

// The capture a site runs right now (GET/POST /api/v1/sites/{id}/pcaps/capture). A value
// type. `running` is false for every "no capture" form Mist uses ({}, no id, enabled:false,
// 404); the other fields are then empty/zero. AP lists hold normalised MACs (12 lowercase
// hex digits), sorted and without duplicates.
struct CaptureStatus {
  bool running = false;
  std::string id;
  std::string type;
  std::string format;
  double started_time = 0;  // epoch seconds, 0 when unknown
  double duration = 0;      // seconds, 0 when unknown
  double expiry = 0;        // epoch seconds; started_time + duration when Mist omits it
  int64_t max_num_packets = 0;
  int64_t max_pkt_len = 0;
  std::vector<std::string> requested_aps;  // ap_macs ∪ keys of aps
  std::vector<std::string> ok_aps;         // aps with status ok
  std::vector<std::string> failed_aps;     // aps with status failed ∪ failed_aps
};

// One entry of the capture list (GET /api/v1/sites/{id}/pcaps). A value type.
struct CaptureSummary {
  std::string id;
  std::string type;
  std::string format;
  double timestamp = 0;  // capture start, epoch seconds ("timestamp" or "started_time")
  double duration = 0;
  std::string notes;
  std::vector<std::string> ap_macs;  // normalised
};

// One page of the capture list: its items and the relative `next` link ("" on the last page).
struct CaptureListPage {
  std::vector<CaptureSummary> results;
  std::string next;
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

struct Site {
  std::string id;
  std::string name;
  std::string org_id;
};

// Tolerant parsers: unknown fields are ignored, missing fields keep their defaults, numbers
// may arrive as ints, floats or numeric strings. They fail only when the body is not JSON or
// has the wrong top-level shape. Pure; thread-safe.
common::Result<CaptureStatus> ParseCaptureStatus(std::string_view json);
common::Result<CaptureListPage> ParseCaptureListPage(std::string_view json);
common::Result<SelfInfo> ParseSelf(std::string_view json);
common::Result<std::vector<Site>> ParseSites(std::string_view json);

// The `detail` string of a Mist error body ({"detail": "..."}), "" when there is none.
std::string ParseErrorDetail(std::string_view json);

}  // namespace mpe::mist
