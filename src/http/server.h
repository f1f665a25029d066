#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "common/clock.h"
#include "common/result.h"
#include "http/web_config.h"

namespace httplib {
class Server;
}

namespace mpe::http {

class BasicAuth;
class CertReloader;

// What the endpoints serve; each callback must be thread-safe and must not call Mist
// (a scrape reads what pollers and the stream already gathered).
struct Handlers {
  std::function<std::string()> metrics;                  // text format 0.0.4
  // The same body in pieces: calls emit(text) for each piece of about chunk_bytes (the last
  // may be shorter); emit takes the text. When set, /metrics uses it: a gzip body is then
  // compressed piece by piece while the rest is printed, and a plain one is sent chunked, so
  // that no scrape holds the whole text.
  std::function<void(size_t chunk_bytes, const std::function<void(std::string*)>& emit)>
      metrics_pieces;
  std::function<std::pair<bool, std::string>()> ready;   // ok, one-line reason
  std::function<std::string()> landing_page;             // HTML
  std::function<std::pair<bool, std::string>()> reload;  // POST /-/reload; null: 404
};

struct ServerOptions {
  // How often a new TLS connection may look at the certificate and key files for changes.
  std::chrono::steady_clock::duration cert_check_interval = std::chrono::seconds(5);
  common::Clock* clock = nullptr;  // null: the system clock
};

struct HostPort {
  std::string host;
  int port = 0;
};
// ":10052" -> {"0.0.0.0", 10052}; "127.0.0.1:0"; "[::1]:9000" -> {"::1", 9000};
// "localhost:9000". Rejects a missing or non-numeric port, an unbracketed IPv6 host, spaces.
common::Result<HostPort> ParseListenAddress(const std::string& address);

// The realm of the WWW-Authenticate challenge sent with every 401.
inline constexpr char kAuthRealm[] = "mist_pcap_exporter";

// The exporter's HTTP(S) server (cpp-httplib, thread pool). Owns its listener thread, and
// with a web config its TLS certificate reloader and basic-auth checker. When basic auth is
// configured every path but /healthz needs credentials. Start/Stop from one controlling
// thread (Start again after Stop is allowed); handlers run on pool threads; the counters may
// be read from any thread while no Start is in progress.
class HttpServer {
 public:
  explicit HttpServer(Handlers handlers, ServerOptions options = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds (port 0 picks a free port) and starts serving in the background. `web` (may be
  // null: plain HTTP, no auth) is copied; it should come from LoadWebConfig.
  common::Status Start(const std::string& listen_address, const WebConfig* web = nullptr);
  void Stop();
  int port() const { return port_; }
  bool tls() const { return tls_; }

  // Requests answered 401 (missing, malformed or wrong credentials) since construction.
  uint64_t auth_failures() const { return auth_failures_.load(); }
  // Certificate pairs re-read after the files changed, and attempts that failed (the old
  // pair kept serving).
  uint64_t cert_reloads() const;
  uint64_t cert_reload_failures() const;

 private:
  void Route();

  Handlers handlers_;
  ServerOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<CertReloader> certs_;
  std::unique_ptr<BasicAuth> auth_;
  std::thread thread_;
  std::atomic<bool> listen_returned_{false};
  std::atomic<uint64_t> auth_failures_{0};
  int port_ = 0;
  bool tls_ = false;
};

}  // namespace mpe::http
