#include "stream/channel_plan.h"

#include <algorithm>
#include <cstddef>
#include <set>

namespace mpe::stream {

ChannelPlan PlanChannels(const std::vector<std::vector<std::string>>& current,
                         const std::vector<std::string>& wanted, int max_per_connection) {
  const size_t per_conn = static_cast<size_t>(std::max(1, max_per_connection));
  const std::set<std::string> wanted_set(wanted.begin(), wanted.end());
  ChannelPlan plan;
  plan.kept = current;
  plan.changed.assign(current.size(), false);
  std::set<std::string> assigned;
  for (size_t i = 0; i < plan.kept.size(); ++i) {
    auto& channels = plan.kept[i];
    const size_t before = channels.size();
    std::erase_if(channels, [&](const std::string& c) { return wanted_set.count(c) == 0; });
    plan.changed[i] = channels.size() != before;
    assigned.insert(channels.begin(), channels.end());
  }
  std::vector<std::string> fresh;
  for (const auto& c : wanted) {
    if (!assigned.count(c)) fresh.push_back(c);
  }
  size_t k = 0;
  for (size_t i = 0; i < plan.kept.size() && k < fresh.size(); ++i) {
    while (plan.kept[i].size() < per_conn && k < fresh.size()) {
      plan.kept[i].push_back(fresh[k++]);
      plan.changed[i] = true;
    }
  }
  while (k < fresh.size()) {
    const size_t end = std::min(fresh.size(), k + per_conn);
    plan.opened.emplace_back(fresh.begin() + static_cast<std::ptrdiff_t>(k),
                             fresh.begin() + static_cast<std::ptrdiff_t>(end));
    k = end;
  }
  return plan;
}

}  // namespace mpe::stream
