#include "mist/models.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>

#include "common/mac.h"

namespace mpe::mist {

namespace {

using rapidjson::Value;

common::Result<rapidjson::Document> ParseJson(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError()) {
    return common::MakeError(std::string("invalid JSON at offset ") +
                             std::to_string(doc.GetErrorOffset()) + ": " +
                             rapidjson::GetParseError_En(doc.GetParseError()));
  }
  return doc;
}

enum class Root { kObject, kArray };

// ParseJson, and the root must be an object (or an array): else "<what> is not a JSON object".
common::Result<rapidjson::Document> ParseRoot(std::string_view json, Root root, const char* what) {
  auto doc = ParseJson(json);
  if (!doc.ok()) return doc.error();
  if (root == Root::kObject && !doc->IsObject()) {
    return common::MakeError(std::string(what) + " is not a JSON object");
  }
  if (root == Root::kArray && !doc->IsArray()) {
    return common::MakeError(std::string(what) + " is not a JSON array");
  }
  return doc;
}

const Value* Member(const Value& obj, const char* name) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || it->value.IsNull()) return nullptr;
  return &it->value;
}

std::string String(const Value& obj, const char* name) {
  const Value* v = Member(obj, name);
  if (v == nullptr) return "";
  if (v->IsString()) return std::string(v->GetString(), v->GetStringLength());
  if (v->IsInt64()) return std::to_string(v->GetInt64());
  if (v->IsUint64()) return std::to_string(v->GetUint64());
  return "";
}

// Numbers arrive as ints, floats or (rarely) numeric strings; anything else is "absent".
bool Number(const Value& obj, const char* name, double* out) {
  const Value* v = Member(obj, name);
  if (v == nullptr) return false;
  if (v->IsNumber()) {
    *out = v->GetDouble();
    return std::isfinite(*out);
  }
  if (v->IsString() && v->GetStringLength() > 0) {
    const char* begin = v->GetString();
    char* end = nullptr;
    double d = std::strtod(begin, &end);
    if (end == begin + v->GetStringLength() && std::isfinite(d)) {
      *out = d;
      return true;
    }
  }
  return false;
}

double Double(const Value& obj, const char* name) {
  double d = 0;
  return Number(obj, name, &d) ? d : 0;
}

int64_t Int(const Value& obj, const char* name) {
  double d = 0;
  if (!Number(obj, name, &d)) return 0;
  if (d >= 9.2e18 || d <= -9.2e18) return 0;
  return static_cast<int64_t>(d);
}

bool Bool(const Value& obj, const char* name, bool fallback) {
  const Value* v = Member(obj, name);
  if (v == nullptr) return fallback;
  if (v->IsBool()) return v->GetBool();
  if (v->IsNumber()) return v->GetDouble() != 0;
  if (v->IsString()) {
    std::string s(v->GetString(), v->GetStringLength());
    if (s == "false" || s == "0") return false;
    if (s == "true" || s == "1") return true;
  }
  return fallback;
}

// A MAC list as an array of strings, or a single string (Mist's start body uses `ap_mac`).
void AddMacs(const Value& obj, const char* name, std::set<std::string>* out) {
  const Value* v = Member(obj, name);
  if (v == nullptr) return;
  if (v->IsString()) {
    if (v->GetStringLength() > 0) out->insert(common::NormaliseMac(v->GetString()));
    return;
  }
  if (!v->IsArray()) return;
  for (const Value& item : v->GetArray()) {
    if (item.IsString() && item.GetStringLength() > 0) {
      out->insert(common::NormaliseMac(std::string_view(item.GetString(), item.GetStringLength())));
    }
  }
}

std::vector<std::string> ToVector(const std::set<std::string>& s) {
  return std::vector<std::string>(s.begin(), s.end());
}

CaptureSummary ParseSummary(const Value& item) {
  CaptureSummary c;
  c.id = String(item, "id");
  c.type = String(item, "type");
  c.format = String(item, "format");
  c.timestamp = Double(item, "timestamp");
  c.duration = Double(item, "duration");
  c.max_num_packets = Int(item, "max_num_packets");
  c.termination_reason = String(item, "termination_reason");
  c.pcap_url = String(item, "pcap_url");
  c.url = String(item, "url");
  std::set<std::string> aps;
  AddMacs(item, "ap_macs", &aps);
  AddMacs(item, "aps", &aps);
  c.ap_macs = ToVector(aps);
  return c;
}

// Mist writes the band as 24, 5, 6 (numbers in a status, strings in a list item).
std::string BandLabel(const Value& v) {
  std::string text;
  if (v.IsString()) {
    text.assign(v.GetString(), v.GetStringLength());
  } else if (v.IsInt64()) {
    text = std::to_string(v.GetInt64());
  }
  if (text == "24" || text == "2.4") return "2.4";
  return text;
}

std::vector<PcapAp> ParsePcapAps(const Value& root) {
  std::vector<PcapAp> out;
  const Value* map = Member(root, "pcap_aps");
  if (map == nullptr || !map->IsObject()) return out;
  for (const auto& m : map->GetObject()) {
    PcapAp ap;
    ap.mac = common::NormaliseMac(std::string_view(m.name.GetString(), m.name.GetStringLength()));
    if (const Value* band = Member(m.value, "band")) ap.band = BandLabel(*band);
    ap.bandwidth = Int(m.value, "bandwidth");
    ap.channel = Int(m.value, "channel");
    out.push_back(std::move(ap));
  }
  std::sort(out.begin(), out.end(), [](const PcapAp& a, const PcapAp& b) { return a.mac < b.mac; });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const PcapAp& a, const PcapAp& b) { return a.mac == b.mac; }),
            out.end());
  return out;
}

bool Blank(std::string_view json) {
  return json.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

}  // namespace

common::Result<CaptureStatus> ParseCaptureStatus(std::string_view json) {
  // An empty 200 body is one more way of saying "nothing runs".
  if (Blank(json)) return CaptureStatus{};
  auto doc = ParseJson(json);
  if (!doc.ok()) return doc.error();
  const Value& root = doc.value();
  if (root.IsNull()) return CaptureStatus{};
  if (!root.IsObject()) return common::MakeError("capture status is not a JSON object");

  CaptureStatus s;
  s.id = String(root, "id");
  if (s.id.empty() || !Bool(root, "enabled", true)) return CaptureStatus{};
  s.running = true;
  s.type = String(root, "type");
  s.format = String(root, "format");
  s.started_time = Double(root, "started_time");
  s.duration = Double(root, "duration");
  if (!Number(root, "expiry", &s.expiry) && s.started_time > 0 && s.duration > 0) {
    s.expiry = s.started_time + s.duration;
  }
  s.max_num_packets = Int(root, "max_num_packets");
  double captured = 0;
  if (Number(root, "num_packets", &captured)) s.num_packets = Int(root, "num_packets");
  s.max_pkt_len = Int(root, "max_pkt_len");

  std::set<std::string> requested;
  std::set<std::string> ok;
  std::set<std::string> failed;
  AddMacs(root, "aps", &requested);
  if (requested.empty()) AddMacs(root, "ap_mac", &requested);
  AddMacs(root, "ok", &ok);
  AddMacs(root, "failed", &failed);
  // A MAC in both lists counts as failed: the failure is the fact that needs attention.
  for (const auto& mac : failed) ok.erase(mac);
  s.requested_aps = ToVector(requested);
  s.ok_aps = ToVector(ok);
  s.failed_aps = ToVector(failed);
  s.pcap_aps = ParsePcapAps(root);
  return s;
}

common::Result<CaptureStarted> ParseCaptureStarted(std::string_view json) {
  if (Blank(json)) return CaptureStarted{};
  auto doc = ParseRoot(json, Root::kObject, "capture start reply");
  if (!doc.ok()) return doc.error();
  const Value& root = doc.value();
  CaptureStarted c;
  c.id = String(root, "id");
  c.type = String(root, "type");
  c.format = String(root, "format");
  c.timestamp = Double(root, "timestamp");
  c.duration = Double(root, "duration");
  if (!Number(root, "expiry", &c.expiry) && c.timestamp > 0 && c.duration > 0) {
    c.expiry = c.timestamp + c.duration;
  }
  double count = 0;
  if (Number(root, "ap_count", &count)) c.ap_count = Int(root, "ap_count");
  std::set<std::string> aps;
  AddMacs(root, "aps", &aps);
  c.aps = ToVector(aps);
  for (const char* key : {"include_mcast", "includes_mcast"}) {
    const Value* v = Member(root, key);
    if (v != nullptr && v->IsBool()) {
      c.include_mcast = v->GetBool();
      break;
    }
  }
  return c;
}

common::Result<ApiUsage> ParseApiUsage(std::string_view json) {
  auto doc = ParseRoot(json, Root::kObject, "api usage");
  if (!doc.ok()) return doc.error();
  const Value& root = doc.value();
  double requests = 0;
  double limit = 0;
  if (!Number(root, "requests", &requests) || !Number(root, "request_limit", &limit)) {
    return common::MakeError("api usage lacks requests or request_limit");
  }
  return ApiUsage{Int(root, "requests"), Int(root, "request_limit")};
}

common::Result<CaptureListPage> ParseCaptureListPage(std::string_view json) {
  auto doc = ParseJson(json);
  if (!doc.ok()) return doc.error();
  const Value& root = doc.value();
  CaptureListPage page;
  const Value* results = nullptr;
  if (root.IsArray()) {
    results = &root;  // tolerate a bare array
  } else if (root.IsObject()) {
    results = Member(root, "results");
    page.next = String(root, "next");
  } else {
    return common::MakeError("capture list is neither an object nor an array");
  }
  if (results != nullptr && results->IsArray()) {
    for (const Value& item : results->GetArray()) {
      if (item.IsObject()) page.results.push_back(ParseSummary(item));
    }
  }
  return page;
}

common::Result<SelfInfo> ParseSelf(std::string_view json) {
  auto doc = ParseRoot(json, Root::kObject, "self");
  if (!doc.ok()) return doc.error();
  const Value& root = doc.value();
  SelfInfo self;
  self.email = String(root, "email");
  if (const Value* privs = Member(root, "privileges"); privs != nullptr && privs->IsArray()) {
    for (const Value& p : privs->GetArray()) {
      std::string scope = String(p, "scope");
      std::string org_id = String(p, "org_id");
      if (org_id.empty() || (!scope.empty() && scope != "org")) continue;
      self.privileges.push_back(OrgPrivilege{org_id, String(p, "name"), String(p, "role")});
    }
  }
  return self;
}

common::Result<std::vector<common::Site>> ParseSites(std::string_view json) {
  auto doc = ParseRoot(json, Root::kArray, "site list");
  if (!doc.ok()) return doc.error();
  const Value& root = doc.value();
  std::vector<common::Site> sites;
  for (const Value& item : root.GetArray()) {
    common::Site site{String(item, "id"), String(item, "name"), String(item, "org_id")};
    if (!site.id.empty()) sites.push_back(std::move(site));
  }
  return sites;
}

common::Result<std::vector<InventoryAp>> ParseInventory(std::string_view json) {
  auto doc = ParseRoot(json, Root::kArray, "inventory");
  if (!doc.ok()) return doc.error();
  const Value& root = doc.value();
  std::vector<InventoryAp> aps;
  for (const Value& item : root.GetArray()) {
    if (!item.IsObject()) continue;
    const std::string type = String(item, "type");
    if (!type.empty() && type != "ap") continue;  // Mist's default device type is ap
    const auto mac = common::ParseMac(String(item, "mac"));
    if (!mac) continue;
    aps.push_back(InventoryAp{common::FormatMac(*mac), String(item, "name"), String(item, "model"),
                              String(item, "site_id")});
  }
  return aps;
}

std::string ParseErrorDetail(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) return "";
  return String(doc, "detail");
}

}  // namespace mpe::mist
