#include "capture/managed_captures.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "capture/capture_request.h"
#include "capture/site_ref.h"
#include "common/text.h"
#include "config/capture_rules.h"
#include "mist/mist_client.h"

namespace mpe::capture {

namespace {

constexpr auto kBackoffMin = std::chrono::seconds(1);
constexpr auto kBackoffMax = std::chrono::minutes(5);
// Upper bound of one idle wait: Stop() wakes the worker at once, and a manual clock moved by a
// test is noticed within this time.
constexpr auto kMaxWait = std::chrono::milliseconds(200);

}  // namespace

ManagedCaptures::ManagedCaptures(const config::Config& config, mist::MistClient& client,
                                 prometheus::Registry& registry, common::Clock& clock)
    : config_(config), client_(client), registry_(registry), clock_(clock) {
  uint64_t seed = 1;
  for (const auto& c : config_.captures) {
    Entry e;
    e.request = c;
    // The config loader validated the entry already; this only normalises (idempotent).
    if (auto problem = config::CheckCapture(&e.request)) {
      spdlog::warn("managed capture for site={} is invalid: {}: {}", c.site, problem->key,
                   problem->message);
    }
    e.body = CaptureRequestJson(e.request);
    e.backoff = std::make_unique<common::Backoff>(kBackoffMin, kBackoffMax, seed++);
    e.state.site = c.site;
    e.state.type = c.type;
    e.state.state = "idle";
    entries_.push_back(std::move(e));
  }
  for (const auto& e : entries_) states_.push_back(e.state);
}

ManagedCaptures::~ManagedCaptures() { Stop(); }

void ManagedCaptures::Start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = false;
  }
  cancel_ = std::make_unique<mist::CancelToken>();
  thread_ = std::thread([this] { Run(); });
}

void ManagedCaptures::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  if (cancel_) cancel_->Cancel();
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::vector<ManagedCaptureState> ManagedCaptures::States() const {
  std::lock_guard<std::mutex> lock(mu_);
  return states_;
}

std::chrono::steady_clock::duration ManagedCaptures::UntilNextDue() const {
  const auto now = clock_.SteadyNow();
  std::chrono::steady_clock::duration wait = kMaxWait;
  for (const auto& e : entries_) wait = std::min(wait, e.next_due - now);
  return std::max(wait, std::chrono::steady_clock::duration::zero());
}

void ManagedCaptures::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    Tick();
    const auto wait = UntilNextDue();
    lock.lock();
    if (stopping_) break;
    cv_.wait_for(lock, wait == wait.zero() ? std::chrono::milliseconds(1) : wait,
                 [this] { return stopping_; });
  }
}

void ManagedCaptures::Tick() {
  for (auto& e : entries_) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    if (clock_.SteadyNow() < e.next_due) continue;
    Check(e);
  }
}

void ManagedCaptures::Publish(const Entry& e, const ManagedCaptureState& state) {
  std::lock_guard<std::mutex> lock(mu_);
  const size_t index = static_cast<size_t>(&e - entries_.data());
  if (index < states_.size()) states_[index] = state;
}

void ManagedCaptures::Resolve(Entry& e) {
  auto site = ResolveSite(config_, e.request.site);
  if (!site) return;
  e.resolved = true;
  e.state.site_id = site->id;
  e.state.site = site->name;
  auto& family = prometheus::BuildCounter()
                     .Name("mist_pcap_managed_capture_starts_total")
                     .Help("Captures the exporter started for its captures: entries, by result.")
                     .Register(registry_);
  e.starts_ok = &family.Add({{"site_id", site->id}, {"site", site->name}, {"result", "ok"}});
  e.starts_error = &family.Add({{"site_id", site->id}, {"site", site->name}, {"result", "error"}});
}

void ManagedCaptures::BackOff(Entry& e, ManagedCaptureState* state, const std::string& error,
                              int retry_after) {
  auto delay = e.backoff->Next();
  if (retry_after > 0)
    delay = std::max<std::chrono::milliseconds>(delay, std::chrono::seconds(retry_after));
  e.next_due = clock_.SteadyNow() + delay;
  state->state = "backing_off";
  state->last_error = error;
  if (e.backoff->attempts() <= 1) {
    spdlog::warn("managed capture site={}: {} (retrying in {} ms)", state->site, error,
                 delay.count());
  }
}

void ManagedCaptures::Check(Entry& e) {
  if (!e.resolved) Resolve(e);
  ManagedCaptureState state = e.state;
  if (!e.resolved) {
    ReportUnresolved(e, state);
    return;
  }

  auto status = client_.GetCaptureStatus(state.site_id, cancel_.get());
  if (!status.ok()) {
    if (status.error().code != mist::kErrorCancelled) {
      BackOff(e, &state, "capture status failed: " + status.error().message, status.retry_after());
      SetState(e, state);
    }
    return;
  }

  if (status->running) {
    TrackRunning(e, state, status->id);
    return;
  }
  StartOurs(e, state);
}

void ManagedCaptures::ReportUnresolved(Entry& e, ManagedCaptureState& state) {
  state.state = "idle";
  state.last_error = "site \"" + e.request.site + "\" is not a configured site name or id";
  if (e.state.last_error != state.last_error) spdlog::warn("managed capture: {}", state.last_error);
  e.next_due = clock_.SteadyNow() + config_.poll.status_interval;
  SetState(e, state);
}

void ManagedCaptures::TrackRunning(Entry& e, ManagedCaptureState& state,
                                   const std::string& capture_id) {
  if (e.adopt_next_running) {
    // Our start was accepted without an id in the reply: the capture running now is it.
    e.ours.push_back(capture_id);
    e.adopt_next_running = false;
  }
  const bool ours = std::find(e.ours.begin(), e.ours.end(), capture_id) != e.ours.end();
  state.capture_id = capture_id;
  state.last_error.clear();
  if (ours) {
    state.state = "running_ours";
  } else {
    state.state = "running_foreign";
    if (e.logged_foreign != capture_id) {
      e.logged_foreign = capture_id;
      spdlog::info(
          "managed capture site={}: capture {} was not started by the exporter; "
          "waiting for it to end",
          state.site, common::EscapeControl(capture_id));
    }
  }
  e.backoff->Reset();
  e.next_due = clock_.SteadyNow() + config_.poll.status_interval;
  SetState(e, state);
}

void ManagedCaptures::StartOurs(Entry& e, ManagedCaptureState& state) {
  auto started = client_.StartCapture(state.site_id, e.body, cancel_.get());
  if (!started.ok()) {
    if (started.error().code == mist::kErrorCancelled) return;
    e.starts_error->Increment();
    state.capture_id.clear();
    BackOff(e, &state, "capture start failed: " + started.error().message, started.retry_after());
    SetState(e, state);
    return;
  }
  e.starts_ok->Increment();
  if (started->id.empty()) {
    e.adopt_next_running = true;
  } else {
    e.backoff->Reset();
    e.ours.push_back(started->id);
  }
  while (e.ours.size() > kRememberedIds) e.ours.pop_front();
  state.state = started->id.empty() ? "idle" : "running_ours";
  state.capture_id = started->id;
  state.last_error.clear();
  spdlog::info("managed capture site={}: started capture {} (type {})", state.site,
               common::EscapeControl(started->id), e.request.type);
  // Without an id the next status check tells what runs. It waits for the backoff (1 s, then
  // doubling) rather than coming at once: a start answered 200 without starting anything
  // would otherwise be repeated in a tight loop.
  e.next_due =
      clock_.SteadyNow() + (started->id.empty() ? e.backoff->Next() : config_.poll.status_interval);
  SetState(e, state);
}

void ManagedCaptures::SetState(Entry& e, const ManagedCaptureState& state) {
  e.state = state;
  Publish(e, state);
}

}  // namespace mpe::capture
