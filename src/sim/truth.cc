#include "sim/truth.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/mac.h"
#include "sim/packet_gen.h"

namespace mpe::sim {

namespace {

constexpr double kRssiBounds[] = {-90, -80, -70, -60, -50, -40, -30};
constexpr const char* kRssiNames[] = {"-90", "-80", "-70", "-60", "-50", "-40", "-30"};
constexpr double kRateBounds[] = {1, 6, 12, 24, 54, 150, 300, 600, 1200, 2400};
constexpr const char* kRateNames[] = {"1",   "6",   "12",  "24",   "54",
                                      "150", "300", "600", "1200", "2400"};

template <size_t N>
size_t BucketIndex(const double (&bounds)[N], double v) {
  size_t i = 0;
  while (i < N && v > bounds[i]) ++i;
  return i;  // N = above every bound
}

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

}  // namespace

void GroundTruth::SetSite(uint32_t index, const std::string& site_id, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  if (sites_.size() <= index) sites_.resize(index + 1);
  sites_[index] = {site_id, name.empty() ? site_id : name};
}

void GroundTruth::Add(const TruthDelta& d) {
  using Kind = TruthDelta::Kind;
  if (d.kind == Kind::kNone) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (d.kind == Kind::kSubscribed) {
    ++subscriptions_;
    return;
  }
  SiteCounts& site = site_counts_[d.site];
  if (d.kind == Kind::kCaptureEnd) {
    ++capture_end_;
    ++site.capture_end;
    return;
  }
  ++data_;
  ++site.data;
  if (d.has_lost) {
    int64_t& last = last_lost_[d.capture_serial];
    int64_t add = d.lost >= last ? d.lost - last : d.lost;
    last = d.lost;
    lost_cumulative_ += add;
    site.lost_cumulative += add;
    lost_per_message_ += d.lost;
    site.lost_per_message += d.lost;
  }
  uint8_t iface = d.kind == Kind::kWireless ? 0 : 1;
  Counter& pk = packets_[PacketKey{d.site, d.ap_mac, iface, d.direction}];
  ++pk.count;
  pk.bytes += d.length;
  if (d.kind == Kind::kWireless) {
    ++frames_[FrameKey{d.site, d.ap_mac, d.band, d.frame}];
    Histogram& rh = rssi_[RssiKey{d.site, d.ap_mac, d.band}];
    ++rh.buckets[BucketIndex(kRssiBounds, d.rssi)];
    ++rh.count;
    rh.sum += d.rssi;
    ++channels_[ChannelKey{d.site, d.band, d.channel}];
    Histogram& dh = rates_[RateKey{d.site, d.band}];
    ++dh.buckets[BucketIndex(kRateBounds, d.rate_mbps)];
    ++dh.count;
    dh.sum += d.rate_mbps;
  } else {
    Counter& w = wired_[WiredKey{d.site, d.ap_mac, d.proto, d.vlan}];
    ++w.count;
    w.bytes += d.length;
  }
}

void GroundTruth::AddConnection() {
  std::lock_guard<std::mutex> lock(mu_);
  ++connections_;
}

void GroundTruth::AddDrop() {
  std::lock_guard<std::mutex> lock(mu_);
  ++drops_;
}

void GroundTruth::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  packets_.clear();
  frames_.clear();
  rssi_.clear();
  channels_.clear();
  rates_.clear();
  wired_.clear();
  site_counts_.clear();
  data_ = capture_end_ = 0;
  lost_cumulative_ = lost_per_message_ = 0;
  connections_ = drops_ = subscriptions_ = 0;
}

uint64_t GroundTruth::data_messages() const {
  std::lock_guard<std::mutex> lock(mu_);
  return data_;
}

std::string GroundTruth::SummaryJson() const {
  std::lock_guard<std::mutex> lock(mu_);
  rapidjson::StringBuffer sb;
  Writer w(sb);
  w.StartObject();
  w.Key("messages");
  w.StartObject();
  w.Key("data");
  w.Uint64(data_);
  w.Key("capture_end");
  w.Uint64(capture_end_);
  w.EndObject();
  w.Key("lost_messages");
  w.StartObject();
  w.Key("cumulative");
  w.Int64(lost_cumulative_);
  w.Key("per_message");
  w.Int64(lost_per_message_);
  w.EndObject();
  w.Key("connections");
  w.Uint64(connections_);
  w.Key("drops");
  w.Uint64(drops_);
  w.Key("subscriptions");
  w.Uint64(subscriptions_);
  w.EndObject();
  return sb.GetString();
}

std::string GroundTruth::ToJson() const {
  std::lock_guard<std::mutex> lock(mu_);
  rapidjson::StringBuffer sb;
  Writer w(sb);
  auto site_labels = [&](uint32_t site) {
    static const std::pair<std::string, std::string> kUnknown{"unknown", "unknown"};
    const auto& s = site < sites_.size() ? sites_[site] : kUnknown;
    w.Key("site_id");
    w.String(s.first);
    w.Key("site");
    w.String(s.second);
  };
  auto label = [&](const char* key, const std::string& value) {
    w.Key(key);
    w.String(value);
  };
  auto hist = [&](const Histogram& h, const char* const* names, size_t n) {
    w.Key("buckets");
    w.StartObject();
    uint64_t cum = 0;
    for (size_t i = 0; i < n; ++i) {
      cum += h.buckets[i];
      w.Key(names[i]);
      w.Uint64(cum);
    }
    cum += h.buckets[n];
    w.Key("+Inf");
    w.Uint64(cum);
    w.EndObject();
    w.Key("count");
    w.Uint64(h.count);
    w.Key("sum");
    w.Double(h.sum);
  };

  w.StartObject();
  w.Key("messages");
  w.StartObject();
  w.Key("data");
  w.Uint64(data_);
  w.Key("capture_end");
  w.Uint64(capture_end_);
  w.EndObject();
  w.Key("lost_messages");
  w.StartObject();
  w.Key("cumulative");
  w.Int64(lost_cumulative_);
  w.Key("per_message");
  w.Int64(lost_per_message_);
  w.EndObject();

  w.Key("families");
  w.StartObject();
  for (bool bytes : {false, true}) {
    w.Key(bytes ? "mist_pcap_bytes_total" : "mist_pcap_packets_total");
    w.StartArray();
    for (const auto& [k, v] : packets_) {
      w.StartObject();
      w.Key("labels");
      w.StartObject();
      site_labels(std::get<0>(k));
      label("ap_mac", common::FormatMac(std::get<1>(k)));
      label("interface", std::get<2>(k) == 0 ? "radiotap" : "wired");
      label("direction", std::get<3>(k) == 0 ? "tx" : "rx");
      w.EndObject();
      w.Key("value");
      if (bytes)
        w.Double(v.bytes);
      else
        w.Uint64(v.count);
      w.EndObject();
    }
    w.EndArray();
  }

  w.Key("mist_pcap_wireless_frames_total");
  w.StartArray();
  for (const auto& [k, v] : frames_) {
    auto kind = static_cast<FrameKind>(std::get<3>(k));
    w.StartObject();
    w.Key("labels");
    w.StartObject();
    site_labels(std::get<0>(k));
    label("ap_mac", common::FormatMac(std::get<1>(k)));
    label("band", BandName(static_cast<Band>(std::get<2>(k))));
    label("frame_type", FrameTypeName(kind));
    label("frame_subtype", FrameSubtypeName(kind));
    w.EndObject();
    w.Key("value");
    w.Uint64(v);
    w.EndObject();
  }
  w.EndArray();

  w.Key("mist_pcap_wireless_rssi_dbm");
  w.StartArray();
  for (const auto& [k, v] : rssi_) {
    w.StartObject();
    w.Key("labels");
    w.StartObject();
    site_labels(std::get<0>(k));
    label("ap_mac", common::FormatMac(std::get<1>(k)));
    label("band", BandName(static_cast<Band>(std::get<2>(k))));
    w.EndObject();
    hist(v, kRssiNames, 7);
    w.EndObject();
  }
  w.EndArray();

  w.Key("mist_pcap_wireless_channel_frames_total");
  w.StartArray();
  for (const auto& [k, v] : channels_) {
    w.StartObject();
    w.Key("labels");
    w.StartObject();
    site_labels(std::get<0>(k));
    label("band", BandName(static_cast<Band>(std::get<1>(k))));
    label("channel", std::to_string(std::get<2>(k)));
    w.EndObject();
    w.Key("value");
    w.Uint64(v);
    w.EndObject();
  }
  w.EndArray();

  w.Key("mist_pcap_wireless_data_rate_mbps");
  w.StartArray();
  for (const auto& [k, v] : rates_) {
    w.StartObject();
    w.Key("labels");
    w.StartObject();
    site_labels(std::get<0>(k));
    label("band", BandName(static_cast<Band>(std::get<1>(k))));
    w.EndObject();
    hist(v, kRateNames, 10);
    w.EndObject();
  }
  w.EndArray();

  for (bool bytes : {false, true}) {
    w.Key(bytes ? "mist_pcap_wired_bytes_total" : "mist_pcap_wired_packets_total");
    w.StartArray();
    for (const auto& [k, v] : wired_) {
      w.StartObject();
      w.Key("labels");
      w.StartObject();
      site_labels(std::get<0>(k));
      label("ap_mac", common::FormatMac(std::get<1>(k)));
      label("protocol", WiredProtoName(static_cast<WiredProto>(std::get<2>(k))));
      label("vlan", std::get<3>(k) < 0 ? std::string("none") : std::to_string(std::get<3>(k)));
      w.EndObject();
      w.Key("value");
      if (bytes)
        w.Double(v.bytes);
      else
        w.Uint64(v.count);
      w.EndObject();
    }
    w.EndArray();
  }

  w.Key("mist_pcap_stream_lost_messages_total");
  w.StartArray();
  for (const auto& [site, c] : site_counts_) {
    if (c.lost_cumulative == 0 && c.lost_per_message == 0) continue;
    w.StartObject();
    w.Key("labels");
    w.StartObject();
    site_labels(site);
    w.EndObject();
    w.Key("value_cumulative");
    w.Int64(c.lost_cumulative);
    w.Key("value_per_message");
    w.Int64(c.lost_per_message);
    w.EndObject();
  }
  w.EndArray();

  w.Key("mist_pcap_stream_messages_total");
  w.StartArray();
  for (const auto& [site, c] : site_counts_) {
    for (int e = 0; e < 2; ++e) {
      uint64_t value = e == 0 ? c.data : c.capture_end;
      if (value == 0) continue;
      w.StartObject();
      w.Key("labels");
      w.StartObject();
      site_labels(site);
      label("event", e == 0 ? "data" : "capture_end");
      w.EndObject();
      w.Key("value");
      w.Uint64(value);
      w.EndObject();
    }
  }
  w.EndArray();
  w.EndObject();  // families

  w.Key("connections");
  w.Uint64(connections_);
  w.Key("drops");
  w.Uint64(drops_);
  w.Key("subscriptions");
  w.Uint64(subscriptions_);
  w.EndObject();
  return sb.GetString();
}

}  // namespace mpe::sim
