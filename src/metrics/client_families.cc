#include "metrics/client_families.h"

#include <algorithm>
#include <charconv>

#include "metrics/handshake_tracker.h"
#include "metrics/label_tables.h"
#include "metrics/top_talkers.h"

namespace mpe::metrics {

namespace {

using decode::ClientFacts;

constexpr uint32_t kApBits = 22;
// Declared key layouts: site handle first (RemoveSite and the printer read it there).
using BandKey = KeyLayout<16, kApBits, 3>;      // site, ap, band
using CodeKey = KeyLayout<16, kApBits, 2, 17>;  // site, ap, subtype, code (1 << 16: other)
using SmallKey = KeyLayout<16, kApBits, 4>;     // site, ap, value (15: other)
using ApKey = KeyLayout<16, kApBits>;           // site, ap
constexpr uint32_t kOtherCode = 1u << 16;
// IEEE 802.11-2020 assigns status codes up to 133 and reason codes up to 72; a code above this
// (a corrupt or hostile frame) is counted as "other" so random bytes cannot fill a family.
constexpr uint16_t kMaxCode = 255;
uint32_t CodeId(uint16_t code) { return code <= kMaxCode ? code : kOtherCode; }
constexpr uint32_t kOtherSmall = 15;
constexpr uint32_t kOtherSubtype = 0;

constexpr std::array<int64_t, 9> kDurationBoundsUs = {10000,  25000,   50000,   100000, 250000,
                                                      500000, 1000000, 2500000, 5000000};
constexpr std::array<const char*, 9> kDurationLe = {"0.01", "0.025", "0.05", "0.1", "0.25",
                                                    "0.5",  "1",     "2.5",  "5"};
constexpr std::array<const char*, 9> kDhcpTypes = {
    "", "discover", "offer", "request", "decline", "ack", "nak", "release", "inform"};
constexpr std::array<const char*, 7> kDnsRcodes = {"noerror", "formerr", "servfail", "nxdomain",
                                                   "notimp",  "refused", "other"};
constexpr std::array<const char*, 5> kBandLabels = {"unknown", "other", "2.4", "5", "6"};
constexpr std::array<const char*, 2> kResults = {"complete", "incomplete"};

// At most this many handshakes wait per site; more evict the oldest as incomplete.
constexpr size_t kMaxPendingHandshakes = 4096;

}  // namespace

struct ClientFamilies::Site {
  HandshakeTracker handshakes{kMaxPendingHandshakes};
  std::unique_ptr<TopTalkers> talkers;  // null when top clients are off or over the cap
  std::vector<HandshakeTracker::Outcome> outcomes;
  std::array<uint64_t, static_cast<size_t>(decode::TruncatedLayer::kCount)> truncated{};
};

ClientFamilies::ClientFamilies(Options options) : options_(options) {}
ClientFamilies::~ClientFamilies() = default;

ClientFamilies::Site& ClientFamilies::SiteOf(uint16_t site) {
  if (site >= sites_.size()) sites_.resize(size_t{site} + 1);
  auto& s = sites_[site];
  if (!s) {
    s = std::make_unique<Site>();
    // Top clients: report_k series per site, so at most cap / report_k sites get a summary.
    const size_t k = static_cast<size_t>(std::max(options_.top_clients, 0));
    size_t with_talkers = 0;
    for (const auto& other : sites_) with_talkers += (other && other->talkers) ? 1 : 0;
    if (k > 0 && (with_talkers + 1) * k <= options_.cap) {
      s->talkers = std::make_unique<TopTalkers>(k, options_.top_window);
    }
  }
  return *s;
}

void ClientFamilies::Count(size_t family, uint64_t key, uint64_t overflow, uint32_t now_rel) {
  counters_[family].Get(key, overflow, now_rel, options_.cap)->count += 1;
}

void ClientFamilies::Account(uint16_t site, const ClientFacts& f, uint32_t ap, uint64_t ap_key,
                             uint32_t band, uint32_t now_rel, int64_t now_ms, ApTable& aps) {
  if (!f.ok) return;
  Site& s = SiteOf(site);
  if (f.truncated) s.truncated[static_cast<size_t>(f.truncated_layer)] += 1;
  s.handshakes.OnPacket(f.ts_us, &s.outcomes);
  if (f.radiotap) {
    if (f.retry) {
      counters_[kRetries]
          .GetAt(size_t{ap} << 3 | band, BandKey::Pack(site, ap, band),
                 BandKey::Pack(kOtherSite, kOtherId, kOtherId), now_rel, options_.cap)
          ->count += 1;
    }
    if (f.join != decode::JoinSubtype::kNone) {
      Count(kJoin, CodeKey::Pack(site, ap, static_cast<uint32_t>(f.join), CodeId(f.status_code)),
            CodeKey::Pack(kOtherSite, kOtherId, kOtherSubtype, kOtherCode), now_rel);
    }
    if (f.disconnect != decode::DisconnectSubtype::kNone) {
      Count(kDisconnect,
            CodeKey::Pack(site, ap, static_cast<uint32_t>(f.disconnect), CodeId(f.reason_code)),
            CodeKey::Pack(kOtherSite, kOtherId, kOtherSubtype, kOtherCode), now_rel);
    }
    if (f.eapol_message != 0) {
      Count(kEapolMessages, SmallKey::Pack(site, ap, f.eapol_message),
            SmallKey::Pack(kOtherSite, kOtherId, kOtherSmall), now_rel);
      if (!f.retry) {
        s.handshakes.OnMessage(f.bssid, f.client, ap_key, f.eapol_message, f.ts_us, &s.outcomes);
      }
    }
    if (f.has_data_client && s.talkers) s.talkers->Add(f.data_client, f.origlen, now_ms);
    if (f.has_data_client && !s.talkers && options_.top_clients > 0) ++top_dropped_;
  } else {
    if (f.dhcp_message_type != 0) {
      Count(kDhcp, SmallKey::Pack(site, ap, f.dhcp_message_type),
            SmallKey::Pack(kOtherSite, kOtherId, kOtherSmall), now_rel);
    }
    if (f.dns_rcode >= 0) {
      const uint32_t rcode = f.dns_rcode <= 5 ? static_cast<uint32_t>(f.dns_rcode) : 6;
      Count(kDns, SmallKey::Pack(site, ap, rcode),
            SmallKey::Pack(kOtherSite, kOtherId, kOtherSmall), now_rel);
    }
  }
  if (!s.outcomes.empty()) Outcomes(site, now_rel, aps);
}

void ClientFamilies::Outcomes(uint16_t site, uint32_t now_rel, ApTable& aps) {
  Site& s = *sites_[site];
  for (const HandshakeTracker::Outcome& o : s.outcomes) {
    const uint64_t mac_key = o.ap_mac;
    const uint32_t ap = aps.Intern(mac_key != 0, mac_key & ((uint64_t{1} << 48) - 1));
    Count(kHandshakes, SmallKey::Pack(site, ap, o.complete ? 0 : 1),
          SmallKey::Pack(kOtherSite, kOtherId, kOtherSmall), now_rel);
    if (!o.complete) continue;
    auto* h = durations_.Get(ApKey::Pack(site, ap), ApKey::Pack(kOtherSite, kOtherId), now_rel,
                             options_.cap);
    size_t b = 0;
    while (b < kDurationBoundsUs.size() && o.duration_us > kDurationBoundsUs[b]) ++b;
    h->buckets[b] += 1;
    h->sum += static_cast<double>(o.duration_us);  // microseconds, exact below 2^53
  }
  s.outcomes.clear();
}

void ClientFamilies::CaptureEnd(uint16_t site, uint32_t now_rel, ApTable& aps) {
  if (site >= sites_.size() || !sites_[site]) return;
  sites_[site]->handshakes.Flush(&sites_[site]->outcomes);
  if (!sites_[site]->outcomes.empty()) Outcomes(site, now_rel, aps);
}

void ClientFamilies::RemoveSite(uint16_t site) {
  auto of_site = [site](const auto& series) { return ApKey::Get<0>(series.key) == site; };
  for (auto& store : counters_) store.RemoveIf(of_site);
  durations_.RemoveIf(of_site);
  if (site < sites_.size()) sites_[site].reset();
}

size_t ClientFamilies::ExpireStale(uint32_t cutoff) {
  auto stale = [cutoff](const auto& series) { return series.last_seen < cutoff; };
  size_t removed = durations_.RemoveIf(stale);
  for (auto& store : counters_) removed += store.RemoveIf(stale);
  return removed;
}

void ClientFamilies::MarkAps(std::vector<bool>* used) const {
  auto mark = [used](const auto& store) {
    for (const auto& s : store.series()) {
      const uint32_t ap = ApKey::Get<1>(s.key);
      if (ap < used->size()) (*used)[ap] = true;
    }
  };
  for (const auto& store : counters_) mark(store);
  mark(durations_);
}

void ClientFamilies::Copy(int64_t now_ms, Data* out) const {
  for (size_t i = 0; i < counters_.size(); ++i) {
    out->counters[i] = counters_[i].series();
    out->dropped[i] = counters_[i].dropped();
  }
  out->durations = durations_.series();
  out->dropped[kHandshakeDuration] = durations_.dropped();
  out->dropped[kTopClients] = top_dropped_;
  out->truncated.clear();
  out->top.clear();
  std::vector<TopTalkers::Entry> entries;
  for (size_t h = 0; h < sites_.size(); ++h) {
    if (!sites_[h]) continue;
    out->truncated.push_back({static_cast<uint16_t>(h), sites_[h]->truncated});
    if (!sites_[h]->talkers) continue;
    sites_[h]->talkers->Top(now_ms, &entries);
    for (const auto& e : entries) {
      out->top.push_back({static_cast<uint16_t>(h), e.client, e.bytes});
    }
  }
}

size_t ClientFamilies::SeriesCount(size_t family) const {
  if (family == kHandshakeDuration) return durations_.series().size();
  if (family < counters_.size()) return counters_[family].series().size();
  return 0;
}

namespace {

std::string_view Decimal(uint32_t v, char (&buf)[16]) {
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string_view(buf, static_cast<size_t>(r.ptr - buf));
}

}  // namespace

namespace {

// The per-site families: top clients and truncated packets.
void RenderPerSite(const ClientFamilies::Data& d, const ClientFamilies::LabelFn& site_labels,
                   SeriesWriter& w) {
  std::string* const out = w.out;
  AppendHeader(out, ClientFamilies::kFamilyNames[kTopClients],
               "Bytes of 802.11 data frames to or from the site's heaviest clients over "
               "metrics.top_clients_window (an upper bound: never below the true bytes).",
               "gauge");
  for (const auto& t : d.top) {
    w.Begin(ClientFamilies::kFamilyNames[kTopClients], site_labels(t.site));
    w.Label("client_mac", common::FormatMac(t.client));
    w.EndUint(t.bytes);
  }
  AppendHeader(out, ClientFamilies::kFamilyNames[kTruncated],
               "Packets captured shorter than they were sent, by the innermost layer they end in.",
               "counter");
  for (const auto& t : d.truncated) {
    for (size_t i = 0; i < t.by_layer.size(); ++i) {
      w.Begin(ClientFamilies::kFamilyNames[kTruncated], site_labels(t.site));
      w.Label("layer", decode::TruncatedLayerName(static_cast<decode::TruncatedLayer>(i)));
      w.EndUint(t.by_layer[i]);
    }
  }
}

}  // namespace

void ClientFamilies::Render(const Data& d, const LabelFn& site_labels, const LabelFn& ap_label,
                            SeriesWriter& w) {
  std::string* const out = w.out;
  char buf[16];
  auto begin = [&](const char* name, uint64_t key) {
    w.Begin(name, site_labels(ApKey::Get<0>(key)));
    w.Label("ap_mac", ap_label(ApKey::Get<1>(key)));
  };
  AppendHeader(out, kFamilyNames[kRetries], "802.11 frames with the Retry bit set.", "counter");
  for (const auto& c : d.counters[kRetries]) {
    begin(kFamilyNames[kRetries], c.key);
    const uint32_t band = BandKey::Get<2>(c.key);
    w.Label("band", band < kBandLabels.size() ? kBandLabels[band] : "unknown");
    w.EndUint(c.count);
  }
  const std::array<std::pair<size_t, const char*>, 2> coded = {
      std::pair{kJoin,
                "Authentication and (re)association responses sent by the AP, by "
                "IEEE 802.11 status code."},
      std::pair{kDisconnect,
                "Deauthentication and disassociation frames, by IEEE 802.11 reason "
                "code."}};
  for (const auto& [family, help] : coded) {
    AppendHeader(out, kFamilyNames[family], help, "counter");
    for (const auto& c : d.counters[family]) {
      begin(kFamilyNames[family], c.key);
      const uint32_t sub = CodeKey::Get<2>(c.key), code = CodeKey::Get<3>(c.key);
      const char* sub_name =
          sub == kOtherSubtype
              ? "other"
              : (family == kJoin
                     ? decode::JoinSubtypeName(static_cast<decode::JoinSubtype>(sub))
                     : decode::DisconnectSubtypeName(static_cast<decode::DisconnectSubtype>(sub)));
      w.Label("frame_subtype", sub_name);
      w.Label(family == kJoin ? "status_code" : "reason_code",
              code == kOtherCode ? std::string_view("other") : Decimal(code, buf));
      w.EndUint(c.count);
    }
  }
  auto small = [&](size_t family, const char* help, const char* label, auto&& name_of) {
    AppendHeader(out, kFamilyNames[family], help, "counter");
    for (const auto& c : d.counters[family]) {
      begin(kFamilyNames[family], c.key);
      const uint32_t v = SmallKey::Get<2>(c.key);
      w.Label(label, v == kOtherSmall ? std::string_view("other") : name_of(v));
      w.EndUint(c.count);
    }
  };
  small(kEapolMessages, "Pairwise EAPOL-Key messages of 4-way handshakes, by message number.",
        "message", [&](uint32_t v) { return Decimal(v, buf); });
  small(kHandshakes, "4-way handshakes judged complete or incomplete.", "result",
        [](uint32_t v) { return std::string_view(v < 2 ? kResults[v] : "other"); });
  AppendHeader(out, kFamilyNames[kHandshakeDuration],
               "Message 1 to message 4 of complete 4-way handshakes (pcap timestamps).",
               "histogram");
  HistogramWriter durations(w, kFamilyNames[kHandshakeDuration]);
  for (const auto& h : d.durations) {
    durations.Start(site_labels(ApKey::Get<0>(h.key)))
        .Label("ap_mac", ap_label(ApKey::Get<1>(h.key)));
    durations.Finish(h.buckets, kDurationLe, h.sum / 1e6);
  }
  small(
      kDhcp, "DHCPv4 messages on wired captures, by message type.", "message_type",
      [](uint32_t v) { return std::string_view(v < kDhcpTypes.size() ? kDhcpTypes[v] : "other"); });
  small(
      kDns, "DNS responses (UDP source port 53) on wired captures, by rcode.", "rcode",
      [](uint32_t v) { return std::string_view(v < kDnsRcodes.size() ? kDnsRcodes[v] : "other"); });
  RenderPerSite(d, site_labels, w);
}

}  // namespace mpe::metrics
