#include "config/capture_rules.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

#include "common/mac.h"

namespace mpe::config {

namespace {

using Kind = CaptureField::Kind;
using MC = ManagedCapture;

constexpr std::array<CaptureField, 17> kFields = {{
    {"ap_mac", Kind::kMac, &MC::ap_mac},
    {"client_mac", Kind::kMac, &MC::client_mac},
    {"ssid", Kind::kString, &MC::ssid},
    {"wlan_id", Kind::kUuid, &MC::wlan_id},
    {"band", Kind::kBand, &MC::band},
    {"channel", Kind::kInt, nullptr, &MC::channel, nullptr, 1, 233},
    {"bandwidth", Kind::kInt, nullptr, &MC::bandwidth, nullptr, 20, 160},
    {"width", Kind::kString, &MC::width},
    {"duration", Kind::kInt, nullptr, &MC::duration, nullptr, 60, 86400},
    {"num_packets", Kind::kInt, nullptr, &MC::num_packets, nullptr, 0, 10000},
    {"max_pkt_len", Kind::kInt, nullptr, &MC::max_pkt_len, nullptr, 64, 2048},
    {"includes_mcast", Kind::kBool, nullptr, nullptr, &MC::includes_mcast},
    {"tcpdump_expression", Kind::kString, &MC::tcpdump_expression},
    {"radiotap_tcpdump_expression", Kind::kString, &MC::radiotap_tcpdump_expression},
    {"wired_tcpdump_expression", Kind::kString, &MC::wired_tcpdump_expression},
    {"wireless_tcpdump_expression", Kind::kString, &MC::wireless_tcpdump_expression},
    {"format", Kind::kFormat, &MC::format},
}};

constexpr std::array<std::string_view, 7> kTypes = {
    "client", "new_assoc", "radiotap", "radiotap,wired", "wired", "wireless", "scan"};

constexpr std::array<std::string_view, 4> kRadiotapBands = {"24", "24,5,6", "5", "6"};
constexpr std::array<std::string_view, 3> kSingleBands = {"24", "5", "6"};
constexpr std::array<int, 4> kBandwidths = {20, 40, 80, 160};

struct TypeRule {
  std::string_view type;
  std::vector<std::string_view> keys;  // fields of its schema besides type
};

// From the schemas capture_client, capture_new_assoc, capture_radiotap, capture_radiotapwired,
// capture_wired, capture_wireless and capture_scan (scan's per-AP `aps` map is not offered).
const std::array<TypeRule, 7>& Rules() {
  static const std::array<TypeRule, 7> rules = {{
      {"client",
       {"ap_mac", "client_mac", "ssid", "duration", "num_packets", "max_pkt_len",
        "includes_mcast"}},
      {"new_assoc",
       {"ap_mac", "client_mac", "ssid", "duration", "num_packets", "max_pkt_len",
        "includes_mcast"}},
      {"radiotap",
       {"ap_mac", "client_mac", "ssid", "wlan_id", "band", "duration", "num_packets", "max_pkt_len",
        "tcpdump_expression", "format"}},
      {"radiotap,wired",
       {"ap_mac", "client_mac", "ssid", "wlan_id", "band", "duration", "num_packets", "max_pkt_len",
        "tcpdump_expression", "radiotap_tcpdump_expression", "wired_tcpdump_expression",
        "wireless_tcpdump_expression", "format"}},
      {"wired",
       {"ap_mac", "duration", "num_packets", "max_pkt_len", "tcpdump_expression", "format"}},
      {"wireless",
       {"ap_mac", "ssid", "wlan_id", "band", "duration", "num_packets", "max_pkt_len", "format"}},
      {"scan",
       {"ap_mac", "client_mac", "band", "channel", "bandwidth", "width", "duration", "num_packets",
        "max_pkt_len", "tcpdump_expression", "format"}},
  }};
  return rules;
}

const TypeRule* RuleOf(std::string_view type) {
  for (const TypeRule& r : Rules()) {
    if (r.type == type) return &r;
  }
  return nullptr;
}

template <typename Items>
std::string JoinList(const Items& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    if constexpr (std::is_same_v<std::decay_t<decltype(item)>, int>) {
      out += std::to_string(item);
    } else {
      out += item;
    }
  }
  return out;
}

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

// "2.4" and "2.4,5,6" are how people write Mist's "24" and "24,5,6".
std::string NormaliseBand(std::string_view band) {
  std::string out;
  std::string_view rest = band;
  while (true) {
    const size_t comma = rest.find(',');
    std::string_view part = rest.substr(0, comma);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (!out.empty()) out += ',';
    out += part == "2.4" ? std::string_view("24") : part;
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return out;
}

std::optional<CaptureProblem> CheckValue(MC* c, const CaptureField& f) {
  auto problem = [&](std::string message) {
    return CaptureProblem{std::string(f.key), std::move(message)};
  };
  switch (f.kind) {
    case Kind::kMac: {
      std::string& text = c->*f.text;
      auto mac = common::ParseMac(text);
      if (!mac)
        return problem("invalid MAC address " + Quote(text) + " (one MAC, e.g. 5c5b350e001c)");
      text = common::FormatMac(*mac);
      return std::nullopt;
    }
    case Kind::kUuid:
      if (!IsUuid(c->*f.text)) return problem("must be a UUID, got " + Quote(c->*f.text));
      return std::nullopt;
    case Kind::kBand: {
      std::string band = NormaliseBand(c->*f.text);
      auto allowed = BandsOf(c->type);
      if (std::find(allowed.begin(), allowed.end(), band) == allowed.end()) {
        return problem(Quote(c->*f.text) + " is not allowed for type " + c->type +
                       " (allowed: " + JoinList(allowed) + "; 2.4 may be written for 24)");
      }
      c->*f.text = band;
      return std::nullopt;
    }
    case Kind::kInt: {
      const int v = *(c->*f.number);
      if (f.key == "bandwidth") {
        if (std::find(kBandwidths.begin(), kBandwidths.end(), v) == kBandwidths.end())
          return problem("must be one of " + JoinList(kBandwidths) + ", got " + std::to_string(v));
        return std::nullopt;
      }
      if (v < f.min || v > f.max) {
        return problem("must be between " + std::to_string(f.min) + " and " +
                       std::to_string(f.max) + ", got " + std::to_string(v));
      }
      return std::nullopt;
    }
    case Kind::kFormat:
      if (c->*f.text != "stream" && c->*f.text != "pcap")
        return problem("must be stream or pcap, got " + Quote(c->*f.text));
      return std::nullopt;
    case Kind::kString:
    case Kind::kBool:
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

std::span<const CaptureField> CaptureFields() { return kFields; }

std::span<const std::string_view> CaptureTypes() { return kTypes; }

bool TypeTakes(std::string_view type, std::string_view key) {
  const TypeRule* rule = RuleOf(type);
  if (rule == nullptr) return false;
  return std::find(rule->keys.begin(), rule->keys.end(), key) != rule->keys.end();
}

std::string_view RefusedTypeReason(std::string_view type) {
  if (type == "gateway") {
    return "type gateway is not supported: Mist requires a `gateways` map of gateway MACs to "
           "port lists, which this tool does not build; start gateway captures in the Mist "
           "portal or API";
  }
  if (type == "switch") {
    return "type switch is not supported: Mist requires a `switches` map of switch MACs to "
           "port lists, which this tool does not build; start switch captures in the Mist "
           "portal or API";
  }
  return "";
}

std::span<const std::string_view> BandsOf(std::string_view type) {
  if (type == "radiotap" || type == "radiotap,wired") return kRadiotapBands;
  if (type == "wireless" || type == "scan") return kSingleBands;
  return {};
}

bool FieldIsSet(const ManagedCapture& c, const CaptureField& f) {
  if (f.text != nullptr) return !(c.*f.text).empty();
  if (f.number != nullptr) return (c.*f.number).has_value();
  return (c.*f.flag).has_value();
}

std::optional<CaptureProblem> CheckCapture(ManagedCapture* c) {
  if (auto why = RefusedTypeReason(c->type); !why.empty()) {
    return CaptureProblem{"type", std::string(why)};
  }
  if (RuleOf(c->type) == nullptr) {
    return CaptureProblem{"type", "must be one of " + JoinList(kTypes) + ", got " + Quote(c->type)};
  }
  for (const CaptureField& f : kFields) {
    if (!FieldIsSet(*c, f)) continue;
    if (!TypeTakes(c->type, f.key)) {
      std::string takes;
      for (const CaptureField& g : kFields) {
        if (TypeTakes(c->type, g.key)) takes += (takes.empty() ? "" : ", ") + std::string(g.key);
      }
      return CaptureProblem{std::string(f.key),
                            "is not a field of type " + c->type + " (it takes: " + takes + ")"};
    }
    if (auto p = CheckValue(c, f)) return p;
  }
  if (c->type == "client" && c->client_mac.empty()) {
    return CaptureProblem{"client_mac", "is required when type is client"};
  }
  // Mist defaults `format` to pcap, which never reaches the stream: ask for stream explicitly.
  if (TypeTakes(c->type, "format") && c->format.empty()) c->format = "stream";
  return std::nullopt;
}

}  // namespace mpe::config
