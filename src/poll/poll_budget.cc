#include "poll/poll_budget.h"

#include <cmath>

namespace mpe::poll {

PollIntervals EffectiveIntervals(size_t n_sites, std::chrono::milliseconds status,
                                 std::chrono::milliseconds list, int max_requests_per_hour) {
  PollIntervals out;
  out.status = status;
  out.list = list;
  if (status.count() <= 0 || list.count() <= 0) return out;
  constexpr double kHourMs = 3600.0 * 1000.0;
  const double n = static_cast<double>(n_sites);
  out.required_per_hour = n * (kHourMs / static_cast<double>(status.count()) +
                               kHourMs / static_cast<double>(list.count()));
  if (max_requests_per_hour <= 0) return out;
  out.usable_per_hour = kPollBudgetShare * max_requests_per_hour;
  if (out.required_per_hour > out.usable_per_hour) {
    out.stretch = out.required_per_hour / out.usable_per_hour;
    // Rounded up: the stretched schedule may only undershoot the budget.
    out.status = std::chrono::milliseconds(
        static_cast<int64_t>(std::ceil(static_cast<double>(status.count()) * out.stretch)));
    out.list = std::chrono::milliseconds(
        static_cast<int64_t>(std::ceil(static_cast<double>(list.count()) * out.stretch)));
  }
  const double effective_per_hour = n * (kHourMs / static_cast<double>(out.status.count()) +
                                         kHourMs / static_cast<double>(out.list.count()));
  // An immediate first list poll adds up to one list request per site to the first hour.
  out.list_follows_first_status = effective_per_hour + n <= out.usable_per_hour;
  return out;
}

}  // namespace mpe::poll
