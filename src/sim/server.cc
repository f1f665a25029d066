#include "sim/server.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <chrono>
#include <deque>
#include <set>
#include <thread>
#include <type_traits>

#include "common/listen_address.h"
#include "sim/json_out.h"

namespace mpe::sim {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

constexpr size_t kMaxQueue = 256;  // queued messages per connection before generation pauses
constexpr auto kTick = std::chrono::milliseconds(5);
constexpr auto kHangPoll = std::chrono::milliseconds(20);
constexpr auto kReapEvery = std::chrono::milliseconds(50);

// A stream connection as the capture-end fan-out sees it.
class WsSessionBase {
 public:
  virtual ~WsSessionBase() = default;
  virtual void PostCaptureEnd(uint32_t site_index, const std::string& channel,
                              const std::string& capture_id) = 0;
};

// Live stream sessions, for the capture-end fan-out. Thread-safe.
struct Registry {
  std::mutex mu;
  std::vector<std::weak_ptr<WsSessionBase>> sessions;

  void Add(std::weak_ptr<WsSessionBase> s) {
    std::lock_guard<std::mutex> lock(mu);
    std::erase_if(sessions, [](const auto& w) { return w.expired(); });
    sessions.push_back(std::move(s));
  }
  void CaptureEnded(uint32_t site_index, const std::string& channel,
                    const std::string& capture_id) {
    std::vector<std::shared_ptr<WsSessionBase>> live;
    {
      std::lock_guard<std::mutex> lock(mu);
      for (const auto& w : sessions) {
        if (auto s = w.lock()) live.push_back(std::move(s));
      }
    }
    for (const auto& s : live) s->PostCaptureEnd(site_index, channel, capture_id);
  }
};

// What every session shares; outlives the sessions through shared_ptr.
struct ServerContext {
  std::shared_ptr<SimState> state;
  std::shared_ptr<Registry> registry;
  uint64_t seed = 1;
  std::atomic<uint64_t> next_connection{0};
};

template <class Stream>
constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

void Fail(beast::error_code ec, const char* stage) {
  if (ec == net::error::operation_aborted || ec == websocket::error::closed ||
      ec == http::error::end_of_stream || ec == net::error::eof) {
    return;
  }
  spdlog::debug("mist_cloud_sim: {}: {}", stage, ec.message());
}

// One stream connection: reads subscribe/unsubscribe, paces generated packet messages with a
// timer and writes everything through a one-at-a-time queue; the truth counts a message once
// its write completed. Keeps itself alive through the handlers it has pending; all members are
// touched on its strand only.
template <class Stream>
class WsSession final : public WsSessionBase,
                        public std::enable_shared_from_this<WsSession<Stream>> {
 public:
  WsSession(Stream&& stream, std::shared_ptr<ServerContext> ctx)
      : ws_(std::move(stream)),
        ctx_(std::move(ctx)),
        timer_(ws_.get_executor()),
        gen_(ctx_->seed * 0x100000001b3ULL + ctx_->next_connection.fetch_add(1)) {}

  void Run(http::request<http::string_body> req) {
    req_ = std::move(req);
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "mist_cloud_sim"); }));
    ws_.auto_fragment(false);
    ws_.read_message_max(1 << 20);
    ws_.async_accept(req_,
                     beast::bind_front_handler(&WsSession::OnAccept, this->shared_from_this()));
  }

  void PostCaptureEnd(uint32_t site_index, const std::string& channel,
                      const std::string& capture_id) override {
    net::post(ws_.get_executor(),
              [self = this->shared_from_this(), site_index, channel, capture_id] {
                self->OnCaptureEnd(site_index, channel, capture_id);
              });
  }

 private:
  struct OutMsg {
    std::string text;
    TruthDelta delta;
    bool data = false;
    uint64_t epoch = 0;
    // The capture file this packet goes into once delivered, and its pcap record.
    std::shared_ptr<CaptureRecording> recording;
    int linktype = 0;
    std::string record;
  };

  SimState& state() { return *ctx_->state; }

  void OnAccept(beast::error_code ec) {
    if (ec) return Fail(ec, "ws accept");
    state().CountWsConnection();
    ctx_->registry->Add(this->shared_from_this());
    last_tick_ = std::chrono::steady_clock::now();
    DoRead();
    ScheduleTick();
  }

  void DoRead() {
    ws_.async_read(rbuf_, beast::bind_front_handler(&WsSession::OnRead, this->shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t) {
    if (ec) {
      // Beast has answered the client's close frame; the stats show how clients leave.
      if (ec == websocket::error::closed) state().CountWsClose(ws_.reason().code);
      Close();
      return Fail(ec, "ws read");
    }
    std::string text = beast::buffers_to_string(rbuf_.data());
    rbuf_.consume(rbuf_.size());
    HandleClientMessage(text);
    DoRead();
  }

  void HandleClientMessage(const std::string& text) {
    rapidjson::Document doc;
    doc.Parse(text.c_str(), text.size());
    if (doc.HasParseError() || !doc.IsObject()) return;
    bool subscribe = doc.HasMember("subscribe") && doc["subscribe"].IsString();
    bool unsubscribe = doc.HasMember("unsubscribe") && doc["unsubscribe"].IsString();
    if (!subscribe && !unsubscribe) return;
    std::string channel = subscribe ? doc["subscribe"].GetString() : doc["unsubscribe"].GetString();
    std::string site_id;
    constexpr std::string_view kPrefix = "/sites/", kSuffix = "/pcaps";
    if (channel.size() > kPrefix.size() + kSuffix.size() && channel.starts_with(kPrefix) &&
        channel.ends_with(kSuffix)) {
      site_id = channel.substr(kPrefix.size(), channel.size() - kPrefix.size() - kSuffix.size());
    }
    rapidjson::StringBuffer sb;
    JsonOut w(sb);
    OutMsg msg;
    w.StartObject();
    if (subscribe) {
      auto index = site_id.empty() ? std::nullopt : state().FindSite(site_id);
      if (index) {
        if (std::find(site_ids_.begin(), site_ids_.end(), site_id) == site_ids_.end()) {
          site_ids_.push_back(site_id);
          state().CountSubscription(site_id, 1);
        }
        site_indices_.insert(*index);
        JsonField(w, "event", "channel_subscribed");
        msg.delta.kind = TruthDelta::Kind::kSubscribed;
      } else {
        JsonFields(w, "event", "subscribe_failed", "detail",
                   site_id.empty() ? "unsupported channel" : "site not found or no privilege");
      }
    } else {
      if (std::erase(site_ids_, site_id) > 0) state().CountSubscription(site_id, -1);
      if (auto index = site_id.empty() ? std::nullopt : state().FindSite(site_id)) {
        site_indices_.erase(*index);
      }
      JsonField(w, "event", "channel_unsubscribed");
    }
    JsonField(w, "channel", channel);
    w.EndObject();
    msg.text = sb.GetString();
    Enqueue(std::move(msg));
  }

  void OnCaptureEnd(uint32_t site_index, const std::string& channel,
                    const std::string& capture_id) {
    if (closed_ || !site_indices_.count(site_index)) return;
    OutMsg msg;
    bool as_string = Uniform() < state().data_as_string();
    PacketGenerator::MakeCaptureEndMessage(channel, capture_id, as_string, &msg.text);
    msg.delta.kind = TruthDelta::Kind::kCaptureEnd;
    msg.delta.site = site_index;
    Enqueue(std::move(msg));
  }

  double Uniform() { return static_cast<double>(gen_.NextRandom() >> 11) * 0x1.0p-53; }

  void ScheduleTick() {
    timer_.expires_after(kTick);
    timer_.async_wait(beast::bind_front_handler(&WsSession::OnTick, this->shared_from_this()));
  }

  void OnTick(beast::error_code ec) {
    if (ec || closed_) return;
    auto now = std::chrono::steady_clock::now();
    double dt = std::chrono::duration<double>(now - last_tick_).count();
    last_tick_ = now;
    double rate = state().rate();
    tokens_ = std::min(tokens_ + rate * dt, rate * 0.1 + 1);
    targets_.clear();
    if (!site_ids_.empty()) state().RunningTargets(site_ids_, &targets_);
    if (targets_.empty()) {
      tokens_ = 0;  // nothing to stream: do not save up a burst
    } else {
      double wall = state().NowSeconds();
      double as_string = state().data_as_string();
      while (tokens_ >= 1 && queue_.size() < kMaxQueue) {
        OutMsg msg;
        if (!state().ReserveData(&msg.epoch)) {
          tokens_ = 0;
          break;
        }
        const StreamTarget& t = *targets_[next_target_++ % targets_.size()];
        gen_.MakeDataMessage(t, wall, Uniform() < as_string, &msg.text, &msg.delta);
        msg.data = true;
        if (t.recording) {
          const std::string& pcap = gen_.last_pcap();
          msg.recording = t.recording;
          msg.linktype = static_cast<uint8_t>(pcap[20]) | static_cast<uint8_t>(pcap[21]) << 8;
          if (!t.recording->Full()) msg.record.assign(pcap, 24);
        }
        tokens_ -= 1;
        queue_.push_back(std::move(msg));
      }
      if (!writing_ && !queue_.empty()) DoWrite();
    }
    ScheduleTick();
  }

  void Enqueue(OutMsg msg) {
    if (closed_) return;
    queue_.push_back(std::move(msg));
    if (!writing_) DoWrite();
  }

  void DoWrite() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(queue_.front().text),
                    beast::bind_front_handler(&WsSession::OnWrite, this->shared_from_this()));
  }

  void OnWrite(beast::error_code ec, size_t) {
    writing_ = false;
    if (ec) {
      Close();
      return Fail(ec, "ws write");
    }
    OutMsg& msg = queue_.front();
    state().truth().Add(msg.delta);
    if (msg.recording) msg.recording->Add(msg.linktype, msg.record);
    bool data = msg.data;
    queue_.pop_front();
    if (data && state().ShouldDrop(++data_written_)) {
      Drop();
      return;
    }
    if (!queue_.empty() && !closed_) DoWrite();
  }

  void ReleaseQueued() {
    for (const OutMsg& m : queue_) {
      if (m.data) state().ReleaseData(m.epoch, 1);
    }
    queue_.clear();
  }

  // The connection is over: its channels no longer count as subscribed.
  void ForgetSubscriptions() {
    for (const auto& id : site_ids_) state().CountSubscription(id, -1);
    site_ids_.clear();
  }

  // Abrupt end of the TCP connection, no close frame (the drop fault).
  void Drop() { EndConnection(true); }

  void Close() {
    if (!closed_) EndConnection(false);
  }

  // Forgets the connection's subscriptions and queued messages and closes its socket (after
  // shutting both directions down when `shutdown`).
  void EndConnection(bool shutdown) {
    closed_ = true;
    ForgetSubscriptions();
    timer_.cancel();
    ReleaseQueued();
    beast::error_code ignored;
    auto& socket = beast::get_lowest_layer(ws_).socket();
    if (shutdown) socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  websocket::stream<Stream> ws_;
  std::shared_ptr<ServerContext> ctx_;
  net::steady_timer timer_;
  PacketGenerator gen_;
  http::request<http::string_body> req_;
  beast::flat_buffer rbuf_;
  std::deque<OutMsg> queue_;
  bool writing_ = false;
  bool closed_ = false;
  std::vector<std::string> site_ids_;
  std::set<uint32_t> site_indices_;
  std::vector<std::shared_ptr<const StreamTarget>> targets_;
  size_t next_target_ = 0;
  double tokens_ = 0;
  std::chrono::steady_clock::time_point last_tick_;
  uint64_t data_written_ = 0;
};

// One HTTP connection: REST and control requests (keep-alive), or the upgrade into a
// WsSession. Applies latency and hang faults with timers so no io thread ever blocks.
template <class Stream>
class HttpSession final : public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  HttpSession(Stream&& stream, std::shared_ptr<ServerContext> ctx)
      : stream_(std::move(stream)), ctx_(std::move(ctx)), timer_(stream_.get_executor()) {}

  void Run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&HttpSession::OnRun, this->shared_from_this()));
  }

 private:
  SimState& state() { return *ctx_->state; }

  void OnRun() {
    if constexpr (kIsTls<Stream>) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
      stream_.async_handshake(
          ssl::stream_base::server,
          beast::bind_front_handler(&HttpSession::OnHandshake, this->shared_from_this()));
    } else {
      DoRead();
    }
  }

  void OnHandshake(beast::error_code ec) {
    if (ec) return Fail(ec, "tls handshake");
    DoRead();
  }

  void DoRead() {
    parser_.emplace();
    parser_->body_limit(1 << 20);
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(120));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&HttpSession::OnRead, this->shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t) {
    if (ec == http::error::end_of_stream) return DoClose();
    if (ec) return Fail(ec, "http read");
    req_ = parser_->release();
    std::string_view target(req_.target().data(), req_.target().size());
    if (websocket::is_upgrade(req_)) return HandleUpgrade();
    std::string_view method(req_.method_string().data(), req_.method_string().size());
    if (target == "/sim" || target.starts_with("/sim/")) {
      return Reply(state().HandleControl(method, target, req_.body()));
    }
    auto auth = req_[http::field::authorization];
    if (SimState::IsDownload(target)) {
      return Reply(state().HandleDownload(method, target, !auth.empty()));
    }
    admission_ =
        state().Admit(method, target, std::string_view(auth.data(), auth.size()), req_.body());
    if (admission_.latency_ms > 0) {
      beast::get_lowest_layer(stream_).expires_never();
      timer_.expires_after(std::chrono::milliseconds(admission_.latency_ms));
      timer_.async_wait([self = this->shared_from_this()](beast::error_code e) {
        if (!e) self->WaitWhileHanging();
      });
      return;
    }
    WaitWhileHanging();
  }

  void WaitWhileHanging() {
    if (state().Hanging()) {
      beast::get_lowest_layer(stream_).expires_never();
      timer_.expires_after(kHangPoll);
      timer_.async_wait([self = this->shared_from_this()](beast::error_code e) {
        if (!e) self->WaitWhileHanging();
      });
      return;
    }
    HttpReply reply;
    if (admission_.reply) {
      reply = std::move(*admission_.reply);
    } else {
      std::string_view target(req_.target().data(), req_.target().size());
      std::string_view method(req_.method_string().data(), req_.method_string().size());
      reply = state().HandleRest(method, target, req_.body());
    }
    state().CountCode(reply.status);
    Reply(std::move(reply));
  }

  void HandleUpgrade() {
    std::string_view target(req_.target().data(), req_.target().size());
    std::string_view path = target.substr(0, target.find('?'));
    if (path != "/api-ws/v1/stream") {
      return Reply(HttpReply{404, DetailBody("Not found."), {}}, true);
    }
    auto auth = req_[http::field::authorization];
    int status = state().CheckUpgrade(std::string_view(auth.data(), auth.size()));
    if (status != 0) {
      std::string detail = status == 401 ? "Authentication credentials were not provided."
                                         : "upgrade refused (injected)";
      if (status == 401 && !auth.empty()) detail = "Invalid token.";
      return Reply(HttpReply{status, DetailBody(detail), {}}, true);
    }
    std::make_shared<WsSession<Stream>>(std::move(stream_), ctx_)->Run(std::move(req_));
  }

  void Reply(HttpReply reply, bool close = false) {
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(reply.status), req_.version());
    res->set(http::field::server, "mist_cloud_sim");
    res->set(http::field::content_type, reply.content_type);
    for (const auto& [k, v] : reply.headers) res->set(k, v);
    res->keep_alive(!close && req_.keep_alive());
    res->body() = std::move(reply.body);
    res->prepare_payload();
    res_ = res;
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
    http::async_write(stream_, *res_,
                      beast::bind_front_handler(&HttpSession::OnWrite, this->shared_from_this()));
  }

  void OnWrite(beast::error_code ec, size_t) {
    if (ec) return Fail(ec, "http write");
    if (!res_->keep_alive()) return DoClose();
    res_.reset();
    DoRead();
  }

  void DoClose() {
    if constexpr (kIsTls<Stream>) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {});
    } else {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
  }

  Stream stream_;
  std::shared_ptr<ServerContext> ctx_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> req_;
  std::shared_ptr<http::response<http::string_body>> res_;
  SimState::Admission admission_;
};

// Accepts connections and hands each to an HttpSession on its own strand.
class Listener final : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& ioc, tcp::acceptor acceptor, ssl::context* tls,
           std::shared_ptr<ServerContext> ctx)
      : ioc_(ioc), acceptor_(std::move(acceptor)), tls_(tls), ctx_(std::move(ctx)) {}

  void Run() { DoAccept(); }

 private:
  void DoAccept() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           beast::bind_front_handler(&Listener::OnAccept, shared_from_this()));
  }

  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (ec) {
      Fail(ec, "accept");
    } else {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      if (tls_ != nullptr) {
        std::make_shared<HttpSession<TlsStream>>(TlsStream(std::move(socket), *tls_), ctx_)->Run();
      } else {
        std::make_shared<HttpSession<PlainStream>>(PlainStream(std::move(socket)), ctx_)->Run();
      }
    }
    DoAccept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  ssl::context* tls_;
  std::shared_ptr<ServerContext> ctx_;
};

}  // namespace

struct SimServer::Impl {
  std::shared_ptr<SimState> state;
  SimOptions opts;
  std::unique_ptr<ssl::context> tls;  // outlives ioc (declared first, reset last)
  std::unique_ptr<net::io_context> ioc;
  std::unique_ptr<net::steady_timer> reaper;
  std::vector<std::thread> threads;
  std::shared_ptr<ServerContext> ctx;
  std::string host = "127.0.0.1";
  int port = 0;
  bool running = false;

  void ScheduleReap() {
    reaper->expires_after(kReapEvery);
    reaper->async_wait([this](beast::error_code ec) {
      if (ec) return;
      state->Reap();
      ScheduleReap();
    });
  }
};

SimServer::SimServer(std::shared_ptr<SimState> state, const SimOptions& opts)
    : impl_(std::make_unique<Impl>()) {
  impl_->state = std::move(state);
  impl_->opts = opts;
}

SimServer::~SimServer() { Stop(); }

namespace {

struct ListenAddress {
  net::ip::address address;
  int port = 0;
};

// --listen HOST:PORT ([v6] brackets allowed; empty or localhost = 127.0.0.1).
// The exporter's listen-address rule (common::ParseListenAddress), with the simulator's default
// host: loopback for ":PORT" and "localhost".
common::Result<ListenAddress> ParseListen(const std::string& listen) {
  using common::ListenAddressFault;
  const common::ListenAddress parsed = common::ParseListenAddress(listen);
  switch (parsed.fault) {
    case ListenAddressFault::kNone:
      break;
    case ListenAddressFault::kShape:
      return common::MakeError("--listen must be HOST:PORT");
    case ListenAddressFault::kBadPort:
      return common::MakeError("--listen: bad port in '" + listen + "'");
    default:
      return common::MakeError("--listen: bad address '" + listen + "'");
  }
  const std::string host =
      parsed.host_empty || parsed.host == "localhost" ? "127.0.0.1" : parsed.host;
  beast::error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec) return common::MakeError("--listen: bad address '" + host + "'");
  return ListenAddress{address, parsed.port};
}

}  // namespace

common::Status SimServer::Start() {
  Impl& m = *impl_;
  if (m.running) return common::Ok{};
  auto listen = ParseListen(m.opts.listen);
  if (!listen.ok()) return listen.error();
  const net::ip::address& address = listen->address;
  beast::error_code ec;
  if (!m.opts.tls_cert.empty() || !m.opts.tls_key.empty()) {
    if (m.opts.tls_cert.empty() || m.opts.tls_key.empty()) {
      return common::MakeError("TLS needs both --tls-cert and --tls-key");
    }
    m.tls = std::make_unique<ssl::context>(ssl::context::tls_server);
    m.tls->use_certificate_chain_file(m.opts.tls_cert, ec);
    if (ec) return common::MakeError("cannot load TLS certificate " + m.opts.tls_cert);
    m.tls->use_private_key_file(m.opts.tls_key, ssl::context::pem, ec);
    if (ec) return common::MakeError("cannot load TLS key " + m.opts.tls_key);
  }

  m.ioc = std::make_unique<net::io_context>(2);
  tcp::acceptor acceptor(*m.ioc);
  tcp::endpoint endpoint(address, static_cast<uint16_t>(listen->port));
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    m.ioc.reset();
    return common::MakeError("cannot listen on " + m.opts.listen + ": " + ec.message());
  }
  m.port = acceptor.local_endpoint().port();
  m.host = address.is_unspecified() ? "127.0.0.1"
           : address.is_v6()        ? "[" + address.to_string() + "]"
                                    : address.to_string();

  m.state->SetListenAddress(m.tls ? "https" : "http", m.host, m.port);
  m.ctx = std::make_shared<ServerContext>();
  m.ctx->state = m.state;
  m.ctx->registry = std::make_shared<Registry>();
  m.ctx->seed = m.opts.seed;
  std::weak_ptr<Registry> registry = m.ctx->registry;
  m.state->SetCaptureEndListener(
      [registry](uint32_t site_index, const std::string& channel, const std::string& id) {
        if (auto r = registry.lock()) r->CaptureEnded(site_index, channel, id);
      });

  std::make_shared<Listener>(*m.ioc, std::move(acceptor), m.tls.get(), m.ctx)->Run();
  m.reaper = std::make_unique<net::steady_timer>(net::make_strand(*m.ioc));
  m.ScheduleReap();
  for (int i = 0; i < 2; ++i) {
    m.threads.emplace_back([ioc = m.ioc.get()] {
      for (;;) {
        try {
          ioc->run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("mist_cloud_sim: io thread: {}", e.what());
        }
      }
    });
  }
  m.running = true;
  return common::Ok{};
}

void SimServer::Stop() {
  Impl& m = *impl_;
  if (!m.running) return;
  m.running = false;
  m.state->SetCaptureEndListener(nullptr);
  m.ioc->stop();
  for (auto& t : m.threads) t.join();
  m.threads.clear();
  m.reaper.reset();
  m.ioc.reset();  // destroys pending handlers and with them every session
  m.ctx.reset();
  m.tls.reset();
}

int SimServer::port() const { return impl_->port; }
bool SimServer::tls() const { return impl_->tls != nullptr; }
std::string SimServer::host() const { return impl_->host; }

}  // namespace mpe::sim
