#include "app/stream_ingest.h"

#include <spdlog/spdlog.h>

#include <string>

#include "capture/archive_writer.h"
#include "common/text.h"

namespace mpe::app {

StreamIngest::StreamIngest(stream::StreamOptions options, metrics::StreamAggregator& aggregator,
                           std::vector<std::string> channels, const common::Clock& clock)
    : aggregator_(aggregator),
      clock_(clock),
      channels_(std::move(channels)),
      client_(std::make_unique<stream::StreamClient>(std::move(options), *this)) {}

StreamIngest::~StreamIngest() { Stop(); }

common::Status StreamIngest::Start() {
  {
    std::lock_guard<std::mutex> lock(channels_mu_);
    client_->SetChannels(channels_);
  }
  return client_->Start();
}

void StreamIngest::Stop() {
  if (client_) client_->Stop();
}

void StreamIngest::SetChannels(std::vector<std::string> channels) {
  std::lock_guard<std::mutex> lock(channels_mu_);
  client_->SetChannels(channels);
  channels_ = std::move(channels);
}

size_t StreamIngest::channel_count() const {
  std::lock_guard<std::mutex> lock(channels_mu_);
  return channels_.size();
}

void StreamIngest::SetPcapSinks(metrics::DecodeMismatchMetrics* mismatch,
                                capture::ArchiveWriter* archive) {
  mismatch_metrics_ = mismatch;
  enricher_.set_decode_every_packet(archive != nullptr);  // the archive decodes anyway
  archive_ = archive;
}

namespace {

// "<id>" of "/sites/<id>/pcaps"; "" when the channel has another shape.
std::string_view SiteIdOfChannel(std::string_view channel) {
  constexpr std::string_view kPrefix = "/sites/", kSuffix = "/pcaps";
  if (channel.size() <= kPrefix.size() + kSuffix.size() || !channel.starts_with(kPrefix) ||
      !channel.ends_with(kSuffix)) {
    return {};
  }
  return channel.substr(kPrefix.size(), channel.size() - kPrefix.size() - kSuffix.size());
}

}  // namespace

void StreamIngest::ReportDecodeError(decode::DecodeError error, std::string_view channel,
                                     size_t len) {
  DecodeErrorLog& log = error_log_[static_cast<size_t>(error)];
  const auto now = clock_.SteadyNow();
  if (log.logged && now - log.last < kDecodeErrorLogEvery) {
    ++log.suppressed;
    return;
  }
  // The channel comes from the bad frame itself: bounded and without control characters, so it
  // cannot flood or forge log lines.
  constexpr size_t kMaxChannel = 120;
  const std::string shown = channel.empty()
                                ? std::string("-")
                                : common::EscapeControl(common::Utf8Prefix(channel, kMaxChannel));
  // A bad frame from Mist is data, not a connection problem: the stream stays up, so one line
  // per reason and minute is enough to notice it next to the counter.
  spdlog::warn(
      "stream frame skipped reason={} channel={} bytes={} ({} more since the last line); "
      "counted in mist_pcap_stream_decode_errors_total, reported once per {} s per reason",
      decode::ReasonName(error), shown, len, log.suppressed, kDecodeErrorLogEvery.count());
  log.logged = true;
  log.last = now;
  log.suppressed = 0;
}

void StreamIngest::OnFrame(char* data, size_t len, bool is_text) {
  if (!is_text) {
    aggregator_.RecordDecodeError(decode::DecodeError::kBinaryFrame);
    ReportDecodeError(decode::DecodeError::kBinaryFrame, {}, len);
    return;
  }
  decode::Event event = decoder_.Decode(data, len);
  switch (event.kind) {
    case decode::EventKind::kSubscribed:
      client_->OnSubscribed(event.channel);
      break;
    case decode::EventKind::kSubscribeFailed:
      client_->OnSubscribeFailed(event.channel, event.detail);
      break;
    case decode::EventKind::kUnsubscribed:
      client_->OnUnsubscribed(event.channel);
      break;
    default:
      break;
  }
  // pcap_raw decoded once (decode::PcapEnricher) and handed on to the metrics and the archive.
  const decode::PcapView pcap = enricher_.Read(&event);
  if (pcap.mismatches != 0 && mismatch_metrics_ != nullptr) {
    mismatch_metrics_->Count(pcap.mismatches);
  }
  const auto site = aggregator_.Record(event, pcap.facts);
  if (capture_events_ && site != metrics::StreamAggregator::kNoSite &&
      (event.kind == decode::EventKind::kData || event.kind == decode::EventKind::kCaptureEnd)) {
    NoteCapture(site, event);
  }
  // Report what the aggregator counted in decode_errors_total, with the same reason.
  switch (event.kind) {
    case decode::EventKind::kInvalid:
      ReportDecodeError(event.error == decode::DecodeError::kNone
                            ? decode::DecodeError::kInvalidJson
                            : event.error,
                        event.channel, len);
      break;
    case decode::EventKind::kData:
    case decode::EventKind::kCaptureEnd:
      if (site == metrics::StreamAggregator::kNoSite) [[unlikely]] {
        ReportDecodeError(decode::DecodeError::kUnknownChannel, event.channel, len);
      } else if (event.error != decode::DecodeError::kNone) [[unlikely]] {
        ReportDecodeError(event.error, event.channel, len);
      }
      break;
    default:
      break;
  }
  if (archive_ != nullptr) {
    const std::string_view site_id = SiteIdOfChannel(event.channel);
    if (site_id.empty()) return;
    if (event.kind == decode::EventKind::kData && !event.packet.pcap_raw.empty()) {
      // With the archive on every packet is decoded whole: no record means a bad pcap_raw.
      if (pcap.record != nullptr) {
        archive_->WriteDecoded(site_id, {}, event.capture_id, *pcap.record, pcap.radiotap);
      } else {
        archive_->CountBadPcapRaw(site_id);
      }
    } else if (event.kind == decode::EventKind::kCaptureEnd) {
      archive_->OnCaptureEnd(site_id, event.capture_id);
    }
  }
}

void StreamIngest::NoteCapture(metrics::StreamAggregator::SiteHandle site,
                               const decode::Event& event) {
  if (site >= seen_captures_.size()) seen_captures_.resize(static_cast<size_t>(site) + 1);
  SeenCapture& seen = seen_captures_[site];
  const bool ended = event.kind == decode::EventKind::kCaptureEnd;
  if (ended) {
    seen.seen = false;
    seen.id.clear();
  } else {
    if (seen.seen && seen.id == event.capture_id) return;  // the common case: nothing new
    seen.seen = true;
    seen.id.assign(event.capture_id);
  }
  const std::string_view site_id = SiteIdOfChannel(event.channel);
  if (!site_id.empty()) capture_events_(site_id, event.capture_id, ended);
}

void StreamIngest::OnConnected() { connected_ = true; }

void StreamIngest::OnDisconnected(std::string_view) {
  connected_ = false;
  std::lock_guard<std::mutex> lock(channels_mu_);
  for (const auto& c : channels_) aggregator_.SetSubscribed(c, false);
}

const stream::StreamStats& StreamIngest::stats() const { return client_->stats(); }

std::string StreamIngest::last_error() const { return client_->last_error(); }

}  // namespace mpe::app
