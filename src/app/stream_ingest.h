#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "app/pcap_enricher.h"
#include "common/result.h"
#include "decode/frame_decoder.h"
#include "metrics/stream_aggregator.h"
#include "stream/stream_client.h"

namespace mpe::capture {
class ArchiveWriter;
}  // namespace mpe::capture

namespace mpe::app {

// One stream connection and its ingest path: frames from the StreamClient's io thread are
// decoded in place and recorded into the shared aggregator; subscription acks are handed back
// to the client. OnFrame/OnConnected/OnDisconnected run on that io thread only; Start/Stop and
// the accessors may be called from any thread.
class StreamIngest final : public stream::FrameSink {
 public:
  StreamIngest(stream::StreamOptions options, metrics::StreamAggregator& aggregator,
               std::vector<std::string> channels);
  ~StreamIngest() override;

  common::Status Start();
  void Stop();
  // Changes the subscriptions on the open connection (no reconnect).
  void SetChannels(std::vector<std::string> channels);
  size_t channel_count() const;
  // Optional pcap_raw consumers; both may be null and must outlive this. Call before Start.
  void SetPcapSinks(DecodeMismatchMetrics* mismatch, capture::ArchiveWriter* archive);

  void OnFrame(char* data, size_t len, bool is_text) override;
  void OnConnected() override;
  void OnDisconnected(std::string_view reason) override;

  const stream::StreamStats& stats() const;
  bool connected() const { return connected_.load(); }
  bool AnySubscribed() const { return !client_->SubscribedChannels().empty(); }
  std::string last_error() const;

 private:
  metrics::StreamAggregator& aggregator_;
  mutable std::mutex channels_mu_;  // SetChannels (app thread) vs OnDisconnected (io thread)
  std::vector<std::string> channels_;
  decode::FrameDecoder decoder_;
  std::unique_ptr<stream::StreamClient> client_;
  std::atomic<bool> connected_{false};
  PcapEnricher enricher_;
  capture::ArchiveWriter* archive_ = nullptr;
};

}  // namespace mpe::app
