#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace mpe::config {

// The config keys (docs/spec.md §4) whose values differ between `a` and `b`, in the order of the
// file: e.g. {"sites", "poll.status_interval", "web.listen_address"}. A list (`sites`,
// `discovery.include`, `captures`, ...) compares as one key. A different resolved API token
// (from the environment or the token file) is reported as "mist token", never with its value;
// the shard (flags or $HOSTNAME) as "shard.index" / "shard.count". source_file is ignored. Pure.
std::vector<std::string> ChangedKeys(const Config& a, const Config& b);

// Whether a running exporter applies a change of `key` (a ChangedKeys name) on reload:
// sites, discovery.*, poll.* and log.level. Every other key needs a restart. Pure.
bool ReloadableKey(std::string_view key);

// What a reload does with a freshly loaded config. Value type.
struct ReloadPlan {
  // The config to run with: `running` with the reloadable keys taken from the new file.
  Config next;
  std::vector<std::string> applied;           // changed reloadable keys, ChangedKeys order
  std::vector<std::string> restart_required;  // changed keys that keep their running value
};

// Plans the reload of `loaded` (a validated config, LoadConfigFile) over `running`. Pure.
ReloadPlan PlanReload(const Config& running, const Config& loaded);

}  // namespace mpe::config
