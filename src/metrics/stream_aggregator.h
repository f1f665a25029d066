#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "config/config.h"
#include "decode/client_facts.h"
#include "decode/event.h"
#include "metrics/flat_map.h"

namespace mpe::metrics {

class LabelValueStats;

struct AggregatorOptions {
  int max_series_per_family = 20000;
  std::chrono::milliseconds stale_after = std::chrono::minutes(15);
  config::LostMessagesMode lost_mode = config::LostMessagesMode::kCumulative;
  // Counts label values cut or made valid UTF-8; may be null. Must outlive the aggregator.
  LabelValueStats* label_stats = nullptr;
  // mist_pcap_top_clients_bytes (metrics.top_clients, metrics.top_clients_window).
  int top_clients = 10;
  std::chrono::milliseconds top_clients_window = std::chrono::minutes(5);
};

// The stream families of docs/spec.md §6.3, kept in compact storage and serialised straight to the
// text format on scrape (no prometheus-cpp object per series).
//
// Storage: label values are interned into small integer ids (AP MACs by their 48-bit value,
// strings through bounded tables); each family maps a packed 63-bit label key to a slot in a
// vector of plain counters through an open-addressing FlatMap. Steady-state ingest does no
// allocation and builds no strings.
//
// Cardinality: a family holds at most max_series_per_family label sets, the last one of which
// is the overflow set whose non-site labels read "other"; every update folded into it counts
// in mist_pcap_series_dropped_total{family}. Label sets not updated for stale_after are
// removed by ExpireStale().
//
// Thread-safety: every public method is thread-safe. Record() is meant for the one ingest
// thread; AppendText() may run concurrently from scrape threads. One mutex guards all state;
// it is held for one frame's update (tens of ns) or one serialisation, never across I/O.
class StreamAggregator {
 public:
  using SiteHandle = uint16_t;
  static constexpr SiteHandle kNoSite = 0xffff;

  enum class Family : uint8_t {
    kPackets,  // mist_pcap_packets_total and mist_pcap_bytes_total share label sets
    kFrames,
    kRssi,
    kChannels,
    kDataRate,
    kWired,  // mist_pcap_wired_packets_total and _bytes_total
    kCount,
  };

  StreamAggregator(AggregatorOptions options, const common::Clock& clock);
  ~StreamAggregator();
  StreamAggregator(const StreamAggregator&) = delete;
  StreamAggregator& operator=(const StreamAggregator&) = delete;

  // Registers a site (idempotent; a new name replaces the old one). Its channel
  // "/sites/<id>/pcaps" is routed to it from then on.
  SiteHandle AddSite(const std::string& id, const std::string& name);
  // Forgets a site and every series it owned.
  void RemoveSite(const std::string& id);

  // Accounts one decoded frame: packet families, message/lost counters, subscription state,
  // decode errors. Returns the site the frame's channel belongs to, or kNoSite.
  // `facts` (may be null): what the packet's pcap_raw says for the client-connectivity families.
  SiteHandle Record(const decode::Event& event, const decode::ClientFacts* facts = nullptr);
  void RecordDecodeError(decode::DecodeError error);

  // Stream connection health, owned by the stream clients and copied in before a scrape:
  // connected (all connections up), reconnect attempts, and messages the client dropped for
  // being over the frame limit (reported as decode errors with reason frame_too_large).
  void SetStreamHealth(bool connected, uint64_t reconnects, uint64_t oversized);
  void SetSubscribed(std::string_view channel, bool subscribed);
  void ClearSubscriptions();
  // Whether the site's channel is currently subscribed (false for unknown sites); for the
  // landing page, the same state as mist_pcap_stream_subscribed.
  bool IsSubscribed(std::string_view site_id) const;

  // Refreshes the cached clock reading used for timestamps and staleness (call about once a
  // second; Record does not read the clock).
  void Tick();
  // Removes label sets not updated for stale_after. Returns how many were removed.
  size_t ExpireStale();

  // Appends every stream family in the Prometheus text format 0.0.4 (under the lock).
  void AppendText(std::string* out) const;

  // The same text in two steps, for large scrapes: TakeSnapshot copies what it needs under the
  // lock (plain vectors: a few ms at 100k label sets, against tens of ms to print them), and
  // RenderText prints the copy without the lock, handing the text out in pieces: whenever *out
  // holds at least chunk_bytes after a series (all lines of a histogram stay together),
  // flush(out) is called, which takes the text
  // and leaves *out empty (null flush: everything stays in *out). A scrape then never holds the
  // whole body and never keeps ingest waiting while it prints.
  struct Snapshot;
  std::shared_ptr<const Snapshot> TakeSnapshot() const;
  static void RenderText(const Snapshot& snapshot, std::string* out, size_t chunk_bytes,
                         const std::function<void(std::string*)>& flush);

  size_t SeriesCount(Family family) const;
  uint64_t DroppedCount(Family family) const;
  size_t InternedApCount() const;

 private:
  struct SiteState;
  struct State;
  std::unique_ptr<State> state_;
  mutable std::mutex mu_;
};

}  // namespace mpe::metrics
