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

namespace mpe::http {

class ServerCore;

// What the endpoints serve; each callback must be thread-safe and must not call Mist
// (a scrape reads what pollers and the stream already gathered).
struct Handlers {
  std::function<std::string()> metrics;  // text format 0.0.4
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

// Limits and deadlines of the web server. The defaults are the documented ones (docs/spec.md
// §5.3, docs/web.md); tests shorten the deadlines.
struct ServerOptions {
  // How often a new TLS connection may look at the certificate and key files for changes.
  std::chrono::steady_clock::duration cert_check_interval = std::chrono::seconds(5);
  common::Clock* clock = nullptr;  // null: the system clock

  // The whole request header (from the connection's first byte, or from the first byte of a
  // later request on a kept-alive connection) must arrive within this.
  std::chrono::steady_clock::duration header_timeout = std::chrono::seconds(10);
  // The TLS handshake must finish within this of the accept.
  std::chrono::steady_clock::duration handshake_timeout = std::chrono::seconds(10);
  // A kept-alive connection with no request for this long is closed.
  std::chrono::steady_clock::duration idle_timeout = std::chrono::seconds(60);
  // Writing one response (or one piece of a chunked one), and reading an announced body.
  std::chrono::steady_clock::duration write_timeout = std::chrono::seconds(30);
  size_t max_header_bytes = 16 * 1024;  // larger: 431, the rest is not read
  size_t max_body_bytes = 64 * 1024;    // larger: 413, the body is not read
  // Open connections at most; when full, the longest-idle kept-alive connection is closed to
  // make room, else the one that has waited longest for its request header, else the new one.
  size_t max_connections = 512;
  unsigned io_threads = 2;      // accept, TLS, read, write, /healthz
  unsigned render_threads = 2;  // /metrics, /readyz, /, /-/reload
  unsigned auth_threads = 1;    // bcrypt for credentials not seen before
  size_t max_queued = 256;      // per worker pool; beyond it requests get 503
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

// The exporter's HTTP(S) server, event-driven on Asio/Beast: io_threads run every socket (an
// idle connection costs memory only), deadlines bound the TLS handshake, the request header
// and idle keep-alive, and bcrypt and rendering run on small worker pools so that neither
// blocks accepting, reading or /healthz. Authentication is decided from the header before any
// body is read; request bodies are never decompressed. With a web config it owns the TLS
// certificate reloader and the basic-auth checker; when basic auth is configured every path
// but /healthz needs credentials. Start/Stop from one controlling thread (Start again after
// Stop is allowed); handlers run on the worker pools; the counters may be read from any
// thread while no Start is in progress.
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

  // What the limits did, since construction. Read from any thread.
  struct Counters {
    uint64_t accepted = 0;
    uint64_t open = 0;             // connections open now
    uint64_t evicted = 0;          // closed to make room under max_connections
    uint64_t refused = 0;          // closed at once: full of busy connections
    uint64_t header_timeouts = 0;  // no whole header within header_timeout
    uint64_t handshake_timeouts = 0;
    uint64_t header_too_large = 0;  // 431
    uint64_t body_too_large = 0;    // 413
    uint64_t busy = 0;              // 503: a worker pool's queue was full
  };
  Counters counters() const;
  // The counters in the text format: mist_pcap_http_connections_closed_total{reason},
  // mist_pcap_http_requests_refused_total{code} and mist_pcap_http_open_connections.
  void AppendMetricsText(std::string* out) const;

  struct Stats;  // the atomics behind Counters, shared with the running core

 private:
  Handlers handlers_;
  ServerOptions options_;
  std::unique_ptr<ServerCore> core_;
  std::unique_ptr<Stats> stats_;
  std::atomic<uint64_t> auth_failures_{0};
  int port_ = 0;
  bool tls_ = false;
};

}  // namespace mpe::http
