#include "sim/capture_request.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "common/mac.h"

namespace mpe::sim {

namespace {

enum class Kind { kString, kInt, kBool, kObject };

// One property of a capture_* schema: its JSON type, whether null is allowed, an enum and a
// range. `check` names a nested check for the map-valued fields.
struct Field {
  const char* name;
  Kind kind;
  bool nullable = false;
  std::vector<std::string> enum_values = {};
  std::optional<std::pair<int64_t, int64_t>> range = std::nullopt;
  std::vector<int64_t> int_enum = {};
  enum class Nested { kNone, kDevices, kPorts, kScanAps } nested = Nested::kNone;
  bool mac = false;  // the string must be a MAC (the simulator has to pick the AP)
};

struct TypeRule {
  std::string type;
  std::vector<Field> fields;
  std::vector<std::string> required;  // besides "type"
  std::string default_format;         // empty: the type has no format
};

const std::vector<std::string> kBands4 = {"24", "24,5,6", "5", "6"};
const std::vector<std::string> kBands3 = {"24", "5", "6"};
const std::vector<std::string> kPcapStream = {"pcap", "stream"};

Field Duration() { return {"duration", Kind::kInt, true, {}, std::make_pair(60, 86400)}; }
Field NumPackets() { return {"num_packets", Kind::kInt, true, {}, std::make_pair(0, 10000)}; }
Field MaxPktLen(int64_t max = 2048) {
  return {"max_pkt_len", Kind::kInt, true, {}, std::make_pair(int64_t{64}, max)};
}
Field Str(const char* name, bool nullable = false) { return {name, Kind::kString, nullable}; }
Field ApMac(bool nullable) {
  Field f{"ap_mac", Kind::kString, nullable};
  f.mac = true;
  return f;
}
Field Enum(const char* name, const std::vector<std::string>& values, bool nullable = false) {
  return {name, Kind::kString, nullable, values};
}
Field Nested(const char* name, Field::Nested n) {
  Field f{name, Kind::kObject};
  f.nested = n;
  return f;
}

const std::vector<TypeRule>& Rules() {
  static const std::vector<TypeRule> rules = {
      {"client",
       {ApMac(true),
        Str("client_mac", true),
        Duration(),
        {"includes_mcast", Kind::kBool},
        MaxPktLen(),
        NumPackets(),
        Str("ssid", true)},
       {"client_mac"},
       ""},
      {"new_assoc",
       {ApMac(false),
        Str("client_mac"),
        Duration(),
        {"includes_mcast", Kind::kBool},
        MaxPktLen(),
        NumPackets(),
        Str("ssid")},
       {},
       ""},
      {"radiotap",
       {ApMac(false), Enum("band", kBands4), Str("client_mac"), Duration(),
        Enum("format", kPcapStream), MaxPktLen(), NumPackets(), Str("ssid"),
        Str("tcpdump_expression", true), Str("wlan_id")},
       {},
       "pcap"},
      {"radiotap,wired",
       {ApMac(true), Enum("band", kBands4), Str("client_mac", true), Duration(),
        Enum("format", kPcapStream), MaxPktLen(), NumPackets(), Str("radiotap_tcpdump_expression"),
        Str("ssid", true), Str("tcpdump_expression", true), Str("wired_tcpdump_expression", true),
        Str("wireless_tcpdump_expression"), Str("wlan_id", true)},
       {},
       "pcap"},
      {"wired",
       {ApMac(true), Duration(), Enum("format", kPcapStream), MaxPktLen(), NumPackets(),
        Str("tcpdump_expression", true)},
       {},
       "pcap"},
      {"wireless",
       {ApMac(true), Enum("band", kBands3), Duration(), Enum("format", kPcapStream), MaxPktLen(),
        NumPackets(), Str("ssid"), Str("wlan_id")},
       {},
       "pcap"},
      {"scan",
       {ApMac(true),
        Nested("aps", Field::Nested::kScanAps),
        Enum("band", kBands3, true),
        {"bandwidth", Kind::kInt, false, {}, std::nullopt, {0, 20, 40, 80, 160}},
        {"channel", Kind::kInt},
        Str("client_mac", true),
        Duration(),
        Enum("format", kPcapStream),
        MaxPktLen(),
        NumPackets(),
        Str("tcpdump_expression"),
        Str("width")},
       {},
       "pcap"},
      {"gateway",
       {Duration(), Enum("format", {"stream"}), Nested("gateways", Field::Nested::kDevices),
        MaxPktLen(1520), NumPackets(), Nested("ports", Field::Nested::kPorts)},
       {"gateways"},
       "stream"},
      {"switch",
       {Duration(), Enum("format", {"stream"}), MaxPktLen(), NumPackets(),
        Nested("ports", Field::Nested::kPorts), Nested("switches", Field::Nested::kDevices),
        Str("tcpdump_expression")},
       {"switches"},
       "stream"},
  };
  return rules;
}

const char* JsonTypeName(const rapidjson::Value& v) {
  if (v.IsNull()) return "null";
  if (v.IsBool()) return "boolean";
  if (v.IsString()) return "string";
  if (v.IsNumber()) return v.IsInt64() || v.IsUint64() ? "integer" : "number";
  if (v.IsArray()) return "array";
  return "object";
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

bool IsInteger(const rapidjson::Value& v, int64_t* out) {
  if (v.IsInt64()) {
    *out = v.GetInt64();
    return true;
  }
  if (v.IsDouble() && std::isfinite(v.GetDouble()) && v.GetDouble() == std::floor(v.GetDouble()) &&
      std::fabs(v.GetDouble()) < 9e15) {
    *out = static_cast<int64_t>(v.GetDouble());
    return true;
  }
  return false;
}

common::Error Bad(std::string message) { return common::MakeError(std::move(message), 400); }

// tcpdump_expression-only objects: {"<port>": {"tcpdump_expression": "..."}}.
std::optional<common::Error> CheckPorts(const rapidjson::Value& v, const std::string& where) {
  if (!v.IsObject()) return Bad(where + ": expected an object, got " + JsonTypeName(v));
  for (const auto& port : v.GetObject()) {
    std::string at = where + "." + port.name.GetString();
    if (!port.value.IsObject()) {
      return Bad(at + ": expected an object, got " + JsonTypeName(port.value));
    }
    if (port.value.HasMember("tcpdump_expression") &&
        !port.value["tcpdump_expression"].IsString()) {
      return Bad(at + ".tcpdump_expression: expected a string, got " +
                 JsonTypeName(port.value["tcpdump_expression"]));
    }
  }
  return std::nullopt;
}

std::optional<common::Error> CheckNested(const Field& f, const rapidjson::Value& v,
                                         CaptureRequest* req) {
  const std::string where = f.name;
  if (!v.IsObject()) return Bad(where + ": expected an object, got " + JsonTypeName(v));
  if (f.nested == Field::Nested::kPorts) return CheckPorts(v, where);
  for (const auto& m : v.GetObject()) {
    std::string key = m.name.GetString();
    std::string at = where + "." + key;
    if (!m.value.IsObject()) return Bad(at + ": expected an object, got " + JsonTypeName(m.value));
    auto mac = common::ParseMac(key);
    if (!mac) return Bad(at + ": \"" + key + "\" is not a MAC address");
    if (f.nested == Field::Nested::kDevices) {
      req->devices.push_back(*mac);
      if (m.value.HasMember("ports")) {
        if (auto e = CheckPorts(m.value["ports"], at + ".ports")) return e;
      }
      continue;
    }
    // scan: per-AP band / channel / tcpdump_expression / width (capture_scan_aps).
    for (const char* s : {"channel", "tcpdump_expression", "width"}) {
      if (m.value.HasMember(s) && !m.value[s].IsString()) {
        return Bad(at + "." + s + ": expected a string, got " + JsonTypeName(m.value[s]));
      }
    }
    if (m.value.HasMember("band")) {
      const auto& b = m.value["band"];
      if (!b.IsString() ||
          std::find(kBands3.begin(), kBands3.end(), b.GetString()) == kBands3.end()) {
        return Bad(at + ".band: " +
                   (b.IsString() ? "\"" + std::string(b.GetString()) + "\"" : JsonTypeName(b)) +
                   " is not one of " + Join(kBands3));
      }
    }
  }
  return std::nullopt;
}

using Given = std::map<std::string, const rapidjson::Value*>;  // valid fields by name

std::optional<common::Error> CheckString(const Field& f, const rapidjson::Value& v,
                                         const std::string& for_type) {
  const std::string name = f.name;
  if (!v.IsString()) {
    return Bad(name + ": expected a string" + (f.nullable ? " or null" : "") + for_type + ", got " +
               JsonTypeName(v));
  }
  std::string s = v.GetString();
  if (!f.enum_values.empty() &&
      std::find(f.enum_values.begin(), f.enum_values.end(), s) == f.enum_values.end()) {
    return Bad(name + ": \"" + s + "\" is not one of " + Join(f.enum_values) + for_type);
  }
  if (f.mac && !common::ParseMac(s)) {
    return Bad(name + ": \"" + s + "\" is not a MAC address" + for_type);
  }
  return std::nullopt;
}

std::optional<common::Error> CheckInt(const Field& f, const rapidjson::Value& v,
                                      const std::string& for_type) {
  const std::string name = f.name;
  int64_t n = 0;
  if (!IsInteger(v, &n)) {
    return Bad(name + ": expected an integer" + (f.nullable ? " or null" : "") + for_type +
               ", got " + JsonTypeName(v));
  }
  if (f.range && (n < f.range->first || n > f.range->second)) {
    return Bad(name + ": " + std::to_string(n) + " is out of range " +
               std::to_string(f.range->first) + ".." + std::to_string(f.range->second) + for_type);
  }
  if (!f.int_enum.empty() &&
      std::find(f.int_enum.begin(), f.int_enum.end(), n) == f.int_enum.end()) {
    std::vector<std::string> allowed;
    for (int64_t a : f.int_enum) allowed.push_back(std::to_string(a));
    return Bad(name + ": " + std::to_string(n) + " is not one of " + Join(allowed) + for_type);
  }
  return std::nullopt;
}

// A non-null value of a declared field against its schema (nested objects fill req->devices).
std::optional<common::Error> CheckValue(const Field& f, const rapidjson::Value& v,
                                        const std::string& for_type, CaptureRequest* req) {
  switch (f.kind) {
    case Kind::kString:
      return CheckString(f, v, for_type);
    case Kind::kInt:
      return CheckInt(f, v, for_type);
    case Kind::kBool:
      if (!v.IsBool()) {
        return Bad(std::string(f.name) + ": expected a boolean" + for_type + ", got " +
                   JsonTypeName(v));
      }
      return std::nullopt;
    case Kind::kObject:
      return CheckNested(f, v, req);
  }
  return std::nullopt;
}

// The rule of the body's "type", or the error naming the field.
common::Result<const TypeRule*> RuleOf(const rapidjson::Document& doc) {
  if (!doc.HasMember("type")) return Bad("type: required (one of " + Join(CaptureTypes()) + ")");
  if (!doc["type"].IsString()) {
    return Bad(std::string("type: expected a string, got ") + JsonTypeName(doc["type"]));
  }
  std::string type = doc["type"].GetString();
  auto rule = std::find_if(Rules().begin(), Rules().end(),
                           [&](const TypeRule& r) { return r.type == type; });
  if (rule == Rules().end()) {
    return Bad("type: \"" + type + "\" is not one of " + Join(CaptureTypes()));
  }
  return &*rule;
}

// The request's values from the validated fields; the type's defaults for the others.
void FillRequest(const TypeRule& rule, const Given& given, CaptureRequest* req) {
  auto str = [&](const char* k, std::string* out) {
    if (given.count(k)) *out = given.at(k)->GetString();
  };
  auto num = [&](const char* k) -> std::optional<int> {
    if (!given.count(k)) return std::nullopt;
    int64_t n = 0;
    IsInteger(*given.at(k), &n);
    return static_cast<int>(n);
  };
  req->format = rule.default_format.empty() ? "stream" : rule.default_format;
  str("format", &req->format);
  str("client_mac", &req->client_mac);
  str("ssid", &req->ssid);
  str("band", &req->band);
  str("tcpdump_expression", &req->tcpdump_expression);
  if (given.count("includes_mcast")) req->includes_mcast = given.at("includes_mcast")->GetBool();
  if (given.count("ap_mac")) req->ap_mac = common::ParseMac(given.at("ap_mac")->GetString());
  if (auto n = num("duration")) req->duration = *n;
  if (auto n = num("num_packets")) req->num_packets = *n;
  if (auto n = num("max_pkt_len")) req->max_pkt_len = *n;
  req->channel = num("channel");
  req->bandwidth = num("bandwidth");
}

}  // namespace

const std::vector<std::string>& CaptureTypes() {
  static const std::vector<std::string> types = [] {
    std::vector<std::string> t;
    for (const TypeRule& r : Rules()) t.push_back(r.type);
    return t;
  }();
  return types;
}

bool ReportsPacketCount(std::string_view type) { return type != "client" && type != "new_assoc"; }

bool CapturesRadio(std::string_view type) {
  return type == "radiotap" || type == "radiotap,wired" || type == "wireless" || type == "scan";
}

common::Result<CaptureRequest> ParseCaptureRequest(std::string_view body) {
  rapidjson::Document doc;
  if (body.empty()) body = "{}";
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError()) return Bad("JSON parse error - the body is not valid JSON");
  if (!doc.IsObject()) return Bad("body: expected a JSON object");
  auto rule = RuleOf(doc);
  if (!rule.ok()) return rule.error();
  CaptureRequest req;
  req.type = (*rule)->type;
  const std::string for_type = " for type " + req.type;
  Given given;
  for (const auto& m : doc.GetObject()) {
    std::string name = m.name.GetString();
    if (name == "type") continue;
    auto f = std::find_if((*rule)->fields.begin(), (*rule)->fields.end(),
                          [&](const Field& x) { return name == x.name; });
    if (f == (*rule)->fields.end()) {
      req.ignored_fields.push_back(name);
      continue;
    }
    const rapidjson::Value& v = m.value;
    if (v.IsNull()) {
      if (!f->nullable) return Bad(name + ": must not be null" + for_type);
      continue;
    }
    if (auto e = CheckValue(*f, v, for_type, &req)) return *e;
    given[name] = &v;
  }
  for (const std::string& r : (*rule)->required) {
    if (!given.count(r)) return Bad(r + ": required" + for_type);
  }
  FillRequest(**rule, given, &req);
  return req;
}

}  // namespace mpe::sim
