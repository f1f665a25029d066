#include "sim/truth.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <iterator>

#include "common/mac.h"
#include "sim/json_out.h"
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

// Writes one snapshot of the truth as JSON, family by family. The caller holds mu_.
class GroundTruth::JsonWriter {
 public:
  JsonWriter(const GroundTruth& t, JsonOut& w) : t_(t), w_(w) {}

  // The whole answer under the truth's lock: the totals, and every series when `families`.
  static std::string Snapshot(const GroundTruth& t, bool families) {
    std::lock_guard<std::mutex> lock(t.mu_);
    rapidjson::StringBuffer sb;
    JsonOut w(sb);
    JsonWriter json(t, w);
    w.StartObject();
    json.Totals();
    if (families) json.Families();
    json.Connections();
    w.EndObject();
    return sb.GetString();
  }

  // "messages" and "lost_messages", the totals every answer starts with.
  void Totals() {
    Pair("messages", "data", t_.data_, "capture_end", t_.capture_end_);
    Pair("lost_messages", "cumulative", t_.lost_cumulative_, "per_message", t_.lost_per_message_);
  }

  // "connections", "drops" and "subscriptions", the totals every answer ends with.
  void Connections() {
    JsonFields(w_, "connections", t_.connections_, "drops", t_.drops_, "subscriptions",
               t_.subscriptions_);
  }

  void Families() {
    w_.Key("families");
    w_.StartObject();
    PacketFamilies();
    WirelessFamilies();
    WiredFamilies();
    StreamFamilies();
    ConnectivityFamilies();
    w_.EndObject();
  }

 private:
  // One family: an array of {"labels": {...}, <values>} per entry of `map`.
  template <typename Map, typename Labels, typename Values>
  void Family(const char* name, const Map& map, Labels labels, Values values) {
    w_.Key(name);
    w_.StartArray();
    for (const auto& entry : map)
      Entry([&] { labels(entry.first); }, [&] { values(entry.second); });
    w_.EndArray();
  }
  // One series: {"labels": {<labels()>}, <values()>}.
  template <typename Labels, typename Values>
  void Entry(Labels labels, Values values) {
    w_.StartObject();
    w_.Key("labels");
    w_.StartObject();
    labels();
    w_.EndObject();
    values();
    w_.EndObject();
  }
  // A family whose entries carry one integer "value".
  template <typename Map, typename Labels>
  void CountFamily(const char* name, const Map& map, Labels labels) {
    Family(name, map, labels, [this](uint64_t v) { Value(v); });
  }
  // key: {a: va, b: vb}
  template <typename A, typename B>
  void Pair(const char* key, const char* a, A va, const char* b, B vb) {
    w_.Key(key);
    w_.StartObject();
    JsonFields(w_, a, va, b, vb);
    w_.EndObject();
  }
  // Two families of one Counter map: its counts and its bytes.
  template <typename Map, typename Labels>
  void CountsAndBytes(const char* counts, const char* bytes, const Map& map, Labels labels) {
    Family(counts, map, labels, [this](const GroundTruth::Counter& v) { Value(v.count); });
    Family(bytes, map, labels, [this](const GroundTruth::Counter& v) { Bytes(v.bytes); });
  }
  void Value(uint64_t v) { JsonField(w_, "value", v); }
  void Bytes(double v) { JsonField(w_, "value", v); }
  void SiteLabels(uint32_t site) {
    static const std::pair<std::string, std::string> kUnknown{"unknown", "unknown"};
    const auto& s = site < t_.sites_.size() ? t_.sites_[site] : kUnknown;
    JsonFields(w_, "site_id", s.first, "site", s.second);
  }
  void ApLabels(uint32_t site, uint64_t ap) {
    SiteLabels(site);
    Label("ap_mac", common::FormatMac(ap));
  }
  void Label(const char* key, const std::string& value) { JsonField(w_, key, value); }
  void BandLabel(uint8_t band) { Label("band", BandName(static_cast<Band>(band))); }
  // "buckets": {<names[i]>: cumulative(i), ..., "+Inf": cumulative(n)}, then "count".
  template <typename Cumulative>
  void BucketsAndCount(const char* const* names, size_t n, Cumulative cumulative, uint64_t count) {
    w_.Key("buckets");
    w_.StartObject();
    for (size_t i = 0; i < n; ++i) JsonField(w_, names[i], cumulative(i));
    JsonField(w_, "+Inf", cumulative(n));
    w_.EndObject();
    JsonField(w_, "count", count);
  }
  void Buckets(const GroundTruth::Histogram& h, const char* const* names, size_t n) {
    auto cumulative = [&h](size_t i) {
      uint64_t cum = 0;
      for (size_t k = 0; k <= i; ++k) cum += h.buckets[k];
      return cum;
    };
    BucketsAndCount(names, n, cumulative, h.count);
    JsonField(w_, "sum", h.sum);
  }

  void PacketFamilies() {
    auto labels = [this](const PacketKey& k) {
      ApLabels(std::get<0>(k), std::get<1>(k));
      Label("interface", std::get<2>(k) == 0 ? "radiotap" : "wired");
      Label("direction", std::get<3>(k) == 0 ? "tx" : "rx");
    };
    CountsAndBytes("mist_pcap_packets_total", "mist_pcap_bytes_total", t_.packets_, labels);
  }

  void WirelessFamilies() {
    CountFamily("mist_pcap_wireless_frames_total", t_.frames_, [this](const FrameKey& k) {
      auto kind = static_cast<FrameKind>(std::get<3>(k));
      ApLabels(std::get<0>(k), std::get<1>(k));
      BandLabel(std::get<2>(k));
      Label("frame_type", FrameTypeName(kind));
      Label("frame_subtype", FrameSubtypeName(kind));
    });
    Family(
        "mist_pcap_wireless_rssi_dbm", t_.rssi_,
        [this](const RssiKey& k) {
          ApLabels(std::get<0>(k), std::get<1>(k));
          BandLabel(std::get<2>(k));
        },
        [this](const GroundTruth::Histogram& h) { Buckets(h, kRssiNames, 7); });
    CountFamily("mist_pcap_wireless_channel_frames_total", t_.channels_,
                [this](const ChannelKey& k) {
                  SiteLabels(std::get<0>(k));
                  BandLabel(std::get<1>(k));
                  Label("channel", std::to_string(std::get<2>(k)));
                });
    Family(
        "mist_pcap_wireless_data_rate_mbps", t_.rates_,
        [this](const RateKey& k) {
          SiteLabels(std::get<0>(k));
          BandLabel(std::get<1>(k));
        },
        [this](const GroundTruth::Histogram& h) { Buckets(h, kRateNames, 10); });
  }

  void WiredFamilies() {
    auto labels = [this](const WiredKey& k) {
      ApLabels(std::get<0>(k), std::get<1>(k));
      Label("protocol", WiredProtoName(static_cast<WiredProto>(std::get<2>(k))));
      Label("vlan", std::get<3>(k) < 0 ? std::string("none") : std::to_string(std::get<3>(k)));
    };
    CountsAndBytes("mist_pcap_wired_packets_total", "mist_pcap_wired_bytes_total", t_.wired_,
                   labels);
  }

  // Per site: lost_messages (sites that lost any) and messages by event (non-zero ones).
  void StreamFamilies() {
    w_.Key("mist_pcap_stream_lost_messages_total");
    w_.StartArray();
    for (const auto& [site, c] : t_.site_counts_) {
      if (c.lost_cumulative == 0 && c.lost_per_message == 0) continue;
      Entry([this, s = site] { SiteLabels(s); },
            [this, &counts = c] {
              JsonFields(w_, "value_cumulative", counts.lost_cumulative, "value_per_message",
                         counts.lost_per_message);
            });
    }
    w_.EndArray();
    w_.Key("mist_pcap_stream_messages_total");
    w_.StartArray();
    for (const auto& [site, c] : t_.site_counts_) {
      for (int e = 0; e < 2; ++e) {
        uint64_t value = e == 0 ? c.data : c.capture_end;
        if (value == 0) continue;
        Entry(
            [this, s = site, e] {
              SiteLabels(s);
              Label("event", e == 0 ? "data" : "capture_end");
            },
            [this, value] { Value(value); });
      }
    }
    w_.EndArray();
  }

  // Issue 18: joins, disconnects, EAPOL, DHCP, DNS, top clients, truncation.
  void ConnectivityFamilies() {
    CountFamily("mist_pcap_wireless_retries_total", t_.retries_, [this](const RssiKey& k) {
      ApLabels(std::get<0>(k), std::get<1>(k));
      BandLabel(std::get<2>(k));
    });
    CountFamily("mist_pcap_wireless_join_responses_total", t_.joins_, [this](const CodeKey& k) {
      ApLabels(std::get<0>(k), std::get<1>(k));
      Label("frame_subtype", kJoinNames[std::get<2>(k)]);
      Label("status_code", std::to_string(std::get<3>(k)));
    });
    CountFamily("mist_pcap_wireless_disconnects_total", t_.disconnects_, [this](const CodeKey& k) {
      ApLabels(std::get<0>(k), std::get<1>(k));
      Label("frame_subtype", kDisconnectNames[std::get<2>(k)]);
      Label("reason_code", std::to_string(std::get<3>(k)));
    });
    CountFamily("mist_pcap_eapol_messages_total", t_.eapol_messages_, [this](const RssiKey& k) {
      ApLabels(std::get<0>(k), std::get<1>(k));
      Label("message", std::to_string(std::get<2>(k)));
    });
    CountFamily("mist_pcap_eapol_handshakes_total", t_.handshakes_, [this](const RssiKey& k) {
      ApLabels(std::get<0>(k), std::get<1>(k));
      Label("result", std::get<2>(k) == 0 ? "complete" : "incomplete");
    });
    Family(
        "mist_pcap_eapol_handshake_duration_seconds", t_.durations_,
        [this](const ApKey& k) { ApLabels(std::get<0>(k), std::get<1>(k)); },
        [this](const std::vector<int64_t>& durations) { Durations(durations); });
    CountFamily("mist_pcap_wired_dhcp_messages_total", t_.dhcp_, [this](const RssiKey& k) {
      ApLabels(std::get<0>(k), std::get<1>(k));
      Label("message_type", kDhcpNames[std::get<2>(k)]);
    });
    CountFamily("mist_pcap_wired_dns_responses_total", t_.dns_, [this](const RssiKey& k) {
      ApLabels(std::get<0>(k), std::get<1>(k));
      Label("rcode", kRcodeNames[std::get<2>(k)]);
    });
    CountFamily("mist_pcap_top_clients_bytes", t_.top_clients_,
                [this](const std::tuple<uint32_t, uint64_t>& k) {
                  SiteLabels(std::get<0>(k));
                  Label("client_mac", common::FormatMac(std::get<1>(k)));
                });
    CountFamily("mist_pcap_decode_truncated_total", t_.truncated_,
                [this](const std::tuple<uint32_t, uint8_t>& k) {
                  SiteLabels(std::get<0>(k));
                  Label("layer", LayerName(static_cast<Layer>(std::get<1>(k))));
                });
  }

  // The handshake durations of one AP: every one, the cumulative buckets, count and sums.
  void Durations(const std::vector<int64_t>& durations) {
    w_.Key("durations_us");
    w_.StartArray();
    int64_t sum = 0;
    for (int64_t us : durations) {
      w_.Int64(us);
      sum += us;
    }
    w_.EndArray();
    auto cumulative = [&durations](size_t i) {
      uint64_t n = 0;
      for (int64_t us : durations) {
        n += i == std::size(kDurationBoundsUs) || us <= kDurationBoundsUs[i] ? 1 : 0;
      }
      return n;
    };
    BucketsAndCount(kDurationNames, std::size(kDurationBoundsUs), cumulative, durations.size());
    JsonFields(w_, "sum_us", sum, "sum", static_cast<double>(sum) / 1e6);
  }

  const GroundTruth& t_;
  JsonOut& w_;
};

std::string GroundTruth::SummaryJson() const { return JsonWriter::Snapshot(*this, false); }

std::string GroundTruth::ToJson() const { return JsonWriter::Snapshot(*this, true); }

}  // namespace mpe::sim
