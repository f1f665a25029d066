#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "stream/stream_url.h"

namespace mpe::stream {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using Strand = net::strand<net::io_context::executor_type>;

class WsSession;

// Why a session ended before (or instead of) a requested close. Never carries a credential.
struct SessionFailure {
  std::string stage;  // resolve, connect, tls_handshake, ws_handshake, read, write
  beast::error_code ec;
  std::string message;
  int http_status = 0;                  // the upgrade was answered with this non-101 status
  std::chrono::seconds retry_after{0};  // from a rejected upgrade's Retry-After (seconds form)
  bool oversized = false;               // a message exceeded max_message
};

// What a session reports to its owner, always on the session's strand. The session pointer lets
// the owner ignore reports from a session it already replaced.
class SessionObserver {
 public:
  virtual ~SessionObserver() = default;
  virtual void OnSessionOpen(WsSession* s) = 0;
  virtual void OnSessionMessage(WsSession* s, char* data, size_t len, bool is_text) = 0;
  virtual void OnSessionActivity(WsSession* s) = 0;  // a ping, pong or close frame arrived
  virtual void OnSessionFailed(WsSession* s, const SessionFailure& failure) = 0;
  virtual void OnSessionClosed(WsSession* s, beast::error_code ec) = 0;  // after Close()
};

// One connection attempt and, if it succeeds, one WebSocket connection (ws or wss). Kept alive by
// the handlers it has in flight (shared_from_this); everything runs on the owner's strand, so no
// locking. Writes (text, ping, close) go through a one-at-a-time queue. Reports at most one of
// OnSessionFailed / OnSessionClosed, and nothing after Abort(). Logs its own failures once, with
// the stage and the redacted url.
class WsSession : public std::enable_shared_from_this<WsSession> {
 public:
  struct Config {
    StreamUrl url;
    std::string token;
    size_t max_message = 1 << 20;
    std::chrono::milliseconds connect_timeout{10000};
    // The owner already reported this outage: a failed connect attempt is logged at debug, not
    // warn/error, so a long outage yields one warn line instead of one per attempt. A connection
    // that opened and then fails is a new outage and is always logged loud.
    bool quiet_failures = false;
  };

  // `tls` must be non-null for wss urls and outlive the session.
  WsSession(Strand strand, net::ssl::context* tls, Config config, SessionObserver& observer);

  void Run();
  void SendText(std::string text);
  void SendPing();  // skipped when a ping is already queued
  void Close(websocket::close_code code);
  // Closes the socket at once; pending handlers finish silently.
  void Abort();

 private:
  using PlainWs = websocket::stream<beast::tcp_stream>;
  using TlsWs = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

  struct Outgoing {
    enum class Kind { kText, kPing, kClose } kind;
    std::string text;
    websocket::close_code code = websocket::close_code::normal;
  };

  template <class F>
  decltype(auto) Visit(F&& f) {
    return tls_ ? f(*tls_) : f(*plain_);
  }

  void OnDeadline(beast::error_code ec);
  void OnResolve(beast::error_code ec, net::ip::tcp::resolver::results_type results);
  void OnConnect(beast::error_code ec, net::ip::tcp::endpoint endpoint);
  void OnTlsHandshake(beast::error_code ec);
  void DoWsHandshake();
  void OnWsHandshake(beast::error_code ec);
  void DoRead();
  void OnRead(beast::error_code ec, size_t bytes);
  void Enqueue(Outgoing out);
  void DoWrite();
  void OnWrite(beast::error_code ec, size_t bytes);
  void OnClose(beast::error_code ec);
  void Fail(beast::error_code ec, const char* stage, SessionFailure failure = {});
  void CloseSocket();

  Strand strand_;
  Config config_;
  SessionObserver& observer_;
  net::ip::tcp::resolver resolver_;
  net::steady_timer deadline_;  // bounds the whole connect phase
  std::optional<PlainWs> plain_;
  std::optional<TlsWs> tls_;
  websocket::response_type upgrade_response_;
  beast::flat_buffer buffer_;
  std::deque<Outgoing> queue_;
  const char* stage_ = "resolve";
  bool open_ = false;
  bool writing_ = false;
  bool closing_ = false;
  bool done_ = false;  // reported (or aborted): stay silent from now on
  bool timed_out_ = false;
  int queued_pings_ = 0;
};

}  // namespace mpe::stream
