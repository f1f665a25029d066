#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/backoff.h"
#include "common/clock.h"
#include "config/config.h"

namespace prometheus {
class Registry;
class Counter;
}  // namespace prometheus

namespace mpe::mist {
class MistClient;
class CancelToken;
}  // namespace mpe::mist

namespace mpe::capture {

// What the landing page shows for one `captures:` entry. Value type.
struct ManagedCaptureState {
  std::string site;     // name (or id)
  std::string site_id;  // "" while the site cannot be resolved
  std::string type;
  std::string state;       // running_ours | running_foreign | idle | backing_off
  std::string capture_id;  // the running capture (ours or foreign)
  std::string last_error;
};

// Keeps the declared captures (docs/spec.md §7) running: for each entry it polls the site's capture
// status every poll.status_interval; when none runs it starts one with the entry's fields and
// remembers its id; when that one has ended it starts the next. A capture it did not start is
// never stopped or replaced: the entry waits (logged at info once per capture). Failures back
// off exponentially (Retry-After honoured) and count in
// mist_pcap_managed_capture_starts_total{site_id,site,result="error"}.
//
// Owns one worker thread (Start/Stop, from the owner's thread). Stop cancels in-flight
// requests and returns within about a second. Tick() runs one round on the caller's thread
// (tests, without Start). States() is thread-safe. Config, client, registry and clock must
// outlive the object.
class ManagedCaptures {
 public:
  ManagedCaptures(const config::Config& config, mist::MistClient& client,
                  prometheus::Registry& registry, common::Clock& clock);
  ~ManagedCaptures();
  ManagedCaptures(const ManagedCaptures&) = delete;
  ManagedCaptures& operator=(const ManagedCaptures&) = delete;

  void Start();
  void Stop();
  // Runs every entry whose next check is due.
  void Tick();
  std::vector<ManagedCaptureState> States() const;

  // Ids remembered per entry (the newest win); bounds memory over months of restarts.
  static constexpr size_t kRememberedIds = 32;

 private:
  struct Entry {
    config::ManagedCapture request;
    std::string body;  // Mist Capture JSON
    std::string site_name;
    bool resolved = false;
    std::deque<std::string> ours;
    bool adopt_next_running = false;
    std::string logged_foreign;  // the foreign capture id already logged
    std::chrono::steady_clock::time_point next_due{};
    std::unique_ptr<common::Backoff> backoff;
    prometheus::Counter* starts_ok = nullptr;
    prometheus::Counter* starts_error = nullptr;
    ManagedCaptureState state;  // published copy under mu_
  };

  void Run();
  // One step of an entry: resolve its site, read Mist's capture status, start a capture when
  // none runs. Each outcome is stored in the entry and published.
  void Check(Entry& e);
  void ReportUnresolved(Entry& e, ManagedCaptureState& state);
  void TrackRunning(Entry& e, ManagedCaptureState& state, const std::string& capture_id);
  void StartOurs(Entry& e, ManagedCaptureState& state);
  void SetState(Entry& e, const ManagedCaptureState& state);
  void Resolve(Entry& e);
  void Publish(const Entry& e, const ManagedCaptureState& state);
  void BackOff(Entry& e, ManagedCaptureState* state, const std::string& error, int retry_after);
  std::chrono::steady_clock::duration UntilNextDue() const;

  const config::Config& config_;
  mist::MistClient& client_;
  prometheus::Registry& registry_;
  common::Clock& clock_;
  std::vector<Entry> entries_;  // touched only by the worker (or Tick's caller)
  std::unique_ptr<mist::CancelToken> cancel_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<ManagedCaptureState> states_;
  std::thread thread_;
};

}  // namespace mpe::capture
