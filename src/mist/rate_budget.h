#pragma once

#include <chrono>
#include <deque>
#include <mutex>

#include "common/clock.h"

namespace mpe::mist {

// A self-imposed request budget: at most `max_per_hour` requests in any sliding hour, so the
// exporter stays under Mist's per-token limit (5,000/h) with room for other tools. Keeps one
// steady-clock time point per request of the last hour (a few thousand entries at most).
// max_per_hour <= 0 means unlimited. Thread-safe: any thread may call any method.
class RequestBudget {
 public:
  RequestBudget(int max_per_hour, common::Clock& clock);

  // Takes one request slot; false (and nothing taken) when the budget is exhausted.
  bool TryAcquire();
  // How long until TryAcquire would succeed; zero when it would now.
  std::chrono::milliseconds TimeUntilAvailable() const;
  // Requests counted in the current sliding hour.
  int Used() const;
  // Requests counted since `since` (at most the last hour).
  int UsedSince(std::chrono::steady_clock::time_point since) const;
  int max_per_hour() const { return max_per_hour_; }

 private:
  void PruneLocked(std::chrono::steady_clock::time_point now) const;

  const int max_per_hour_;
  common::Clock& clock_;
  mutable std::mutex mu_;
  mutable std::deque<std::chrono::steady_clock::time_point> sent_;
};

}  // namespace mpe::mist
