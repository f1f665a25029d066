#pragma once

// A loopback server for failure injection (tests/e2e/fault_matrix_test.cc): plain sockets and
// hand-written HTTP and WebSocket framing, so a test can produce what a well-behaved library
// never sends — a frame cut in half, fragmented messages, close 1011, a silent peer, an upgrade
// answered 429 with Retry-After, a body dripped one byte at a time, a REST call that never
// answers.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace mpe::fakes {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// One scripted answer to a REST request.
struct FaultReply {
  int status = 200;
  HeaderList headers;
  std::string body = "{}";
  // > 0: the body is written one byte per interval (headers at once, with Content-Length).
  std::chrono::milliseconds drip_interval{0};
  bool hang = false;  // never answer; the connection is held until the server stops
};

struct FaultRequest {
  std::string method;
  std::string target;  // path and query as sent
  std::string authorization;
};

// WebSocket frame bytes as a server sends them (unmasked). opcode 1 text, 2 binary,
// 0 continuation, 8 close.
std::string WsFrame(uint8_t opcode, std::string_view payload, bool fin = true);
std::string WsCloseFrame(uint16_t code, std::string_view reason = {});

// Raw-socket HTTP/WebSocket server on 127.0.0.1:<ephemeral>. One thread per connection; public
// methods are thread-safe. WebSocket actions apply to the newest open connection and return
// false when there is none. Subscribes are answered like Mist (channel_subscribed) unless
// FailSubscribes is on; pings are answered with pongs unless the connection went silent.
class FaultServer {
 public:
  using RestHandler = std::function<FaultReply(const FaultRequest&)>;

  FaultServer();
  ~FaultServer();  // Stop()
  FaultServer(const FaultServer&) = delete;
  FaultServer& operator=(const FaultServer&) = delete;

  void Stop();
  int port() const { return port_; }
  std::string http_url() const;
  std::string ws_url() const;  // ws://127.0.0.1:PORT/api-ws/v1/stream

  // Every non-upgrade request goes here (default: 404 {"detail":"not found"}).
  void SetRestHandler(RestHandler handler);
  // The next `count` upgrade requests are answered with `status`, these headers and body and
  // then closed; later ones are accepted.
  void RejectUpgrades(int status, int count, HeaderList headers = {}, std::string body = "");
  // While on, every subscribe is answered {"event":"subscribe_failed",...,"detail":detail}.
  void FailSubscribes(bool on, std::string detail = "");

  bool SendRaw(std::string bytes);
  bool SendText(std::string_view payload) { return SendRaw(WsFrame(1, payload)); }
  // `payload` as one text frame followed by continuation frames, `pieces` frames in all.
  bool SendFragmented(std::string_view payload, int pieces);
  // The frame header and half of the payload, then a TCP close (no close frame).
  bool CutMidFrame(std::string_view payload);
  // A close frame with `code`; the connection ends after the client's reply.
  bool SendClose(uint16_t code, std::string_view reason = {});
  // The newest connection stops answering (no pong, no ack, no data); its socket stays open.
  bool GoSilent();

  int upgrade_requests() const;
  int connections() const;       // upgrades accepted
  int open_connections() const;  // accepted and not yet closed
  int rest_requests() const;
  std::vector<int> close_codes() const;             // close codes received from clients
  std::vector<std::string> subscribes() const;      // channels, in order, over all connections
  std::vector<std::string> authorizations() const;  // Authorization of every request

 private:
  struct Conn;

  void AcceptLoop();
  void Serve(std::shared_ptr<Conn> conn);
  void ServeRest(Conn& conn, const FaultRequest& req);
  void ServeWebSocket(Conn& conn, const std::string& key);
  bool HandleClientText(Conn& conn, const std::string& text);
  std::shared_ptr<Conn> Newest();

  int listen_fd_ = -1;
  int port_ = 0;
  std::thread accept_thread_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<std::shared_ptr<Conn>> conns_;
  std::vector<std::thread> threads_;
  RestHandler rest_;
  int reject_status_ = 0;
  int reject_left_ = 0;
  HeaderList reject_headers_;
  std::string reject_body_;
  bool fail_subscribes_ = false;
  std::string fail_detail_;
  int upgrade_requests_ = 0;
  int connections_ = 0;
  int rest_requests_ = 0;
  std::vector<int> close_codes_;
  std::vector<std::string> subscribes_;
  std::vector<std::string> authorizations_;
};

}  // namespace mpe::fakes
