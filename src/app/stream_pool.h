#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "app/stream_ingest.h"
#include "common/result.h"
#include "metrics/exposition.h"

namespace mpe::app {

// The stream connections of this replica: owns one StreamIngest per connection and moves them
// to a new channel set as stream::PlanChannels says: kept connections change their
// subscriptions in place, new ones are made by the factory and started, emptied ones stop.
// Totals of stopped connections are kept so the exported counters never go down.
//
// Threads: Apply and Stop from any thread, one at a time (serialised here). Health, state and
// AnySubscribed from any thread (scrapes); connections are stopped outside the lock those take,
// so a scrape never waits for a WebSocket close.
class StreamPool {
 public:
  using Factory = std::function<std::unique_ptr<StreamIngest>(std::vector<std::string> channels)>;

  StreamPool(int max_channels_per_connection, Factory factory);
  ~StreamPool();
  StreamPool(const StreamPool&) = delete;
  StreamPool& operator=(const StreamPool&) = delete;

  // Makes `channels` (each once) the set carried. When a new connection fails to start, the
  // ones opened before it are kept, the rest of the new channels wait for the next Apply, and
  // the error is returned.
  common::Status Apply(const std::vector<std::string>& channels);
  // Stops every connection (they stay, stopped, for the counters). Idempotent.
  void Stop();

  // All connections up (none: false), connection attempts after the first
  // (stream::ReconnectAttempts) and oversized messages, stopped connections included.
  metrics::StreamHealth Health() const;
  bool AnySubscribed() const;
  struct State {
    bool connected = false;  // at least one connection and all of them connected
    std::string last_error;  // the first connection's with one
  };
  State state() const;
  // Each connection's channels, in connection order.
  std::vector<std::vector<std::string>> channels() const;

 private:
  const int max_per_connection_;
  const Factory factory_;
  mutable std::mutex apply_mu_;
  std::vector<std::vector<std::string>> channels_;  // per ingests_ entry; guarded by apply_mu_
  mutable std::mutex mu_;
  // Changed with both locks held; read under either.
  std::vector<std::unique_ptr<StreamIngest>> ingests_;
  uint64_t retired_reconnects_ = 0;  // guarded by mu_
  uint64_t retired_oversized_ = 0;   // guarded by mu_
};

}  // namespace mpe::app
