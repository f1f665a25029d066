#include "capture/capture_request.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <array>
#include <string_view>

#include "common/mac.h"

namespace mpe::capture {

namespace {

constexpr std::array<std::string_view, 6> kTypes = {"client",  "radiotap", "radiotap,wired",
                                                    "wired",   "gateway",  "new_assoc"};

common::Status RangeError(std::string_view name, int value, int min, int max) {
  return common::MakeError(std::string(name) + " must be between " + std::to_string(min) +
                           " and " + std::to_string(max) + ", got " + std::to_string(value));
}

common::Status NormaliseMacField(std::string_view name, std::string* mac) {
  auto parsed = common::ParseMac(*mac);
  if (!parsed) return common::MakeError(std::string(name) + ": invalid MAC address \"" + *mac + "\"");
  *mac = common::FormatMac(*parsed);
  return common::Ok{};
}

}  // namespace

common::Status ValidateCaptureRequest(config::ManagedCapture* r) {
  bool known_type = false;
  for (auto t : kTypes) known_type = known_type || r->type == t;
  if (!known_type) {
    return common::MakeError("type must be one of client, radiotap, \"radiotap,wired\", wired, "
                             "gateway, new_assoc; got \"" + r->type + "\"");
  }
  if (r->duration && (*r->duration < 60 || *r->duration > 86400))
    return RangeError("duration", *r->duration, 60, 86400);
  if (r->num_packets && (*r->num_packets < 0 || *r->num_packets > 10000))
    return RangeError("num_packets", *r->num_packets, 0, 10000);
  if (r->max_pkt_len && (*r->max_pkt_len < 64 || *r->max_pkt_len > 2048))
    return RangeError("max_pkt_len", *r->max_pkt_len, 64, 2048);
  for (auto& mac : r->ap_macs) {
    if (auto st = NormaliseMacField("ap_mac", &mac); !st.ok()) return st;
  }
  if (!r->client_mac.empty()) {
    if (auto st = NormaliseMacField("client_mac", &r->client_mac); !st.ok()) return st;
  }
  if (r->type == "client" && r->client_mac.empty())
    return common::MakeError("client_mac is required when type is client");
  if (!r->band.empty()) {
    std::string normalised;
    std::string_view rest = r->band;
    while (true) {
      const size_t comma = rest.find(',');
      std::string part(rest.substr(0, comma));
      if (part == "2.4") part = "24";
      if (part != "24" && part != "5" && part != "6")
        return common::MakeError("band must be 2.4 (or 24), 5, 6 or a comma list; got \"" +
                                 r->band + "\"");
      normalised += (normalised.empty() ? "" : ",") + part;
      if (comma == std::string_view::npos) break;
      rest = rest.substr(comma + 1);
    }
    r->band = normalised;
  }
  if (!r->format.empty() && r->format != "stream" && r->format != "pcap")
    return common::MakeError("format must be stream or pcap; got \"" + r->format + "\"");
  return common::Ok{};
}

std::string CaptureRequestJson(const config::ManagedCapture& r) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartObject();
  w.Key("type");
  w.String(r.type);
  if (!r.ap_macs.empty()) {
    w.Key("ap_macs");
    w.StartArray();
    for (const auto& mac : r.ap_macs) w.String(mac);
    w.EndArray();
  }
  auto str = [&](const char* key, const std::string& value) {
    if (value.empty()) return;
    w.Key(key);
    w.String(value);
  };
  auto num = [&](const char* key, const std::optional<int>& value) {
    if (!value) return;
    w.Key(key);
    w.Int(*value);
  };
  str("client_mac", r.client_mac);
  str("ssid", r.ssid);
  str("band", r.band);
  num("duration", r.duration);
  num("num_packets", r.num_packets);
  num("max_pkt_len", r.max_pkt_len);
  if (r.includes_mcast) {
    w.Key("includes_mcast");
    w.Bool(*r.includes_mcast);
  }
  str("tcpdump_expression", r.tcpdump_expression);
  str("format", r.format);
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

}  // namespace mpe::capture
