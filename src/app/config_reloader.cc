#include "app/config_reloader.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <utility>
#include <vector>

namespace mpe::app {

namespace {

std::string Join(const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k;
  return out;
}

prometheus::Gauge& NewGauge(prometheus::Registry& registry, const std::string& name,
                            const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
}

}  // namespace

ConfigReloader::ConfigReloader(ReloadSource source, config::Config running,
                               prometheus::Registry& registry, common::Clock& clock, Apply apply)
    : source_(std::move(source)),
      clock_(clock),
      apply_(std::move(apply)),
      last_successful_(NewGauge(registry, "mist_pcap_exporter_config_last_reload_successful",
                                "1 when the last config reload (SIGHUP, POST /-/reload) "
                                "succeeded, 0 when it failed and the previous config stayed.")),
      last_success_time_(
          NewGauge(registry, "mist_pcap_exporter_config_last_reload_success_timestamp_seconds",
                   "Time of the last successful config load (start or reload), epoch seconds.")),
      reloads_(prometheus::BuildCounter()
                   .Name("mist_pcap_exporter_config_reloads_total")
                   .Help("Config reloads (SIGHUP, POST /-/reload) by result (success, failure).")
                   .Register(registry)),
      successes_(reloads_.Add({{"result", "success"}})),
      failures_(reloads_.Add({{"result", "failure"}})),
      restart_required_(NewGauge(registry, "mist_pcap_exporter_config_restart_required",
                                 "1 when the last reloaded config changes keys that only take "
                                 "effect after a restart (their running values are kept).")),
      running_(std::move(running)) {
  last_successful_.Set(1);
  last_success_time_.Set(clock_.NowSeconds());
}

ReloadOutcome ConfigReloader::Reload() {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return {false, "config reload refused: shutting down"};
  auto loaded = config::LoadConfigFile(source_.path, source_.command_line, source_.load_options);
  if (!loaded.ok()) return Fail(loaded.error().message);

  config::ReloadPlan plan = config::PlanReload(running_, *loaded);
  const common::Status applied = apply_ ? apply_(plan) : common::Status(common::Ok{});
  running_ = std::move(plan.next);
  if (!applied.ok()) return Fail("applying " + source_.path + ": " + applied.error().message);

  last_successful_.Set(1);
  last_success_time_.Set(clock_.NowSeconds());
  successes_.Increment();
  restart_required_.Set(plan.restart_required.empty() ? 0 : 1);
  for (const auto& key : plan.restart_required) {
    spdlog::warn("config reload: {} changed; restart required, keeping the running value", key);
  }
  std::string message = "config reloaded from " + source_.path + ": ";
  message += plan.applied.empty() ? "nothing to apply" : "applied " + Join(plan.applied);
  if (!plan.restart_required.empty()) {
    message += "; restart required for " + Join(plan.restart_required) + " (running values kept)";
  }
  spdlog::info("{}", message);
  return {true, std::move(message)};
}

ReloadOutcome ConfigReloader::Fail(std::string message) {
  last_successful_.Set(0);
  failures_.Increment();
  spdlog::error("config reload failed, keeping the running config: {}", message);
  return {false, std::move(message)};
}

void ConfigReloader::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
}

config::Config ConfigReloader::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_;
}

}  // namespace mpe::app
