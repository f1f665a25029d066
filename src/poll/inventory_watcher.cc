#include "poll/inventory_watcher.h"

#include <spdlog/spdlog.h>

#include <set>

namespace mpe::poll {

namespace {
constexpr auto kMaxWait = std::chrono::milliseconds(200);
}  // namespace

InventoryWatcher::InventoryWatcher(mist::MistClient& client, prometheus::Registry& registry,
                                   common::Clock& clock, std::chrono::milliseconds interval,
                                   std::string org_id)
    : client_(client),
      clock_(clock),
      interval_(interval),
      configured_org_(org_id == "auto" ? std::string() : std::move(org_id)),
      family_(prometheus::BuildGauge()
                  .Name("mist_pcap_ap_info")
                  .Help("1 for each AP of an owned site in the Mist org inventory, with its name "
                        "(empty when unnamed) and model.")
                  .Register(registry)) {}

InventoryWatcher::~InventoryWatcher() { Stop(); }

void InventoryWatcher::Start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { Run(); });
}

void InventoryWatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void InventoryWatcher::SetSites(const std::vector<common::Site>& sites) {
  std::lock_guard<std::mutex> lock(mu_);
  sites_.clear();
  for (const auto& s : sites) sites_[s.id] = s.Label();
  SyncLocked();
}

int InventoryWatcher::last_requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_requests_;
}

bool InventoryWatcher::PollOnce() {
  int requests = 0;
  std::vector<std::string> orgs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    orgs = orgs_;
    if (!orgs_known_ && !configured_org_.empty()) {
      orgs = orgs_ = {configured_org_};
      orgs_known_ = true;
    }
  }
  if (orgs.empty()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (orgs_known_) return true;  // no org: nothing to read
    }
    auto self = client_.GetSelf();
    ++requests;
    if (!self.ok()) {
      spdlog::debug("inventory: /self failed: {}", self.error().message);
      std::lock_guard<std::mutex> lock(mu_);
      last_requests_ = requests;
      return false;
    }
    std::set<std::string> unique;
    for (const auto& p : self->privileges) unique.insert(p.org_id);
    orgs.assign(unique.begin(), unique.end());
    if (orgs.empty()) {
      spdlog::info(
          "inventory: the token has no org-scoped privilege, so AP names are not read "
          "(mist_pcap_ap_info stays empty)");
    }
    std::lock_guard<std::mutex> lock(mu_);
    orgs_ = orgs;
    orgs_known_ = true;
  }
  std::vector<mist::InventoryAp> all;
  bool ok = true;
  for (const auto& org : orgs) {
    auto aps = client_.ListOrgInventory(org);
    // Paging stops at the first failed page; count at least the one request made.
    requests += std::max<int>(1, aps.ok() ? static_cast<int>(aps->size() / 1000 + 1) : 1);
    if (!aps.ok()) {
      spdlog::warn("inventory: reading org {} failed, AP names kept from the last read: {}", org,
                   aps.error().message);
      ok = false;
      break;
    }
    for (auto& ap : *aps) all.push_back(std::move(ap));
  }
  std::lock_guard<std::mutex> lock(mu_);
  last_requests_ = requests;
  if (!ok) return false;
  aps_ = std::move(all);
  SyncLocked();
  return true;
}

void InventoryWatcher::SyncLocked() {
  std::map<std::string, prometheus::Labels> want;
  for (const auto& ap : aps_) {
    auto site = sites_.find(ap.site_id);
    if (site == sites_.end()) continue;
    prometheus::Labels labels{{"site_id", ap.site_id},
                              {"site", site->second},
                              {"ap_mac", ap.mac},
                              {"ap_name", ap.name},
                              {"model", ap.model}};
    std::string key;
    for (const auto& [k, v] : labels) key += v + '\n';
    want.emplace(std::move(key), std::move(labels));
  }
  for (auto it = series_.begin(); it != series_.end();) {
    if (want.count(it->first) == 0) {
      family_.Remove(it->second);
      it = series_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [key, labels] : want) {
    if (series_.count(key) != 0) continue;
    prometheus::Gauge& g = family_.Add(labels);
    g.Set(1);
    series_.emplace(key, &g);
  }
}

void InventoryWatcher::Run() {
  auto next = clock_.SteadyNow();
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (clock_.SteadyNow() >= next) {
      lock.unlock();
      const bool ok = PollOnce();
      lock.lock();
      // A failed read retries after a tenth of the interval (at least a minute), not at once.
      const auto wait =
          ok ? interval_
             : std::max<std::chrono::milliseconds>(std::chrono::minutes(1), interval_ / 10);
      next = clock_.SteadyNow() + wait;
      continue;
    }
    cv_.wait_for(lock, kMaxWait, [this] { return stopping_; });
  }
}

}  // namespace mpe::poll
