#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "app/config_reloader.h"
#include "common/clock.h"
#include "common/result.h"
#include "config/config.h"
#include "config/reload_plan.h"
#include "metrics/exposition.h"
#include "metrics/label_value.h"
#include "poll/capture_metrics.h"

namespace prometheus {
class Registry;
}

namespace mpe::capture {
class ArchiveWriter;
class ManagedCaptures;
}  // namespace mpe::capture
namespace mpe::http {
class HttpServer;
}
namespace mpe::metrics {
class DecodeMismatchMetrics;
class StreamAggregator;
}  // namespace mpe::metrics
namespace mpe::mist {
struct ApiMetrics;
class MistClient;
}  // namespace mpe::mist
namespace mpe::poll {
class CaptureMetrics;
class InventoryWatcher;
class PollerSet;
class UsageWatcher;
}  // namespace mpe::poll

namespace mpe::app {

class SiteDirectory;
class StreamIngest;
class StreamPool;

// The running service: owns every component and wires them (config -> site directory -> REST
// pollers and stream connections -> metrics -> HTTP); the work itself is theirs.
// Start builds the registry, the REST client and the aggregator, then starts HTTP (so /healthz
// answers while Mist is slow), applies the initial sites, and starts the pollers, usage and
// inventory watchers, managed captures and discovery. Stop refuses reloads first, then stops
// discovery, the maintenance thread, managed captures, the watchers, the pollers, the stream
// connections, the archive and last the HTTP server.
//
// Threads: Start/Stop from the main thread. ApplySites on the site directory's thread (and once
// in Start), serialised by apply_mu_. MetricsText, WriteMetrics, Readiness and LandingPage on
// HTTP workers. Reload from the main thread (SIGHUP) or an HTTP worker (POST /-/reload), one at
// a time (ConfigReloader).
class App {
 public:
  explicit App(config::Config config, common::Clock& clock = common::SystemClock::Instance());
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Makes the service re-readable from `source` (which should be where the config given to the
  // constructor came from). Call before Start; without it POST /-/reload answers 404.
  void EnableReload(ReloadSource source);
  common::Status Start();
  void Stop();
  // Re-reads the config (EnableReload) and applies what may change at run time: log.level, poll.*
  // (to the PollerSet), sites and discovery.* (through the SiteDirectory, so ApplySites); every
  // other key needs a restart. Returns ok and a one-line message. Fails when reload is not
  // enabled, before Start and after Stop.
  std::pair<bool, std::string> Reload();
  // Makes `owned` the set of sites this replica serves (DiffSites): removed sites lose their
  // series (stream and capture state), new or renamed ones are (re)labelled, the pollers and
  // the inventory get the new set, and the stream connections carry its channels (StreamPool).
  common::Status ApplySites(std::vector<common::Site> owned);

  int http_port() const;
  // Full /metrics body (metrics::ExpositionText).
  std::string MetricsText() const;
  // The same body in pieces of about chunk_bytes (see Handlers::metrics_pieces).
  void WriteMetrics(size_t chunk_bytes, const std::function<void(std::string*)>& emit) const;
  std::pair<bool, std::string> Readiness() const;
  // The status page (http::RenderStatusPage).
  std::string LandingPage() const;

 private:
  void RegisterExporterInfo();
  common::Status StartHttp();
  void MaintenanceLoop();
  common::Status ApplyReload(const config::ReloadPlan& plan);
  std::unique_ptr<StreamIngest> NewIngest(std::vector<std::string> channels);
  // `captures:` entries of sites this shard owns (unresolvable ones on shard 0 only).
  config::Config ManagedCapturesConfig() const;
  // Requests per hour the pollers must leave to usage, discovery and inventory reads.
  double ReservedRequestsPerHour(size_t sites) const;

  config::Config config_;
  common::Clock& clock_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<mist::ApiMetrics> api_metrics_;
  std::unique_ptr<mist::MistClient> client_;
  std::unique_ptr<poll::CaptureMetrics> capture_metrics_;
  std::unique_ptr<poll::PollerSet> pollers_;
  std::unique_ptr<poll::UsageWatcher> usage_;
  std::unique_ptr<poll::InventoryWatcher> inventory_;
  std::unique_ptr<metrics::DecodeMismatchMetrics> mismatch_metrics_;
  std::unique_ptr<capture::ArchiveWriter> archive_;
  config::Config managed_config_;  // ManagedCaptures keeps a reference
  std::unique_ptr<capture::ManagedCaptures> managed_;
  // Declared before the aggregator, which keeps a pointer to it; counted during scrapes.
  metrics::LabelValueStats label_stats_;
  std::unique_ptr<metrics::StreamAggregator> aggregator_;
  std::unique_ptr<SiteDirectory> directory_;
  metrics::ExpositionSources exposition_;  // set by Start before HTTP starts
  std::unique_ptr<http::HttpServer> http_;
  std::optional<ReloadSource> reload_source_;
  std::unique_ptr<ConfigReloader> reloader_;  // set by Start when reload is enabled

  std::mutex apply_mu_;
  std::vector<common::Site> applied_;  // guarded by apply_mu_
  // Declared after everything its connections use (aggregator, pollers, archive), so it goes
  // first; set by Start before HTTP starts.
  std::unique_ptr<StreamPool> streams_;

  std::thread maintenance_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::atomic<bool> started_{false};
};

}  // namespace mpe::app
