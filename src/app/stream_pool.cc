#include "app/stream_pool.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "stream/channel_plan.h"
#include "stream/stream_client.h"

namespace mpe::app {

StreamPool::StreamPool(int max_channels_per_connection, Factory factory)
    : max_per_connection_(max_channels_per_connection), factory_(std::move(factory)) {}

StreamPool::~StreamPool() { Stop(); }

common::Status StreamPool::Apply(const std::vector<std::string>& channels) {
  std::lock_guard<std::mutex> apply_lock(apply_mu_);
  stream::ChannelPlan plan = stream::PlanChannels(channels_, channels, max_per_connection_);
  // ingests_ only changes under apply_mu_ (held), so reading it here needs no mu_.
  for (size_t i = 0; i < plan.kept.size(); ++i) {
    if (plan.changed[i] && !plan.kept[i].empty()) ingests_[i]->SetChannels(plan.kept[i]);
  }
  common::Status status = common::Ok{};
  std::vector<std::unique_ptr<StreamIngest>> opened;
  std::vector<std::vector<std::string>> opened_channels;
  for (auto& channels_of_new : plan.opened) {
    auto ingest = factory_(channels_of_new);
    if (auto st = ingest->Start(); !st.ok()) {
      status = st.error();
      break;
    }
    opened.push_back(std::move(ingest));
    opened_channels.push_back(std::move(channels_of_new));
  }
  std::vector<std::unique_ptr<StreamIngest>> retired;
  std::vector<std::vector<std::string>> kept_channels;
  const size_t opened_count = opened.size();
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::unique_ptr<StreamIngest>> kept;
    for (size_t i = 0; i < plan.kept.size(); ++i) {
      if (plan.kept[i].empty()) {
        const auto& st = ingests_[i]->stats();
        retired_reconnects_ += stream::ReconnectAttempts(st);
        retired_oversized_ += st.oversized_messages.load();
        retired.push_back(std::move(ingests_[i]));
      } else {
        kept.push_back(std::move(ingests_[i]));
        kept_channels.push_back(std::move(plan.kept[i]));
      }
    }
    for (auto& ingest : opened) kept.push_back(std::move(ingest));
    ingests_ = std::move(kept);
  }
  for (auto& c : opened_channels) kept_channels.push_back(std::move(c));
  channels_ = std::move(kept_channels);
  if (!retired.empty() || opened_count > 0) {
    spdlog::info("stream: {} connections ({} opened, {} closed)", channels_.size(), opened_count,
                 retired.size());
  }
  for (auto& ingest : retired) ingest->Stop();  // outside mu_: may wait for a close
  return status;
}

void StreamPool::Stop() {
  std::lock_guard<std::mutex> apply_lock(apply_mu_);
  for (auto& ingest : ingests_) ingest->Stop();
}

metrics::StreamHealth StreamPool::Health() const {
  std::lock_guard<std::mutex> lock(mu_);
  metrics::StreamHealth health;
  health.connected = !ingests_.empty();
  health.reconnects = retired_reconnects_;
  health.oversized = retired_oversized_;
  for (const auto& ingest : ingests_) {
    const auto& st = ingest->stats();
    health.connected = health.connected && st.connected.load();
    health.reconnects += stream::ReconnectAttempts(st);
    health.oversized += st.oversized_messages.load();
  }
  return health;
}

bool StreamPool::AnySubscribed() const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& ingest : ingests_) {
    if (ingest->AnySubscribed()) return true;
  }
  return false;
}

StreamPool::State StreamPool::state() const {
  std::lock_guard<std::mutex> lock(mu_);
  State state;
  state.connected = !ingests_.empty();
  for (const auto& ingest : ingests_) {
    state.connected = state.connected && ingest->connected();
    if (state.last_error.empty()) state.last_error = ingest->last_error();
  }
  return state;
}

std::vector<std::vector<std::string>> StreamPool::channels() const {
  std::lock_guard<std::mutex> apply_lock(apply_mu_);
  return channels_;
}

}  // namespace mpe::app
