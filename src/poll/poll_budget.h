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

namespace mpe::poll {

// The events schedule (poll.schedule: events): what the budget allows.
//
// Shortest safety-net interval of poll.idle_interval: auto, and the longest any safety net is
// planned (a budget that leaves nothing for it still polls each site once a day; the worker's
// priority order keeps running captures first).
inline constexpr std::chrono::minutes kMinAutoIdleInterval{10};
inline constexpr std::chrono::hours kMaxIdleInterval{24};

struct EventPlanInput {
  size_t sites = 0;                     // owned sites
  size_t running = 0;                   // of which with a running capture (status every `status`)
  std::chrono::milliseconds status{0};  // poll.status_interval
  std::chrono::milliseconds idle{0};    // poll.idle_interval; 0 = auto
  int max_requests_per_hour = 0;        // <= 0: unlimited
  // Requests per hour planned elsewhere: usage, discovery and inventory polls, plus the
  // stream-triggered polls (their recent rate, at least a floor).
  double reserved_per_hour = 0;
};

struct EventIntervals {
  std::chrono::milliseconds status{0};  // for sites with a running capture
  std::chrono::milliseconds idle{0};    // safety-net status + list of every other site
  double status_stretch = 1;            // effective / configured
  double idle_stretch = 1;              // effective / configured; 1 for auto
  double usable_per_hour = 0;           // kPollBudgetShare * budget - reserved (0: unlimited)
  double planned_per_hour = 0;          // what status + safety net cost at these intervals
};

// Running captures first: their status polls take what they need of the usable budget (when
// even that does not fit, status is stretched and the safety net gets the daily minimum). The
// safety net costs one list per site plus one status per site without a running capture per
// idle interval; auto takes the shortest interval that fits (never under 10 minutes, never
// over a day), an explicit interval is stretched to fit. Pure; thread-safe.
EventIntervals PlanEventIntervals(const EventPlanInput& in);

}  // namespace mpe::poll
