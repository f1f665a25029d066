#include "poll/site_poller.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>

namespace mpe::poll {

namespace {

using std::chrono::milliseconds;

constexpr milliseconds kMinBackoff(50);
constexpr milliseconds kRateLimitedDefault(std::chrono::seconds(60));

config::PollConfig Sanitised(config::PollConfig poll) {
  if (poll.status_interval.count() <= 0) poll.status_interval = std::chrono::seconds(30);
  if (poll.list_interval.count() <= 0) poll.list_interval = std::chrono::minutes(5);
  if (poll.list_window.count() <= 0) poll.list_window = std::chrono::hours(24);
  return poll;
}

uint64_t SeedFor(const std::string& id) { return std::hash<std::string>{}(id) | 1; }

std::vector<common::Site> SitesFromConfig(const config::Config& config) {
  std::vector<common::Site> sites;
  for (const auto& s : config.sites) sites.push_back(common::Site{s.id, s.name});
  return sites;
}

}  // namespace

PollerSet::PollerSet(const config::Config& config, mist::MistClient& client,
                     CaptureMetrics& metrics, common::Clock& clock, int workers)
    : poll_(Sanitised(config.poll)),
      stream_enabled_(config.stream.enabled),
      max_requests_per_hour_(config.mist.max_requests_per_hour),
      client_(client),
      metrics_(metrics),
      clock_(clock),
      worker_count_(std::max(1, workers)) {
  SetSites(SitesFromConfig(config));
}

PollerSet::~PollerSet() { Stop(); }

void PollerSet::AddEntryLocked(const common::Site& site, milliseconds offset,
                               milliseconds list_offset, Steady now) {
  auto backoff_min = [](milliseconds interval) { return std::max(kMinBackoff, interval / 4); };
  // Events schedule: a failing poll retries from status_interval/4 up to its own interval (the
  // safety net's is long), so a refused token does not cost every site a request per minute.
  const milliseconds list_min =
      EventsLocked() ? backoff_min(intervals_.status) : backoff_min(intervals_.list);
  const milliseconds status_max = std::max(intervals_.status, intervals_.list);
  Entry entry(site, backoff_min(intervals_.status), EventsLocked() ? status_max : intervals_.status,
              list_min, intervals_.list, SeedFor(site.id));
  entry.generation = next_generation_++;
  entry.status_due = now + offset;
  entry.list_due = now + list_offset;
  entries_.insert_or_assign(site.id, std::move(entry));
}

void PollerSet::UpdateEventIntervalsLocked(size_t n) {
  const Steady now = clock_.SteadyNow();
  while (!event_polls_.empty() && now - event_polls_.front() > std::chrono::hours(1)) {
    event_polls_.pop_front();
  }
  EventPlanInput in;
  in.sites = n;
  in.running = static_cast<size_t>(std::count_if(
      entries_.begin(), entries_.end(), [](const auto& kv) { return kv.second.running(); }));
  in.status = poll_.status_interval;
  in.idle = poll_.idle_interval;
  in.max_requests_per_hour = max_requests_per_hour_;
  // Stream-triggered polls: their rate over the last hour, at least 5% of the usable budget.
  const double event_floor = 0.05 * kPollBudgetShare * std::max(0, max_requests_per_hour_);
  in.reserved_per_hour =
      reserved_per_hour_ + std::max(event_floor, static_cast<double>(event_polls_.size()));
  const EventIntervals next = PlanEventIntervals(in);
  if (intervals_known_ && event_intervals_.idle.count() > 0 && next.idle != event_intervals_.idle) {
    // The safety net's share changed (a capture started or ended, the budget or the site
    // count changed): pending safety-net polls move by the same factor, so the rate follows
    // the plan at once instead of after a whole round at the old rate.
    const double factor =
        static_cast<double>(next.idle.count()) / static_cast<double>(event_intervals_.idle.count());
    auto rescale = [now, factor](Steady& due) {
      if (due <= now) return;
      due = now + std::chrono::duration_cast<Steady::duration>((due - now) * factor);
    };
    for (auto& [id, e] : entries_) {
      if (!e.running()) rescale(e.status_due);
      rescale(e.list_due);
    }
  }
  const bool was_stretched = intervals_known_ && event_intervals_.status_stretch > 1;
  const bool changed = !intervals_known_ || next.status != event_intervals_.status ||
                       next.idle != event_intervals_.idle ||
                       next.idle_stretch != event_intervals_.idle_stretch;
  event_intervals_ = next;
  intervals_ = PollIntervals{};
  intervals_.status = next.status;
  intervals_.list = next.idle;
  intervals_.stretch = next.status_stretch;
  intervals_.usable_per_hour = next.usable_per_hour;
  intervals_known_ = true;
  if (!changed) return;
  metrics_.SetPollIntervals({next.status, next.idle, next.idle, next.status_stretch,
                             next.idle_stretch, next.idle_stretch});
  auto seconds = [](milliseconds d) { return std::chrono::duration<double>(d).count(); };
  if (next.status_stretch > 1 && !was_stretched) {
    spdlog::warn(
        "mist request budget: {} running captures every {}s do not fit {:.0f} requests/hour; "
        "their status polls stretched x{:.2f} to {}s",
        in.running, seconds(poll_.status_interval), next.usable_per_hour, next.status_stretch,
        seconds(next.status));
  } else if (next.status_stretch <= 1 && was_stretched) {
    spdlog::info("mist request budget: running captures polled every {}s again",
                 seconds(next.status));
  }
  spdlog::debug("poll plan: {} sites, {} running; status {}s, safety net {}s ({:.0f}/h of {:.0f})",
                n, in.running, seconds(next.status), seconds(next.idle), next.planned_per_hour,
                next.usable_per_hour);
}

void PollerSet::UpdateIntervalsLocked(size_t n) {
  if (EventsLocked()) {
    UpdateEventIntervalsLocked(n);
    return;
  }
  const PollIntervals next =
      EffectiveIntervals(n, poll_.status_interval, poll_.list_interval, max_requests_per_hour_);
  const bool changed =
      !intervals_known_ || next.status != intervals_.status || next.list != intervals_.list;
  const bool was_stretched = intervals_known_ && intervals_.stretched();
  intervals_ = next;
  intervals_known_ = true;
  if (!changed) return;
  metrics_.SetPollIntervals(
      {next.status, next.list, next.status, next.stretch, next.stretch, next.stretch});
  auto seconds = [](milliseconds d) { return std::chrono::duration<double>(d).count(); };
  if (next.stretched() && !was_stretched) {
    spdlog::warn(
        "mist request budget: polling {} sites every {}s (status) and {}s (list) needs {:.0f} "
        "requests/hour, more than {:.0f} ({:.0f}% of mist.max_requests_per_hour {}); both "
        "intervals stretched x{:.2f} to {}s and {}s",
        n, seconds(poll_.status_interval), seconds(poll_.list_interval), next.required_per_hour,
        next.usable_per_hour, kPollBudgetShare * 100, max_requests_per_hour_, next.stretch,
        seconds(next.status), seconds(next.list));
  } else if (next.stretched()) {
    spdlog::info(
        "mist request budget: {} sites; intervals now {}s (status) and {}s (list), x{:.2f}", n,
        seconds(next.status), seconds(next.list), next.stretch);
  } else if (was_stretched) {
    spdlog::info("mist request budget: {} sites fit; back to the configured intervals", n);
  }
}

PollIntervals PollerSet::intervals() const {
  std::lock_guard<std::mutex> lock(mu_);
  return intervals_;
}

void PollerSet::SetMaxIdleWait(milliseconds wait) {
  std::lock_guard<std::mutex> lock(mu_);
  max_idle_wait_ = std::max(milliseconds(1), wait);
}

void PollerSet::SetSites(std::vector<common::Site> sites) {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, common::Site> wanted;
  for (auto& s : sites) {
    if (s.id.empty()) continue;
    if (s.name.empty()) s.name = s.id;
    wanted.emplace(s.id, std::move(s));
  }
  for (auto it = entries_.begin(); it != entries_.end();) {
    auto w = wanted.find(it->first);
    if (w == wanted.end() || w->second.name != it->second.site.name) {
      // A worker polling it drops its result: the generation no longer matches.
      metrics_.RemoveSite(it->first);
      it = entries_.erase(it);
    } else {
      wanted.erase(w);
      ++it;
    }
  }
  UpdateIntervalsLocked(entries_.size() + wanted.size());
  const Steady now = clock_.SteadyNow();
  const int64_t n = static_cast<int64_t>(wanted.size());
  int64_t i = 0;
  for (const auto& [id, site] : wanted) {
    // The first list poll follows the first status poll unless the budget is tight; then the
    // list polls are spread over the list interval as well. Later ones keep the interval.
    // Events: the first safety-net round (status, then list) is spread over the idle interval.
    const milliseconds offset = (EventsLocked() ? intervals_.list : intervals_.status) * i / n;
    const milliseconds list_offset =
        (EventsLocked() || intervals_.list_follows_first_status ? offset
                                                                : intervals_.list * i / n) +
        milliseconds(1);
    AddEntryLocked(site, offset, list_offset, now);
    ++i;
  }
  cv_.notify_all();
}

void PollerSet::SetPollConfig(const config::PollConfig& poll) {
  std::lock_guard<std::mutex> lock(mu_);
  const PollIntervals before = intervals_;
  poll_ = Sanitised(poll);
  ReplanLocked(before);
}

void PollerSet::SetRequestBudget(int requests_per_hour) {
  std::lock_guard<std::mutex> lock(mu_);
  if (requests_per_hour == max_requests_per_hour_) return;
  const PollIntervals before = intervals_;
  max_requests_per_hour_ = requests_per_hour;
  ReplanLocked(before);
}

void PollerSet::ReplanLocked(const PollIntervals& before) {
  UpdateIntervalsLocked(entries_.size());
  const Steady now = clock_.SteadyNow();
  auto pull_in = [now](Steady& due, milliseconds old_interval, milliseconds new_interval) {
    if (new_interval >= old_interval || old_interval.count() <= 0 || due <= now) return;
    const double factor =
        static_cast<double>(new_interval.count()) / static_cast<double>(old_interval.count());
    due = now + std::chrono::duration_cast<Steady::duration>((due - now) * factor);
  };
  for (auto& [id, e] : entries_) {
    if (EventsLocked()) {
      // The safety net was rescaled by UpdateIntervalsLocked; running captures follow here.
      if (e.running()) pull_in(e.status_due, before.status, intervals_.status);
      continue;
    }
    pull_in(e.status_due, before.status, intervals_.status);
    pull_in(e.list_due, before.list, intervals_.list);
  }
  cv_.notify_all();
}

void PollerSet::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_) return;
  running_ = true;
  stopping_ = false;
  cancel_ = std::make_unique<mist::CancelToken>();
  live_workers_ = worker_count_;
  for (int i = 0; i < worker_count_; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

void PollerSet::Stop() {
  std::unique_lock<std::mutex> lock(mu_);
  if (!running_) return;
  stopping_ = true;
  cv_.notify_all();
  // Cancel until every worker has left its loop: a request registered with the token but
  // not yet connected when Cancel() ran is not interrupted by that first call.
  while (live_workers_ > 0) {
    lock.unlock();
    cancel_->Cancel();
    lock.lock();
    cv_.wait_for(lock, milliseconds(50), [this] { return live_workers_ == 0; });
  }
  std::vector<std::thread> workers = std::move(workers_);
  workers_.clear();
  lock.unlock();
  for (auto& t : workers) t.join();
  lock.lock();
  running_ = false;
}

milliseconds PollerSet::IntervalLocked(const Entry& e, Task task) const {
  if (task == Task::kList) return intervals_.list;
  return EventsLocked() && !e.running() ? intervals_.list : intervals_.status;
}

PollerSet::Pick PollerSet::PickLocked(Steady now, Steady* next_due) {
  // While less than 5% of the hourly budget is left, the safety net waits for the others.
  const auto& budget = client_.budget();
  const int limit = budget.max_per_hour();
  const bool budget_low =
      EventsLocked() && limit > 0 && limit - budget.Used() < std::max(2, limit / 20);
  const bool events = EventsLocked();
  Pick best;
  *next_due = Steady::max();
  auto consider = [&](Entry& e, Task task, Steady due, Steady event_due) {
    const Steady when = std::min(due, event_due);
    Priority priority = Priority::kRunning;  // fixed schedule: one class, earliest first
    if (events) {
      if (task == Task::kStatus && e.running()) {
        priority = Priority::kRunning;
      } else if (event_due <= due) {
        priority = Priority::kEvent;
      } else {
        priority = Priority::kSafetyNet;
      }
    }
    if (budget_low && priority == Priority::kSafetyNet) return;
    if (when > now) {
      *next_due = std::min(*next_due, when);
      return;
    }
    if (best.entry == nullptr || priority < best.priority ||
        (priority == best.priority && when < best.due)) {
      best = Pick{&e, task, when, priority};
    }
  };
  for (auto& [id, e] : entries_) {
    if (e.busy) continue;
    consider(e, Task::kStatus, e.status_due, e.status_event_due);
    consider(e, Task::kList, e.list_due, e.list_event_due);
  }
  return best;
}

void PollerSet::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  mist::CancelToken* cancel = cancel_.get();
  while (!stopping_) {
    const Steady now = clock_.SteadyNow();
    Steady next_due = Steady::max();
    Pick pick = hold_until_ > now ? Pick{} : PickLocked(now, &next_due);
    if (pick.entry == nullptr) {
      const Steady wake = hold_until_ > now ? hold_until_ : next_due;
      auto wait =
          wake == Steady::max()
              ? max_idle_wait_
              : std::min<milliseconds>(max_idle_wait_, std::chrono::ceil<milliseconds>(wake - now));
      cv_.wait_for(lock, std::max(milliseconds(1), wait));
      continue;
    }

    Entry* best = pick.entry;
    const Task task = pick.task;
    Steady& event_due = task == Task::kStatus ? best->status_event_due : best->list_event_due;
    if (event_due <= now) {
      // This poll answers the stream event: the next one waits kEventMinGap.
      event_due = Steady::max();
      best->event_not_before = now + kEventMinGap;
      if (event_polls_.size() < 100000) event_polls_.push_back(now);
    }
    best->busy = true;
    const common::Site site = best->site;
    const uint64_t generation = best->generation;
    // The entry may be replaced while unlocked: look it up again afterwards.
    auto find_entry = [&]() -> Entry* {
      auto it = entries_.find(site.id);
      return it != entries_.end() && it->second.generation == generation ? &it->second : nullptr;
    };
    const auto list_window = poll_.list_window;
    lock.unlock();
    if (task == Task::kStatus) {
      auto result = client_.GetCaptureStatus(site.id, cancel);
      lock.lock();
      if (Entry* e = find_entry()) {
        if (result.ok()) {
          metrics_.UpdateStatus(e->site, *result);
          const bool was_running = e->running();
          e->status = *result;
          e->have_status = true;
          if (e->running() != was_running) UpdateIntervalsLocked(entries_.size());
          RecordOutcomeLocked(*e, task, nullptr, -1);
        } else {
          RecordOutcomeLocked(*e, task, &result.error(), result.retry_after());
        }
      }
    } else {
      mist::ListQuery query;
      query.duration = std::chrono::duration_cast<std::chrono::seconds>(list_window);
      auto result = client_.ListCaptures(site.id, query, cancel);
      lock.lock();
      if (Entry* e = find_entry()) {
        if (result.ok()) {
          metrics_.UpdateList(e->site, *result);
          RecordOutcomeLocked(*e, task, nullptr, -1);
        } else {
          RecordOutcomeLocked(*e, task, &result.error(), result.retry_after());
        }
      }
    }
    cv_.notify_all();  // the site is free again; another worker may want it
  }
  --live_workers_;
  cv_.notify_all();
}

void PollerSet::TriggerLocked(Entry& e, bool list) {
  const Steady when = std::max(clock_.SteadyNow(), e.event_not_before);
  e.status_event_due = std::min(e.status_event_due, when);
  if (list) e.list_event_due = std::min(e.list_event_due, when);
  cv_.notify_all();
}

void PollerSet::OnStreamCapture(const std::string& site_id, std::string_view capture_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!EventsLocked()) return;
  auto it = entries_.find(site_id);
  if (it == entries_.end()) return;
  Entry& e = it->second;
  if (e.stream_seen && e.stream_capture == capture_id) return;
  e.stream_seen = true;
  e.stream_capture.assign(capture_id);
  // Already known from a status poll: the running schedule has it.
  if (e.running() && !capture_id.empty() && e.status.id == capture_id) return;
  TriggerLocked(e, false);
}

void PollerSet::OnStreamCaptureEnd(const std::string& site_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!EventsLocked()) return;
  auto it = entries_.find(site_id);
  if (it == entries_.end()) return;
  it->second.stream_seen = false;
  it->second.stream_capture.clear();
  TriggerLocked(it->second, true);
}

void PollerSet::SetReservedPerHour(double per_hour) {
  std::lock_guard<std::mutex> lock(mu_);
  if (per_hour == reserved_per_hour_) return;
  const PollIntervals before = intervals_;
  reserved_per_hour_ = std::max(0.0, per_hour);
  ReplanLocked(before);
}

bool PollerSet::Quiescent(Steady* next_due) const {
  std::lock_guard<std::mutex> lock(mu_);
  const Steady now = clock_.SteadyNow();
  Steady next = Steady::max();
  for (const auto& [id, e] : entries_) {
    if (e.busy) return false;
    next = std::min({next, e.status_due, e.list_due, e.status_event_due, e.list_event_due});
  }
  next = std::max(next, hold_until_);
  if (next <= now) return false;
  *next_due = next;
  return true;
}

bool PollerSet::events_schedule() const {
  std::lock_guard<std::mutex> lock(mu_);
  return EventsLocked();
}

EventIntervals PollerSet::event_intervals() const {
  std::lock_guard<std::mutex> lock(mu_);
  return EventsLocked() ? event_intervals_ : EventIntervals{};
}

void PollerSet::RecordOutcomeLocked(Entry& e, Task task, const common::Error* error,
                                    int retry_after) {
  e.busy = false;
  const Steady now = clock_.SteadyNow();
  const bool is_status = task == Task::kStatus;
  const milliseconds interval = IntervalLocked(e, task);
  const char* endpoint = is_status ? "capture_status" : "capture_list";
  bool& ok = is_status ? e.status_ok : e.list_ok;
  bool& failing = is_status ? e.status_failing : e.list_failing;
  common::Backoff& backoff = is_status ? e.status_backoff : e.list_backoff;
  Steady& next = is_status ? e.status_due : e.list_due;

  if (error != nullptr && error->code == mist::kErrorCancelled) {
    next = now + interval;  // shutting down; not the site's fault
    return;
  }
  if (error == nullptr) {
    if (failing) spdlog::info("mist poll recovered site={} endpoint={}", e.site.id, endpoint);
    failing = false;
    ok = true;
    backoff.Reset();
    any_success_.store(true);
    metrics_.SetPollFailure(e.site, endpoint, "");
    // Keep the site's phase so the spread survives; skip slots missed while slow. A poll
    // pulled in by a stream event starts a new phase.
    const Steady& scheduled = is_status ? e.status_due : e.list_due;
    next = scheduled <= now ? scheduled + interval : now + interval;
    if (next <= now) next = now + interval;
  } else {
    ok = false;
    e.last_error = error->message;
    metrics_.SetPollFailure(e.site, endpoint,
                            error->code >= 100 && error->code <= 599 ? std::to_string(error->code)
                                                                     : std::string("error"));
    if (!failing) {
      spdlog::warn("mist poll failed site={} endpoint={} detail={}", e.site.id, endpoint,
                   error->message);
    } else {
      spdlog::debug("mist poll still failing site={} endpoint={} detail={}", e.site.id, endpoint,
                    error->message);
    }
    failing = true;
    milliseconds delay;
    if (error->code == 429 || error->code == mist::kErrorBudgetExhausted) {
      // The limit is per token: every site waits.
      if (retry_after >= 0) {
        delay = std::chrono::seconds(retry_after);
      } else {
        delay = std::max(kRateLimitedDefault, client_.budget().TimeUntilAvailable());
      }
      hold_until_ = std::max(hold_until_, now + delay);
    } else {
      delay = std::min(interval, backoff.Next());
    }
    next = now + delay;
  }
  if (is_status) e.polled = true;
  if (e.status_ok && e.list_ok) e.last_error.clear();
  if (e.polled) metrics_.SetUp(e.site, e.status_ok && e.list_ok);
}

std::vector<SiteState> PollerSet::States() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<SiteState> out;
  out.reserve(entries_.size());
  for (const auto& [id, e] : entries_) {
    SiteState s;
    s.id = e.site.id;
    s.name = e.site.name;
    s.up = e.polled && e.status_ok && e.list_ok;
    if (e.have_status && e.status.running) {
      s.capture_running = true;
      s.capture_id = e.status.id;
      s.capture_type = e.status.type;
      s.aps_ok = static_cast<int>(e.status.ok_aps.size());
      s.aps_failed = static_cast<int>(e.status.failed_aps.size());
    }
    s.last_error = e.last_error;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace mpe::poll
