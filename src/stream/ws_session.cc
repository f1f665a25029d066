#include "stream/ws_session.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <spdlog/spdlog.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>
#include <utility>

#include "common/text.h"

namespace mpe::stream {
namespace {

constexpr const char* kUserAgent = "mist-pcap-exporter/" MPE_VERSION;

std::chrono::seconds ParseRetryAfter(std::string_view value) {
  int64_t seconds = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  // The HTTP-date form is not worth parsing here: the caller's minimum wait applies instead.
  if (ec != std::errc() || ptr != value.data() + value.size() || seconds < 0) {
    return std::chrono::seconds(0);
  }
  return std::chrono::seconds(std::min<int64_t>(seconds, 24 * 3600));
}

std::string Base64(const unsigned char* data, size_t len) {
  std::string out(4 * ((len + 2) / 3), '\0');
  int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(len));
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

// Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 §4.2.2).
std::string AcceptKey(std::string_view key) {
  std::string input(key);
  input += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &n, EVP_sha1(), nullptr) != 1) return {};
  return Base64(digest, n);
}

}  // namespace

WsSession::WsSession(Strand strand, net::ssl::context* tls, Config config,
                     SessionObserver& observer)
    : strand_(strand),
      config_(std::move(config)),
      observer_(observer),
      resolver_(strand_),
      deadline_(strand_),
      reader_(config_.max_message) {
  if (config_.url.tls) {
    tls_.emplace(strand_, *tls);
  } else {
    plain_.emplace(strand_);
  }
  // Mask keys only need to be unpredictable to the network path (RFC 6455 §10.3).
  uint32_t seed = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&seed), sizeof seed) != 1) {
    seed = std::random_device{}();
  }
  mask_rng_.seed(seed);
}

void WsSession::Run() {
  deadline_.expires_after(config_.connect_timeout);
  deadline_.async_wait(beast::bind_front_handler(&WsSession::OnDeadline, shared_from_this()));
  stage_ = "resolve";
  resolver_.async_resolve(config_.url.host, config_.url.port,
                          beast::bind_front_handler(&WsSession::OnResolve, shared_from_this()));
}

void WsSession::OnDeadline(beast::error_code ec) {
  if (ec || open_ || done_) return;
  // Cancelling makes the pending operation complete with operation_aborted; Fail() then reports
  // the stage it was in as timed out.
  timed_out_ = true;
  resolver_.cancel();
  CloseSocket();
}

void WsSession::OnResolve(beast::error_code ec, net::ip::tcp::resolver::results_type results) {
  if (ec) return Fail(ec, "resolve");
  stage_ = "connect";
  net::async_connect(Socket(), results,
                     beast::bind_front_handler(&WsSession::OnConnect, shared_from_this()));
}

void WsSession::OnConnect(beast::error_code ec, net::ip::tcp::endpoint) {
  if (ec) return Fail(ec, "connect");
  beast::error_code ignored;
  Socket().set_option(net::ip::tcp::no_delay(true), ignored);
  if (!tls_) return DoWsHandshake();

  stage_ = "tls_handshake";
  SSL* ssl = tls_->native_handle();
  const std::string& host = config_.url.host;
  bool ok;
  if (IsIpLiteral(host)) {
    // No SNI for address literals (RFC 6066); the certificate must carry the IP in its SAN.
    ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) == 1;
  } else {
    ok = SSL_set_tlsext_host_name(ssl, host.c_str()) == 1 && SSL_set1_host(ssl, host.c_str()) == 1;
  }
  if (!ok) {
    return Fail(
        beast::error_code(static_cast<int>(ERR_get_error()), net::error::get_ssl_category()),
        "tls_handshake");
  }
  tls_->async_handshake(net::ssl::stream_base::client,
                        beast::bind_front_handler(&WsSession::OnTlsHandshake, shared_from_this()));
}

void WsSession::OnTlsHandshake(beast::error_code ec) {
  if (ec) return Fail(ec, "tls_handshake");
  DoWsHandshake();
}

void WsSession::DoWsHandshake() {
  stage_ = "ws_handshake";
  unsigned char nonce[16];
  if (RAND_bytes(nonce, sizeof nonce) != 1) {
    for (auto& b : nonce) b = static_cast<unsigned char>(mask_rng_());
  }
  upgrade_key_ = Base64(nonce, sizeof nonce);
  auto& req = upgrade_request_.emplace(beast::http::verb::get, config_.url.target, 11);
  req.set(beast::http::field::host, config_.url.HostHeader());
  req.set(beast::http::field::upgrade, "websocket");
  req.set(beast::http::field::connection, "Upgrade");
  req.set(beast::http::field::sec_websocket_key, upgrade_key_);
  req.set(beast::http::field::sec_websocket_version, "13");
  req.set(beast::http::field::authorization, "Token " + config_.token);
  req.set(beast::http::field::user_agent, kUserAgent);
  Visit([&](auto& stream) {
    beast::http::async_write(
        stream, req, beast::bind_front_handler(&WsSession::OnUpgradeWritten, shared_from_this()));
  });
}

void WsSession::OnUpgradeWritten(beast::error_code ec, size_t) {
  upgrade_request_.reset();  // holds the token: not kept longer than needed
  if (ec) return Fail(ec, "ws_handshake");
  auto& parser = upgrade_parser_.emplace();
  // A rejected upgrade may carry a body we do not need; the header decides.
  parser.skip(true);
  Visit([&](auto& stream) {
    beast::http::async_read_header(
        stream, upgrade_buffer_, parser,
        beast::bind_front_handler(&WsSession::OnUpgradeRead, shared_from_this()));
  });
}

void WsSession::OnUpgradeRead(beast::error_code ec, size_t) {
  if (ec) return Fail(ec, "ws_handshake");
  const auto& res = upgrade_parser_->get();
  if (res.result() != beast::http::status::switching_protocols) {
    SessionFailure failure;
    failure.http_status = static_cast<int>(res.result_int());
    auto it = res.find(beast::http::field::retry_after);
    if (it != res.end())
      failure.retry_after =
          ParseRetryAfter(std::string_view(it->value().data(), it->value().size()));
    return Fail(websocket::error::upgrade_declined, "ws_handshake", std::move(failure));
  }
  auto header = [&](beast::http::field f) {
    auto found = res.find(f);
    return found == res.end() ? beast::string_view() : found->value();
  };
  if (!beast::iequals(header(beast::http::field::upgrade), "websocket")) {
    return Fail(websocket::error::no_upgrade_websocket, "ws_handshake");
  }
  if (header(beast::http::field::sec_websocket_accept) != AcceptKey(upgrade_key_)) {
    return Fail(websocket::error::bad_sec_accept, "ws_handshake");
  }
  // Frames the server sent right after its 101 may already sit in the upgrade buffer.
  auto rest = upgrade_buffer_.data();
  reader_.Append(std::string_view(static_cast<const char*>(rest.data()), rest.size()));
  upgrade_buffer_ = beast::flat_buffer();
  upgrade_parser_.reset();
  deadline_.cancel();
  open_ = true;
  stage_ = "read";
  observer_.OnSessionOpen(this);
  if (done_) return;
  if (!writing_ && !queue_.empty()) DoWrite();
  if (!ParseFrames()) return;
  DoRead();
}

void WsSession::DoRead() {
  // Not a structured binding: clang 14 (the sanitizer and fuzz builds) cannot capture one.
  const std::pair<char*, size_t> tail = reader_.WritableTail();
  Visit([&](auto& stream) {
    stream.async_read_some(net::buffer(tail.first, tail.second),
                           beast::bind_front_handler(&WsSession::OnRead, shared_from_this()));
  });
}

void WsSession::OnRead(beast::error_code ec, size_t bytes) {
  if (done_) return;
  if (ec) return Fail(ec, "read");
  reader_.Commit(bytes);
  // Liveness is noted once per read, not per message (a clock read each).
  observer_.OnSessionActivity(this);
  if (done_) return;
  if (!ParseFrames()) return;
  DoRead();
}

// False when reading must stop: the session is done, failed, or waits for its close reply.
bool WsSession::ParseFrames() {
  FrameReader::Error error;
  bool ok = reader_.Parse(*this, &error);
  if (done_) return false;
  if (!ok) {
    SessionFailure failure;
    failure.oversized = error.oversized;
    failure.message = std::move(error.message);
    Fail(error.code, "read", std::move(failure));
    return false;
  }
  return !server_closed_;
}

bool WsSession::OnMessage(char* data, size_t len, bool is_text) {
  observer_.OnSessionMessage(this, data, len, is_text);
  return !done_;
}

bool WsSession::OnControl(Opcode op, std::string_view payload) {
  observer_.OnSessionActivity(this);
  if (done_) return false;
  switch (op) {
    case Opcode::kPing:
      Enqueue(Outgoing::Kind::kPong, payload);
      return true;
    case Opcode::kClose: {
      ClosePayload close;
      if (!ParseClosePayload(payload, &close)) {
        SessionFailure failure;
        failure.message = "close frame with a 1-byte payload";
        Fail(websocket::error::bad_close_size, "read", std::move(failure));
        return false;
      }
      if (closing_) {
        // The reply to our own close: the closing handshake is complete.
        done_ = true;
        deadline_.cancel();
        CloseSocket();
        observer_.OnSessionClosed(this, {});
        return false;
      }
      server_close_ = "server closed the connection (code " + std::to_string(close.code);
      if (!close.reason.empty()) server_close_ += " " + std::string(close.reason);
      server_close_ += ")";
      server_closed_ = true;
      // Echo the code (RFC 6455 §5.5.1); the session fails once the reply is written.
      std::string echo;
      if (close.code != 0) echo = std::string(payload.substr(0, 2));
      Enqueue(Outgoing::Kind::kClose, echo);
      return false;
    }
    default:
      return true;  // pong
  }
}
void WsSession::SendText(std::string text) { Enqueue(Outgoing::Kind::kText, text); }

void WsSession::SendPing() {
  if (queued_pings_ > 0) return;
  ++queued_pings_;
  Enqueue(Outgoing::Kind::kPing, {});
}

void WsSession::Close(websocket::close_code code) {
  if (closing_ || server_closed_ || done_) return;
  closing_ = true;
  const auto c = static_cast<uint16_t>(code);
  const char payload[2] = {static_cast<char>(c >> 8), static_cast<char>(c & 0xFF)};
  Enqueue(Outgoing::Kind::kClose, std::string_view(payload, 2));
}

void WsSession::Enqueue(Outgoing::Kind kind, std::string_view payload) {
  if (done_) return;
  static constexpr Opcode kOpcodes[] = {Opcode::kText, Opcode::kPing, Opcode::kPong,
                                        Opcode::kClose};
  Outgoing out{kind, {}};
  out.wire.reserve(payload.size() + 14);
  AppendClientFrame(out.wire, kOpcodes[static_cast<int>(kind)], payload,
                    static_cast<uint32_t>(mask_rng_()));
  queue_.push_back(std::move(out));
  if (open_ && !writing_) DoWrite();
}

void WsSession::DoWrite() {
  writing_ = true;
  Visit([&](auto& stream) {
    net::async_write(stream, net::buffer(queue_.front().wire),
                     beast::bind_front_handler(&WsSession::OnWrite, shared_from_this()));
  });
}

void WsSession::OnWrite(beast::error_code ec, size_t) {
  writing_ = false;
  if (done_) return;
  const Outgoing::Kind kind = queue_.front().kind;
  if (kind == Outgoing::Kind::kPing) --queued_pings_;
  if (ec) return Fail(ec, "write");
  queue_.pop_front();
  if (kind == Outgoing::Kind::kClose && server_closed_) {
    // Our reply to the server's close is out: report the close the server started.
    SessionFailure failure;
    failure.message = server_close_;
    return Fail(websocket::error::closed, "read", std::move(failure));
  }
  if (!queue_.empty()) DoWrite();
}

void WsSession::Fail(beast::error_code ec, const char* stage, SessionFailure failure) {
  if (done_) return;
  done_ = true;
  deadline_.cancel();
  failure.stage = stage;
  failure.ec = ec;
  if (timed_out_ && !open_) {
    failure.message = "timed out after " + std::to_string(config_.connect_timeout.count()) + " ms";
  } else if (failure.http_status != 0) {
    failure.message = "upgrade rejected with HTTP " + std::to_string(failure.http_status);
    if (failure.http_status == 401 || failure.http_status == 403) {
      failure.message += " (check the API token)";
    } else if (failure.retry_after.count() > 0) {
      failure.message += " (Retry-After " + std::to_string(failure.retry_after.count()) + " s)";
    }
  } else if (failure.message.empty()) {
    failure.message = ec.message();
  }
  if (tls_ && failure.stage == "tls_handshake") {
    long verify = SSL_get_verify_result(tls_->native_handle());
    if (verify != X509_V_OK) {
      failure.message +=
          std::string(" (certificate verify: ") + X509_verify_cert_error_string(verify) + ")";
    }
  }
  CloseSocket();
  // The close reason and error texts may come from the server: escaped for the log.
  const std::string shown = common::EscapeControl(failure.message);
  if (closing_) {
    spdlog::debug("stream {} failed while closing url={}: {}", stage, config_.url.Redacted(),
                  shown);
    observer_.OnSessionClosed(this, ec);
    return;
  }
  if (config_.quiet_failures && !open_) {
    spdlog::debug("stream {} still failing url={}: {}", stage, config_.url.Redacted(), shown);
  } else if (failure.http_status == 401 || failure.http_status == 403) {
    spdlog::error("stream {} failed url={}: {}", stage, config_.url.Redacted(), shown);
  } else {
    spdlog::warn("stream {} failed url={}: {}", stage, config_.url.Redacted(), shown);
  }
  observer_.OnSessionFailed(this, failure);
}

void WsSession::Abort() {
  done_ = true;
  deadline_.cancel();
  resolver_.cancel();
  CloseSocket();
}

void WsSession::CloseSocket() {
  beast::error_code ignored;
  Socket().close(ignored);
}

}  // namespace mpe::stream
