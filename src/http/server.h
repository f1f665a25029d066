#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "common/result.h"

namespace httplib {
class Server;
}

namespace mpe::http {

// What the endpoints serve; each callback must be thread-safe and must not call Mist
// (a scrape reads what pollers and the stream already gathered).
struct Handlers {
  std::function<std::string()> metrics;                 // text format 0.0.4
  std::function<std::pair<bool, std::string>()> ready;  // ok, one-line reason
  std::function<std::string()> landing_page;           // HTML
  std::function<std::pair<bool, std::string>()> reload; // POST /-/reload; null: 404
};

struct HostPort {
  std::string host;
  int port = 0;
};
// ":10052" -> {"0.0.0.0", 10052}; "127.0.0.1:0"; "[::1]:9000" -> {"::1", 9000}.
common::Result<HostPort> ParseListenAddress(const std::string& address);

// The exporter's HTTP server (cpp-httplib, thread pool). Owns its listener thread.
// Start/Stop from one controlling thread; handlers run on pool threads.
class HttpServer {
 public:
  explicit HttpServer(Handlers handlers);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds (port 0 picks a free port) and starts serving in the background.
  common::Status Start(const std::string& listen_address);
  void Stop();
  int port() const { return port_; }

 private:
  void Route();

  Handlers handlers_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace mpe::http
