#include "http/server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>
#include <cstring>

namespace mpe::http {

common::Result<HostPort> ParseListenAddress(const std::string& address) {
  std::string host;
  std::string port_text;
  if (!address.empty() && address.front() == '[') {
    auto close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':')
      return common::MakeError("invalid listen address \"" + address + "\"");
    host = address.substr(1, close - 1);
    port_text = address.substr(close + 2);
  } else {
    auto colon = address.rfind(':');
    if (colon == std::string::npos)
      return common::MakeError("invalid listen address \"" + address + "\" (want HOST:PORT)");
    host = address.substr(0, colon);
    port_text = address.substr(colon + 1);
  }
  int port = -1;
  auto r = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (r.ec != std::errc() || r.ptr != port_text.data() + port_text.size() || port < 0 ||
      port > 65535)
    return common::MakeError("invalid port in listen address \"" + address + "\"");
  if (host.empty()) host = "0.0.0.0";
  return HostPort{host, port};
}

HttpServer::HttpServer(Handlers handlers)
    : handlers_(std::move(handlers)), server_(std::make_unique<httplib::Server>()) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Route() {
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(handlers_.metrics ? handlers_.metrics() : std::string(),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
  server_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain; charset=utf-8");
  });
  server_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    auto [ok, reason] = handlers_.ready ? handlers_.ready() : std::make_pair(true, "ready");
    res.status = ok ? 200 : 503;
    res.set_content(reason + "\n", "text/plain; charset=utf-8");
  });
  server_->Get("/", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(handlers_.landing_page ? handlers_.landing_page() : std::string(),
                    "text/html; charset=utf-8");
  });
  server_->Post("/-/reload", [this](const httplib::Request&, httplib::Response& res) {
    if (!handlers_.reload) {
      res.status = 404;
      return;
    }
    auto [ok, message] = handlers_.reload();
    res.status = ok ? 200 : 500;
    res.set_content(message + "\n", "text/plain; charset=utf-8");
  });
}

common::Status HttpServer::Start(const std::string& listen_address) {
  auto hp = ParseListenAddress(listen_address);
  if (!hp.ok()) return hp.error();
  Route();
  if (hp->port == 0) {
    port_ = server_->bind_to_any_port(hp->host);
  } else {
    port_ = server_->bind_to_port(hp->host, hp->port) ? hp->port : -1;
  }
  if (port_ <= 0) {
    return common::MakeError("cannot listen on " + listen_address + ": " +
                             std::strerror(errno));
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // listen_after_bind only accepts once is_running(); wait so callers can connect at once.
  for (int i = 0; i < 2000 && !server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return common::Ok{};
}

void HttpServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace mpe::http
