#include "sim/truth.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <iterator>

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

constexpr int64_t kHandshakeTimeoutUs = 5000000;
// mist_pcap_eapol_handshake_duration_seconds buckets, as microseconds and as labels.
constexpr int64_t kDurationBoundsUs[] = {10000,  25000,   50000,   100000, 250000,
                                         500000, 1000000, 2500000, 5000000};
constexpr const char* kDurationNames[] = {"0.01", "0.025", "0.05", "0.1", "0.25",
                                          "0.5",  "1",     "2.5",  "5"};
constexpr const char* kJoinNames[] = {"", "authentication", "association_response",
                                      "reassociation_response"};
constexpr const char* kDisconnectNames[] = {"", "deauthentication", "disassociation"};
constexpr const char* kDhcpNames[] = {"",    "discover", "offer",   "request", "decline",
                                      "ack", "nak",      "release", "inform"};
constexpr const char* kRcodeNames[] = {"noerror", "formerr", "servfail", "nxdomain",
                                       "notimp",  "refused", "other"};

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
    ExpireHandshakes(d.site, 0, true);  // pending handshakes end with the capture
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
  AddConnectivity(d);
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

void GroundTruth::AddConnectivity(const TruthDelta& d) {
  if (d.truncated >= 0) ++truncated_[{d.site, static_cast<uint8_t>(d.truncated)}];
  if (d.kind == TruthDelta::Kind::kWireless) {
    if (d.retry) ++retries_[RssiKey{d.site, d.ap_mac, d.band}];
    if (d.join) ++joins_[CodeKey{d.site, d.ap_mac, d.join, d.code}];
    if (d.disc) ++disconnects_[CodeKey{d.site, d.ap_mac, d.disc, d.code}];
    if (d.top_client) top_clients_[{d.site, d.top_client}] += static_cast<uint64_t>(d.length);
  } else {
    if (d.dhcp) ++dhcp_[RssiKey{d.site, d.ap_mac, d.dhcp}];
    if (d.dns_rcode >= 0) {
      ++dns_[RssiKey{d.site, d.ap_mac, static_cast<uint8_t>(d.dns_rcode > 5 ? 6 : d.dns_rcode)}];
    }
  }
  // The handshake rule (notes of issue 18): a later packet of the site past a pending
  // handshake's deadline ends it as incomplete.
  ExpireHandshakes(d.site, d.ts_us, false);
  if (d.eapol_msg == 0) return;
  ++eapol_messages_[RssiKey{d.site, d.ap_mac, d.eapol_msg}];
  if (d.retry) return;  // retransmissions do not drive the handshake
  PairKey key{d.site, d.bssid, d.client};
  auto it = pending_.find(key);
  if (d.eapol_msg == 1) {
    if (it != pending_.end()) ++handshakes_[RssiKey{d.site, it->second.ap_mac, 1}];
    pending_[key] = Pending{d.ap_mac, d.ts_us, d.ts_us, 2};
  } else if (it != pending_.end() && d.eapol_msg == it->second.next &&
             d.ts_us - it->second.last_us <= kHandshakeTimeoutUs) {
    Pending& h = it->second;
    if (d.eapol_msg == 4) {
      ++handshakes_[RssiKey{d.site, h.ap_mac, 0}];
      durations_[ApKey{d.site, h.ap_mac}].push_back(d.ts_us - h.start_us);
      pending_.erase(it);
      return;
    }
    h.next = static_cast<uint8_t>(h.next + 1);
    h.last_us = d.ts_us;
  } else {
    return;
  }
  auto [dl, inserted] = next_deadline_.try_emplace(d.site, d.ts_us + kHandshakeTimeoutUs);
  if (!inserted) dl->second = std::min(dl->second, d.ts_us + kHandshakeTimeoutUs);
}

void GroundTruth::ExpireHandshakes(uint32_t site, int64_t now_us, bool all) {
  auto dl = next_deadline_.find(site);
  if (dl == next_deadline_.end()) return;
  if (!all && now_us <= dl->second) return;
  int64_t next = INT64_MAX;
  auto it = pending_.lower_bound(PairKey{site, 0, 0});
  while (it != pending_.end() && std::get<0>(it->first) == site) {
    if (all || now_us - it->second.last_us > kHandshakeTimeoutUs) {
      ++handshakes_[RssiKey{site, it->second.ap_mac, 1}];
      it = pending_.erase(it);
    } else {
      next = std::min(next, it->second.last_us + kHandshakeTimeoutUs);
      ++it;
    }
  }
  if (next == INT64_MAX) {
    next_deadline_.erase(dl);
  } else {
    dl->second = next;
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
  retries_.clear();
  joins_.clear();
  disconnects_.clear();
  eapol_messages_.clear();
  handshakes_.clear();
  durations_.clear();
  dhcp_.clear();
  dns_.clear();
  top_clients_.clear();
  truncated_.clear();
  pending_.clear();
  next_deadline_.clear();
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

  // Connectivity families (issue 18).
  auto ap_site = [&](uint32_t site, uint64_t ap) {
    site_labels(site);
    label("ap_mac", common::FormatMac(ap));
  };
  auto counter = [&](const char* family, const auto& map, const auto& labels) {
    w.Key(family);
    w.StartArray();
    for (const auto& [k, v] : map) {
      w.StartObject();
      w.Key("labels");
      w.StartObject();
      labels(k);
      w.EndObject();
      w.Key("value");
      w.Uint64(v);
      w.EndObject();
    }
    w.EndArray();
  };
  counter("mist_pcap_wireless_retries_total", retries_, [&](const RssiKey& k) {
    ap_site(std::get<0>(k), std::get<1>(k));
    label("band", BandName(static_cast<Band>(std::get<2>(k))));
  });
  counter("mist_pcap_wireless_join_responses_total", joins_, [&](const CodeKey& k) {
    ap_site(std::get<0>(k), std::get<1>(k));
    label("frame_subtype", kJoinNames[std::get<2>(k)]);
    label("status_code", std::to_string(std::get<3>(k)));
  });
  counter("mist_pcap_wireless_disconnects_total", disconnects_, [&](const CodeKey& k) {
    ap_site(std::get<0>(k), std::get<1>(k));
    label("frame_subtype", kDisconnectNames[std::get<2>(k)]);
    label("reason_code", std::to_string(std::get<3>(k)));
  });
  counter("mist_pcap_eapol_messages_total", eapol_messages_, [&](const RssiKey& k) {
    ap_site(std::get<0>(k), std::get<1>(k));
    label("message", std::to_string(std::get<2>(k)));
  });
  counter("mist_pcap_eapol_handshakes_total", handshakes_, [&](const RssiKey& k) {
    ap_site(std::get<0>(k), std::get<1>(k));
    label("result", std::get<2>(k) == 0 ? "complete" : "incomplete");
  });
  w.Key("mist_pcap_eapol_handshake_duration_seconds");
  w.StartArray();
  for (const auto& [k, durations] : durations_) {
    w.StartObject();
    w.Key("labels");
    w.StartObject();
    ap_site(std::get<0>(k), std::get<1>(k));
    w.EndObject();
    w.Key("durations_us");
    w.StartArray();
    int64_t sum = 0;
    for (int64_t us : durations) {
      w.Int64(us);
      sum += us;
    }
    w.EndArray();
    w.Key("buckets");
    w.StartObject();
    for (size_t i = 0; i < std::size(kDurationBoundsUs); ++i) {
      uint64_t n = 0;
      for (int64_t us : durations) n += us <= kDurationBoundsUs[i] ? 1 : 0;
      w.Key(kDurationNames[i]);
      w.Uint64(n);
    }
    w.Key("+Inf");
    w.Uint64(durations.size());
    w.EndObject();
    w.Key("count");
    w.Uint64(durations.size());
    w.Key("sum_us");
    w.Int64(sum);
    w.Key("sum");
    w.Double(static_cast<double>(sum) / 1e6);
    w.EndObject();
  }
  w.EndArray();
  counter("mist_pcap_wired_dhcp_messages_total", dhcp_, [&](const RssiKey& k) {
    ap_site(std::get<0>(k), std::get<1>(k));
    label("message_type", kDhcpNames[std::get<2>(k)]);
  });
  counter("mist_pcap_wired_dns_responses_total", dns_, [&](const RssiKey& k) {
    ap_site(std::get<0>(k), std::get<1>(k));
    label("rcode", kRcodeNames[std::get<2>(k)]);
  });
  counter("mist_pcap_top_clients_bytes", top_clients_,
          [&](const std::tuple<uint32_t, uint64_t>& k) {
            site_labels(std::get<0>(k));
            label("client_mac", common::FormatMac(std::get<1>(k)));
          });
  counter("mist_pcap_decode_truncated_total", truncated_,
          [&](const std::tuple<uint32_t, uint8_t>& k) {
            site_labels(std::get<0>(k));
            label("layer", LayerName(static_cast<Layer>(std::get<1>(k))));
          });
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
