#include "config/reload_plan.h"

#include <algorithm>
#include <array>
#include <tuple>

namespace mpe::config {

namespace {

auto Fields(const common::Site& s) { return std::tie(s.id, s.name); }

auto Fields(const ManagedCapture& c) { return std::tie(c); }

template <class T>
bool SameList(const std::vector<T>& a, const std::vector<T>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const T& x, const T& y) { return Fields(x) == Fields(y); });
}

constexpr std::array<std::string_view, 11> kReloadable = {
    "sites",
    "discovery.org_id",
    "discovery.include",
    "discovery.exclude",
    "discovery.interval",
    "poll.status_interval",
    "poll.list_interval",
    "poll.list_window",
    "poll.idle_interval",
    "poll.schedule",
    "log.level",
};

}  // namespace

std::vector<std::string> ChangedKeys(const Config& a, const Config& b) {
  std::vector<std::string> out;
  auto check = [&out](const char* key, bool differs) {
    if (differs) out.emplace_back(key);
  };
  check("mist.api_url", a.mist.api_url != b.mist.api_url);
  check("mist.stream_url", a.mist.stream_url != b.mist.stream_url);
  check("mist.token_env", a.mist.token_env != b.mist.token_env);
  check("mist.token_file", a.mist.token_file != b.mist.token_file);
  check("mist token", a.token != b.token);
  check("mist.ca_file", a.mist.ca_file != b.mist.ca_file);
  check("mist.timeout", a.mist.timeout != b.mist.timeout);
  check("mist.max_requests_per_hour", a.mist.max_requests_per_hour != b.mist.max_requests_per_hour);
  check("sites", !SameList(a.sites, b.sites));
  check("discovery.org_id", a.discovery.org_id != b.discovery.org_id);
  check("discovery.include", a.discovery.include != b.discovery.include);
  check("discovery.exclude", a.discovery.exclude != b.discovery.exclude);
  check("discovery.interval", a.discovery.interval != b.discovery.interval);
  check("poll.status_interval", a.poll.status_interval != b.poll.status_interval);
  check("poll.list_interval", a.poll.list_interval != b.poll.list_interval);
  check("poll.list_window", a.poll.list_window != b.poll.list_window);
  check("poll.idle_interval", a.poll.idle_interval != b.poll.idle_interval);
  check("poll.schedule", a.poll.schedule != b.poll.schedule);
  check("stream.enabled", a.stream.enabled != b.stream.enabled);
  check("stream.ping_interval", a.stream.ping_interval != b.stream.ping_interval);
  check("stream.reconnect_min", a.stream.reconnect_min != b.stream.reconnect_min);
  check("stream.reconnect_max", a.stream.reconnect_max != b.stream.reconnect_max);
  check("stream.lost_messages", a.stream.lost_messages != b.stream.lost_messages);
  check("stream.max_channels_per_connection",
        a.stream.max_channels_per_connection != b.stream.max_channels_per_connection);
  check("metrics.stale_after", a.metrics.stale_after != b.metrics.stale_after);
  check("metrics.max_series_per_family",
        a.metrics.max_series_per_family != b.metrics.max_series_per_family);
  check("metrics.top_clients", a.metrics.top_clients != b.metrics.top_clients);
  check("metrics.top_clients_window", a.metrics.top_clients_window != b.metrics.top_clients_window);
  check("captures", !SameList(a.captures, b.captures));
  check("archive.dir", a.archive.dir != b.archive.dir);
  check("archive.rotate_bytes", a.archive.rotate_bytes != b.archive.rotate_bytes);
  check("archive.max_files_per_site", a.archive.max_files_per_site != b.archive.max_files_per_site);
  check("web.listen_address", a.web.listen_address != b.web.listen_address);
  check("web.config_file", a.web.config_file != b.web.config_file);
  check("web.max_connections", a.web.max_connections != b.web.max_connections);
  check("log.level", a.log.level != b.log.level);
  check("log.format", a.log.format != b.log.format);
  check("shard.index", a.shard.index != b.shard.index);
  check("shard.count", a.shard.count != b.shard.count);
  return out;
}

bool ReloadableKey(std::string_view key) {
  return std::find(kReloadable.begin(), kReloadable.end(), key) != kReloadable.end();
}

ReloadPlan PlanReload(const Config& running, const Config& loaded) {
  ReloadPlan plan;
  plan.next = running;
  plan.next.sites = loaded.sites;
  plan.next.discovery = loaded.discovery;
  plan.next.poll = loaded.poll;
  plan.next.log.level = loaded.log.level;
  for (auto& key : ChangedKeys(running, loaded)) {
    (ReloadableKey(key) ? plan.applied : plan.restart_required).push_back(std::move(key));
  }
  return plan;
}

}  // namespace mpe::config
