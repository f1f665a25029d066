#include "poll/usage_watcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

namespace mpe::poll {

namespace {

constexpr auto kMaxWait = std::chrono::milliseconds(200);

prometheus::Family<prometheus::Gauge>& Gauges(prometheus::Registry& registry, const char* name,
                                              const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry);
}

}  // namespace

UsageWatcher::UsageWatcher(mist::MistClient& client, prometheus::Registry& registry,
                           common::Clock& clock, std::chrono::milliseconds interval,
                           int our_budget_per_hour, BudgetSink on_budget)
    : client_(client),
      clock_(clock),
      interval_(interval),
      our_budget_(our_budget_per_hour),
      on_budget_(std::move(on_budget)),
      requests_family_(
          Gauges(registry, "mist_pcap_api_usage_requests",
                 "REST requests made with the exporter's Mist token in the current hour, by "
                 "every client of the token (GET /api/v1/self/usage).")),
      limit_family_(Gauges(registry, "mist_pcap_api_usage_request_limit",
                           "Mist's hourly request limit for the token (GET /api/v1/self/usage).")) {
}

UsageWatcher::~UsageWatcher() { Stop(); }

void UsageWatcher::Start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { Run(); });
}

void UsageWatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int UsageWatcher::EffectiveBudget(int64_t requests, int64_t request_limit, int ours_this_hour,
                                  int our_budget) {
  if (request_limit <= 0 || our_budget <= 0) return our_budget;  // unknown, or no self-limit
  // Our budget leaves request_limit - our_budget to the token's other clients; only what they
  // use beyond that comes out of ours.
  const int64_t others = std::max<int64_t>(0, requests - ours_this_hour);
  const int64_t assumed = std::max<int64_t>(0, request_limit - our_budget);
  const int64_t excess = others - assumed;
  if (excess <= 0) return our_budget;
  return static_cast<int>(std::max<int64_t>(our_budget - excess, kMinBudget));
}

bool UsageWatcher::PollOnce() {
  auto usage = client_.GetApiUsage();
  if (!usage.ok()) {
    spdlog::debug("api usage poll failed: {}", usage.error().message);
    return false;
  }
  if (requests_ == nullptr) {
    requests_ = &requests_family_.Add({});
    limit_ = &limit_family_.Add({});
  }
  requests_->Set(static_cast<double>(usage->requests));
  limit_->Set(static_cast<double>(usage->request_limit));
  // Mist counts by clock hour: ours since the top of the hour.
  const double into_hour = std::fmod(clock_.NowSeconds(), 3600.0);
  const auto hour_start =
      clock_.SteadyNow() - std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::duration<double>(into_hour));
  const int ours = client_.budget().UsedSince(hour_start);
  const int budget = EffectiveBudget(usage->requests, usage->request_limit, ours, our_budget_);
  const bool reduced = budget < our_budget_;
  if (reduced != reduced_) {
    reduced_ = reduced;
    if (reduced) {
      spdlog::warn(
          "mist api usage: the token has made {} of {} requests this hour, {} of them by other "
          "clients; polling is stretched to fit {} requests/hour (mist.max_requests_per_hour {})",
          usage->requests, usage->request_limit, std::max<int64_t>(0, usage->requests - ours),
          budget, our_budget_);
    } else {
      spdlog::info(
          "mist api usage: room under the token's limit is back; polling uses "
          "mist.max_requests_per_hour {} again",
          our_budget_);
    }
  }
  if (on_budget_) on_budget_(budget);
  return true;
}

void UsageWatcher::Run() {
  auto next = clock_.SteadyNow();
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (clock_.SteadyNow() >= next) {
      lock.unlock();
      PollOnce();
      lock.lock();
      next = clock_.SteadyNow() + interval_;
      continue;
    }
    cv_.wait_for(lock, kMaxWait, [this] { return stopping_; });
  }
}

}  // namespace mpe::poll
