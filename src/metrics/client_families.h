#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "decode/client_facts.h"
#include "metrics/series_store.h"
#include "metrics/text_format.h"

namespace mpe::metrics {

class ApTable;
class HandshakeTracker;
class TopTalkers;

// The client-connectivity families of docs/spec.md §6.3 (retries, join responses,
// disconnects, EAPOL messages and handshakes, DHCP, DNS, top clients, truncated packets),
// fed with decode::ClientFacts. Part of StreamAggregator's state: every method runs under the
// aggregator's mutex (not thread-safe on its own). Storage as the other stream families:
// packed keys (declared KeyLayouts) in SeriesStores under the same per-family cap, overflow
// set "other"; per site a HandshakeTracker and a TopTalkers summary, both bounded.
class ClientFamilies {
 public:
  struct Options {
    size_t cap = 20000;  // label sets per family
    int top_clients = 10;
    std::chrono::milliseconds top_window = std::chrono::minutes(5);
  };
  // The families, in mist_pcap_series_dropped_total{family} order.
  static constexpr std::array<const char*, 10> kFamilyNames = {
      "mist_pcap_wireless_retries_total",     "mist_pcap_wireless_join_responses_total",
      "mist_pcap_wireless_disconnects_total", "mist_pcap_eapol_messages_total",
      "mist_pcap_eapol_handshakes_total",     "mist_pcap_eapol_handshake_duration_seconds",
      "mist_pcap_wired_dhcp_messages_total",  "mist_pcap_wired_dns_responses_total",
      "mist_pcap_top_clients_bytes",          "mist_pcap_decode_truncated_total"};

  explicit ClientFamilies(Options options);
  ~ClientFamilies();
  ClientFamilies(const ClientFamilies&) = delete;
  ClientFamilies& operator=(const ClientFamilies&) = delete;

  // One packet of `site` captured by AP `ap` (interned id; `ap_key` = the raw MAC | 1 << 48,
  // or 0 when the message had none) on band id `band`. now_rel: seconds (staleness); now_ms:
  // the aggregator's steady milliseconds (top clients' window).
  void Account(uint16_t site, const decode::ClientFacts& f, uint32_t ap, uint64_t ap_key,
               uint32_t band, uint32_t now_rel, int64_t now_ms, ApTable& aps);
  // The site's capture ended: its pending handshakes are incomplete.
  void CaptureEnd(uint16_t site, uint32_t now_rel, ApTable& aps);
  void RemoveSite(uint16_t site);
  size_t ExpireStale(uint32_t cutoff);
  // Marks the AP ids any series uses (ApTable::Retain).
  void MarkAps(std::vector<bool>* used) const;

  // What printing reads: plain copies (a snapshot's share, or a live print's).
  struct Data {
    std::array<std::vector<CounterSeries>, 8> counters;  // by family index, durations empty
    std::vector<HistogramSeries<9>> durations;
    struct Top {
      uint16_t site;
      uint64_t client;
      uint64_t bytes;
    };
    std::vector<Top> top;
    struct Truncated {
      uint16_t site;
      std::array<uint64_t, static_cast<size_t>(decode::TruncatedLayer::kCount)> by_layer;
    };
    std::vector<Truncated> truncated;  // every site that sent a pcap_raw
    std::array<uint64_t, kFamilyNames.size()> dropped{};
  };
  void Copy(int64_t now_ms, Data* out) const;

  // Prints every family of `data`. site_labels(handle) -> `site_id="..",site=".."` (the
  // overflow handle included); ap_label(id) -> the AP's label value.
  using LabelFn = std::function<std::string_view(uint32_t)>;
  static void Render(const Data& data, const LabelFn& site_labels, const LabelFn& ap_label,
                     SeriesWriter& w);

  size_t SeriesCount(size_t family) const;

 private:
  struct Site;
  void Outcomes(uint16_t site, uint32_t now_rel, ApTable& aps);
  Site& SiteOf(uint16_t site);
  void Count(size_t family, uint64_t key, uint64_t overflow, uint32_t now_rel);

  Options options_;
  std::array<SeriesStore<CounterSeries>, 8> counters_;
  SeriesStore<HistogramSeries<9>> durations_;
  std::vector<std::unique_ptr<Site>> sites_;  // by site handle, created on first use
  std::vector<uint64_t> outcome_scratch_;
  uint64_t top_dropped_ = 0;
};

// Family indices into Data::counters / kFamilyNames.
enum ClientFamily : size_t {
  kRetries = 0,
  kJoin = 1,
  kDisconnect = 2,
  kEapolMessages = 3,
  kHandshakes = 4,
  kHandshakeDuration = 5,  // not in counters
  kDhcp = 6,
  kDns = 7,
  kTopClients = 8,
  kTruncated = 9,
};

}  // namespace mpe::metrics
