#include "app/site_changes.h"

#include <map>
#include <set>
#include <utility>

namespace mpe::app {

SiteChanges DiffSites(const std::vector<common::Site>& previous, std::vector<common::Site> owned) {
  std::map<std::string, const common::Site*> before;
  for (const auto& s : previous) before.emplace(s.id, &s);
  SiteChanges changes;
  std::set<std::string> wanted;
  for (auto& s : owned) {
    if (s.id.empty()) continue;
    if (s.name.empty()) s.name = s.id;
    if (wanted.insert(s.id).second) changes.sites.push_back(std::move(s));
  }
  for (const auto& [id, ref] : before) {
    if (!wanted.count(id)) changes.removed.push_back(id);
  }
  for (const auto& s : changes.sites) {
    auto it = before.find(s.id);
    if (it != before.end() && it->second->name == s.name) continue;
    changes.added += it == before.end();
    changes.upserted.push_back(s);
  }
  return changes;
}

}  // namespace mpe::app
