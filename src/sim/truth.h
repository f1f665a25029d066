#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace mpe::sim {

// What one delivered stream message adds to the ground truth. Small and copyable so it can
// ride along with the queued message text until the write completes.
struct TruthDelta {
  enum class Kind : uint8_t { kNone, kWireless, kWired, kCaptureEnd, kSubscribed };
  Kind kind = Kind::kNone;
  uint8_t direction = 0;  // 0 tx, 1 rx
  uint8_t band = 0;       // sim::Band
  uint8_t frame = 0;      // FrameKind index
  uint8_t proto = 0;      // WiredProto index
  bool has_lost = false;
  int16_t rssi = 0;
  int16_t channel = 0;
  int16_t vlan = -1;  // -1: untagged ("none")
  uint32_t site = 0;  // site index (GroundTruth::SetSite)
  uint64_t ap_mac = 0;
  uint64_t capture_serial = 0;
  int64_t lost = 0;
  double length = 0;
  double rate_mbps = 0;
  // Connectivity families (FillConnectivityTruth). Codes: join 1 authentication, 2
  // association_response, 3 reassociation_response; disc 1 deauthentication, 2 disassociation.
  bool retry = false;
  int8_t truncated = -1;  // sim::Layer index of a truncated packet
  uint8_t join = 0;
  uint8_t disc = 0;
  uint16_t code = 0;               // status or reason code
  uint8_t eapol_msg = 0;           // 1..4: a pairwise message with its whole EAPOL body delivered
  uint8_t dhcp = 0;                // option 53 value 1..8
  int8_t dns_rcode = -1;           // a DNS response from UDP port 53 whose flags were delivered
  int64_t ts_us = 0;               // pcap record timestamp
  uint64_t bssid = 0, client = 0;  // EAPOL handshake pair
  uint64_t top_client = 0;         // data frame counted for this client (0: none)
};

// The simulator's own account of every message it delivered, expressed as the metric series
// the exporter must show (label semantics of docs/spec.md §6.1). It shares no code with
// decode/ or metrics/. Thread-safe: sessions call Add from any io thread; readers call ToJson.
class GroundTruth {
 public:
  // Registers the labels of a site index (append-only, indices are never reused).
  void SetSite(uint32_t index, const std::string& site_id, const std::string& name);
  void Add(const TruthDelta& d);
  void AddConnection();
  void AddDrop();
  // Zeroes every sum; remembers the last lost_messages value per capture so cumulative
  // accounting continues the way a long-running client sees it.
  void Reset();
  uint64_t data_messages() const;
  std::string ToJson() const;
  // The totals of ToJson without "families" (messages, lost_messages, connections, drops,
  // subscriptions): cheap to poll while thousands of series stream (GET /sim/truth?families=0).
  std::string SummaryJson() const;

 private:
  struct Counter {
    uint64_t count = 0;
    double bytes = 0;
  };
  struct Histogram {
    std::array<uint64_t, 12> buckets{};  // non-cumulative; last = above every bound
    uint64_t count = 0;
    double sum = 0;
  };
  struct SiteCounts {
    uint64_t data = 0;
    uint64_t capture_end = 0;
    int64_t lost_cumulative = 0;
    int64_t lost_per_message = 0;
  };
  using PacketKey = std::tuple<uint32_t, uint64_t, uint8_t, uint8_t>;  // site ap iface dir
  using FrameKey = std::tuple<uint32_t, uint64_t, uint8_t, uint8_t>;   // site ap band frame
  using RssiKey = std::tuple<uint32_t, uint64_t, uint8_t>;             // site ap band
  using ChannelKey = std::tuple<uint32_t, uint8_t, int16_t>;           // site band channel
  using RateKey = std::tuple<uint32_t, uint8_t>;                       // site band
  using WiredKey = std::tuple<uint32_t, uint64_t, uint8_t, int16_t>;   // site ap proto vlan
  using CodeKey = std::tuple<uint32_t, uint64_t, uint8_t, uint16_t>;   // site ap kind code
  using ApKey = std::tuple<uint32_t, uint64_t>;                        // site ap
  using PairKey = std::tuple<uint32_t, uint64_t, uint64_t>;            // site bssid client
  struct Pending {
    uint64_t ap_mac = 0;  // of message 1
    int64_t start_us = 0;
    int64_t last_us = 0;
    uint8_t next = 2;
  };
  class JsonWriter;  // ToJson / SummaryJson (truth.cc)
  void AddConnectivity(const TruthDelta& d);
  void ExpireHandshakes(uint32_t site, int64_t now_us, bool all);

  mutable std::mutex mu_;
  std::vector<std::pair<std::string, std::string>> sites_;  // index -> (id, label)
  std::map<PacketKey, Counter> packets_;
  std::map<FrameKey, uint64_t> frames_;
  std::map<RssiKey, Histogram> rssi_;
  std::map<ChannelKey, uint64_t> channels_;
  std::map<RateKey, Histogram> rates_;
  std::map<WiredKey, Counter> wired_;
  std::map<uint32_t, SiteCounts> site_counts_;
  std::map<RssiKey, uint64_t> retries_;              // site ap band
  std::map<CodeKey, uint64_t> joins_;                // kind = TruthDelta::join
  std::map<CodeKey, uint64_t> disconnects_;          // kind = TruthDelta::disc
  std::map<RssiKey, uint64_t> eapol_messages_;       // site ap message
  std::map<RssiKey, uint64_t> handshakes_;           // site ap 0 complete / 1 incomplete
  std::map<ApKey, std::vector<int64_t>> durations_;  // complete handshakes, microseconds
  std::map<RssiKey, uint64_t> dhcp_;                 // site ap option 53
  std::map<RssiKey, uint64_t> dns_;                  // site ap rcode (6 = other)
  std::map<std::tuple<uint32_t, uint64_t>, uint64_t> top_clients_;  // site client -> bytes
  std::map<std::tuple<uint32_t, uint8_t>, uint64_t> truncated_;     // site, sim::Layer
  std::map<PairKey, Pending> pending_;
  std::map<uint32_t, int64_t> next_deadline_;        // site -> earliest pending deadline
  std::unordered_map<uint64_t, int64_t> last_lost_;  // capture serial -> last value seen
  uint64_t data_ = 0;
  uint64_t capture_end_ = 0;
  int64_t lost_cumulative_ = 0;
  int64_t lost_per_message_ = 0;
  uint64_t connections_ = 0;
  uint64_t drops_ = 0;
  uint64_t subscriptions_ = 0;
};

}  // namespace mpe::sim
