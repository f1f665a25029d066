#pragma once

// A tiny programmable Mist REST server on 127.0.0.1:<ephemeral port> for the client and
// poller tests, plus small test helpers (deadline wait, log capture).
//
// Header-only on purpose: the poll developer target links only tests/fakes/poll_*.cc, and
// inline definitions let both mist and poll tests (and the one mpe_tests binary) use it
// without duplicate symbols.

#include <httplib.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fakes/wait.h"

namespace mpe::fakes {

// Polls `done` until it is true or `timeout` passes; returns its last value.
inline bool WaitFor(const std::function<bool()>& done,
                    std::chrono::milliseconds timeout = std::chrono::seconds(3)) {
  return WaitUntil(done, timeout);
}

// An spdlog sink keeping every formatted line in memory. Thread-safe.
class StringSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::string Text() {
    std::lock_guard<std::mutex> lock(mutex_);
    return text_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    text_.append(formatted.data(), formatted.size());
  }
  void flush_() override {}

 private:
  std::string text_;
};

// Routes every spdlog line (debug and up) into memory for the lifetime of the object.
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<StringSink>()), previous_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>("capture", sink_);
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  std::string Text() { return sink_->Text(); }

 private:
  std::shared_ptr<StringSink> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

// Programmable fake of the Mist REST API. Routes are (method, path, required query params);
// the most specific match wins; unmatched requests get 404 {"detail":"not found"}. A route may
// hold several replies served in order (the last one repeats). Thread-safe.
class MistFakeServer {
 public:
  struct Reply {
    int status = 200;
    std::string body = "{}";
    std::vector<std::pair<std::string, std::string>> headers;
    bool hang = false;  // hold the request until ReleaseHangs() or shutdown, then reply
  };
  struct Recorded {
    std::string method;
    std::string path;
    std::map<std::string, std::string> params;
    std::string authorization;
    std::string body;
  };

  MistFakeServer() {
    auto handler = [this](const httplib::Request& req, httplib::Response& res) {
      Handle(req, res);
    };
    server_.Get(".*", handler);
    server_.Post(".*", handler);
    server_.Put(".*", handler);
    server_.Delete(".*", handler);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    WaitFor([this] { return server_.is_running(); });
  }

  ~MistFakeServer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      shutting_down_ = true;
    }
    cv_.notify_all();
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  MistFakeServer(const MistFakeServer&) = delete;
  MistFakeServer& operator=(const MistFakeServer&) = delete;

  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  void Set(const std::string& method, const std::string& path, std::vector<Reply> replies,
           std::map<std::string, std::string> query = {}) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& r : routes_) {
      if (r.method == method && r.path == path && r.query == query) {
        r.replies = std::move(replies);
        r.next = 0;
        return;
      }
    }
    routes_.push_back(Route{method, path, std::move(query), std::move(replies), 0});
  }
  void Set(const std::string& method, const std::string& path, Reply reply,
           std::map<std::string, std::string> query = {}) {
    Set(method, path, std::vector<Reply>{std::move(reply)}, std::move(query));
  }
  // Shorthand for a 200 JSON reply.
  void SetJson(const std::string& method, const std::string& path, std::string body,
               std::map<std::string, std::string> query = {}) {
    Reply r;
    r.body = std::move(body);
    Set(method, path, std::move(r), std::move(query));
  }

  void ReleaseHangs() {
    std::lock_guard<std::mutex> lock(mu_);
    release_generation_++;
    cv_.notify_all();
  }

  // Requests whose path equals `path` (any method, any query).
  int Count(const std::string& path) const {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const auto& r : recorded_) n += r.path == path ? 1 : 0;
    return n;
  }
  int Total() const {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(recorded_.size());
  }
  int Hanging() const {
    std::lock_guard<std::mutex> lock(mu_);
    return hanging_;
  }
  std::vector<Recorded> Requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return recorded_;
  }

 private:
  struct Route {
    std::string method;
    std::string path;
    std::map<std::string, std::string> query;
    std::vector<Reply> replies;
    size_t next;
  };

  void Handle(const httplib::Request& req, httplib::Response& res) {
    std::unique_lock<std::mutex> lock(mu_);
    Recorded rec{req.method, req.path, {}, req.get_header_value("Authorization"), req.body};
    for (const auto& [k, v] : req.params) rec.params[k] = v;
    recorded_.push_back(rec);

    Route* best = nullptr;
    for (auto& r : routes_) {
      if (r.method != req.method || r.path != req.path) continue;
      bool match = true;
      for (const auto& [k, v] : r.query) {
        auto it = rec.params.find(k);
        if (it == rec.params.end() || it->second != v) match = false;
      }
      if (match && (best == nullptr || r.query.size() > best->query.size())) best = &r;
    }
    Reply reply;
    if (best == nullptr || best->replies.empty()) {
      reply.status = 404;
      reply.body = R"({"detail":"not found"})";
    } else {
      reply = best->replies[std::min(best->next, best->replies.size() - 1)];
      best->next++;
    }
    if (reply.hang) {
      ++hanging_;
      uint64_t generation = release_generation_;
      cv_.wait(lock, [&] { return shutting_down_ || release_generation_ != generation; });
      --hanging_;
    }
    lock.unlock();
    res.status = reply.status;
    for (const auto& [k, v] : reply.headers) res.set_header(k, v);
    res.set_content(reply.body, "application/json");
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Route> routes_;
  std::vector<Recorded> recorded_;
  int hanging_ = 0;
  uint64_t release_generation_ = 0;
  bool shutting_down_ = false;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace mpe::fakes
