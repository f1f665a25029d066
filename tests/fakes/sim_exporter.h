#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/app.h"
#include "common/clock.h"
#include "config/config.h"
#include "e2e/metrics_text.h"
#include "sim/cloud_sim.h"

namespace mpe::fakes {

// GET /metrics from a web server on 127.0.0.1:port, parsed; {} when it does not answer 200
// within `read_timeout`.
std::vector<testing::Sample> ScrapeMetrics(
    int port, std::chrono::seconds read_timeout = std::chrono::seconds(5));

// The plumbing of the end-to-end tests: the simulated Mist cloud (sim::CloudSim) and the
// exporter (app::App), both real servers on 127.0.0.1 port 0, in this process.
//
// Order of use: adjust sim_options(), StartSim(), take Config() and edit it, StartApp(); then
// Scrape() and the waits. StartApp also works without a simulator (a test that points the
// config at another fake). Owns the simulator and every App it started; Stop() and the
// destructor stop the Apps first (they are the simulator's clients), then the simulator.
//
// Threads: call it from the test's thread only. The simulator and the Apps run their own
// threads; sim() and app() are thread-safe as those classes say.
class SimAndExporter {
 public:
  // `token` is the API token the simulator accepts and Config() sends.
  explicit SimAndExporter(std::string token);
  ~SimAndExporter();
  SimAndExporter(const SimAndExporter&) = delete;
  SimAndExporter& operator=(const SimAndExporter&) = delete;

  // The options StartSim uses: listen 127.0.0.1:0 and the token; the test may change anything
  // else (scenario, rate, seed, clock, TLS) before StartSim.
  sim::SimOptions& sim_options() { return sim_options_; }
  // Starts the simulator. False, with a test failure saying why, when it does not start.
  [[nodiscard]] bool StartSim();
  sim::CloudSim& sim() { return *sim_; }
  bool sim_started() const { return sim_ != nullptr; }

  // A config for the running simulator: api_url at it and the stream URL derived from it, the
  // token, the web server on 127.0.0.1:0, a 2 s request timeout, a budget that never throttles
  // (100,000 requests per hour), stream reconnects between 50 ms and 500 ms. Everything else is
  // config::Config's default: sites, intervals and the rest are the test's to set.
  config::Config Config() const;

  // Constructs one more App from `c` on `clock` (which must outlive it), runs `before_start` on
  // it if given (e.g. App::EnableReload) and starts it. The first one is app(0). False, with a
  // test failure saying why, when Start fails.
  [[nodiscard]] bool StartApp(config::Config c,
                              common::Clock& clock = common::SystemClock::Instance(),
                              const std::function<void(app::App&)>& before_start = {});
  app::App& app(size_t i = 0) { return *apps_.at(i); }
  size_t app_count() const { return apps_.size(); }

  // Stops and destroys every App; the simulator keeps running, so a test may start another.
  void StopApps();
  // Stops the Apps, then the simulator. Safe to call more than once.
  void Stop();

  // GET /metrics of app(i), parsed; {} when it does not answer 200.
  std::vector<testing::Sample> Scrape(size_t i = 0,
                                      std::chrono::seconds read_timeout = std::chrono::seconds(5));

  // Waits with fakes::WaitUntil until app(0)'s /metrics shows mist_pcap_stream_subscribed 1 for
  // every site id in `site_ids` (whatever the site label), or `timeout` has passed.
  [[nodiscard]] bool WaitSubscribed(const std::vector<std::string>& site_ids,
                                    std::chrono::milliseconds timeout,
                                    std::chrono::milliseconds poll = std::chrono::milliseconds(5));

 private:
  const std::string token_;
  sim::SimOptions sim_options_;
  std::unique_ptr<sim::CloudSim> sim_;
  std::vector<std::unique_ptr<app::App>> apps_;
};

}  // namespace mpe::fakes
