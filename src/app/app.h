#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "config/config.h"

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
class StreamAggregator;
}
namespace mpe::mist {
class ApiMetrics;
class MistClient;
}  // namespace mpe::mist
namespace mpe::poll {
class CaptureMetrics;
class PollerSet;
}  // namespace mpe::poll

namespace mpe::app {

class StreamIngest;
class DecodeMismatchMetrics;

// The running service: wires config -> REST pollers + stream ingest -> metrics -> HTTP.
// Start order: metrics, HTTP (so /healthz answers at once), pollers, stream. Stop order is
// the reverse. Start/Stop/Reload are called from the main thread; everything else runs on
// the components' own threads.
class App {
 public:
  explicit App(config::Config config, common::Clock& clock = common::SystemClock::Instance());
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  common::Status Start();
  void Stop();

  int http_port() const;
  // Full /metrics body (also used by tests).
  std::string MetricsText() const;
  std::pair<bool, std::string> Readiness() const;
  std::string LandingPage() const;

 private:
  void MaintenanceLoop();
  std::vector<std::pair<std::string, std::string>> OwnedSites() const;

  config::Config config_;
  common::Clock& clock_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<mist::ApiMetrics> api_metrics_;
  std::unique_ptr<mist::MistClient> client_;
  std::unique_ptr<poll::CaptureMetrics> capture_metrics_;
  std::unique_ptr<poll::PollerSet> pollers_;
  std::unique_ptr<DecodeMismatchMetrics> mismatch_metrics_;
  std::unique_ptr<capture::ArchiveWriter> archive_;
  std::unique_ptr<capture::ManagedCaptures> managed_;
  std::unique_ptr<metrics::StreamAggregator> aggregator_;
  std::vector<std::unique_ptr<StreamIngest>> ingests_;
  std::unique_ptr<http::HttpServer> http_;

  std::thread maintenance_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::atomic<bool> started_{false};
};

}  // namespace mpe::app
