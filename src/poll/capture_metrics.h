#pragma once

#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/site.h"
#include "mist/models.h"

namespace mpe::poll {

// Owns the capture state families (docs/spec.md §6.2) plus mist_pcap_up (and the pollers' effective
// intervals, mist_pcap_poll_interval_seconds), and keeps the site families equal to
// the last successful poll of each site: per-capture series (info, start, expiry, limits)
// exist only while that capture runs, failed-AP series only while the AP is failed, capture
// type series only while the type is in the list window. Registers on `registry`, which must
// outlive it. Thread-safe: pollers call from several worker threads; one mutex serialises
// updates (the registry's own locking makes concurrent scrapes safe).
class CaptureMetrics {
 public:
  explicit CaptureMetrics(prometheus::Registry& registry);
  CaptureMetrics(const CaptureMetrics&) = delete;
  CaptureMetrics& operator=(const CaptureMetrics&) = delete;

  void UpdateStatus(const common::Site& site, const mist::CaptureStatus& status);
  void UpdateList(const common::Site& site, const std::vector<mist::CaptureSummary>& captures);
  void SetUp(const common::Site& site, bool up);
  // Removes every series of the site.
  void RemoveSite(const std::string& site_id);
  // mist_pcap_poll_interval_seconds{kind="status"|"list"|"idle"}: the intervals the pollers
  // use, and mist_pcap_poll_stretch_factor{kind} (in use / configured; 1 = as configured).
  struct Intervals {
    std::chrono::milliseconds status{0}, list{0}, idle{0};
    double status_stretch = 1, list_stretch = 1, idle_stretch = 1;
  };
  void SetPollIntervals(const Intervals& intervals);
  // mist_pcap_poll_failure_info{endpoint,code} = 1 while the site's last poll of `endpoint`
  // failed with `code` (an HTTP status, or "error"); an empty code removes it.
  void SetPollFailure(const common::Site& site, const std::string& endpoint,
                      const std::string& code);

 private:
  using Gauge = prometheus::Gauge;
  struct SiteSeries {
    std::string name;
    Gauge* running = nullptr;
    Gauge* up = nullptr;
    Gauge* aps[3] = {nullptr, nullptr, nullptr};  // requested, ok, failed
    Gauge* last_capture = nullptr;
    double list_latest = 0;    // newest start time in the list window
    double status_latest = 0;  // start time of the running capture
    // The running capture's series; empty id when none.
    std::string capture_id;
    std::string capture_type;
    std::string capture_format;
    Gauge* info = nullptr;
    Gauge* start = nullptr;
    Gauge* expiry = nullptr;
    Gauge* max_packets = nullptr;
    Gauge* max_len = nullptr;
    Gauge* packets = nullptr;
    std::map<std::string, Gauge*> failed_aps;
    std::map<std::string, Gauge*> ap_info;  // by mac, band and channel
    std::map<std::string, Gauge*> types;
    std::map<std::string, std::pair<std::string, Gauge*>> failures;  // endpoint -> code, series
  };

  // The site's entry; a renamed site loses its old series first (labels changed).
  SiteSeries& SiteLocked(const common::Site& site);
  void RemoveCaptureLocked(SiteSeries& s);
  void RemoveAllLocked(SiteSeries& s);
  void UpdateLastCaptureLocked(const std::string& site_id, SiteSeries& s);
  void SyncApInfoLocked(const prometheus::Labels& labels, const mist::CaptureStatus& status,
                        SiteSeries& s);

  std::mutex mu_;
  prometheus::Family<Gauge>& running_;
  prometheus::Family<Gauge>& info_;
  prometheus::Family<Gauge>& start_;
  prometheus::Family<Gauge>& expiry_;
  prometheus::Family<Gauge>& max_packets_;
  prometheus::Family<Gauge>& max_len_;
  prometheus::Family<Gauge>& aps_;
  prometheus::Family<Gauge>& ap_failed_;
  prometheus::Family<Gauge>& packets_;
  prometheus::Family<Gauge>& ap_info_;
  prometheus::Family<Gauge>& captures_;
  prometheus::Family<Gauge>& last_capture_;
  prometheus::Family<Gauge>& up_;
  prometheus::Family<Gauge>& interval_;
  prometheus::Family<Gauge>& stretch_;
  prometheus::Family<Gauge>& failure_;
  std::map<std::string, SiteSeries> sites_;
};

}  // namespace mpe::poll
