#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "decode/frame_decoder.h"
#include "decode/pcap_enricher.h"
#include "metrics/decode_mismatch_metrics.h"
#include "metrics/stream_aggregator.h"
#include "stream/stream_client.h"

namespace mpe::capture {
class ArchiveWriter;
}  // namespace mpe::capture

namespace mpe::app {

// One stream connection and its ingest path: frames from the StreamClient's io thread are
// decoded in place and recorded into the shared aggregator; subscription acks are handed back
// to the client. Undecodable frames are counted (decode_errors_total) and reported with one warn
// line per reason per kDecodeErrorLogEvery. OnFrame/OnConnected/OnDisconnected run on that io
// thread only; Start/Stop and the accessors may be called from any thread.
class StreamIngest final : public stream::FrameSink {
 public:
  static constexpr std::chrono::seconds kDecodeErrorLogEvery{60};

  StreamIngest(stream::StreamOptions options, metrics::StreamAggregator& aggregator,
               std::vector<std::string> channels,
               const common::Clock& clock = common::SystemClock::Instance());
  ~StreamIngest() override;

  common::Status Start();
  void Stop();
  // Changes the subscriptions on the open connection (no reconnect).
  void SetChannels(std::vector<std::string> channels);
  size_t channel_count() const;
  // Optional pcap_raw consumers; both may be null and must outlive this. Call before Start.
  void SetPcapSinks(metrics::DecodeMismatchMetrics* mismatch, capture::ArchiveWriter* archive);

  // Told once per change of a site's streamed capture: a data frame whose capture id differs
  // from the last one seen at that site (ended false), and a capture end (ended true). Runs on
  // the io thread; set before Start.
  using CaptureEvents =
      std::function<void(std::string_view site_id, std::string_view capture_id, bool ended)>;
  void SetCaptureEvents(CaptureEvents events) { capture_events_ = std::move(events); }

  // Benches only: the decoder's fast path off (FrameDecoder::set_fast_path).
  void set_fast_decode(bool on) { decoder_.set_fast_path(on); }

  void OnFrame(char* data, size_t len, bool is_text) override;
  void OnConnected() override;
  void OnDisconnected(std::string_view reason) override;

  const stream::StreamStats& stats() const;
  bool connected() const { return connected_.load(); }
  bool AnySubscribed() const { return !client_->SubscribedChannels().empty(); }
  std::string last_error() const;

 private:
  // Calls capture_events_ when the frame changes its site's capture (io thread).
  void NoteCapture(metrics::StreamAggregator::SiteHandle site, const decode::Event& event);
  // Rate-limited report of one undecodable frame (io thread).
  void ReportDecodeError(decode::DecodeError error, std::string_view channel, size_t len);

  struct DecodeErrorLog {
    bool logged = false;
    std::chrono::steady_clock::time_point last{};
    uint64_t suppressed = 0;  // errors of this reason since the last line
  };

  metrics::StreamAggregator& aggregator_;
  const common::Clock& clock_;
  std::array<DecodeErrorLog, static_cast<size_t>(decode::DecodeError::kCount)> error_log_{};
  mutable std::mutex channels_mu_;  // SetChannels (app thread) vs OnDisconnected (io thread)
  std::vector<std::string> channels_;
  decode::FrameDecoder decoder_;
  std::unique_ptr<stream::StreamClient> client_;
  std::atomic<bool> connected_{false};
  decode::PcapEnricher enricher_;
  metrics::DecodeMismatchMetrics* mismatch_metrics_ = nullptr;
  capture::ArchiveWriter* archive_ = nullptr;
  CaptureEvents capture_events_;
  struct SeenCapture {
    bool seen = false;
    std::string id;
  };
  std::vector<SeenCapture> seen_captures_;  // by site handle; io thread only
};

}  // namespace mpe::app
