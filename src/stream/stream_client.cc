#include "stream/stream_client.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "common/backoff.h"
#include "common/logging.h"
#include "common/text.h"
#include "stream/stream_url.h"
#include "stream/ws_session.h"

namespace mpe::stream {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Stop() budget: the close handshake gets kCloseBudget, Stop() waits kStopBudget in total.
constexpr milliseconds kCloseBudget{1500};
constexpr milliseconds kStopBudget{2000};

std::string SubscribeFrame(std::string_view verb, std::string_view channel) {
  std::string out = "{\"";
  out += verb;
  out += "\":\"";
  out += common::JsonEscape(channel);
  out += "\"}";
  return out;
}

}  // namespace

// All state below the "strand" marker is touched on the strand only. The snapshot fields behind
// snapshot_mu_ are written on the strand and read from any thread.
class StreamClient::Impl final : public SessionObserver {
 public:
  Impl(StreamOptions opts, FrameSink& sink)
      : opts_(std::move(opts)),
        sink_(sink),
        strand_(net::make_strand(ioc_)),
        reconnect_timer_(strand_),
        ping_timer_(strand_),
        idle_timer_(strand_),
        sub_timer_(strand_),
        stop_timer_(strand_),
        backoff_(opts_.reconnect_min, opts_.reconnect_max, opts_.backoff_seed) {
    if (opts_.ping_interval.count() <= 0) opts_.ping_interval = milliseconds(30000);
  }

  ~Impl() override { Stop(); }

  common::Status Start() {
    std::lock_guard lock(lifecycle_mu_);
    if (started_) return common::MakeError("stream client already started");
    auto url = ParseStreamUrl(opts_.url);
    if (!url.ok()) return url.error();
    url_ = std::move(url.value());
    if (url_.tls) {
      try {
        tls_ctx_ = std::make_unique<net::ssl::context>(net::ssl::context::tls_client);
      } catch (const std::exception& e) {
        return common::MakeError(std::string("stream: cannot create TLS context: ") + e.what());
      }
      beast::error_code ec;
      tls_ctx_->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                                net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                                net::ssl::context::no_tlsv1_1,
                            ec);
      tls_ctx_->set_default_verify_paths(ec);
      if (ec) spdlog::warn("stream: cannot load the system CA store: {}", ec.message());
      if (!opts_.ca_file.empty()) {
        tls_ctx_->load_verify_file(opts_.ca_file, ec);
        if (ec) {
          return common::MakeError("stream: cannot load ca_file " + opts_.ca_file + ": " +
                                   ec.message());
        }
      }
      tls_ctx_->set_verify_mode(net::ssl::verify_peer, ec);
    }
    started_ = true;
    work_.emplace(net::make_work_guard(ioc_));
    thread_ = std::thread([this] { RunIo(); });
    net::post(strand_, [this] { Connect(); });
    return common::Ok{};
  }

  void Stop() {
    {
      std::lock_guard lock(lifecycle_mu_);
      if (!started_ || stopped_) return;
      stopped_ = true;
    }
    if (std::this_thread::get_id() == thread_.get_id()) {
      // Joining our own thread would deadlock; this is a wiring bug, not a runtime condition.
      spdlog::critical("StreamClient::Stop called from its own io thread (inside a FrameSink)");
      std::terminate();
    }
    std::promise<void> done;
    std::future<void> finished = done.get_future();
    net::post(strand_, [this, p = std::move(done)]() mutable { BeginStop(std::move(p)); });
    if (finished.wait_for(kStopBudget) != std::future_status::ready) {
      spdlog::warn("stream stop url={}: did not finish within {} ms, abandoning the connection",
                   url_.Redacted(), kStopBudget.count());
    }
    work_.reset();
    ioc_.stop();
    thread_.join();
    stats_.connected = false;
    std::lock_guard lock(snapshot_mu_);
    subscribed_.clear();
  }

  void SetChannels(std::vector<std::string> channels) {
    net::post(strand_, [this, c = std::move(channels)]() mutable { ApplyChannels(std::move(c)); });
  }

  void OnSubscribed(std::string_view channel) {
    net::post(strand_, [this, c = std::string(channel)] { HandleSubscribed(c); });
  }

  void OnSubscribeFailed(std::string_view channel, std::string_view detail) {
    net::post(strand_, [this, c = std::string(channel), d = std::string(detail)] {
      HandleSubscribeFailed(c, d);
    });
  }

  void OnUnsubscribed(std::string_view channel) {
    net::post(strand_,
              [c = std::string(channel)] { spdlog::debug("stream unsubscribed channel={}", c); });
  }

  bool IsSubscribed(std::string_view channel) const {
    std::lock_guard lock(snapshot_mu_);
    return subscribed_.find(channel) != subscribed_.end();
  }

  std::vector<std::string> SubscribedChannels() const {
    std::lock_guard lock(snapshot_mu_);
    return {subscribed_.begin(), subscribed_.end()};
  }

  std::string last_error() const {
    std::lock_guard lock(snapshot_mu_);
    return last_error_;
  }

  const StreamStats& stats() const { return stats_; }

  // SessionObserver (strand).
  void OnSessionOpen(WsSession* s) override {
    if (s != session_.get()) return;
    open_ = true;
    got_data_ = false;
    last_rx_ = SteadyClock::now();
    stats_.connected = true;
    if (stats_.connects.fetch_add(1) > 0) stats_.reconnects.fetch_add(1);
    if (failed_attempts_ > 0) {
      spdlog::info("stream connected url={} channels={} (recovered after {} failed attempt(s))",
                   url_.Redacted(), order_.size(), failed_attempts_);
    } else {
      spdlog::info("stream connected url={} channels={}", url_.Redacted(), order_.size());
    }
    failing_ = false;
    failed_attempts_ = 0;
    settle_log_due_ = !order_.empty();
    for (const std::string& name : order_) Subscribe(name, channels_[name]);
    ArmSubTimer();
    ArmPingTimer();
    ArmIdleTimer();
    sink_.OnConnected();
  }

  void OnSessionMessage(WsSession* s, char* data, size_t len, bool is_text) override {
    if (s != session_.get()) return;
    got_data_ = true;  // last_rx_ is set per read, in OnSessionActivity
    stats_.frames.fetch_add(1, std::memory_order_relaxed);
    stats_.bytes.fetch_add(len, std::memory_order_relaxed);
    try {
      sink_.OnFrame(data, len, is_text);
    } catch (const std::exception& e) {
      // A throwing sink must not stop the read loop of every channel on this connection.
      spdlog::error("stream sink threw on a {}-byte frame: {}", len, e.what());
    }
  }

  void OnSessionActivity(WsSession* s) override {
    if (s == session_.get()) last_rx_ = SteadyClock::now();
  }

  void OnSessionFailed(WsSession* s, const SessionFailure& failure) override {
    if (s != session_.get()) return;
    HandleFailure(failure);
  }

  void OnSessionClosed(WsSession* s, beast::error_code ec) override {
    if (s != session_.get()) return;
    if (ec) {
      spdlog::debug("stream close url={}: {}", url_.Redacted(), ec.message());
    } else {
      spdlog::info("stream closed url={}", url_.Redacted());
    }
    FinishStop("stopped");
  }

 private:
  enum class State { kIdle, kPending, kSubscribed, kFailed };
  struct Channel {
    State state = State::kIdle;
    SteadyClock::time_point deadline{};  // ack deadline (kPending) or retry time (kFailed)
    bool resent = false;
  };

  void RunIo() {
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("stream io thread: unexpected exception: {}", e.what());
      }
    }
  }

  void Connect() {
    if (stopping_) return;
    ++generation_;
    open_ = false;
    WsSession::Config config{url_, opts_.token, opts_.max_frame_bytes, opts_.connect_timeout,
                             failing_};
    session_ = std::make_shared<WsSession>(strand_, tls_ctx_.get(), std::move(config), *this);
    spdlog::debug("stream connecting url={}", url_.Redacted());
    session_->Run();
  }

  void HandleFailure(const SessionFailure& failure) {
    SetLastError(failure.stage + ": " + failure.message);
    if (stopping_) return FinishStop(failure.stage + ": " + failure.message);
    bool was_open = open_;
    // The first failure of an outage was logged at warn; the attempts after it log at debug.
    failing_ = true;
    if (failure.oversized) stats_.oversized_messages.fetch_add(1);
    if (!was_open) {
      ++failed_attempts_;
      stats_.connect_failures.fetch_add(1);
      if (failure.http_status != 0) {
        stats_.upgrade_rejected.fetch_add(1);
        stats_.last_upgrade_status = failure.http_status;
      }
    }
    // A connection that carried data was healthy: the next outage starts from the short delay.
    if (was_open && got_data_) backoff_.Reset();
    LoseConnection(failure.stage + ": " + failure.message);
    milliseconds delay = backoff_.Next();
    if (failure.http_status == 429) {
      delay = std::max({delay, opts_.rate_limited_min_wait,
                        std::chrono::duration_cast<milliseconds>(failure.retry_after)});
    }
    ScheduleReconnect(delay);
  }

  // Drops the session (if any) and every piece of per-connection state.
  void LoseConnection(std::string_view reason) {
    if (session_) {
      session_->Abort();
      session_.reset();
    }
    ++generation_;
    ping_timer_.cancel();
    idle_timer_.cancel();
    sub_timer_.cancel();
    ResetSubscriptions();
    if (open_) {
      open_ = false;
      stats_.connected = false;
      if (!stopping_) stats_.disconnects.fetch_add(1);
      sink_.OnDisconnected(reason);
    }
  }

  void ScheduleReconnect(milliseconds delay) {
    stats_.last_retry_delay_ms = delay.count();
    spdlog::debug("stream reconnect url={} in {} ms", url_.Redacted(), delay.count());
    reconnect_timer_.expires_after(delay);
    reconnect_timer_.async_wait([this, gen = generation_](beast::error_code ec) {
      if (!ec && gen == generation_) Connect();
    });
  }

  void ArmPingTimer() {
    ping_timer_.expires_after(opts_.ping_interval);
    ping_timer_.async_wait([this, gen = generation_](beast::error_code ec) {
      if (ec || gen != generation_ || !open_) return;
      session_->SendPing();
      ArmPingTimer();
    });
  }

  // Half-open detection: nothing at all (message, pong, ping) for 2 x ping_interval. The timer is
  // re-armed lazily from last_rx_ so the per-message path only stores a time stamp.
  void ArmIdleTimer() {
    idle_timer_.expires_at(last_rx_ + 2 * opts_.ping_interval);
    idle_timer_.async_wait([this, gen = generation_](beast::error_code ec) {
      if (ec || gen != generation_ || !open_) return;
      auto silent = SteadyClock::now() - last_rx_;
      if (silent < 2 * opts_.ping_interval) return ArmIdleTimer();
      stats_.half_open.fetch_add(1);
      auto ms = std::chrono::duration_cast<milliseconds>(silent).count();
      spdlog::warn(
          "stream read failed url={}: nothing received for {} ms (half-open), reconnecting",
          url_.Redacted(), ms);
      SessionFailure failure;
      failure.stage = "read";
      failure.message = "nothing received for " + std::to_string(ms) + " ms (half-open)";
      HandleFailure(failure);
    });
  }

  void SetState(Channel& ch, State state) {
    if (ch.state == State::kPending) --pending_;
    if (state == State::kPending) ++pending_;
    ch.state = state;
  }

  void Subscribe(const std::string& name, Channel& ch) {
    session_->SendText(SubscribeFrame("subscribe", name));
    SetState(ch, State::kPending);
    ch.deadline = SteadyClock::now() + opts_.ack_timeout;
    ch.resent = false;
  }

  void ResetSubscriptions() {
    for (auto& [name, ch] : channels_) ch.state = State::kIdle;
    pending_ = 0;
    std::lock_guard lock(snapshot_mu_);
    subscribed_.clear();
  }

  void ApplyChannels(std::vector<std::string> wanted) {
    std::vector<std::string> order;
    std::unordered_set<std::string> wanted_set;
    for (std::string& name : wanted) {
      if (wanted_set.insert(name).second) order.push_back(std::move(name));
    }
    size_t removed = 0;
    size_t added = 0;
    for (auto it = channels_.begin(); it != channels_.end();) {
      if (wanted_set.count(it->first) != 0) {
        ++it;
        continue;
      }
      if (open_ &&
          (it->second.state == State::kPending || it->second.state == State::kSubscribed)) {
        session_->SendText(SubscribeFrame("unsubscribe", it->first));
      }
      SetState(it->second, State::kIdle);
      {
        std::lock_guard lock(snapshot_mu_);
        auto snap = subscribed_.find(it->first);
        if (snap != subscribed_.end()) subscribed_.erase(snap);
      }
      it = channels_.erase(it);
      ++removed;
    }
    for (const std::string& name : order) {
      auto [it, inserted] = channels_.try_emplace(name);
      if (!inserted) continue;
      ++added;
      if (open_ && !stopping_) Subscribe(name, it->second);
    }
    order_ = std::move(order);
    if (added > 0 && open_) settle_log_due_ = true;
    // The app re-sends the full set after every discovery round; only changes are news.
    spdlog::log(added + removed > 0 ? spdlog::level::info : spdlog::level::debug,
                "stream channels updated url={} added={} removed={} total={}", url_.Redacted(),
                added, removed, order_.size());
    ArmSubTimer();
  }

  void HandleSubscribed(const std::string& name) {
    auto it = channels_.find(name);
    if (it == channels_.end() || !open_) {
      spdlog::debug("stream ignoring channel_subscribed for unwanted channel={}",
                    common::EscapeControl(name));
      return;
    }
    if (it->second.state == State::kSubscribed) return;
    SetState(it->second, State::kSubscribed);
    {
      std::lock_guard lock(snapshot_mu_);
      subscribed_.insert(name);
    }
    spdlog::debug("stream subscribed channel={}", name);
    MaybeLogSettled();
  }

  void HandleSubscribeFailed(const std::string& name, const std::string& detail) {
    auto it = channels_.find(name);
    if (it == channels_.end() || !open_) {
      spdlog::debug("stream ignoring subscribe_failed for unwanted channel={}",
                    common::EscapeControl(name));
      return;
    }
    stats_.subscribe_failures.fetch_add(1);
    // Mist's detail is printed escaped: it must not forge log lines or drive a terminal.
    spdlog::warn("stream subscribe failed url={} channel={} detail=\"{}\" retry_in={}ms",
                 url_.Redacted(), common::EscapeControl(name), common::EscapeControl(detail),
                 opts_.subscribe_retry.count());
    SetLastError("subscribe " + name + ": " + detail);
    SetState(it->second, State::kFailed);
    it->second.deadline = SteadyClock::now() + opts_.subscribe_retry;
    {
      std::lock_guard lock(snapshot_mu_);
      auto snap = subscribed_.find(name);
      if (snap != subscribed_.end()) subscribed_.erase(snap);
    }
    MaybeLogSettled();
    ArmSubTimer();
  }

  void MaybeLogSettled() {
    if (!settle_log_due_ || pending_ != 0) return;
    settle_log_due_ = false;
    size_t ok = 0;
    for (const auto& [name, ch] : channels_) ok += ch.state == State::kSubscribed;
    spdlog::info("stream subscriptions settled url={} subscribed={} failed={}", url_.Redacted(), ok,
                 channels_.size() - ok);
  }

  // One timer serves every channel's ack deadline and subscribe retry: it fires at the earliest.
  void ArmSubTimer() {
    if (!open_) return;
    std::optional<SteadyClock::time_point> next;
    for (const auto& [name, ch] : channels_) {
      if (ch.state != State::kPending && ch.state != State::kFailed) continue;
      if (!next || ch.deadline < *next) next = ch.deadline;
    }
    if (!next) {
      sub_timer_.cancel();
      return;
    }
    sub_timer_.expires_at(*next);
    sub_timer_.async_wait([this, gen = generation_](beast::error_code ec) {
      if (!ec && gen == generation_ && open_) OnSubTimer();
    });
  }

  void OnSubTimer() {
    auto now = SteadyClock::now();
    size_t resent = 0;
    std::string first_resent;
    for (auto& [name, ch] : channels_) {
      if (ch.deadline > now) continue;
      if (ch.state == State::kPending) {
        if (ch.resent) {
          stats_.ack_timeouts.fetch_add(1);
          spdlog::warn(
              "stream subscribe failed url={} channel={}: no channel_subscribed within "
              "{} ms after resubscribing, reconnecting",
              url_.Redacted(), name, opts_.ack_timeout.count());
          SessionFailure failure;
          failure.stage = "subscribe";
          failure.message = "no channel_subscribed for " + name;
          return HandleFailure(failure);
        }
        session_->SendText(SubscribeFrame("subscribe", name));
        ch.resent = true;
        ch.deadline = now + opts_.ack_timeout;
        if (resent++ == 0) first_resent = name;
      } else if (ch.state == State::kFailed) {
        spdlog::debug("stream retrying subscribe channel={}", name);
        Subscribe(name, ch);
        settle_log_due_ = true;
      }
    }
    if (resent > 0) {
      stats_.ack_timeouts.fetch_add(resent);
      spdlog::warn(
          "stream: {} subscription(s) not acknowledged within {} ms, resubscribing once "
          "(first channel={})",
          resent, opts_.ack_timeout.count(), first_resent);
    }
    ArmSubTimer();
  }

  void BeginStop(std::promise<void> done) {
    stopping_ = true;
    stop_done_.emplace(std::move(done));
    reconnect_timer_.cancel();
    ping_timer_.cancel();
    idle_timer_.cancel();
    sub_timer_.cancel();
    if (!session_ || !open_) return FinishStop("stopped");
    for (const std::string& name : order_) {
      State state = channels_[name].state;
      if (state == State::kPending || state == State::kSubscribed) {
        session_->SendText(SubscribeFrame("unsubscribe", name));
      }
    }
    session_->Close(websocket::close_code::normal);
    stop_timer_.expires_after(kCloseBudget);
    stop_timer_.async_wait([this](beast::error_code ec) {
      if (ec || !stop_done_) return;
      spdlog::warn("stream close url={}: no close reply within {} ms, dropping the connection",
                   url_.Redacted(), kCloseBudget.count());
      FinishStop("stopped (close timed out)");
    });
  }

  void FinishStop(const std::string& reason) {
    LoseConnection(reason);
    stop_timer_.cancel();
    if (stop_done_) {
      stop_done_->set_value();
      stop_done_.reset();
    }
  }

  void SetLastError(std::string error) {
    std::lock_guard lock(snapshot_mu_);
    last_error_ = std::move(error);
  }

  StreamOptions opts_;
  FrameSink& sink_;
  StreamStats stats_;
  StreamUrl url_;
  std::unique_ptr<net::ssl::context> tls_ctx_;  // outlives ioc_: sessions reference it
  net::io_context ioc_{1};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::thread thread_;
  std::mutex lifecycle_mu_;
  bool started_ = false;
  bool stopped_ = false;

  mutable std::mutex snapshot_mu_;
  std::set<std::string, std::less<>> subscribed_;
  std::string last_error_;

  // strand
  Strand strand_;
  net::steady_timer reconnect_timer_;
  net::steady_timer ping_timer_;
  net::steady_timer idle_timer_;
  net::steady_timer sub_timer_;
  net::steady_timer stop_timer_;
  common::Backoff backoff_;
  std::shared_ptr<WsSession> session_;
  uint64_t generation_ = 0;  // bumped per connection; stale timer handlers compare it
  bool open_ = false;
  bool got_data_ = false;
  bool stopping_ = false;
  bool settle_log_due_ = false;
  bool failing_ = false;          // an outage is in progress (its first failure was logged)
  uint64_t failed_attempts_ = 0;  // connect attempts failed since the last open connection
  SteadyClock::time_point last_rx_{};
  std::vector<std::string> order_;  // desired channels in subscribe order
  std::unordered_map<std::string, Channel> channels_;
  size_t pending_ = 0;
  std::optional<std::promise<void>> stop_done_;
};

StreamClient::StreamClient(StreamOptions opts, FrameSink& sink)
    : impl_(std::make_unique<Impl>(std::move(opts), sink)) {}
StreamClient::~StreamClient() { impl_->Stop(); }
common::Status StreamClient::Start() { return impl_->Start(); }
void StreamClient::Stop() { impl_->Stop(); }
void StreamClient::SetChannels(std::vector<std::string> channels) {
  impl_->SetChannels(std::move(channels));
}
void StreamClient::OnSubscribed(std::string_view channel) { impl_->OnSubscribed(channel); }
void StreamClient::OnSubscribeFailed(std::string_view channel, std::string_view detail) {
  impl_->OnSubscribeFailed(channel, detail);
}
void StreamClient::OnUnsubscribed(std::string_view channel) { impl_->OnUnsubscribed(channel); }
bool StreamClient::IsSubscribed(std::string_view channel) const {
  return impl_->IsSubscribed(channel);
}
std::vector<std::string> StreamClient::SubscribedChannels() const {
  return impl_->SubscribedChannels();
}
std::string StreamClient::last_error() const { return impl_->last_error(); }
const StreamStats& StreamClient::stats() const { return impl_->stats(); }

}  // namespace mpe::stream
