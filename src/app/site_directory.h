#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "mist/models.h"
#include "poll/capture_metrics.h"

namespace mpe::mist {
class CancelToken;
class MistClient;
}  // namespace mpe::mist

namespace mpe::app {

// True when `name` matches an include glob and no exclude glob (fnmatch, no flags: `*`, `?`
// and `[...]` as in the shell; exclude wins). Pure.
bool NameSelected(std::string_view name, const config::DiscoveryConfig& discovery);

// The sites this replica serves. Value type.
struct SiteSelection {
  std::vector<common::Site> owned;  // explicit ones first (config order), then discovered
  size_t skipped = 0;               // selected, but owned by another shard
};

// Merges the explicit `sites:` with discovered ones and applies the shard filter (shard.h) to
// both. A discovered site is selected by NameSelected on its name (explicit sites always are);
// a site listed twice counts once; an explicit name wins over the discovered one, an explicit
// site without a name takes the discovered name, else its id. Pure.
SiteSelection SelectSites(const config::Config& config,
                          const std::vector<common::Site>& discovered);

// Keeps the set of sites this replica owns: the explicit `sites:` plus, when discovery.org_id
// is set, the sites of that org (or of every org the token has org-scoped privileges on, for
// "auto"), filtered by the include/exclude globs and the shard. Refreshes every
// discovery.interval on its own thread; whenever the owned set changes it calls the listener
// with the full new set. A failed refresh (any org) keeps the previous set, counts in
// mist_pcap_discovery_refresh_errors_total, logs one warning per failure streak and retries
// with backoff (at most discovery.interval apart). Also exports
// mist_pcap_exporter_sites{state="owned"|"skipped"}.
//
// Reconfigure (config reload) takes new sites/discovery settings: the owned set is re-selected
// at once from the new `sites:` and the last discovered list (dropped when the org changes),
// discovery starts or stops with discovery.org_id, and a changed org or interval triggers an
// immediate refresh.
//
// Threads: Start/Stop/Reconfigure from the owner's threads, one at a time; the listener runs on
// the directory thread (or on the caller of Refresh/Reconfigure) and must not call Stop or
// Reconfigure. Owned() and discovery_enabled() are thread-safe. The config is copied; client
// and registry must outlive it; Stop cancels an in-flight Mist request.
class SiteDirectory {
 public:
  using Listener = std::function<void(std::vector<common::Site> owned)>;

  SiteDirectory(const config::Config& config, mist::MistClient& client,
                prometheus::Registry& registry, Listener on_sites_changed);
  ~SiteDirectory();
  SiteDirectory(const SiteDirectory&) = delete;
  SiteDirectory& operator=(const SiteDirectory&) = delete;

  bool discovery_enabled() const;
  // The owned explicit sites, before any discovery (no Mist call, no listener call). Sets the
  // owned/skipped gauges.
  std::vector<common::Site> InitialSites();
  // Starts the refresh thread when discovery is on; the first refresh runs at once.
  void Start();
  void Stop();
  // One discovery round on the caller's thread; calls the listener when the set changed.
  common::Status Refresh();
  // Takes `config`'s sites, discovery and shard settings (see the class comment); calls the
  // listener on this thread when the owned set changed. Waits for a discovery round in flight.
  void Reconfigure(const config::Config& config);
  std::vector<common::Site> Owned() const;

 private:
  common::Result<std::vector<common::Site>> Discover();
  void Publish(SiteSelection selection, bool notify);
  void StartThread();
  void StopThread();
  void Run();

  // Written under refresh_mu_ and mu_; read under either.
  config::Config config_;
  mist::MistClient& client_;
  Listener listener_;
  prometheus::Family<prometheus::Gauge>& sites_;
  prometheus::Gauge& owned_gauge_;
  prometheus::Gauge& skipped_gauge_;
  prometheus::Counter& errors_;
  std::unique_ptr<mist::CancelToken> cancel_;

  std::mutex refresh_mu_;                 // one refresh (and listener call) at a time
  std::vector<common::Site> discovered_;  // last successful discovery; guarded by refresh_mu_
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;  // between Start and Stop; owner's thread only
  bool stopping_ = false;
  bool refresh_now_ = false;
  bool failing_ = false;
  bool published_ = false;
  std::vector<common::Site> owned_;
  std::thread thread_;
};

}  // namespace mpe::app
