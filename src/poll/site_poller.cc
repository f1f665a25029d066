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

std::vector<SiteRef> SitesFromConfig(const config::Config& config) {
  std::vector<SiteRef> sites;
  for (const auto& s : config.sites) sites.push_back(SiteRef{s.id, s.name});
  return sites;
}

}  // namespace

PollerSet::PollerSet(const config::Config& config, mist::MistClient& client,
                     CaptureMetrics& metrics, common::Clock& clock, int workers)
    : poll_(Sanitised(config.poll)),
      max_requests_per_hour_(config.mist.max_requests_per_hour),
      client_(client),
      metrics_(metrics),
      clock_(clock),
      worker_count_(std::max(1, workers)) {
  SetSites(SitesFromConfig(config));
}

PollerSet::~PollerSet() { Stop(); }

void PollerSet::AddEntryLocked(const SiteRef& site, milliseconds offset, milliseconds list_offset,
                               Steady now) {
  auto backoff_min = [](milliseconds interval) { return std::max(kMinBackoff, interval / 4); };
  Entry entry(site, backoff_min(intervals_.status), intervals_.status, backoff_min(intervals_.list),
              intervals_.list, SeedFor(site.id));
  entry.generation = next_generation_++;
  entry.status_due = now + offset;
  entry.list_due = now + list_offset;
  entries_.insert_or_assign(site.id, std::move(entry));
}

void PollerSet::UpdateIntervalsLocked(size_t n) {
  const PollIntervals next =
      EffectiveIntervals(n, poll_.status_interval, poll_.list_interval, max_requests_per_hour_);
  const bool changed =
      !intervals_known_ || next.status != intervals_.status || next.list != intervals_.list;
  const bool was_stretched = intervals_known_ && intervals_.stretched();
  intervals_ = next;
  intervals_known_ = true;
  if (!changed) return;
  metrics_.SetPollIntervals(next.status, next.list);
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

void PollerSet::SetSites(std::vector<SiteRef> sites) {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, SiteRef> wanted;
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
    const milliseconds offset = intervals_.status * i / n;
    const milliseconds list_offset =
        (intervals_.list_follows_first_status ? offset : intervals_.list * i / n) + milliseconds(1);
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

void PollerSet::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  mist::CancelToken* cancel = cancel_.get();
  while (!stopping_) {
    const Steady now = clock_.SteadyNow();
    Entry* best = nullptr;
    Task task = Task::kStatus;
    Steady due = Steady::max();
    for (auto& [id, e] : entries_) {
      if (e.busy) continue;
      if (e.status_due < due) {
        best = &e;
        task = Task::kStatus;
        due = e.status_due;
      }
      if (e.list_due < due) {
        best = &e;
        task = Task::kList;
        due = e.list_due;
      }
    }
    const Steady start_at = std::max(due, hold_until_);
    if (best == nullptr || start_at > now) {
      auto wait = best == nullptr
                      ? max_idle_wait_
                      : std::min<milliseconds>(max_idle_wait_,
                                               std::chrono::ceil<milliseconds>(start_at - now));
      cv_.wait_for(lock, wait);
      continue;
    }

    best->busy = true;
    const SiteRef site = best->site;
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
          e->status = *result;
          e->have_status = true;
          RecordOutcomeLocked(*e, task, due, nullptr, -1);
        } else {
          RecordOutcomeLocked(*e, task, due, &result.error(), result.retry_after());
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
          RecordOutcomeLocked(*e, task, due, nullptr, -1);
        } else {
          RecordOutcomeLocked(*e, task, due, &result.error(), result.retry_after());
        }
      }
    }
    cv_.notify_all();  // the site is free again; another worker may want it
  }
  --live_workers_;
  cv_.notify_all();
}

void PollerSet::RecordOutcomeLocked(Entry& e, Task task, Steady due, const common::Error* error,
                                    int retry_after) {
  e.busy = false;
  const Steady now = clock_.SteadyNow();
  const bool is_status = task == Task::kStatus;
  const milliseconds interval = is_status ? intervals_.status : intervals_.list;
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
    // Keep the site's phase so the spread survives; skip slots missed while slow.
    next = due + interval;
    if (next <= now) next = now + interval;
  } else {
    ok = false;
    e.last_error = error->message;
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
