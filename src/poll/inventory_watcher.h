#pragma once

#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "mist/mist_client.h"
#include "poll/capture_metrics.h"

namespace mpe::poll {

// Reads the org inventory of APs (GET /api/v1/orgs/{org_id}/inventory?type=ap, every page)
// every `interval` (hourly) into mist_pcap_ap_info{site_id,site,ap_mac,ap_name,model} = 1 for
// the APs of the owned sites, so dashboards and alerts can show AP names. The orgs: discovery's
// org (when set), else every org the token has an org-scoped privilege on (GET /api/v1/self,
// asked once). A token without an org privilege has no inventory: logged once, no series.
// A failed read keeps the last good series. Owns one thread between Start and Stop; PollOnce
// may be called from a test instead. Client, registry and clock must outlive it.
class InventoryWatcher {
 public:
  InventoryWatcher(mist::MistClient& client, prometheus::Registry& registry, common::Clock& clock,
                   std::chrono::milliseconds interval, std::string org_id);
  ~InventoryWatcher();
  InventoryWatcher(const InventoryWatcher&) = delete;
  InventoryWatcher& operator=(const InventoryWatcher&) = delete;

  void Start();
  void Stop();
  // The owned sites (ids and labels); series of other sites go. Any thread.
  void SetSites(const std::vector<common::Site>& sites);
  // One read of every org; false when any request failed.
  bool PollOnce();
  // Requests the last read took (pages of every org, plus /self the first time).
  int last_requests() const;

 private:
  void Run();
  void SyncLocked();  // series = inventory x owned sites; caller holds mu_

  mist::MistClient& client_;
  common::Clock& clock_;
  const std::chrono::milliseconds interval_;
  const std::string configured_org_;  // "" or "auto": from /self
  prometheus::Family<prometheus::Gauge>& family_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> orgs_;  // resolved once
  bool orgs_known_ = false;
  std::vector<mist::InventoryAp> aps_;                // last good read
  std::map<std::string, std::string> sites_;          // owned: id -> label
  std::map<std::string, prometheus::Gauge*> series_;  // by label key
  int last_requests_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace mpe::poll
