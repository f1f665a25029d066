#pragma once

#include <rapidjson/document.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "fakes/wait.h"

namespace mpe::sim::testing {

// Polls `pred` until it holds or the deadline passes (no fixed sleeps in tests).
inline bool WaitFor(const std::function<bool()>& pred,
                    std::chrono::milliseconds deadline = std::chrono::milliseconds(3000)) {
  return fakes::WaitUntil(pred, deadline);
}

inline rapidjson::Document ParseJson(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  return doc;
}

// A small WebSocket client for tests: a reader thread collects every text message into a
// queue; Next() waits for one with a timeout. Send() is serialised onto the io thread.
class TestWsClient {
 public:
  TestWsClient() = default;
  ~TestWsClient() { Shutdown(); }

  // Returns the HTTP status of the upgrade answer (101 when connected).
  int Connect(int port, const std::string& token) {
    namespace beast = boost::beast;
    namespace http = beast::http;
    namespace websocket = beast::websocket;
    boost::asio::ip::tcp::resolver resolver(ioc_);
    beast::error_code ec;
    auto results = resolver.resolve("127.0.0.1", std::to_string(port), ec);
    if (ec) return 0;
    beast::get_lowest_layer(ws_).connect(results, ec);
    if (ec) return 0;
    if (!token.empty()) {
      ws_.set_option(websocket::stream_base::decorator([token](websocket::request_type& req) {
        req.set(http::field::authorization, "Token " + token);
      }));
    }
    // The async form fills `res` also when the upgrade is declined (the sync one does not).
    websocket::response_type res;
    ws_.async_handshake(res, "127.0.0.1:" + std::to_string(port), "/api-ws/v1/stream",
                        [&ec](beast::error_code e) { ec = e; });
    ioc_.run();
    ioc_.restart();
    if (ec) return static_cast<int>(res.result_int());
    StartReading();
    thread_ = std::thread([this] { ioc_.run(); });
    return 101;
  }

  void Send(const std::string& text) {
    auto done = std::make_shared<std::promise<void>>();
    auto payload = std::make_shared<std::string>(text);
    boost::asio::post(ioc_, [this, done, payload] {
      ws_.async_write(boost::asio::buffer(*payload),
                      [done, payload](boost::beast::error_code, size_t) { done->set_value(); });
    });
    done->get_future().wait_for(std::chrono::seconds(2));
  }

  // The next message, or nullopt on timeout or when the connection ended.
  std::optional<std::string> Next(
      std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [this] { return !messages_.empty() || ended_; });
    if (messages_.empty()) return std::nullopt;
    std::string m = std::move(messages_.front());
    messages_.pop_front();
    return m;
  }

  bool ended() {
    std::lock_guard<std::mutex> lock(mu_);
    return ended_;
  }
  boost::beast::error_code end_error() {
    std::lock_guard<std::mutex> lock(mu_);
    return end_error_;
  }
  bool WaitEnded(std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return ended_; });
  }

  void Shutdown() {
    if (thread_.joinable()) {
      boost::asio::post(ioc_, [this] {
        boost::beast::error_code ignored;
        boost::beast::get_lowest_layer(ws_).socket().close(ignored);
      });
      thread_.join();
    }
  }

 private:
  void StartReading() {
    ws_.async_read(buffer_, [this](boost::beast::error_code ec, size_t) {
      std::lock_guard<std::mutex> lock(mu_);
      if (ec) {
        ended_ = true;
        end_error_ = ec;
        cv_.notify_all();
        return;
      }
      messages_.push_back(boost::beast::buffers_to_string(buffer_.data()));
      buffer_.consume(buffer_.size());
      cv_.notify_all();
      StartReading();
    });
  }

  boost::asio::io_context ioc_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_{ioc_};
  boost::beast::flat_buffer buffer_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> messages_;
  bool ended_ = false;
  boost::beast::error_code end_error_;
};

}  // namespace mpe::sim::testing
