#include "poll/poll_budget.h"

#include <algorithm>
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

namespace mpe::poll {

EventIntervals PlanEventIntervals(const EventPlanInput& in) {
  using std::chrono::milliseconds;
  constexpr double kHourMs = 3600.0 * 1000.0;
  EventIntervals out;
  out.status = in.status.count() > 0 ? in.status : milliseconds(30000);
  const milliseconds floor = in.idle.count() > 0 ? in.idle : milliseconds(kMinAutoIdleInterval);
  out.idle = floor;
  const double running = static_cast<double>(std::min(in.running, in.sites));
  // Per idle interval: a list for every site, a status for every site without a running capture.
  const double net_per_round = 2.0 * static_cast<double>(in.sites) - running;
  auto per_hour = [](double requests, milliseconds every) {
    return requests * kHourMs / static_cast<double>(every.count());
  };
  if (in.max_requests_per_hour <= 0) {
    out.planned_per_hour = per_hour(running, out.status) + per_hour(net_per_round, out.idle);
    return out;
  }
  out.usable_per_hour =
      std::max(0.0, kPollBudgetShare * in.max_requests_per_hour - in.reserved_per_hour);
  // The daily minimum of the safety net is set aside before the running captures take theirs.
  const double net_minimum = per_hour(net_per_round, milliseconds(kMaxIdleInterval));
  const double for_running = std::max(0.0, out.usable_per_hour - net_minimum);
  const double running_need = per_hour(running, out.status);
  if (running_need > for_running && running > 0) {
    const double stretch = for_running > 0 ? running_need / for_running : 1e6;
    out.status_stretch = stretch;
    out.status = milliseconds(
        static_cast<int64_t>(std::ceil(static_cast<double>(out.status.count()) * stretch)));
  }
  const double room = out.usable_per_hour - per_hour(running, out.status);
  milliseconds idle = milliseconds(kMaxIdleInterval);
  if (net_per_round <= 0) {
    idle = floor;
  } else if (room > 0) {
    idle = milliseconds(static_cast<int64_t>(std::ceil(net_per_round * kHourMs / room)));
  }
  idle = std::clamp(idle, floor, std::max(floor, milliseconds(kMaxIdleInterval)));
  out.idle = idle;
  if (in.idle.count() > 0) {
    out.idle_stretch = static_cast<double>(idle.count()) / static_cast<double>(in.idle.count());
  }
  out.planned_per_hour = per_hour(running, out.status) + per_hour(net_per_round, out.idle);
  return out;
}

}  // namespace mpe::poll
