#include "poll/capture_metrics.h"

#include <algorithm>
#include <map>
#include <set>

namespace mpe::poll {

namespace {

prometheus::Family<prometheus::Gauge>& Gauges(prometheus::Registry& registry, const char* name,
                                              const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry);
}

prometheus::Labels SiteLabels(const std::string& id, const std::string& name) {
  return {{"site_id", id}, {"site", name}};
}

prometheus::Labels With(prometheus::Labels labels, const char* key, const std::string& value) {
  labels.emplace(key, value);
  return labels;
}

template <typename T>
void RemoveIf(prometheus::Family<T>& family, T*& metric) {
  if (metric != nullptr) family.Remove(metric);
  metric = nullptr;
}

// Removes from `family` and from `have` (key -> series) every series whose key `want` (a set or
// a map) lacks.
template <typename Want>
void RemoveMissing(prometheus::Family<prometheus::Gauge>& family,
                   std::map<std::string, prometheus::Gauge*>& have, const Want& want) {
  std::erase_if(have, [&](const auto& entry) {
    if (want.count(entry.first) != 0) return false;
    family.Remove(entry.second);
    return true;
  });
}

constexpr const char* kApStates[3] = {"requested", "ok", "failed"};

}  // namespace

CaptureMetrics::CaptureMetrics(prometheus::Registry& registry)
    : running_(Gauges(registry, "mist_pcap_capture_running",
                      "1 when a packet capture runs on the site, per the last status poll.")),
      info_(Gauges(registry, "mist_pcap_capture_info",
                   "The running capture of the site (always 1).")),
      start_(Gauges(registry, "mist_pcap_capture_start_timestamp_seconds",
                    "Start time of the running capture, epoch seconds.")),
      expiry_(Gauges(registry, "mist_pcap_capture_expiry_timestamp_seconds",
                     "Expiry time of the running capture, epoch seconds (0 when unknown).")),
      max_packets_(Gauges(registry, "mist_pcap_capture_max_packets",
                          "Packet limit of the running capture (0 when unknown).")),
      max_len_(Gauges(registry, "mist_pcap_capture_max_packet_length_bytes",
                      "Per-packet length limit of the running capture (0 when unknown).")),
      aps_(Gauges(registry, "mist_pcap_capture_aps",
                  "APs of the running capture by state (requested, ok, failed); 0 when none "
                  "runs.")),
      ap_failed_(Gauges(registry, "mist_pcap_capture_ap_failed",
                        "1 for each AP that failed to join the running capture.")),
      packets_(Gauges(registry, "mist_pcap_capture_packets",
                      "Packets the running capture has captured so far, by all its APs (Mist's "
                      "num_packets; absent for types client and new_assoc).")),
      ap_info_(Gauges(registry, "mist_pcap_capture_ap_info",
                      "1 for each AP capturing radio in the running capture, with its band and "
                      "channel (Mist's pcap_aps).")),
      captures_(Gauges(registry, "mist_pcap_captures",
                       "Captures started within poll.list_window, by capture type.")),
      last_capture_(Gauges(registry, "mist_pcap_last_capture_timestamp_seconds",
                           "Start time of the site's most recent capture, epoch seconds.")),
      up_(Gauges(registry, "mist_pcap_up", "1 when the last poll of the site succeeded.")),
      interval_(Gauges(registry, "mist_pcap_poll_interval_seconds",
                       "Poll interval in use by kind: status (sites with a running capture; "
                       "every site on the fixed schedule), list, idle (the safety net of the "
                       "events schedule).")),
      stretch_(Gauges(registry, "mist_pcap_poll_stretch_factor",
                      "Poll interval in use / configured, by kind (1: as configured; more when "
                      "the request budget does not allow it).")),
      failure_(Gauges(registry, "mist_pcap_poll_failure_info",
                      "1 while the site's last poll of the endpoint failed; code is the HTTP "
                      "status or error (no HTTP answer).")) {}

void CaptureMetrics::SetPollIntervals(const Intervals& in) {
  std::lock_guard<std::mutex> lock(mu_);
  auto seconds = [](std::chrono::milliseconds d) {
    return std::chrono::duration<double>(d).count();
  };
  interval_.Add({{"kind", "status"}}).Set(seconds(in.status));
  interval_.Add({{"kind", "list"}}).Set(seconds(in.list));
  interval_.Add({{"kind", "idle"}}).Set(seconds(in.idle));
  stretch_.Add({{"kind", "status"}}).Set(in.status_stretch);
  stretch_.Add({{"kind", "list"}}).Set(in.list_stretch);
  stretch_.Add({{"kind", "idle"}}).Set(in.idle_stretch);
}

void CaptureMetrics::SetPollFailure(const common::Site& site, const std::string& endpoint,
                                    const std::string& code) {
  std::lock_guard<std::mutex> lock(mu_);
  SiteSeries& s = SiteLocked(site);
  auto it = s.failures.find(endpoint);
  if (it != s.failures.end() && it->second.first == code) return;
  if (it != s.failures.end()) {
    failure_.Remove(it->second.second);
    s.failures.erase(it);
  }
  if (code.empty()) return;
  prometheus::Labels labels = SiteLabels(site.id, s.name);
  labels.emplace("endpoint", endpoint);
  labels.emplace("code", code);
  Gauge& g = failure_.Add(labels);
  g.Set(1);
  s.failures.emplace(endpoint, std::make_pair(code, &g));
}

CaptureMetrics::SiteSeries& CaptureMetrics::SiteLocked(const common::Site& site) {
  auto it = sites_.find(site.id);
  if (it != sites_.end() && it->second.name != site.name) {
    RemoveAllLocked(it->second);
    sites_.erase(it);
    it = sites_.end();
  }
  if (it == sites_.end()) {
    it = sites_.emplace(site.id, SiteSeries{}).first;
    it->second.name = site.name;
  }
  return it->second;
}

void CaptureMetrics::RemoveCaptureLocked(SiteSeries& s) {
  RemoveIf(info_, s.info);
  RemoveIf(start_, s.start);
  RemoveIf(expiry_, s.expiry);
  RemoveIf(max_packets_, s.max_packets);
  RemoveIf(max_len_, s.max_len);
  RemoveIf(packets_, s.packets);
  s.capture_id.clear();
  s.capture_type.clear();
  s.capture_format.clear();
}

void CaptureMetrics::RemoveAllLocked(SiteSeries& s) {
  RemoveCaptureLocked(s);
  RemoveIf(running_, s.running);
  RemoveIf(up_, s.up);
  RemoveIf(last_capture_, s.last_capture);
  for (auto& g : s.aps) RemoveIf(aps_, g);
  for (auto& [mac, g] : s.failed_aps) RemoveIf(ap_failed_, g);
  s.failed_aps.clear();
  for (auto& [key, g] : s.ap_info) RemoveIf(ap_info_, g);
  s.ap_info.clear();
  for (auto& [type, g] : s.types) RemoveIf(captures_, g);
  s.types.clear();
  for (auto& [endpoint, f] : s.failures) RemoveIf(failure_, f.second);
  s.failures.clear();
}

void CaptureMetrics::UpdateLastCaptureLocked(const std::string& site_id, SiteSeries& s) {
  double latest = std::max(s.list_latest, s.status_latest);
  if (latest <= 0) return;
  if (s.last_capture == nullptr) s.last_capture = &last_capture_.Add(SiteLabels(site_id, s.name));
  s.last_capture->Set(latest);
}

void CaptureMetrics::UpdateStatus(const common::Site& site, const mist::CaptureStatus& status) {
  std::lock_guard<std::mutex> lock(mu_);
  SiteSeries& s = SiteLocked(site);
  const prometheus::Labels labels = SiteLabels(site.id, s.name);

  if (s.running == nullptr) s.running = &running_.Add(labels);
  s.running->Set(status.running ? 1 : 0);

  const size_t counts[3] = {status.requested_aps.size(), status.ok_aps.size(),
                            status.failed_aps.size()};
  for (int i = 0; i < 3; ++i) {
    if (s.aps[i] == nullptr) s.aps[i] = &aps_.Add(With(labels, "state", kApStates[i]));
    s.aps[i]->Set(status.running ? static_cast<double>(counts[i]) : 0);
  }

  // A different capture (or one whose info labels changed) replaces the old series.
  if (!status.running || status.id != s.capture_id || status.type != s.capture_type ||
      status.format != s.capture_format) {
    RemoveCaptureLocked(s);
  }
  if (status.running) {
    if (s.info == nullptr) {
      s.capture_id = status.id;
      s.capture_type = status.type;
      s.capture_format = status.format;
      prometheus::Labels info_labels = With(labels, "capture_id", status.id);
      info_labels.emplace("capture_type", status.type.empty() ? "unknown" : status.type);
      info_labels.emplace("format", status.format.empty() ? "unknown" : status.format);
      s.info = &info_.Add(info_labels);
      s.info->Set(1);
      const prometheus::Labels capture_labels = With(labels, "capture_id", status.id);
      s.start = &start_.Add(capture_labels);
      s.expiry = &expiry_.Add(capture_labels);
      s.max_packets = &max_packets_.Add(capture_labels);
      s.max_len = &max_len_.Add(capture_labels);
    }
    s.start->Set(status.started_time);
    s.expiry->Set(status.expiry);
    s.max_packets->Set(static_cast<double>(status.max_num_packets));
    s.max_len->Set(static_cast<double>(status.max_pkt_len));
    if (!status.num_packets) {
      RemoveIf(packets_, s.packets);
    } else {
      if (s.packets == nullptr) s.packets = &packets_.Add(With(labels, "capture_id", status.id));
      s.packets->Set(static_cast<double>(*status.num_packets));
    }
    s.status_latest = std::max(s.status_latest, status.started_time);
  }
  SyncApInfoLocked(labels, status, s);

  const std::set<std::string> failed(
      status.running ? status.failed_aps.begin() : status.failed_aps.end(),
      status.failed_aps.end());
  RemoveMissing(ap_failed_, s.failed_aps, failed);
  for (const auto& mac : failed) {
    if (s.failed_aps.count(mac) != 0) continue;
    Gauge& g = ap_failed_.Add(With(labels, "ap_mac", mac));
    g.Set(1);
    s.failed_aps.emplace(mac, &g);
  }
  UpdateLastCaptureLocked(site.id, s);
}

void CaptureMetrics::SyncApInfoLocked(const prometheus::Labels& labels,
                                      const mist::CaptureStatus& status, SiteSeries& s) {
  // Key: the label values that identify the series, so a changed band or channel replaces it.
  std::map<std::string, const mist::PcapAp*> want;
  if (status.running) {
    for (const auto& ap : status.pcap_aps) {
      want.emplace(ap.mac + '\n' + ap.band + '\n' + std::to_string(ap.channel), &ap);
    }
  }
  RemoveMissing(ap_info_, s.ap_info, want);
  for (const auto& [key, ap] : want) {
    if (s.ap_info.count(key) != 0) continue;
    prometheus::Labels l = With(labels, "ap_mac", ap->mac);
    l.emplace("band", ap->band.empty() ? "unknown" : ap->band);
    l.emplace("channel", ap->channel > 0 ? std::to_string(ap->channel) : "unknown");
    Gauge& g = ap_info_.Add(l);
    g.Set(1);
    s.ap_info.emplace(key, &g);
  }
}

void CaptureMetrics::UpdateList(const common::Site& site,
                                const std::vector<mist::CaptureSummary>& captures) {
  std::lock_guard<std::mutex> lock(mu_);
  SiteSeries& s = SiteLocked(site);
  const prometheus::Labels labels = SiteLabels(site.id, s.name);

  std::map<std::string, int> counts;
  double latest = 0;
  for (const auto& c : captures) {
    ++counts[c.type.empty() ? "unknown" : c.type];
    latest = std::max(latest, c.timestamp);
  }
  RemoveMissing(captures_, s.types, counts);
  for (const auto& [type, count] : counts) {
    auto it = s.types.find(type);
    if (it == s.types.end()) {
      it = s.types.emplace(type, &captures_.Add(With(labels, "capture_type", type))).first;
    }
    it->second->Set(count);
  }
  s.list_latest = latest;
  UpdateLastCaptureLocked(site.id, s);
}

void CaptureMetrics::SetUp(const common::Site& site, bool up) {
  std::lock_guard<std::mutex> lock(mu_);
  SiteSeries& s = SiteLocked(site);
  if (s.up == nullptr) s.up = &up_.Add(SiteLabels(site.id, s.name));
  s.up->Set(up ? 1 : 0);
}

void CaptureMetrics::RemoveSite(const std::string& site_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sites_.find(site_id);
  if (it == sites_.end()) return;
  RemoveAllLocked(it->second);
  sites_.erase(it);
}

}  // namespace mpe::poll
