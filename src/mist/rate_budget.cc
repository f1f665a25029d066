#include "mist/rate_budget.h"

#include <algorithm>

namespace mpe::mist {

namespace {
constexpr std::chrono::hours kWindow(1);
}  // namespace

RequestBudget::RequestBudget(int max_per_hour, common::Clock& clock)
    : max_per_hour_(max_per_hour), clock_(clock) {}

void RequestBudget::PruneLocked(std::chrono::steady_clock::time_point now) const {
  while (!sent_.empty() && now - sent_.front() >= kWindow) sent_.pop_front();
}

bool RequestBudget::TryAcquire() {
  if (max_per_hour_ <= 0) return true;
  auto now = clock_.SteadyNow();
  std::lock_guard<std::mutex> lock(mu_);
  PruneLocked(now);
  if (static_cast<int>(sent_.size()) >= max_per_hour_) return false;
  sent_.push_back(now);
  return true;
}

std::chrono::milliseconds RequestBudget::TimeUntilAvailable() const {
  if (max_per_hour_ <= 0) return std::chrono::milliseconds(0);
  auto now = clock_.SteadyNow();
  std::lock_guard<std::mutex> lock(mu_);
  PruneLocked(now);
  if (static_cast<int>(sent_.size()) < max_per_hour_) return std::chrono::milliseconds(0);
  // The oldest request leaves the window first; round up so a caller waiting this long finds
  // the slot free.
  auto wait = sent_.front() + kWindow - now;
  return std::chrono::ceil<std::chrono::milliseconds>(wait);
}

int RequestBudget::Used() const {
  auto now = clock_.SteadyNow();
  std::lock_guard<std::mutex> lock(mu_);
  PruneLocked(now);
  return static_cast<int>(sent_.size());
}

int RequestBudget::UsedSince(std::chrono::steady_clock::time_point since) const {
  auto now = clock_.SteadyNow();
  std::lock_guard<std::mutex> lock(mu_);
  PruneLocked(now);
  auto first = std::lower_bound(sent_.begin(), sent_.end(), since);
  return static_cast<int>(sent_.end() - first);
}

}  // namespace mpe::mist
