#include "fakes/stream_fake_server.h"

#include <rapidjson/document.h>

#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <functional>
#include <future>
#include <optional>

#include "common/logging.h"

namespace mpe::fakes {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

std::string Event(std::string_view event, std::string_view channel, std::string_view detail = {}) {
  std::string out = "{\"event\":\"" + std::string(event) + "\",\"channel\":\"" +
                    common::JsonEscape(channel) + "\"";
  if (!detail.empty()) out += ",\"detail\":\"" + common::JsonEscape(detail) + "\"";
  return out + "}";
}

}  // namespace

TempCert::~TempCert() {
  std::error_code ec;
  if (!dir.empty()) std::filesystem::remove_all(dir, ec);
}

common::Result<std::unique_ptr<TempCert>> MakeSelfSignedCert() {
  auto cert = std::make_unique<TempCert>();
  std::string tmpl = (std::filesystem::temp_directory_path() / "mpe-stream-cert-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) return common::MakeError("mkdtemp failed");
  cert->dir = tmpl;
  cert->cert_file = cert->dir + "/cert.pem";
  cert->key_file = cert->dir + "/key.pem";
  std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "
      "/CN=localhost"
      " -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout '" +
      cert->key_file + "' -out '" + cert->cert_file + "' >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) return common::MakeError("openssl req failed");
  return cert;
}

// One accepted TCP connection, from the upgrade request to the end of the WebSocket.
class FakeStreamServer::Conn : public std::enable_shared_from_this<Conn> {
 public:
  virtual ~Conn() = default;
  virtual void Start() = 0;
  virtual void Send(std::string data, bool text) = 0;
  virtual void Drop() = 0;
  virtual void Silence() = 0;
  int id = 0;
};

template <class Ws>
class FakeStreamServer::ConnImpl final : public FakeStreamServer::Conn {
 public:
  template <class... Args>
  ConnImpl(FakeStreamServer& server, Args&&... args)
      : server_(server), ws_(std::forward<Args>(args)...) {}

  void Start() override {
    if constexpr (kTls) {
      ws_.next_layer().async_handshake(net::ssl::stream_base::server,
                                       [self = Self()](beast::error_code ec) {
                                         if (!ec) self->ReadUpgrade();
                                       });
    } else {
      ReadUpgrade();
    }
  }

  void Send(std::string data, bool text) override {
    queue_.emplace_back(std::move(data), text);
    if (queue_.size() == 1) DoWrite();
  }

  void Drop() override {
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

  void Silence() override {
    silent_ = true;
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().cancel(ignored);
  }

 private:
  static constexpr bool kTls = !std::is_same_v<Ws, websocket::stream<beast::tcp_stream>>;

  std::shared_ptr<ConnImpl> Self() {
    return std::static_pointer_cast<ConnImpl>(shared_from_this());
  }

  void ReadUpgrade() {
    http::async_read(ws_.next_layer(), http_buffer_, request_,
                     [self = Self()](beast::error_code ec, size_t) {
                       if (!ec) self->OnUpgradeRequest();
                     });
  }

  void OnUpgradeRequest() {
    int status;
    std::vector<std::pair<std::string, std::string>> headers;
    {
      std::lock_guard lock(server_.mu_);
      ++server_.upgrade_requests_;
      server_.authorization_.emplace_back(request_[http::field::authorization]);
      status = server_.reject_status_;
      headers = server_.reject_headers_;
    }
    if (status != 0 || !websocket::is_upgrade(request_)) {
      if (status == 0) status = 400;
      response_.result(static_cast<unsigned>(status));
      response_.version(11);
      for (const auto& [name, value] : headers) response_.set(name, value);
      response_.set(http::field::content_type, "application/json");
      response_.body() = "{\"detail\":\"rejected by the fake\"}";
      response_.keep_alive(false);
      response_.prepare_payload();
      http::async_write(ws_.next_layer(), response_,
                        [self = Self()](beast::error_code, size_t) { self->Drop(); });
      return;
    }
    ws_.async_accept(request_, [self = Self()](beast::error_code ec) {
      if (ec) return;
      {
        std::lock_guard lock(self->server_.mu_);
        self->id = ++self->server_.connections_;
        ++self->server_.open_count_;
      }
      self->server_.open_.push_back(self);
      self->DoRead();
    });
  }

  void DoRead() {
    ws_.async_read(read_buffer_,
                   [self = Self()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (silent_) return;
    if (ec) {
      if (ec == websocket::error::closed) {
        std::lock_guard lock(server_.mu_);
        server_.close_codes_.push_back(ws_.reason().code);
      }
      server_.Unregister(this);
      return;
    }
    if (ws_.got_text()) {
      std::string text = beast::buffers_to_string(read_buffer_.data());
      std::string reply = server_.Reply(id, text);
      if (!reply.empty()) Send(std::move(reply), true);
    }
    read_buffer_.consume(read_buffer_.size());
    DoRead();
  }

  void DoWrite() {
    ws_.text(queue_.front().second);
    ws_.async_write(net::buffer(queue_.front().first),
                    [self = Self()](beast::error_code ec, size_t) {
                      if (ec || self->silent_) return;
                      self->queue_.pop_front();
                      if (!self->queue_.empty()) self->DoWrite();
                    });
  }

  FakeStreamServer& server_;
  Ws ws_;
  beast::flat_buffer http_buffer_;
  beast::flat_buffer read_buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  std::deque<std::pair<std::string, bool>> queue_;
  bool silent_ = false;
};

FakeStreamServer::FakeStreamServer(FakeStreamServerOptions options)
    : options_(std::move(options)), acceptor_(ioc_) {
  if (options_.tls) {
    tls_ = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
    tls_->use_certificate_chain_file(options_.cert_file);
    tls_->use_private_key_file(options_.key_file, net::ssl::context::pem);
  }
  tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), 0);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen();
  port_ = acceptor_.local_endpoint().port();
  DoAccept();
  thread_ = std::thread([this] { ioc_.run(); });
}

FakeStreamServer::~FakeStreamServer() {
  RunOnServer([this] {
    beast::error_code ignored;
    acceptor_.close(ignored);
    for (auto& c : open_) c->Drop();
    for (auto& c : silent_) c->Drop();
  });
  ioc_.stop();
  thread_.join();
}

std::string FakeStreamServer::Url(std::string_view path) const {
  return std::string(options_.tls ? "wss" : "ws") + "://127.0.0.1:" + std::to_string(port_) +
         std::string(path);
}

void FakeStreamServer::DoAccept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec) return;
    std::shared_ptr<Conn> conn;
    if (tls_) {
      using Ws = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;
      conn = std::make_shared<ConnImpl<Ws>>(*this, beast::tcp_stream(std::move(socket)), *tls_);
    } else {
      using Ws = websocket::stream<beast::tcp_stream>;
      conn = std::make_shared<ConnImpl<Ws>>(*this, beast::tcp_stream(std::move(socket)));
    }
    conn->Start();
    DoAccept();
  });
}

void FakeStreamServer::RunOnServer(std::function<void()> fn) {
  std::promise<void> done;
  auto finished = done.get_future();
  net::post(ioc_, [&] {
    fn();
    done.set_value();
  });
  finished.wait();
}

std::shared_ptr<FakeStreamServer::Conn> FakeStreamServer::NewestOpen() {
  return open_.empty() ? nullptr : open_.back();
}

void FakeStreamServer::Unregister(Conn* conn) {
  for (auto it = open_.begin(); it != open_.end(); ++it) {
    if (it->get() == conn) {
      open_.erase(it);
      std::lock_guard lock(mu_);
      --open_count_;
      return;
    }
  }
}

std::string FakeStreamServer::Reply(int connection, std::string_view text) {
  std::lock_guard lock(mu_);
  received_.push_back({connection, std::string(text)});
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) return "";
  if (auto it = doc.FindMember("subscribe"); it != doc.MemberEnd() && it->value.IsString()) {
    std::string channel = it->value.GetString();
    if (auto f = failing_.find(channel); f != failing_.end()) {
      return Event("subscribe_failed", channel, f->second);
    }
    return auto_ack_ ? Event("channel_subscribed", channel) : "";
  }
  if (auto it = doc.FindMember("unsubscribe"); it != doc.MemberEnd() && it->value.IsString()) {
    return auto_ack_ ? Event("channel_unsubscribed", it->value.GetString()) : "";
  }
  return "";
}

void FakeStreamServer::RejectUpgrades(int status,
                                      std::vector<std::pair<std::string, std::string>> headers) {
  std::lock_guard lock(mu_);
  reject_status_ = status;
  reject_headers_ = std::move(headers);
}

void FakeStreamServer::SetAutoAck(bool on) {
  std::lock_guard lock(mu_);
  auto_ack_ = on;
}

void FakeStreamServer::FailChannel(std::string channel, std::string detail) {
  std::lock_guard lock(mu_);
  failing_[std::move(channel)] = std::move(detail);
}

void FakeStreamServer::SendText(std::string text) {
  RunOnServer([&] {
    if (auto c = NewestOpen()) c->Send(std::move(text), true);
  });
}

void FakeStreamServer::SendBinary(std::string bytes) {
  RunOnServer([&] {
    if (auto c = NewestOpen()) c->Send(std::move(bytes), false);
  });
}

void FakeStreamServer::DropConnections() {
  RunOnServer([&] {
    for (auto& c : open_) c->Drop();  // their read handlers unregister them
  });
}

void FakeStreamServer::GoSilent() {
  RunOnServer([&] {
    for (auto& c : open_) {
      c->Silence();
      silent_.push_back(c);
    }
    std::lock_guard lock(mu_);
    open_count_ -= static_cast<int>(open_.size());
    open_.clear();
  });
}

int FakeStreamServer::upgrade_requests() const {
  std::lock_guard lock(mu_);
  return upgrade_requests_;
}

int FakeStreamServer::connections() const {
  std::lock_guard lock(mu_);
  return connections_;
}

int FakeStreamServer::open_connections() const {
  std::lock_guard lock(mu_);
  return open_count_;
}

std::vector<std::string> FakeStreamServer::authorization_headers() const {
  std::lock_guard lock(mu_);
  return authorization_;
}

std::vector<FakeStreamServer::Received> FakeStreamServer::received() const {
  std::lock_guard lock(mu_);
  return received_;
}

std::vector<std::string> FakeStreamServer::ReceivedOn(int connection) const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& r : received_) {
    if (r.connection == connection) out.push_back(r.text);
  }
  return out;
}

std::vector<int> FakeStreamServer::close_codes() const {
  std::lock_guard lock(mu_);
  return close_codes_;
}

}  // namespace mpe::fakes
