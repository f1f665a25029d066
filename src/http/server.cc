#include "http/server.h"

#include <httplib.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <memory>

#include "http/basic_auth.h"
#include "http/gzip.h"
#include "http/tls_certs.h"

namespace mpe::http {
namespace {

// Called by OpenSSL during each handshake (on the connection's pool thread): presents the
// current certificate pair, which is how renewed files reach new connections.
int PresentCurrentCertificate(SSL* ssl, void* arg) {
  auto* reloader = static_cast<CertReloader*>(arg);
  auto pair = reloader->Current();
  return pair && pair->UseOn(ssl) ? 1 : 0;
}

bool ValidHost(const std::string& host) {
  return std::none_of(host.begin(), host.end(), [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) || c == '[' || c == ']' || c == '/';
  });
}

}  // namespace

common::Result<HostPort> ParseListenAddress(const std::string& address) {
  const std::string quoted = "\"" + address + "\"";
  std::string host;
  std::string port_text;
  if (!address.empty() && address.front() == '[') {
    auto close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':')
      return common::MakeError("invalid listen address " + quoted + " (want [IPv6]:PORT)");
    host = address.substr(1, close - 1);
    port_text = address.substr(close + 2);
    if (host.empty() || host.find(':') == std::string::npos)
      return common::MakeError("invalid listen address " + quoted +
                               " (brackets need an IPv6 address)");
  } else {
    auto colon = address.rfind(':');
    if (colon == std::string::npos)
      return common::MakeError("invalid listen address " + quoted + " (want HOST:PORT)");
    host = address.substr(0, colon);
    port_text = address.substr(colon + 1);
    if (host.find(':') != std::string::npos)
      return common::MakeError("invalid listen address " + quoted +
                               " (write IPv6 hosts in brackets: [::1]:PORT)");
  }
  if (!ValidHost(host)) return common::MakeError("invalid host in listen address " + quoted);
  int port = -1;
  auto r = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || r.ec != std::errc() || r.ptr != port_text.data() + port_text.size() ||
      port < 0 || port > 65535)
    return common::MakeError("invalid port in listen address " + quoted + " (want 0..65535)");
  if (host.empty()) host = "0.0.0.0";
  return HostPort{host, port};
}

HttpServer::HttpServer(Handlers handlers, ServerOptions options)
    : handlers_(std::move(handlers)), options_(options) {
  if (options_.clock == nullptr) options_.clock = &common::SystemClock::Instance();
}

HttpServer::~HttpServer() { Stop(); }

uint64_t HttpServer::cert_reloads() const { return certs_ ? certs_->reloads() : 0; }

uint64_t HttpServer::cert_reload_failures() const { return certs_ ? certs_->reload_failures() : 0; }

void HttpServer::Route() {
  // Runs before routing, so it also covers unknown paths (a 404 would tell an anonymous
  // client which paths exist).
  server_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!auth_ || req.path == "/healthz") return httplib::Server::HandlerResponse::Unhandled;
    if (auth_->Check(req.get_header_value("Authorization"))) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    auth_failures_.fetch_add(1);
    res.status = 401;
    res.set_header("WWW-Authenticate", std::string("Basic realm=\"") + kAuthRealm + "\"");
    res.set_content("Unauthorized\n", "text/plain; charset=utf-8");
    return httplib::Server::HandlerResponse::Handled;
  });
  server_->Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
    constexpr const char* kType = "text/plain; version=0.0.4; charset=utf-8";
    res.set_header("Vary", "Accept-Encoding");
    const std::string accept = req.get_header_value("Accept-Encoding");
    const bool gzip = AcceptsGzip(accept);
    std::shared_ptr<std::string> body;
    if (handlers_.metrics_pieces && gzip) {
      // Each ~1 MiB piece is compressed on another core while the next one is printed; only
      // the compressed body is kept whole.
      GzipStream stream(kMetricsGzipLevel);
      handlers_.metrics_pieces(kMetricsPieceBytes, [&stream](std::string* text) {
        stream.Add(text);
      });
      body = std::make_shared<std::string>();
      if (!stream.Finish(body.get())) {
        res.status = 500;
        res.set_content("gzip failed\n", "text/plain; charset=utf-8");
        return;
      }
      res.set_header("Content-Encoding", "gzip");
    } else if (handlers_.metrics_pieces && accept.find_first_not_of(" \t") == std::string::npos) {
      // Plain, to a client that accepts no coding at all (cpp-httplib would gzip a chunked
      // body by itself for one that does): sent chunked as it is printed.
      auto pieces = handlers_.metrics_pieces;
      res.set_chunked_content_provider(kType, [pieces](size_t, httplib::DataSink& sink) {
        bool ok = true;
        pieces(kMetricsPieceBytes, [&](std::string* text) {
          if (ok && !text->empty()) ok = sink.write(text->data(), text->size());
          text->clear();
        });
        if (ok) sink.done();
        return ok;
      });
      return;
    } else {
      body = std::make_shared<std::string>(handlers_.metrics ? handlers_.metrics() : "");
      if (gzip) {
        // Our own gzip at level 1: cpp-httplib's would use zlib's default level 6, 2.5x slower
        // on a 20 MB body (bench/README.md, "Scrape").
        auto gz = std::make_shared<std::string>();
        if (GzipCompress(*body, kMetricsGzipLevel, gz.get())) {
          body.reset();  // free the text before the (possibly slow) write
          body = std::move(gz);
          res.set_header("Content-Encoding", "gzip");
        }
      }
    }
    if (body->empty()) {
      res.set_content("", kType);
      return;
    }
    // A provider with a length is written as is: cpp-httplib neither copies nor re-compresses
    // it, and the body is freed with the response.
    const size_t size = body->size();
    res.set_content_provider(size, kType,
                             [body](size_t offset, size_t length, httplib::DataSink& sink) {
                               return sink.write(body->data() + offset, length);
                             });
  });
  server_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain; charset=utf-8");
  });
  server_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    auto [ok, reason] =
        handlers_.ready ? handlers_.ready() : std::make_pair(true, std::string("ready"));
    res.status = ok ? 200 : 503;
    res.set_content(reason + "\n", "text/plain; charset=utf-8");
  });
  server_->Get("/", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(handlers_.landing_page ? handlers_.landing_page() : std::string(),
                    "text/html; charset=utf-8");
  });
  // A content-reader handler: with a plain one cpp-httplib waits for a body that `curl -X POST`
  // (no Content-Length) never sends and answers 400 after the read timeout. An announced body
  // is drained and ignored.
  server_->Post("/-/reload", [this](const httplib::Request& req, httplib::Response& res,
                                    const httplib::ContentReader& content_reader) {
    if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding")) {
      content_reader([](const char*, size_t) { return true; });
    }
    if (!handlers_.reload) {
      res.status = 404;
      return;
    }
    auto [ok, message] = handlers_.reload();
    res.status = ok ? 200 : 500;
    res.set_content(message + "\n", "text/plain; charset=utf-8");
  });
  // A reload changes state, so it is POST only (like Prometheus's /-/reload).
  server_->Get("/-/reload", [this](const httplib::Request&, httplib::Response& res) {
    if (!handlers_.reload) {
      res.status = 404;
      return;
    }
    res.status = 405;
    res.set_header("Allow", "POST");
    res.set_content("use POST to reload the config\n", "text/plain; charset=utf-8");
  });
}

common::Status HttpServer::Start(const std::string& listen_address, const WebConfig* web) {
  if (thread_.joinable()) return common::MakeError("http server already started");
  auto hp = ParseListenAddress(listen_address);
  if (!hp.ok()) return hp.error();

  certs_.reset();
  auth_.reset();
  tls_ = false;
  if (web != nullptr && !web->basic_auth_users.empty()) {
    auth_ = std::make_unique<BasicAuth>(web->basic_auth_users);
  }
  if (web != nullptr && web->tls) {
    const TlsServerConfig& tls = *web->tls;
    certs_ = std::make_unique<CertReloader>(tls.cert_file, tls.key_file,
                                            options_.cert_check_interval, *options_.clock);
    if (auto st = certs_->Init(); !st.ok()) {
      return common::MakeError(web->source + ": tls_server_config: " + st.error().message);
    }
    const int min_version = tls.min_version == TlsVersion::kTls13 ? TLS1_3_VERSION : TLS1_2_VERSION;
    CertReloader* reloader = certs_.get();
    server_ = std::make_unique<httplib::SSLServer>([reloader, min_version](SSL_CTX& ctx) {
      if (SSL_CTX_set_min_proto_version(&ctx, min_version) != 1) return false;
      SSL_CTX_set_options(
          &ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
      // The context's own pair only matters if the callback is bypassed; the callback
      // replaces it per connection with the freshest one.
      auto pair = reloader->Current();
      if (!pair || !pair->UseOn(&ctx)) return false;
      SSL_CTX_set_cert_cb(&ctx, &PresentCurrentCertificate, reloader);
      return true;
    });
    if (!server_->is_valid()) {
      server_.reset();
      return common::MakeError("cannot set up TLS with " + tls.cert_file + " and " + tls.key_file);
    }
    tls_ = true;
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
  Route();
  // cpp-httplib's default also sets SO_REUSEPORT, which would let a second exporter bind the
  // same port and silently take half the scrapes; keep only SO_REUSEADDR (fast restarts).
  server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });

  errno = 0;
  if (hp->port == 0) {
    port_ = server_->bind_to_any_port(hp->host);
  } else {
    port_ = server_->bind_to_port(hp->host, hp->port) ? hp->port : -1;
  }
  if (port_ <= 0) {
    const int err = errno;
    port_ = 0;
    server_.reset();
    return common::MakeError("cannot listen on " + listen_address +
                             (err != 0 ? std::string(": ") + std::strerror(err) : std::string()));
  }
  listen_returned_ = false;
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    listen_returned_ = true;
  });
  // listen_after_bind only accepts once is_running(); wait so callers can connect at once.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!server_->is_running() && !listen_returned_ &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!server_->is_running()) {
    Stop();
    return common::MakeError("http server on " + listen_address + " did not start");
  }
  return common::Ok{};
}

void HttpServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace mpe::http
