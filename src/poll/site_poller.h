#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/backoff.h"
#include "common/clock.h"
#include "config/config.h"
#include "mist/mist_client.h"
#include "mist/models.h"
#include "poll/capture_metrics.h"
#include "poll/poll_budget.h"

namespace mpe::poll {

// What the landing page shows per site: the last good poll result plus health.
struct SiteState {
  std::string id;
  std::string name;
  bool up = false;
  bool capture_running = false;
  std::string capture_id;
  std::string capture_type;
  int aps_ok = 0;
  int aps_failed = 0;
  std::string last_error;  // "" while healthy
};

// Polls the sites' capture status and capture list in the background and keeps CaptureMetrics
// current, so a scrape never calls Mist.
//
// Schedules (poll.schedule):
// - events (the default while the stream is on): the stream says when to look. A data frame
//   with a capture id not seen before at a site polls that site's status at once; a capture end
//   (pcap_dict null) polls its status and list at once; at most one stream-triggered poll per
//   site per kEventMinGap. Sites with a running capture poll status every poll.status_interval;
//   every site gets a safety-net status and list every idle interval (poll.idle_interval, or
//   auto: the shortest the budget allows, at least 10m), which also finds captures that do not
//   stream (format pcap). The first safety-net round is spread over that interval.
// - fixed: every site polls status every poll.status_interval and its list every
//   poll.list_interval, site i of n first at i*interval/n; each site keeps its phase.
//
// Request budget: the plan (PlanEventIntervals / EffectiveIntervals) fits the polls into
// kPollBudgetShare of the budget less what other components reserve (SetReservedPerHour) and
// the recent rate of stream-triggered polls. When requests compete, a worker serves running
// captures first, then stream-triggered polls, then the safety net; while less than 5% of the
// hourly budget is left, the safety net waits. mist_pcap_poll_interval_seconds{kind} and
// mist_pcap_poll_stretch_factor{kind} show the plan.
//
// Threads: a fixed pool of `workers` threads share one schedule guarded by a mutex; each picks
// the most urgent due (site, task) that no other worker is polling, so a site never has two
// requests in flight. Failures per (site, task): HTTP errors and timeouts retry after
// min(interval, exponential backoff with jitter starting at interval/4); a 429 or an exhausted
// request budget holds ALL sites until Retry-After (else max(60 s, budget wait)) since the
// limit is per token. One warn line per failure transition, info on recovery. On failure the
// last good values stay, mist_pcap_up{site} goes to 0 and mist_pcap_poll_failure_info says why.
//
// Stop() wakes the workers and cancels their in-flight requests, then joins. Public methods may
// be called from any thread; the client, metrics and clock must outlive the PollerSet.
class PollerSet {
 public:
  PollerSet(const config::Config& config, mist::MistClient& client, CaptureMetrics& metrics,
            common::Clock& clock, int workers = 4);
  ~PollerSet();
  PollerSet(const PollerSet&) = delete;
  PollerSet& operator=(const PollerSet&) = delete;

  void Start();
  void Stop();
  // Replaces the site list. Kept sites keep their schedule; new ones are spread over the
  // status interval from now; removed (or renamed) sites lose their series.
  void SetSites(std::vector<common::Site> sites);
  // Replaces poll.* (config reload). The effective intervals are recomputed at once; when an
  // interval got shorter every pending poll of that kind is pulled in by the same factor (the
  // spread survives, nobody waits out the old interval); when it got longer, sites switch at
  // their next poll. The new list_window applies from the next list poll.
  void SetPollConfig(const config::PollConfig& poll);
  // Replaces the hourly request budget the intervals must fit (mist.max_requests_per_hour, or
  // less when other clients of the token use part of Mist's limit: UsageWatcher), with the
  // same rescheduling as SetPollConfig.
  void SetRequestBudget(int requests_per_hour);
  // The intervals in use for the current site count.
  PollIntervals intervals() const;
  // Longest real-time nap of an idle worker before it re-reads the clock (default 250 ms).
  // A test clock that runs faster than real time needs a shorter one. Call before Start.
  void SetMaxIdleWait(std::chrono::milliseconds wait);
  // Stream events (events schedule only; see above). Called from stream io threads, so they
  // only move due times. `capture_id` may be empty when the frame carries none.
  void OnStreamCapture(const std::string& site_id, std::string_view capture_id);
  void OnStreamCaptureEnd(const std::string& site_id);
  // Requests per hour that other components plan with the same token (usage, discovery,
  // inventory): the polls plan without them.
  void SetReservedPerHour(double per_hour);
  // Whether the events schedule is in use (poll.schedule events and the stream enabled).
  bool events_schedule() const;
  // The events schedule's plan (zero intervals on the fixed schedule).
  EventIntervals event_intervals() const;
  static constexpr std::chrono::seconds kEventMinGap{10};

  // For tests that drive a ManualClock: true when no poll is in flight and none is due at the
  // clock's now; *next_due is then the earliest due time (Steady::max() when none).
  bool Quiescent(std::chrono::steady_clock::time_point* next_due) const;

  // True once any status or list poll has succeeded (for /readyz).
  bool AnyPollSucceeded() const { return any_success_.load(); }
  std::vector<SiteState> States() const;

 private:
  using Steady = std::chrono::steady_clock::time_point;
  enum class Task { kStatus, kList };
  // Who a due poll serves, most urgent first.
  enum class Priority { kRunning = 0, kEvent = 1, kSafetyNet = 2 };

  struct Entry {
    Entry(common::Site s, std::chrono::milliseconds status_min,
          std::chrono::milliseconds status_max, std::chrono::milliseconds list_min,
          std::chrono::milliseconds list_max, uint64_t seed)
        : site(std::move(s)),
          status_backoff(status_min, status_max, seed),
          list_backoff(list_min, list_max, seed ^ 0x9e3779b97f4a7c15ULL) {}
    common::Site site;
    uint64_t generation = 0;
    Steady status_due;
    Steady list_due;
    common::Backoff status_backoff;
    common::Backoff list_backoff;
    bool busy = false;
    bool polled = false;  // at least one status poll finished
    bool status_ok = false;
    bool list_ok = true;  // unknown counts as fine until the first list poll
    bool status_failing = false;
    bool list_failing = false;
    bool have_status = false;
    mist::CaptureStatus status;  // last good
    std::string last_error;
    // Stream events: a poll wanted at this time (max: none), on top of the schedule.
    Steady status_event_due = Steady::max();
    Steady list_event_due = Steady::max();
    Steady event_not_before{};   // the next stream-triggered poll not before this
    bool stream_seen = false;    // a data frame since the last capture end
    std::string stream_capture;  // its capture id
    bool running() const { return have_status && status.running; }
  };
  struct Pick {
    Entry* entry = nullptr;
    Task task = Task::kStatus;
    Steady due = Steady::max();
    Priority priority = Priority::kSafetyNet;
  };

  void WorkerLoop();
  // The most urgent poll due at `now` (entry null when none), and the earliest due time of any
  // poll that may run (for the wait). Caller holds mu_.
  Pick PickLocked(Steady now, Steady* next_due);
  // Schedule interval of a task for the entry, on the schedule in use. Caller holds mu_.
  std::chrono::milliseconds IntervalLocked(const Entry& e, Task task) const;
  // Moves the entry's status (and list) poll to now, within kEventMinGap. Caller holds mu_.
  void TriggerLocked(Entry& e, bool list);
  bool EventsLocked() const {
    return stream_enabled_ && poll_.schedule == config::PollSchedule::kEvents;
  }
  // Adds an entry whose first status poll is due `offset` from now and its first list poll
  // `list_offset` from now; caller holds mu_.
  void AddEntryLocked(const common::Site& site, std::chrono::milliseconds offset,
                      std::chrono::milliseconds list_offset, Steady now);
  // The events schedule's part of UpdateIntervalsLocked: the plan for n sites and the running
  // captures now, pending safety-net polls rescaled when its interval changed.
  void UpdateEventIntervalsLocked(size_t n);
  // Recomputes intervals_ for n sites, logs and exports a change; caller holds mu_.
  void UpdateIntervalsLocked(size_t n);
  // After poll_ or the budget changed: new intervals; pending polls pulled in when an interval
  // got shorter. Caller holds mu_.
  void ReplanLocked(const PollIntervals& before);
  // Schedules the next run of `task` and updates health after one attempt (error == nullptr
  // on success, after the caller applied the new values). Caller holds mu_.
  void RecordOutcomeLocked(Entry& e, Task task, const common::Error* error, int retry_after);

  config::PollConfig poll_;  // guarded by mu_
  const bool stream_enabled_;
  double reserved_per_hour_ = 0;    // guarded by mu_
  EventIntervals event_intervals_;  // guarded by mu_
  std::deque<Steady> event_polls_;  // stream-triggered polls of the last hour; mu_
  int max_requests_per_hour_;       // guarded by mu_
  mist::MistClient& client_;
  CaptureMetrics& metrics_;
  common::Clock& clock_;
  const int worker_count_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Entry> entries_;
  PollIntervals intervals_;
  bool intervals_known_ = false;
  std::chrono::milliseconds max_idle_wait_{250};
  uint64_t next_generation_ = 1;
  Steady hold_until_{};  // no request before this (429 / budget)
  bool stopping_ = false;
  bool running_ = false;
  int live_workers_ = 0;  // workers still inside WorkerLoop
  std::unique_ptr<mist::CancelToken> cancel_;
  std::vector<std::thread> workers_;
  std::atomic<bool> any_success_{false};
};

}  // namespace mpe::poll
