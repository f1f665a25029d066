#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
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

// Polls every site's capture status (poll.status_interval) and capture list (poll.list_interval
// over poll.list_window) in the background and keeps CaptureMetrics current, so a scrape never
// calls Mist. Site i of n first polls at i*status_interval/n (its list right after, or at
// i*list_interval/n when the budget is tight), so the requests are spread over the interval;
// each site then keeps its phase.
//
// Threads: a fixed pool of `workers` threads share one schedule guarded by a mutex; each
// picks the earliest due (site, task) that no other worker is polling, so a site never has
// two requests in flight and a slow site blocks one worker only. Failure handling per
// (site, task): HTTP errors and timeouts retry after min(interval, exponential backoff with
// jitter starting at interval/4); a 429 or an exhausted request budget holds ALL sites until
// Retry-After (else max(60 s, budget wait)) since the limit is per token. One warn line per
// failure transition, debug for repeats, info on recovery. On failure the last good capture
// values stay and mist_pcap_up{site} goes to 0.
//
// Stop() wakes the workers and cancels their in-flight requests (CancelToken, which shuts
// the socket down), then joins: it returns promptly even while Mist hangs mid-response; only a
// TCP connect in progress can hold it up to min(mist.timeout, 5 s).
//
// Request budget: SetSites recomputes the effective intervals for the new number of sites
// (EffectiveIntervals over mist.max_requests_per_hour). When polling every site at the
// configured intervals would not fit, both intervals are stretched by the same factor, one
// warning gives the numbers, and mist_pcap_poll_interval_seconds{kind} shows what is used.
// Kept sites switch to the new intervals at their next poll.
//
// Sites without a name are labelled with their id (no org is known here to look names up;
// discovery passes names). Public methods may be called from any thread; the client, metrics
// and clock must outlive the PollerSet.
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
  void SetSites(std::vector<SiteRef> sites);
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
  // True once any status or list poll has succeeded (for /readyz).
  bool AnyPollSucceeded() const { return any_success_.load(); }
  std::vector<SiteState> States() const;

 private:
  using Steady = std::chrono::steady_clock::time_point;
  enum class Task { kStatus, kList };

  struct Entry {
    Entry(SiteRef s, std::chrono::milliseconds status_min, std::chrono::milliseconds status_max,
          std::chrono::milliseconds list_min, std::chrono::milliseconds list_max, uint64_t seed)
        : site(std::move(s)),
          status_backoff(status_min, status_max, seed),
          list_backoff(list_min, list_max, seed ^ 0x9e3779b97f4a7c15ULL) {}
    SiteRef site;
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
  };

  void WorkerLoop();
  // Adds an entry whose first status poll is due `offset` from now and its first list poll
  // `list_offset` from now; caller holds mu_.
  void AddEntryLocked(const SiteRef& site, std::chrono::milliseconds offset,
                      std::chrono::milliseconds list_offset, Steady now);
  // Recomputes intervals_ for n sites, logs and exports a change; caller holds mu_.
  void UpdateIntervalsLocked(size_t n);
  // After poll_ or the budget changed: new intervals; pending polls pulled in when an interval
  // got shorter. Caller holds mu_.
  void ReplanLocked(const PollIntervals& before);
  // Schedules the next run of `task` and updates health after one attempt (error == nullptr
  // on success, after the caller applied the new values). Caller holds mu_.
  void RecordOutcomeLocked(Entry& e, Task task, Steady due, const common::Error* error,
                           int retry_after);

  config::PollConfig poll_;  // guarded by mu_
  int max_requests_per_hour_;  // guarded by mu_
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
