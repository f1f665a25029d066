#pragma once

#include <functional>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "config/config.h"
#include "config/config_loader.h"
#include "config/flags.h"
#include "config/reload_plan.h"

namespace prometheus {
class Counter;
class Gauge;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace mpe::app {

// Where a reload reads the config from: the file, plus the original command line and
// environment lookup so that flag overrides keep winning. Value type.
struct ReloadSource {
  std::string path;
  config::CommandLine command_line;
  config::LoadOptions load_options;
};

// What one reload did. Value type.
struct ReloadOutcome {
  bool ok = false;
  std::string message;  // one line, for the log and the /-/reload body; never the token
};

// Re-reads the config file (SIGHUP, POST /-/reload), validates it exactly like the start does,
// and hands the plan (config/reload_plan.h) to `apply`. A file that does not load (missing,
// unreadable, bad YAML, a bad value, no token) leaves the running config untouched and logs
// one error line "<file>:<line>: <key>: <problem>". Changed keys that need a restart are
// logged (one warning each) and keep their running value; the reload still succeeds.
//
// Exports mist_pcap_exporter_config_last_reload_successful (1 after start),
// mist_pcap_exporter_config_last_reload_success_timestamp_seconds (the start time at first),
// mist_pcap_exporter_config_reloads_total{result="success"|"failure"} and
// mist_pcap_exporter_config_restart_required (1 while the last accepted file changes a key
// that only a restart applies).
//
// Thread-safe: Reload may be called from any thread; reloads run one at a time and `apply`
// runs under that lock. Close waits for a reload in progress and makes later ones fail
// without counting, so nothing is applied while the owner shuts down. Registry and clock must
// outlive it.
class ConfigReloader {
 public:
  // Applies a plan to the running service. An error counts as a failed reload; whatever was
  // applied stays, and the next reload compares with plan.next.
  using Apply = std::function<common::Status(const config::ReloadPlan& plan)>;

  ConfigReloader(ReloadSource source, config::Config running, prometheus::Registry& registry,
                 common::Clock& clock, Apply apply);
  ConfigReloader(const ConfigReloader&) = delete;
  ConfigReloader& operator=(const ConfigReloader&) = delete;

  ReloadOutcome Reload();
  void Close();
  // The config in effect: the start config with every reload's reloadable keys applied.
  config::Config running() const;

 private:
  ReloadOutcome Fail(std::string message);  // caller holds mu_

  const ReloadSource source_;
  common::Clock& clock_;
  const Apply apply_;
  prometheus::Gauge& last_successful_;
  prometheus::Gauge& last_success_time_;
  prometheus::Family<prometheus::Counter>& reloads_;
  prometheus::Counter& successes_;
  prometheus::Counter& failures_;
  prometheus::Gauge& restart_required_;

  mutable std::mutex mu_;
  config::Config running_;  // guarded by mu_
  bool closed_ = false;     // guarded by mu_
};

}  // namespace mpe::app
