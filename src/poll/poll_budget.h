#pragma once

#include <chrono>
#include <cstddef>

namespace mpe::poll {

// Share of mist.max_requests_per_hour that status + list polling may use; the rest is headroom
// for discovery, managed captures, list paging beyond one page and retries.
inline constexpr double kPollBudgetShare = 0.9;

// The poll intervals a PollerSet really uses for a given number of sites. Value type.
struct PollIntervals {
  std::chrono::milliseconds status{0};
  std::chrono::milliseconds list{0};
  double stretch = 1;            // effective / configured (1: as configured)
  double required_per_hour = 0;  // status + list requests per hour at the configured intervals
  double usable_per_hour = 0;    // kPollBudgetShare * budget (0: unlimited)
  // Whether every site may poll its list right after its first status poll. False when that
  // extra round of list requests would not fit in the first hour: the first list polls are
  // then spread over the list interval like the status polls.
  bool list_follows_first_status = true;
  bool stretched() const { return stretch > 1; }
};

// Required requests/hour = n_sites * (3600 / status + 3600 / list) (one list page assumed).
// When that exceeds kPollBudgetShare * max_requests_per_hour, both intervals are multiplied by
// the same factor (required / usable, rounded up to whole milliseconds) so the total fits
// exactly; otherwise they stay as configured. max_requests_per_hour <= 0 means unlimited.
// Non-positive intervals are returned unchanged. Pure; thread-safe.
PollIntervals EffectiveIntervals(size_t n_sites, std::chrono::milliseconds status,
                                 std::chrono::milliseconds list, int max_requests_per_hour);

}  // namespace mpe::poll
