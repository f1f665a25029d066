#include "stream/ws_session.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <utility>

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

}  // namespace

WsSession::WsSession(Strand strand, net::ssl::context* tls, Config config,
                     SessionObserver& observer)
    : strand_(strand),
      config_(std::move(config)),
      observer_(observer),
      resolver_(strand_),
      deadline_(strand_) {
  if (config_.url.tls) {
    tls_.emplace(strand_, *tls);
  } else {
    plain_.emplace(strand_);
  }
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
  Visit([&](auto& ws) {
    beast::get_lowest_layer(ws).async_connect(
        results, beast::bind_front_handler(&WsSession::OnConnect, shared_from_this()));
  });
}

void WsSession::OnConnect(beast::error_code ec, net::ip::tcp::endpoint) {
  if (ec) return Fail(ec, "connect");
  Visit([](auto& ws) {
    beast::error_code ignored;
    beast::get_lowest_layer(ws).socket().set_option(net::ip::tcp::no_delay(true), ignored);
  });
  if (!tls_) return DoWsHandshake();

  stage_ = "tls_handshake";
  SSL* ssl = tls_->next_layer().native_handle();
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
  tls_->next_layer().async_handshake(
      net::ssl::stream_base::client,
      beast::bind_front_handler(&WsSession::OnTlsHandshake, shared_from_this()));
}

void WsSession::OnTlsHandshake(beast::error_code ec) {
  if (ec) return Fail(ec, "tls_handshake");
  DoWsHandshake();
}

void WsSession::DoWsHandshake() {
  stage_ = "ws_handshake";
  Visit([&](auto& ws) {
    websocket::stream_base::timeout timeout{};
    timeout.handshake_timeout = config_.connect_timeout;
    timeout.idle_timeout = websocket::stream_base::none();  // the owner's keepalive decides
    timeout.keep_alive_pings = false;
    ws.set_option(timeout);
    websocket::permessage_deflate pmd;
    pmd.client_enable = false;
    pmd.server_enable = false;
    ws.set_option(pmd);
    ws.read_message_max(config_.max_message);
    ws.auto_fragment(false);
    std::string auth = "Token " + config_.token;
    ws.set_option(websocket::stream_base::decorator([auth](websocket::request_type& req) {
      req.set(beast::http::field::authorization, auth);
      req.set(beast::http::field::user_agent, kUserAgent);
    }));
    // Control frames only arrive while a read is pending, and a pending read holds a reference
    // to this session, so the raw pointer cannot dangle.
    ws.control_callback([this](websocket::frame_type, beast::string_view) {
      if (!done_) observer_.OnSessionActivity(this);
    });
    ws.async_handshake(upgrade_response_, config_.url.HostHeader(), config_.url.target,
                       beast::bind_front_handler(&WsSession::OnWsHandshake, shared_from_this()));
  });
}

void WsSession::OnWsHandshake(beast::error_code ec) {
  if (ec) {
    SessionFailure failure;
    if (ec == websocket::error::upgrade_declined) {
      failure.http_status = static_cast<int>(upgrade_response_.result_int());
      auto it = upgrade_response_.find(beast::http::field::retry_after);
      if (it != upgrade_response_.end())
        failure.retry_after =
            ParseRetryAfter(std::string_view(it->value().data(), it->value().size()));
    }
    return Fail(ec, "ws_handshake", std::move(failure));
  }
  deadline_.cancel();
  upgrade_response_ = {};
  open_ = true;
  stage_ = "read";
  observer_.OnSessionOpen(this);
  if (done_) return;
  DoRead();
  if (!writing_ && !queue_.empty()) DoWrite();
}

void WsSession::DoRead() {
  Visit([&](auto& ws) {
    ws.async_read(buffer_, beast::bind_front_handler(&WsSession::OnRead, shared_from_this()));
  });
}

void WsSession::OnRead(beast::error_code ec, size_t bytes) {
  if (done_) return;
  if (ec) {
    if (closing_) return;  // our close handshake finishes in OnClose
    SessionFailure failure;
    if (ec == websocket::error::message_too_big) {
      failure.oversized = true;
      failure.message =
          "message larger than max_frame_bytes=" + std::to_string(config_.max_message) + " (" +
          ec.message() + ")";
    } else if (ec == websocket::error::closed) {
      websocket::close_reason reason = Visit([](auto& ws) { return ws.reason(); });
      failure.message =
          "server closed the connection (code " + std::to_string(reason.code) +
          (reason.reason.empty() ? ""
                                 : " " + std::string(reason.reason.data(), reason.reason.size())) +
          ")";
    }
    return Fail(ec, "read", std::move(failure));
  }
  // The sink may write data[len], and the frame decoder's SSE4.2 scanner reads in aligned 16-byte
  // blocks up to 15 bytes past it (FrameDecoder::kPadding). prepare(16) guarantees those bytes
  // exist right after the message (flat_buffer is contiguous), possibly moving the message, so
  // take the pointer afterwards.
  buffer_.prepare(16);
  char* data = static_cast<char*>(buffer_.data().data());
  bool is_text = Visit([](auto& ws) { return ws.got_text(); });
  observer_.OnSessionMessage(this, data, bytes, is_text);
  buffer_.consume(buffer_.size());
  if (done_) return;
  DoRead();
}

void WsSession::SendText(std::string text) {
  Enqueue(Outgoing{Outgoing::Kind::kText, std::move(text)});
}

void WsSession::SendPing() {
  if (queued_pings_ > 0) return;
  ++queued_pings_;
  Enqueue(Outgoing{Outgoing::Kind::kPing, {}});
}

void WsSession::Close(websocket::close_code code) {
  if (closing_ || done_) return;
  closing_ = true;
  Enqueue(Outgoing{Outgoing::Kind::kClose, {}, code});
}

void WsSession::Enqueue(Outgoing out) {
  if (done_) return;
  queue_.push_back(std::move(out));
  if (open_ && !writing_) DoWrite();
}

void WsSession::DoWrite() {
  writing_ = true;
  Outgoing& out = queue_.front();
  Visit([&](auto& ws) {
    switch (out.kind) {
      case Outgoing::Kind::kText:
        ws.text(true);
        ws.async_write(net::buffer(out.text),
                       beast::bind_front_handler(&WsSession::OnWrite, shared_from_this()));
        break;
      case Outgoing::Kind::kPing:
        ws.async_ping({}, [self = shared_from_this()](beast::error_code ec) {
          --self->queued_pings_;
          self->OnWrite(ec, 0);
        });
        break;
      case Outgoing::Kind::kClose:
        ws.async_close(out.code,
                       beast::bind_front_handler(&WsSession::OnClose, shared_from_this()));
        break;
    }
  });
}

void WsSession::OnWrite(beast::error_code ec, size_t) {
  writing_ = false;
  if (done_) return;
  if (ec) return Fail(ec, "write");
  queue_.pop_front();
  if (!queue_.empty()) DoWrite();
}

void WsSession::OnClose(beast::error_code ec) {
  writing_ = false;
  if (done_) return;
  done_ = true;
  deadline_.cancel();
  CloseSocket();
  observer_.OnSessionClosed(this, ec);
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
    long verify = SSL_get_verify_result(tls_->next_layer().native_handle());
    if (verify != X509_V_OK) {
      failure.message +=
          std::string(" (certificate verify: ") + X509_verify_cert_error_string(verify) + ")";
    }
  }
  CloseSocket();
  if (closing_) {
    spdlog::debug("stream {} failed while closing url={}: {}", stage, config_.url.Redacted(),
                  failure.message);
    observer_.OnSessionClosed(this, ec);
    return;
  }
  if (config_.quiet_failures && !open_) {
    spdlog::debug("stream {} still failing url={}: {}", stage, config_.url.Redacted(),
                  failure.message);
  } else if (failure.http_status == 401 || failure.http_status == 403) {
    spdlog::error("stream {} failed url={}: {}", stage, config_.url.Redacted(), failure.message);
  } else {
    spdlog::warn("stream {} failed url={}: {}", stage, config_.url.Redacted(), failure.message);
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
  Visit([](auto& ws) {
    beast::error_code ignored;
    beast::get_lowest_layer(ws).socket().close(ignored);
  });
}

}  // namespace mpe::stream
