#include "app/site_directory.h"

#include <fnmatch.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>

#include "app/shard.h"
#include "common/backoff.h"
#include "mist/mist_client.h"

namespace mpe::app {

namespace {

bool AnyMatch(const std::vector<std::string>& globs, const std::string& name) {
  return std::any_of(globs.begin(), globs.end(), [&](const std::string& g) {
    return fnmatch(g.c_str(), name.c_str(), 0) == 0;
  });
}

bool SameSites(const std::vector<common::Site>& a, const std::vector<common::Site>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const common::Site& x, const common::Site& y) {
                      return x.id == y.id && x.name == y.name;
                    });
}

}  // namespace

bool NameSelected(std::string_view name, const config::DiscoveryConfig& discovery) {
  const std::string n(name);
  return AnyMatch(discovery.include, n) && !AnyMatch(discovery.exclude, n);
}

SiteSelection SelectSites(const config::Config& config,
                          const std::vector<common::Site>& discovered) {
  std::map<std::string, std::string> discovered_names;
  for (const auto& s : discovered) discovered_names.emplace(s.id, s.name);

  SiteSelection out;
  std::set<std::string> seen;
  auto consider = [&](const std::string& id, const std::string& name) {
    if (id.empty() || !seen.insert(id).second) return;
    if (!OwnsSite(id, config.shard.index, config.shard.count)) {
      ++out.skipped;
      return;
    }
    out.owned.push_back(common::Site{id, name.empty() ? id : name});
  };
  for (const auto& s : config.sites) {
    std::string name = s.name;
    if (name.empty()) {
      auto it = discovered_names.find(s.id);
      if (it != discovered_names.end()) name = it->second;
    }
    consider(s.id, name);
  }
  for (const auto& s : discovered) {
    if (!NameSelected(s.Label(), config.discovery)) continue;
    consider(s.id, s.name);
  }
  return out;
}

SiteDirectory::SiteDirectory(const config::Config& config, mist::MistClient& client,
                             prometheus::Registry& registry, Listener on_sites_changed)
    : config_(config),
      client_(client),
      listener_(std::move(on_sites_changed)),
      sites_(prometheus::BuildGauge()
                 .Name("mist_pcap_exporter_sites")
                 .Help("Sites selected by config and discovery: owned by this shard, or skipped "
                       "(owned by another shard).")
                 .Register(registry)),
      owned_gauge_(sites_.Add({{"state", "owned"}})),
      skipped_gauge_(sites_.Add({{"state", "skipped"}})),
      errors_(prometheus::BuildCounter()
                  .Name("mist_pcap_discovery_refresh_errors_total")
                  .Help("Site discovery refreshes that failed (the previous site set is kept).")
                  .Register(registry)
                  .Add({})),
      cancel_(std::make_unique<mist::CancelToken>()) {}

SiteDirectory::~SiteDirectory() { Stop(); }

bool SiteDirectory::discovery_enabled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !config_.discovery.org_id.empty();
}

std::vector<common::Site> SiteDirectory::InitialSites() {
  {
    std::lock_guard<std::mutex> refresh_lock(refresh_mu_);
    Publish(SelectSites(config_, {}), false);
  }
  return Owned();
}

void SiteDirectory::Start() {
  started_ = true;
  if (discovery_enabled()) StartThread();
}

void SiteDirectory::Stop() {
  started_ = false;
  StopThread();
}

void SiteDirectory::StartThread() {
  if (thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = false;
  }
  cancel_ = std::make_unique<mist::CancelToken>();  // a cancelled token stays cancelled
  thread_ = std::thread([this] { Run(); });
}

void SiteDirectory::StopThread() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  cancel_->Cancel();
  if (thread_.joinable()) thread_.join();
}

void SiteDirectory::Reconfigure(const config::Config& config) {
  bool enabled = false;
  bool refresh_now = false;
  {
    std::lock_guard<std::mutex> refresh_lock(refresh_mu_);
    const bool org_changed = config_.discovery.org_id != config.discovery.org_id;
    refresh_now = org_changed || config_.discovery.interval != config.discovery.interval;
    {
      std::lock_guard<std::mutex> lock(mu_);
      config_.sites = config.sites;
      config_.discovery = config.discovery;
      config_.shard = config.shard;
      if (org_changed) failing_ = false;
    }
    // Another org's sites must not linger until the next successful round.
    if (org_changed) discovered_.clear();
    enabled = !config_.discovery.org_id.empty();
    Publish(SelectSites(config_, enabled ? discovered_ : std::vector<common::Site>{}), true);
  }
  if (!started_) return;
  if (!enabled) {
    StopThread();
  } else if (!thread_.joinable()) {
    StartThread();  // its first round runs at once
  } else if (refresh_now) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      refresh_now_ = true;
    }
    cv_.notify_all();
  }
}

std::vector<common::Site> SiteDirectory::Owned() const {
  std::lock_guard<std::mutex> lock(mu_);
  return owned_;
}

common::Result<std::vector<common::Site>> SiteDirectory::Discover() {
  std::vector<std::string> orgs;
  if (config_.discovery.org_id == "auto") {
    auto self = client_.GetSelf(cancel_.get());
    if (!self.ok()) return self.error();
    for (const auto& p : self->privileges) {
      if (std::find(orgs.begin(), orgs.end(), p.org_id) == orgs.end()) orgs.push_back(p.org_id);
    }
    if (orgs.empty()) {
      return common::MakeError("discovery: the token has no org-scoped privilege (GET /self)");
    }
  } else {
    orgs.push_back(config_.discovery.org_id);
  }
  std::vector<common::Site> all;
  for (const auto& org : orgs) {
    auto sites = client_.ListOrgSites(org, cancel_.get());
    if (!sites.ok()) return sites.error();
    for (auto& s : *sites) all.push_back(std::move(s));
  }
  return all;
}

common::Status SiteDirectory::Refresh() {
  std::lock_guard<std::mutex> refresh_lock(refresh_mu_);
  if (config_.discovery.org_id.empty()) return common::Ok{};  // switched off by Reconfigure
  auto discovered = Discover();
  if (!discovered.ok()) {
    if (discovered.error().code == mist::kErrorCancelled) return discovered.error();  // Stop
    errors_.Increment();
    std::lock_guard<std::mutex> lock(mu_);
    if (!failing_) {
      spdlog::warn("site discovery failed, keeping the {} sites known: {}", owned_.size(),
                   discovered.error().message);
    } else {
      spdlog::debug("site discovery still failing: {}", discovered.error().message);
    }
    failing_ = true;
    return discovered.error();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (failing_) spdlog::info("site discovery recovered");
    failing_ = false;
  }
  discovered_ = std::move(*discovered);
  SiteSelection selection = SelectSites(config_, discovered_);
  spdlog::debug("site discovery: {} sites listed, {} owned, {} skipped (shard {}/{})",
                discovered_.size(), selection.owned.size(), selection.skipped, config_.shard.index,
                config_.shard.count);
  Publish(std::move(selection), true);
  return common::Ok{};
}

void SiteDirectory::Publish(SiteSelection selection, bool notify) {
  owned_gauge_.Set(static_cast<double>(selection.owned.size()));
  skipped_gauge_.Set(static_cast<double>(selection.skipped));
  {
    std::lock_guard<std::mutex> lock(mu_);
    const bool changed = !published_ || !SameSites(owned_, selection.owned);
    published_ = true;
    if (!changed) return;
    if (notify) {
      spdlog::info("site set changed: {} -> {} owned sites ({} skipped, shard {}/{})",
                   owned_.size(), selection.owned.size(), selection.skipped, config_.shard.index,
                   config_.shard.count);
    }
    owned_ = selection.owned;
  }
  if (notify && listener_) listener_(std::move(selection.owned));
}

void SiteDirectory::Run() {
  auto interval_now = [this] {
    return std::max(config_.discovery.interval, config::Duration(100));
  };
  std::unique_lock<std::mutex> lock(mu_);
  auto interval = interval_now();
  common::Backoff backoff(std::min(interval, config::Duration(1000)), interval);
  while (!stopping_) {
    refresh_now_ = false;
    lock.unlock();
    const bool ok = Refresh().ok();
    lock.lock();
    if (stopping_) break;
    if (interval_now() != interval) {  // changed by Reconfigure
      interval = interval_now();
      backoff = common::Backoff(std::min(interval, config::Duration(1000)), interval);
    }
    if (ok) backoff.Reset();
    cv_.wait_for(lock, ok ? interval : backoff.Next(),
                 [this] { return stopping_ || refresh_now_; });
  }
}

}  // namespace mpe::app
