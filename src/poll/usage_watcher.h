#pragma once

#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "mist/mist_client.h"

namespace mpe::poll {

// Polls GET /api/v1/self/usage every mist.usage_interval (inside the request budget) into
// mist_pcap_api_usage_requests and mist_pcap_api_usage_request_limit, and tells `on_budget`
// how many requests per hour are really left for us: Mist counts every client of the token,
// so when the others leave less than mist.max_requests_per_hour, our polling must stretch
// (logged once per change of state). Owns one thread between Start and Stop; PollOnce may be
// called from a test instead. The client, registry and clock must outlive it.
class UsageWatcher {
 public:
  using BudgetSink = std::function<void(int requests_per_hour)>;

  UsageWatcher(mist::MistClient& client, prometheus::Registry& registry, common::Clock& clock,
               std::chrono::milliseconds interval, int our_budget_per_hour, BudgetSink on_budget);
  ~UsageWatcher();
  UsageWatcher(const UsageWatcher&) = delete;
  UsageWatcher& operator=(const UsageWatcher&) = delete;

  void Start();
  void Stop();
  // One poll: updates the gauges and calls on_budget. False when the request failed.
  bool PollOnce();

  // The hourly budget left for us: our configured budget, less what the token's other clients
  // used this hour (Mist's count less ours) beyond the request_limit - our_budget our budget
  // leaves them; at least kMinBudget so that polling notices when the room comes back. Pure.
  static constexpr int kMinBudget = 60;
  static int EffectiveBudget(int64_t requests, int64_t request_limit, int ours_this_hour,
                             int our_budget);

 private:
  void Run();

  mist::MistClient& client_;
  common::Clock& clock_;
  const std::chrono::milliseconds interval_;
  const int our_budget_;
  BudgetSink on_budget_;
  // Series exist only once a poll succeeded (a 0 before that would read as "no usage").
  prometheus::Family<prometheus::Gauge>& requests_family_;
  prometheus::Family<prometheus::Gauge>& limit_family_;
  prometheus::Gauge* requests_ = nullptr;  // guarded by the single poller (thread_ or a test)
  prometheus::Gauge* limit_ = nullptr;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool reduced_ = false;  // the last poll found less room than our budget
  std::thread thread_;
};

}  // namespace mpe::poll
