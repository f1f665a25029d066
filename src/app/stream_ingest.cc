#include "app/stream_ingest.h"

#include <spdlog/spdlog.h>

namespace mpe::app {

StreamIngest::StreamIngest(stream::StreamOptions options, metrics::StreamAggregator& aggregator,
                           std::vector<std::string> channels)
    : aggregator_(aggregator),
      channels_(std::move(channels)),
      client_(std::make_unique<stream::StreamClient>(std::move(options), *this)) {}

StreamIngest::~StreamIngest() { Stop(); }

common::Status StreamIngest::Start() {
  client_->SetChannels(channels_);
  return client_->Start();
}

void StreamIngest::Stop() {
  if (client_) client_->Stop();
}

void StreamIngest::SetChannels(std::vector<std::string> channels) {
  client_->SetChannels(channels);
}

void StreamIngest::OnFrame(char* data, size_t len, bool is_text) {
  if (!is_text) {
    aggregator_.RecordDecodeError(decode::DecodeError::kBinaryFrame);
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
  aggregator_.Record(event);
}

void StreamIngest::OnConnected() { connected_ = true; }

void StreamIngest::OnDisconnected(std::string_view) {
  connected_ = false;
  for (const auto& c : channels_) aggregator_.SetSubscribed(c, false);
}

const stream::StreamStats& StreamIngest::stats() const { return client_->stats(); }

std::string StreamIngest::last_error() const { return client_->last_error(); }

}  // namespace mpe::app
