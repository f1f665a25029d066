#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "stream/stream_url.h"
#include "stream/ws_frames.h"

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
  // Bytes arrived (once per socket read), or a ping, pong or close frame.
  virtual void OnSessionActivity(WsSession* s) = 0;
  virtual void OnSessionFailed(WsSession* s, const SessionFailure& failure) = 0;
  virtual void OnSessionClosed(WsSession* s, beast::error_code ec) = 0;  // after Close()
};

// One connection attempt and, if it succeeds, one WebSocket connection (ws or wss). Kept alive by
// the handlers it has in flight (shared_from_this); everything runs on the owner's strand, so no
// locking. The upgrade is plain HTTP/1.1 through Beast's http parser; after it, frames are read
// by FrameReader (see ws_frames.h for why not Beast's websocket::stream). Writes (text, ping,
// pong, close) go through a one-at-a-time queue. Reports at most one of OnSessionFailed /
// OnSessionClosed, and nothing after Abort(). Logs its own failures once, with the stage and the
// redacted url.
class WsSession : public std::enable_shared_from_this<WsSession>, private FrameReader::Handler {
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
  using PlainSocket = net::ip::tcp::socket;
  using TlsSocket = net::ssl::stream<net::ip::tcp::socket>;

  struct Outgoing {
    enum class Kind { kText, kPing, kPong, kClose } kind;
    std::string wire;  // the whole masked frame
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
  void OnUpgradeWritten(beast::error_code ec, size_t bytes);
  void OnUpgradeRead(beast::error_code ec, size_t bytes);
  void DoRead();
  void OnRead(beast::error_code ec, size_t bytes);
  bool ParseFrames();
  bool OnMessage(char* data, size_t len, bool is_text) override;
  bool OnControl(Opcode op, std::string_view payload) override;
  void Enqueue(Outgoing::Kind kind, std::string_view payload);
  void DoWrite();
  void OnWrite(beast::error_code ec, size_t bytes);
  void Fail(beast::error_code ec, const char* stage, SessionFailure failure = {});
  void CloseSocket();
  net::ip::tcp::socket& Socket() { return tls_ ? tls_->next_layer() : *plain_; }

  Strand strand_;
  Config config_;
  SessionObserver& observer_;
  net::ip::tcp::resolver resolver_;
  net::steady_timer deadline_;  // bounds the whole connect phase
  std::optional<PlainSocket> plain_;
  std::optional<TlsSocket> tls_;
  std::string upgrade_key_;  // Sec-WebSocket-Key sent
  std::optional<beast::http::request<beast::http::empty_body>> upgrade_request_;
  std::optional<beast::http::response_parser<beast::http::empty_body>> upgrade_parser_;
  beast::flat_buffer upgrade_buffer_;
  FrameReader reader_;
  std::mt19937 mask_rng_;
  std::deque<Outgoing> queue_;
  std::string server_close_;  // "code N reason" of a close frame the server sent first
  const char* stage_ = "resolve";
  bool open_ = false;
  bool writing_ = false;
  bool closing_ = false;        // we sent (or queued) a close frame
  bool server_closed_ = false;  // the server closed first; failing once our reply is out
  bool done_ = false;           // reported (or aborted): stay silent from now on
  bool timed_out_ = false;
  int queued_pings_ = 0;
};

}  // namespace mpe::stream
