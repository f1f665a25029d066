#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace mpe::stream {

struct StreamOptions {
  std::string url;      // ws://host:port/path or wss://host:port/path
  std::string token;    // sent as "Authorization: Token <token>" on the upgrade; never logged
  std::string ca_file;  // extra CA bundle for wss; system CAs are always loaded, verification on
  std::chrono::milliseconds ping_interval{30000};
  std::chrono::milliseconds reconnect_min{1000};
  std::chrono::milliseconds reconnect_max{60000};
  // No channel_subscribed within this: resubscribe once; a second miss reconnects.
  std::chrono::milliseconds ack_timeout{10000};
  // A subscribe_failed channel is subscribed again after this delay.
  std::chrono::milliseconds subscribe_retry{30000};
  // An upgrade answered 429 waits at least max(this, Retry-After) before the next attempt.
  std::chrono::milliseconds rate_limited_min_wait{30000};
  // Bound on resolve + TCP connect + TLS handshake + WebSocket upgrade together.
  std::chrono::milliseconds connect_timeout{10000};
  // Largest accepted message, fragments summed. A larger one is refused from its frame header
  // (FrameReader), before its payload is read: it is counted (oversized_messages) and the
  // connection is re-established, because the rest of a refused message cannot be skipped.
  size_t max_frame_bytes = 1 << 20;
  uint64_t backoff_seed = 0;  // 0 = random; tests fix it
};

// Receives what the stream delivers. Every call happens on the client's io thread, one at a time.
class FrameSink {
 public:
  virtual ~FrameSink() = default;
  // `data` is writable and followed by FrameReader::kPadding (16) spare bytes: the sink may
  // decode in place, write data[len] (e.g. a terminating NUL) and read past it. Valid only during
  // the call.
  virtual void OnFrame(char* data, size_t len, bool is_text) = 0;
  // A WebSocket connection is up and the subscribe frames are queued.
  virtual void OnConnected() = 0;
  // A connection that had reached OnConnected is gone (also on Stop). Failed attempts that never
  // connected are not reported here (see StreamStats::connect_failures).
  virtual void OnDisconnected(std::string_view reason) = 0;
};

// Counters read by the metrics layer from any thread (relaxed atomics, monotonic unless noted).
struct StreamStats {
  std::atomic<bool> connected{false};  // a WebSocket connection is open now
  std::atomic<uint64_t> connects{0};   // successful upgrades, the first one included
  // Successful upgrades after the first one: the number of times a lost connection was
  // re-established (== connects - 1 once connected at least once).
  std::atomic<uint64_t> reconnects{0};
  std::atomic<uint64_t> disconnects{0};         // open connections lost (Stop not included)
  std::atomic<uint64_t> connect_failures{0};    // attempts that ended before the upgrade succeeded
  std::atomic<uint64_t> upgrade_rejected{0};    // of those: upgrade answered with a non-101 status
  std::atomic<int> last_upgrade_status{0};      // HTTP status of the last rejected upgrade
  std::atomic<uint64_t> subscribe_failures{0};  // subscribe_failed events reported by the app
  std::atomic<uint64_t> ack_timeouts{0};        // subscriptions not acknowledged in ack_timeout
  std::atomic<uint64_t> oversized_messages{0};  // messages larger than max_frame_bytes
  std::atomic<uint64_t> half_open{0};           // connections dropped: nothing received for 2 pings
  std::atomic<uint64_t> frames{0};              // messages handed to the sink
  std::atomic<uint64_t> bytes{0};               // payload bytes handed to the sink
  std::atomic<int64_t> last_retry_delay_ms{0};  // delay before the latest scheduled attempt
};

// Connection attempts after the first one, failed ones included (connects + connect_failures -
// 1): what mist_pcap_stream_reconnects_total counts, so an outage shows while it lasts.
// StreamStats::reconnects counts only the attempts that succeeded.
inline uint64_t ReconnectAttempts(const StreamStats& stats) {
  const uint64_t attempts = stats.connects.load() + stats.connect_failures.load();
  return attempts > 0 ? attempts - 1 : 0;
}

// One WebSocket connection to the Mist stream carrying the subscriptions of many channels (up to
// stream.max_channels_per_connection): hands every message, unparsed, to a FrameSink and keeps
// the connection up (backoff, pings, resubscription; design in src/stream/README.md).
// Owns its io thread, on which one strand holds all connection state. Public methods are
// thread-safe and only post to the strand, except Stop()/the destructor, which join the io thread
// and so must not be called from the sink's callbacks.
class StreamClient {
 public:
  StreamClient(StreamOptions opts, FrameSink& sink);
  ~StreamClient();  // Stop()
  StreamClient(const StreamClient&) = delete;
  StreamClient& operator=(const StreamClient&) = delete;

  // Starts the io thread and the first connection attempt. Fails (without starting) on a bad url
  // or an unreadable ca_file. One-shot: a stopped client is not restarted.
  common::Status Start();
  // Unsubscribes (best effort), closes with 1000 and joins; bounded to about 2 s even when the
  // server is dead. Idempotent.
  void Stop();
  // The desired set of channels. New ones are subscribed, removed ones unsubscribed, on the open
  // connection (no reconnect). Duplicates are ignored; order is the subscribe order.
  void SetChannels(std::vector<std::string> channels);

  // Called by the app when it decoded an ack or a failure (from OnFrame or any thread).
  void OnSubscribed(std::string_view channel);
  // Logged with the detail, counted, and retried after subscribe_retry.
  void OnSubscribeFailed(std::string_view channel, std::string_view detail);
  void OnUnsubscribed(std::string_view channel);

  // Snapshots, any thread.
  bool IsSubscribed(std::string_view channel) const;
  std::vector<std::string> SubscribedChannels() const;  // sorted
  std::string last_error() const;                       // "" until something failed
  const StreamStats& stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mpe::stream
