#include "metrics/stream_aggregator.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <functional>

#include "common/mac.h"
#include "common/text.h"
#include "metrics/client_families.h"
#include "metrics/label_tables.h"
#include "metrics/label_value.h"
#include "metrics/series_store.h"
#include "metrics/text_format.h"

namespace mpe::metrics {

namespace {

using decode::DecodeError;
using decode::EventKind;

constexpr uint32_t kApBits = 22;
constexpr uint32_t kStrBits = 11;  // frame types, subtypes, protocols, channels
constexpr uint32_t kVlanBits = 13;

// Declared series-key layouts (metrics/series_store.h), site handle first and, where there is
// one, the AP id second (RemoveSite, ExpireStale and the printer read them there).
using SiteApKey = KeyLayout<16, kApBits>;
using PacketsKey = KeyLayout<16, kApBits, 8, 2>;                  // site, ap, interface, direction
using FramesKey = KeyLayout<16, kApBits, 3, kStrBits, kStrBits>;  // site, ap, band, type, subtype
using RssiKey = KeyLayout<16, kApBits, 3>;                        // site, ap, band
using ChannelKey = KeyLayout<16, 3, kStrBits>;                    // site, band, channel
using RateKey = KeyLayout<16, 3>;                                 // site, band
using WiredKey = KeyLayout<16, kApBits, kStrBits, kVlanBits>;     // site, ap, protocol, vlan

constexpr std::array<double, 7> kRssiBounds = {-90, -80, -70, -60, -50, -40, -30};
constexpr std::array<const char*, 7> kRssiLe = {"-90", "-80", "-70", "-60", "-50", "-40", "-30"};
constexpr std::array<double, 10> kRateBounds = {1, 6, 12, 24, 54, 150, 300, 600, 1200, 2400};
constexpr std::array<const char*, 10> kRateLe = {"1",   "6",   "12",  "24",   "54",
                                                 "150", "300", "600", "1200", "2400"};

constexpr std::array<const char*, 4> kEventNames = {"data", "capture_end", "subscribed", "other"};
enum MessageIndex { kMsgData = 0, kMsgCaptureEnd = 1, kMsgSubscribed = 2, kMsgOther = 3 };

constexpr std::array<const char*, static_cast<size_t>(StreamAggregator::Family::kCount)>
    kFamilyNames = {"mist_pcap_packets_total",           "mist_pcap_wireless_frames_total",
                    "mist_pcap_wireless_rssi_dbm",       "mist_pcap_wireless_channel_frames_total",
                    "mist_pcap_wireless_data_rate_mbps", "mist_pcap_wired_packets_total"};

uint32_t BandId(bool present, int32_t mhz) {
  std::string_view b = decode::BandFromFrequency(mhz, present);
  if (b == "2.4") return 2;
  if (b == "5") return 3;
  if (b == "6") return 4;
  return kUnknownId;
}
constexpr std::array<const char*, 5> kBandLabels = {"unknown", "other", "2.4", "5", "6"};
constexpr std::array<const char*, 4> kDirectionLabels = {"unknown", "other", "tx", "rx"};

}  // namespace

struct StreamAggregator::SiteState {
  std::string id;
  std::string labels;  // site_id="...",site="..."
  std::string channel;
  bool active = true;
  bool subscribed = false;
  std::array<uint64_t, 4> messages{};
  uint64_t lost_total = 0;
  double last_message_ts = 0;
  // Cumulative lost_messages: last value per capture, with a one-entry cache for the hot path.
  std::unordered_map<std::string, int64_t, StringViewHash, std::equal_to<>> lost_by_capture;
  std::string cached_capture;
  int64_t* cached_last = nullptr;
};

struct StreamAggregator::State {
  AggregatorOptions options;
  const common::Clock& clock;
  std::chrono::steady_clock::time_point start;
  uint32_t now_rel = 0;  // seconds since start (staleness)
  double now_wall = 0;   // epoch seconds (timestamps)

  std::vector<std::unique_ptr<SiteState>> sites;
  std::unordered_map<std::string, SiteHandle, StringViewHash, std::equal_to<>> site_by_id;
  std::unordered_map<std::string, SiteHandle, StringViewHash, std::equal_to<>> site_by_channel;
  // The last channel looked up and its handle: one connection's messages mostly come from a
  // few sites, and a compare is cheaper than hashing a 50-byte channel per message. Cleared
  // whenever site_by_channel changes.
  std::string last_channel;
  SiteHandle last_channel_site = kNoSite;

  ApTable aps;
  StringTable interfaces{64, {"radiotap", "wired"}};
  StringTable frame_types{1u << kStrBits};
  StringTable frame_subtypes{1u << kStrBits};
  StringTable protocols{1u << kStrBits};
  StringTable channels{1u << kStrBits};
  // Channel numbers below 256 (all of Wi-Fi's) -> their id in `channels`, so the usual packet
  // skips printing and interning its channel (ids are never freed: an entry stays right).
  std::array<uint32_t, 256> channel_ids = MissingIds();
  static std::array<uint32_t, 256> MissingIds() {
    std::array<uint32_t, 256> ids;
    ids.fill(FlatMap::kMissing);
    return ids;
  }
  uint32_t ChannelId(int32_t channel) {
    const bool small = channel >= 0 && channel < static_cast<int32_t>(channel_ids.size());
    if (small && channel_ids[static_cast<size_t>(channel)] != FlatMap::kMissing) {
      return channel_ids[static_cast<size_t>(channel)];
    }
    char buf[16];
    auto r = std::to_chars(buf, buf + sizeof buf, channel);
    const uint32_t id = channels.Intern(std::string_view(buf, static_cast<size_t>(r.ptr - buf)));
    if (small) channel_ids[static_cast<size_t>(channel)] = id;
    return id;
  }

  SeriesStore<CounterSeries> packets;
  SeriesStore<CounterSeries> frames;
  SeriesStore<HistogramSeries<7>> rssi;
  SeriesStore<CounterSeries> channel_frames;
  SeriesStore<HistogramSeries<10>> rate;
  SeriesStore<CounterSeries> wired;

  ClientFamilies client;
  int64_t now_ms = 0;  // steady milliseconds since start (top clients' window)

  std::array<uint64_t, static_cast<size_t>(DecodeError::kCount)> decode_errors{};
  bool connected = false;
  uint64_t reconnects = 0;
  uint64_t oversized = 0;

  State(AggregatorOptions o, const common::Clock& c)
      : options(o),
        clock(c),

        aps(std::min<uint32_t>(
            (1u << kApBits) - 1,
            static_cast<uint32_t>(std::max(o.max_series_per_family, 16)) * 4 + 2)),
        client(ClientFamilies::Options{
            static_cast<size_t>(std::max(o.max_series_per_family, 1)), o.top_clients,
            std::chrono::duration_cast<std::chrono::milliseconds>(o.top_clients_window)}) {
    start = clock.SteadyNow();
    now_wall = clock.NowSeconds();
    for (StringTable* t : {&interfaces, &frame_types, &frame_subtypes, &protocols, &channels}) {
      t->set_stats(o.label_stats);
    }
  }

  size_t cap() const { return static_cast<size_t>(std::max(options.max_series_per_family, 1)); }

  // Returns the packet's AP id; *band_out gets its band id.
  uint32_t AccountPacket(SiteHandle site, const decode::PacketFields& p, uint32_t* band_out);
  // The radiotap families (returns the band id) and the wired ones of AccountPacket.
  uint32_t AccountWireless(SiteHandle site, uint32_t ap, const decode::PacketFields& p);
  void AccountWired(SiteHandle site, uint32_t ap, const decode::PacketFields& p);
  void AccountLost(SiteState& s, const decode::Event& e);
  void AccountClient(SiteHandle site, uint32_t ap, uint32_t band, const decode::PacketFields& p,
                     const decode::ClientFacts& f) {
    const uint64_t ap_key = p.has_ap_mac ? (p.ap_mac | (uint64_t{1} << 48)) : 0;
    client.Account(site, f, ap, ap_key, band, now_rel, now_ms, aps);
  }
};

uint32_t StreamAggregator::State::AccountPacket(SiteHandle site, const decode::PacketFields& p,
                                                uint32_t* band_out) {
  const uint64_t s = site;
  const uint64_t other_site = kOtherSite;
  const uint32_t ap = aps.Intern(p.has_ap_mac, p.ap_mac);

  uint32_t iface;
  switch (p.interface) {
    case decode::Interface::kRadiotap:
      iface = 2;
      break;
    case decode::Interface::kWired:
      iface = 3;
      break;
    case decode::Interface::kOther:
      iface = interfaces.Intern(p.interface_text);
      break;
    default:
      iface = kUnknownId;
  }
  uint32_t dir = p.direction == decode::Direction::kTx   ? 2
                 : p.direction == decode::Direction::kRx ? 3
                                                         : kUnknownId;
  const size_t cap = this->cap();
  {
    const uint64_t key = PacketsKey::Pack(s, ap, iface, dir);
    const uint64_t overflow = PacketsKey::Pack(other_site, kOtherId, kOtherId, kOtherId);
    // Memo slots (SeriesStore::GetAt) from the small ids; APs are dense ids.
    const size_t slot = iface < 4 ? (size_t{ap} << 4 | iface << 2 | dir) : SIZE_MAX;
    CounterSeries* c = packets.GetAt(slot, key, overflow, now_rel, cap);
    c->count += 1;
    if (p.has_length) c->bytes += p.length;
  }

  if (p.interface == decode::Interface::kRadiotap) {
    *band_out = AccountWireless(site, ap, p);
  } else if (p.interface == decode::Interface::kWired) {
    AccountWired(site, ap, p);
  }
  return ap;
}

uint32_t StreamAggregator::State::AccountWireless(SiteHandle site, uint32_t ap,
                                                  const decode::PacketFields& p) {
  const uint64_t s = site;
  const uint64_t other_site = kOtherSite;
  const size_t cap = this->cap();
  const uint64_t band = BandId(p.has_frequency, p.channel_frequency);
  const uint64_t ft = frame_types.Intern(p.frame_type);
  const uint64_t fst = frame_subtypes.Intern(p.frame_subtype);
  {
    const uint64_t key = FramesKey::Pack(s, ap, band, ft, fst);
    const uint64_t overflow = FramesKey::Pack(other_site, kOtherId, kOtherId, kOtherId, kOtherId);
    // Frame types and the usual subtypes have small ids: (AP, band, type, subtype) as a slot.
    const size_t slot =
        ft < 8 && fst < 64 ? ((size_t{ap} << 3 | band) << 3 | ft) << 6 | fst : SIZE_MAX;
    frames.GetAt(slot, key, overflow, now_rel, cap)->count += 1;
  }
  if (p.has_rssi) {
    const uint64_t key = RssiKey::Pack(s, ap, band);
    const uint64_t overflow = RssiKey::Pack(other_site, kOtherId, kOtherId);
    auto* h = rssi.GetAt(size_t{ap} << 3 | band, key, overflow, now_rel, cap);
    size_t b = 0;
    while (b < kRssiBounds.size() && p.rssi > kRssiBounds[b]) ++b;
    h->buckets[b] += 1;
    h->sum += p.rssi;
  }
  {
    uint64_t chan = kUnknownId;
    if (p.has_channel) chan = ChannelId(p.channel);
    const uint64_t key = ChannelKey::Pack(s, band, chan);
    const uint64_t overflow = ChannelKey::Pack(other_site, kOtherId, kOtherId);
    const size_t slot = chan < 128 ? ((s << 7 | chan) << 3 | band) : SIZE_MAX;
    channel_frames.GetAt(slot, key, overflow, now_rel, cap)->count += 1;
  }
  if (p.has_datarate) {
    const uint64_t key = RateKey::Pack(s, band);
    const uint64_t overflow = RateKey::Pack(other_site, kOtherId);
    auto* h = rate.GetAt(s << 3 | band, key, overflow, now_rel, cap);
    size_t b = 0;
    while (b < kRateBounds.size() && p.datarate_mbps > kRateBounds[b]) ++b;
    h->buckets[b] += 1;
    h->sum += p.datarate_mbps;
  }
  return static_cast<uint32_t>(band);
}

void StreamAggregator::State::AccountWired(SiteHandle site, uint32_t ap,
                                           const decode::PacketFields& p) {
  const uint64_t s = site;
  const uint64_t other_site = kOtherSite;
  const size_t cap = this->cap();
  const uint64_t proto = protocols.Intern(p.proto);
  uint64_t vlan = kUnknownId;  // label "none"
  if (p.has_vlan) {
    vlan = (p.vlan >= 0 && p.vlan <= 4095) ? static_cast<uint64_t>(p.vlan) + 2 : kOtherId;
  }
  const uint64_t key = WiredKey::Pack(s, ap, proto, vlan);
  const uint64_t overflow = WiredKey::Pack(other_site, kOtherId, kOtherId, kOtherId);
  CounterSeries* c = wired.Get(key, overflow, now_rel, cap);
  c->count += 1;
  if (p.has_length) c->bytes += p.length;
}

void StreamAggregator::State::AccountLost(SiteState& s, const decode::Event& e) {
  if (!e.has_lost_messages || e.lost_messages < 0) return;
  const int64_t value = e.lost_messages;
  if (options.lost_mode == config::LostMessagesMode::kPerMessage) {
    s.lost_total += static_cast<uint64_t>(value);
    return;
  }
  int64_t* last = nullptr;
  if (s.cached_last != nullptr && s.cached_capture == e.capture_id) {
    last = s.cached_last;
  } else {
    auto it = s.lost_by_capture.find(e.capture_id);
    if (it == s.lost_by_capture.end()) {
      if (s.lost_by_capture.size() >= 1024) s.lost_by_capture.clear();  // bounded
      it = s.lost_by_capture.emplace(std::string(e.capture_id), 0).first;
    }
    last = &it->second;
    s.cached_capture.assign(e.capture_id);
    s.cached_last = last;  // node-based map: stable until erased
  }
  // A decrease means a new run of the counter: its whole value is new loss.
  s.lost_total += static_cast<uint64_t>(value >= *last ? value - *last : value);
  *last = value;
}

StreamAggregator::StreamAggregator(AggregatorOptions options, const common::Clock& clock)
    : state_(std::make_unique<State>(options, clock)) {}

StreamAggregator::~StreamAggregator() = default;

StreamAggregator::SiteHandle StreamAggregator::AddSite(const std::string& id,
                                                       const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  State& st = *state_;
  SiteHandle h;
  auto it = st.site_by_id.find(id);
  if (it != st.site_by_id.end()) {
    h = it->second;
  } else {
    if (st.sites.size() >= kOtherSite) return kNoSite;
    h = static_cast<SiteHandle>(st.sites.size());
    st.sites.push_back(std::make_unique<SiteState>());
    st.site_by_id.emplace(id, h);
  }
  SiteState& s = *st.sites[h];
  if (!s.active || s.id.empty()) {
    s = SiteState{};
  }
  s.id = id;
  s.active = true;
  if (st.options.label_stats != nullptr) {
    st.options.label_stats->Count(LabelValueFixes(id) | LabelValueFixes(name));
  }
  s.labels = "site_id=\"" + EscapeLabelValue(id) + "\",site=\"" +
             EscapeLabelValue(name.empty() ? id : name) + "\"";
  s.channel = "/sites/" + id + "/pcaps";
  st.site_by_channel[s.channel] = h;
  st.last_channel.clear();
  return h;
}

void StreamAggregator::RemoveSite(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  State& st = *state_;
  auto it = st.site_by_id.find(id);
  if (it == st.site_by_id.end()) return;
  SiteHandle h = it->second;
  SiteState& s = *st.sites[h];
  if (!s.active) return;
  st.site_by_channel.erase(s.channel);
  st.last_channel.clear();
  s.active = false;
  auto of_site = [h](const auto& series) { return SiteApKey::Get<0>(series.key) == h; };
  st.packets.RemoveIf(of_site);
  st.frames.RemoveIf(of_site);
  st.rssi.RemoveIf(of_site);
  st.channel_frames.RemoveIf(of_site);
  st.rate.RemoveIf(of_site);
  st.wired.RemoveIf(of_site);
  st.client.RemoveSite(h);
}

StreamAggregator::SiteHandle StreamAggregator::Record(const decode::Event& e,
                                                      const decode::ClientFacts* facts) {
  std::lock_guard<std::mutex> lock(mu_);
  State& st = *state_;
  SiteHandle h = kNoSite;
  if (!e.channel.empty()) {
    if (!st.last_channel.empty() && st.last_channel == e.channel) {
      h = st.last_channel_site;
    } else {
      auto it = st.site_by_channel.find(e.channel);
      if (it != st.site_by_channel.end()) h = it->second;
      st.last_channel.assign(e.channel);
      st.last_channel_site = h;
    }
  }
  switch (e.kind) {
    case EventKind::kData:
    case EventKind::kCaptureEnd: {
      if (h == kNoSite) {
        st.decode_errors[static_cast<size_t>(DecodeError::kUnknownChannel)] += 1;
        return kNoSite;
      }
      SiteState& s = *st.sites[h];
      if (e.error != DecodeError::kNone) st.decode_errors[static_cast<size_t>(e.error)] += 1;
      if (e.kind == EventKind::kData) {
        uint32_t band = kUnknownId;  // wired packets have none
        const uint32_t ap = st.AccountPacket(h, e.packet, &band);
        st.AccountLost(s, e);
        s.messages[kMsgData] += 1;
        if (facts != nullptr && facts->ok) st.AccountClient(h, ap, band, e.packet, *facts);
      } else {
        s.messages[kMsgCaptureEnd] += 1;
        st.client.CaptureEnd(h, st.now_rel, st.aps);
        if (s.cached_last != nullptr && s.cached_capture == e.capture_id) {
          s.cached_last = nullptr;
          s.cached_capture.clear();
        }
        auto it = s.lost_by_capture.find(e.capture_id);
        if (it != s.lost_by_capture.end()) {
          if (s.cached_last == &it->second) s.cached_last = nullptr;
          s.lost_by_capture.erase(it);
        }
      }
      s.last_message_ts = st.now_wall;
      return h;
    }
    case EventKind::kSubscribed:
    case EventKind::kSubscribeFailed:
    case EventKind::kUnsubscribed:
    case EventKind::kOther: {
      if (h == kNoSite) return kNoSite;
      SiteState& s = *st.sites[h];
      if (e.kind == EventKind::kSubscribed) {
        s.messages[kMsgSubscribed] += 1;
        s.subscribed = true;
      } else {
        s.messages[kMsgOther] += 1;
        if (e.kind != EventKind::kOther) s.subscribed = false;
      }
      s.last_message_ts = st.now_wall;
      return h;
    }
    case EventKind::kInvalid:
      st.decode_errors[static_cast<size_t>(e.error == DecodeError::kNone ? DecodeError::kInvalidJson
                                                                         : e.error)] += 1;
      return kNoSite;
  }
  return kNoSite;
}

void StreamAggregator::RecordDecodeError(DecodeError error) {
  std::lock_guard<std::mutex> lock(mu_);
  if (error == DecodeError::kNone || error == DecodeError::kCount) return;
  state_->decode_errors[static_cast<size_t>(error)] += 1;
}

void StreamAggregator::SetStreamHealth(bool connected, uint64_t reconnects, uint64_t oversized) {
  std::lock_guard<std::mutex> lock(mu_);
  state_->connected = connected;
  state_->reconnects = reconnects;
  state_->oversized = oversized;
}

void StreamAggregator::SetSubscribed(std::string_view channel, bool subscribed) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = state_->site_by_channel.find(channel);
  if (it != state_->site_by_channel.end()) state_->sites[it->second]->subscribed = subscribed;
}

void StreamAggregator::ClearSubscriptions() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& s : state_->sites) s->subscribed = false;
}

bool StreamAggregator::IsSubscribed(std::string_view site_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = state_->site_by_id.find(site_id);
  if (it == state_->site_by_id.end()) return false;
  const SiteState& s = *state_->sites[it->second];
  return s.active && s.subscribed;
}

void StreamAggregator::Tick() {
  std::lock_guard<std::mutex> lock(mu_);
  State& st = *state_;
  st.now_rel = static_cast<uint32_t>(
      std::chrono::duration_cast<std::chrono::seconds>(st.clock.SteadyNow() - st.start).count());
  st.now_wall = st.clock.NowSeconds();
  st.now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(st.clock.SteadyNow() - st.start)
                  .count();
}

size_t StreamAggregator::ExpireStale() {
  std::lock_guard<std::mutex> lock(mu_);
  State& st = *state_;
  const int64_t stale_s =
      std::chrono::duration_cast<std::chrono::seconds>(st.options.stale_after).count();
  if (stale_s <= 0 || st.now_rel < stale_s) return 0;
  const uint32_t cutoff = st.now_rel - static_cast<uint32_t>(stale_s);
  auto stale = [cutoff](const auto& series) { return series.last_seen < cutoff; };
  size_t removed = st.packets.RemoveIf(stale) + st.frames.RemoveIf(stale) +
                   st.rssi.RemoveIf(stale) + st.channel_frames.RemoveIf(stale) +
                   st.rate.RemoveIf(stale) + st.wired.RemoveIf(stale) +
                   st.client.ExpireStale(cutoff);
  if (removed) {
    std::vector<bool> used(st.aps.capacity_ids(), false);
    auto mark = [&used](const auto& store) {
      for (const auto& s : store.series()) {
        uint32_t ap = SiteApKey::Get<1>(s.key);
        if (ap < used.size()) used[ap] = true;
      }
    };
    mark(st.packets);
    mark(st.frames);
    mark(st.rssi);
    mark(st.wired);
    st.client.MarkAps(&used);
    st.aps.Retain(used);
  }
  return removed;
}

namespace {

using Writer = SeriesWriter;

constexpr std::string_view kOtherSiteLabels = "site_id=\"other\",site=\"other\"";

}  // namespace

// Label printers shared by the family printers below.
template <class St>
struct Labeller {
  const St& st;
  std::string_view Site(uint64_t key) const {
    const uint32_t h = SiteApKey::Get<0>(key);
    if (h == kOtherSite || h >= st.sites.size()) return kOtherSiteLabels;
    return st.sites[h]->labels;
  }
  static std::string_view Band(uint32_t id) {
    return id < kBandLabels.size() ? kBandLabels[id] : "unknown";
  }
  std::string_view Ap(uint32_t id) const { return st.aps.Label(id); }
};

// mist_pcap_packets_total, mist_pcap_bytes_total.
template <class St>
void RenderPackets(const St& st, const Labeller<St>& l, Writer& w) {
  auto labels = [&](std::string_view name, const CounterSeries& c) {
    w.Begin(name, l.Site(c.key));
    w.Label("ap_mac", l.Ap(PacketsKey::Get<1>(c.key)));
    w.Label("interface", st.interfaces.Label(PacketsKey::Get<2>(c.key)));
    w.Label("direction", kDirectionLabels[PacketsKey::Get<3>(c.key)]);
  };
  AppendHeader(w.out, "mist_pcap_packets_total", "Packets received from the capture stream.",
               "counter");
  for (const auto& c : st.packets.series()) {
    labels("mist_pcap_packets_total", c);
    w.EndUint(c.count);
  }
  AppendHeader(w.out, "mist_pcap_bytes_total",
               "Bytes (pcap_dict.length) received from the capture stream.", "counter");
  for (const auto& c : st.packets.series()) {
    labels("mist_pcap_bytes_total", c);
    w.EndDouble(c.bytes);
  }
}

// The 802.11 families: frames, RSSI, channels, data rate.
template <class St>
void RenderWireless(const St& st, const Labeller<St>& l, Writer& w) {
  AppendHeader(w.out, "mist_pcap_wireless_frames_total", "802.11 frames by type and subtype.",
               "counter");
  for (const auto& c : st.frames.series()) {
    w.Begin("mist_pcap_wireless_frames_total", l.Site(c.key));
    w.Label("ap_mac", l.Ap(FramesKey::Get<1>(c.key)));
    w.Label("band", l.Band(FramesKey::Get<2>(c.key)));
    w.Label("frame_type", st.frame_types.Label(FramesKey::Get<3>(c.key)));
    w.Label("frame_subtype", st.frame_subtypes.Label(FramesKey::Get<4>(c.key)));
    w.EndUint(c.count);
  }
  AppendHeader(w.out, "mist_pcap_wireless_rssi_dbm", "RSSI of captured 802.11 frames (dBm).",
               "histogram");
  HistogramWriter rssi(w, "mist_pcap_wireless_rssi_dbm");
  for (const auto& h : st.rssi.series()) {
    SeriesWriter& x = rssi.Start(l.Site(h.key));
    x.Label("ap_mac", l.Ap(RssiKey::Get<1>(h.key)));
    x.Label("band", l.Band(RssiKey::Get<2>(h.key)));
    rssi.Finish(h.buckets, kRssiLe, h.sum);
  }
  AppendHeader(w.out, "mist_pcap_wireless_channel_frames_total",
               "802.11 frames by band and channel.", "counter");
  for (const auto& c : st.channel_frames.series()) {
    w.Begin("mist_pcap_wireless_channel_frames_total", l.Site(c.key));
    w.Label("band", l.Band(ChannelKey::Get<1>(c.key)));
    w.Label("channel", st.channels.Label(ChannelKey::Get<2>(c.key)));
    w.EndUint(c.count);
  }
  AppendHeader(w.out, "mist_pcap_wireless_data_rate_mbps", "Data rate of captured 802.11 frames.",
               "histogram");
  HistogramWriter rate(w, "mist_pcap_wireless_data_rate_mbps");
  for (const auto& h : st.rate.series()) {
    rate.Start(l.Site(h.key)).Label("band", l.Band(RateKey::Get<1>(h.key)));
    rate.Finish(h.buckets, kRateLe, h.sum);
  }
}

// mist_pcap_wired_packets_total, mist_pcap_wired_bytes_total.
template <class St>
void RenderWired(const St& st, const Labeller<St>& l, Writer& w) {
  auto labels = [&](std::string_view name, const CounterSeries& c) {
    w.Begin(name, l.Site(c.key));
    w.Label("ap_mac", l.Ap(WiredKey::Get<1>(c.key)));
    w.Label("protocol", st.protocols.Label(WiredKey::Get<2>(c.key)));
    uint32_t vlan = WiredKey::Get<3>(c.key);
    char buf[16];
    std::string_view vlan_label = vlan == kUnknownId ? "none" : vlan == kOtherId ? "other" : "";
    if (vlan_label.empty()) {
      auto r = std::to_chars(buf, buf + sizeof buf, vlan - 2);
      vlan_label = std::string_view(buf, static_cast<size_t>(r.ptr - buf));
    }
    w.Label("vlan", vlan_label);
  };
  AppendHeader(w.out, "mist_pcap_wired_packets_total", "Wired packets by protocol and VLAN.",
               "counter");
  for (const auto& c : st.wired.series()) {
    labels("mist_pcap_wired_packets_total", c);
    w.EndUint(c.count);
  }
  AppendHeader(w.out, "mist_pcap_wired_bytes_total", "Wired bytes by protocol and VLAN.",
               "counter");
  for (const auto& c : st.wired.series()) {
    labels("mist_pcap_wired_bytes_total", c);
    w.EndDouble(c.bytes);
  }
}

// The stream connection's own families: lost messages, messages, decode errors, connection.
template <class St>
void RenderStream(const St& st, Writer& w) {
  std::string* const out = w.out;
  AppendHeader(out, "mist_pcap_stream_lost_messages_total",
               "Messages the Mist cloud reported as lost (lost_messages).", "counter");
  for (const auto& s : st.sites) {
    if (!s->active) continue;
    w.Begin("mist_pcap_stream_lost_messages_total", s->labels);
    w.EndUint(s->lost_total);
  }
  AppendHeader(out, "mist_pcap_stream_messages_total", "Stream messages by event.", "counter");
  for (const auto& s : st.sites) {
    if (!s->active) continue;
    for (size_t i = 0; i < kEventNames.size(); ++i) {
      w.Begin("mist_pcap_stream_messages_total", s->labels);
      w.Label("event", kEventNames[i]);
      w.EndUint(s->messages[i]);
    }
  }
  AppendHeader(out, "mist_pcap_stream_decode_errors_total",
               "Stream frames or fields that could not be decoded, by reason.", "counter");
  for (size_t i = 1; i < st.decode_errors.size(); ++i) {
    out->append("mist_pcap_stream_decode_errors_total{reason=\"");
    out->append(decode::ReasonName(static_cast<DecodeError>(i)));
    out->append("\"} ");
    uint64_t v = st.decode_errors[i];
    if (static_cast<DecodeError>(i) == DecodeError::kFrameTooLarge) v += st.oversized;
    AppendUint(out, v);
    out->push_back('\n');
  }
  AppendHeader(out, "mist_pcap_stream_connected", "1 while the stream WebSocket is connected.",
               "gauge");
  out->append(st.connected ? "mist_pcap_stream_connected 1\n" : "mist_pcap_stream_connected 0\n");
  AppendHeader(out, "mist_pcap_stream_subscribed", "1 while the site's channel is subscribed.",
               "gauge");
  for (const auto& s : st.sites) {
    if (!s->active) continue;
    w.Begin("mist_pcap_stream_subscribed", s->labels);
    w.EndUint(s->subscribed ? 1 : 0);
  }
  AppendHeader(out, "mist_pcap_stream_reconnects_total",
               "Stream connections re-established after a disconnect.", "counter");
  out->append("mist_pcap_stream_reconnects_total ");
  AppendUint(out, st.reconnects);
  out->push_back('\n');
  AppendHeader(out, "mist_pcap_stream_last_message_timestamp_seconds",
               "When the last stream message for the site arrived.", "gauge");
  for (const auto& s : st.sites) {
    if (!s->active || s->last_message_ts == 0) continue;
    w.Begin("mist_pcap_stream_last_message_timestamp_seconds", s->labels);
    w.EndDouble(s->last_message_ts);
  }
}

// mist_pcap_series_dropped_total of every family under the series cap.
template <class St>
void RenderDropped(const St& st, const ClientFamilies::Data& client, Writer& w) {
  std::string* const out = w.out;
  AppendHeader(out, "mist_pcap_series_dropped_total",
               "Updates folded into the label value \"other\" by the series cap, by family.",
               "counter");
  const std::array<uint64_t, kFamilyNames.size()> dropped = {
      st.packets.dropped(),        st.frames.dropped(), st.rssi.dropped(),
      st.channel_frames.dropped(), st.rate.dropped(),   st.wired.dropped()};
  auto line = [out](std::string_view family, uint64_t v) {
    out->append("mist_pcap_series_dropped_total{family=\"");
    out->append(family);
    out->append("\"} ");
    AppendUint(out, v);
    out->push_back('\n');
  };
  for (size_t i = 0; i < kFamilyNames.size(); ++i) line(kFamilyNames[i], dropped[i]);
  for (size_t i = 0; i < ClientFamilies::kFamilyNames.size(); ++i) {
    if (i == kTruncated) continue;  // no labels to fold
    line(ClientFamilies::kFamilyNames[i], client.dropped[i]);
  }
}

// Every stream family of `st` (the live State under the lock, or a Snapshot) in the text
// format, through `w`.
template <class St>
void Render(const St& st, const ClientFamilies::Data& client, Writer& w) {
  const Labeller<St> l{st};
  RenderPackets(st, l, w);
  RenderWireless(st, l, w);
  RenderWired(st, l, w);
  ClientFamilies::Render(
      client, [&l](uint32_t h) { return l.Site(h); },
      [&l](uint32_t ap) -> std::string_view { return l.Ap(ap); }, w);
  RenderStream(st, w);
  RenderDropped(st, client, w);
}

void StreamAggregator::AppendText(std::string* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  ClientFamilies::Data client;
  state_->client.Copy(state_->now_ms, &client);
  Writer w{out};
  Render(*state_, client, w);
}

// What Render reads, copied: series as plain vectors, label tables as their label strings.
struct StreamAggregator::Snapshot {
  struct Labels {
    std::vector<std::string> labels;
    const std::string& Label(uint32_t id) const { return labels[id]; }
  };
  template <typename S>
  struct Series {
    std::vector<S> v;
    uint64_t d = 0;
    const std::vector<S>& series() const { return v; }
    uint64_t dropped() const { return d; }
    template <typename Store>
    void CopyFrom(const Store& store) {
      v = store.series();
      d = store.dropped();
    }
  };
  struct Site {
    std::string labels;
    bool active = false;
    bool subscribed = false;
    std::array<uint64_t, 4> messages{};
    uint64_t lost_total = 0;
    double last_message_ts = 0;
  };
  std::vector<std::unique_ptr<Site>> sites;
  Labels aps, interfaces, frame_types, frame_subtypes, protocols, channels;
  Series<CounterSeries> packets, frames, channel_frames, wired;
  Series<HistogramSeries<7>> rssi;
  Series<HistogramSeries<10>> rate;
  std::array<uint64_t, static_cast<size_t>(DecodeError::kCount)> decode_errors{};
  bool connected = false;
  uint64_t reconnects = 0;
  uint64_t oversized = 0;
  ClientFamilies::Data client;
};

std::shared_ptr<const StreamAggregator::Snapshot> StreamAggregator::TakeSnapshot() const {
  auto snap = std::make_shared<Snapshot>();
  std::lock_guard<std::mutex> lock(mu_);
  const State& st = *state_;
  snap->sites.reserve(st.sites.size());
  for (const auto& s : st.sites) {
    auto c = std::make_unique<Snapshot::Site>();
    c->labels = s->labels;
    c->active = s->active;
    c->subscribed = s->subscribed;
    c->messages = s->messages;
    c->lost_total = s->lost_total;
    c->last_message_ts = s->last_message_ts;
    snap->sites.push_back(std::move(c));
  }
  snap->aps.labels = st.aps.labels();
  snap->interfaces.labels = st.interfaces.labels();
  snap->frame_types.labels = st.frame_types.labels();
  snap->frame_subtypes.labels = st.frame_subtypes.labels();
  snap->protocols.labels = st.protocols.labels();
  snap->channels.labels = st.channels.labels();
  snap->packets.CopyFrom(st.packets);
  snap->frames.CopyFrom(st.frames);
  snap->channel_frames.CopyFrom(st.channel_frames);
  snap->wired.CopyFrom(st.wired);
  snap->rssi.CopyFrom(st.rssi);
  snap->rate.CopyFrom(st.rate);
  snap->decode_errors = st.decode_errors;
  snap->connected = st.connected;
  snap->reconnects = st.reconnects;
  snap->oversized = st.oversized;
  st.client.Copy(st.now_ms, &snap->client);
  return snap;
}

void StreamAggregator::RenderText(const Snapshot& snapshot, std::string* out, size_t chunk_bytes,
                                  const std::function<void(std::string*)>& flush) {
  Writer w{out, chunk_bytes, flush ? &flush : nullptr};
  Render(snapshot, snapshot.client, w);
}

size_t StreamAggregator::SeriesCount(Family family) const {
  std::lock_guard<std::mutex> lock(mu_);
  const State& st = *state_;
  switch (family) {
    case Family::kPackets:
      return st.packets.series().size();
    case Family::kFrames:
      return st.frames.series().size();
    case Family::kRssi:
      return st.rssi.series().size();
    case Family::kChannels:
      return st.channel_frames.series().size();
    case Family::kDataRate:
      return st.rate.series().size();
    case Family::kWired:
      return st.wired.series().size();
    case Family::kCount:
      break;
  }
  return 0;
}

uint64_t StreamAggregator::DroppedCount(Family family) const {
  std::lock_guard<std::mutex> lock(mu_);
  const State& st = *state_;
  switch (family) {
    case Family::kPackets:
      return st.packets.dropped();
    case Family::kFrames:
      return st.frames.dropped();
    case Family::kRssi:
      return st.rssi.dropped();
    case Family::kChannels:
      return st.channel_frames.dropped();
    case Family::kDataRate:
      return st.rate.dropped();
    case Family::kWired:
      return st.wired.dropped();
    case Family::kCount:
      break;
  }
  return 0;
}

size_t StreamAggregator::InternedApCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_->aps.size();
}

}  // namespace mpe::metrics
