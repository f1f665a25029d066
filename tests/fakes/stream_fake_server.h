#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/result.h"

namespace mpe::fakes {

// A self-signed certificate for CN=localhost, SAN localhost + 127.0.0.1, written into a fresh
// temporary directory by the openssl command line tool. The directory is removed on destruction.
struct TempCert {
  TempCert() = default;
  TempCert(const TempCert&) = delete;
  TempCert& operator=(const TempCert&) = delete;
  ~TempCert();
  std::string dir;
  std::string cert_file;
  std::string key_file;
};
common::Result<std::unique_ptr<TempCert>> MakeSelfSignedCert();

struct FakeStreamServerOptions {
  bool tls = false;
  std::string cert_file;  // PEM, required with tls
  std::string key_file;
};

// A programmable Mist stream endpoint on 127.0.0.1 (port 0), plain WebSocket or TLS. Runs its
// own io thread; every public method is thread-safe. Actions (Send*, Drop*, GoSilent) are applied
// on the server thread before they return. It records upgrade requests, received text messages
// and close codes, and can answer subscribes like Mist (channel_subscribed / subscribe_failed).
class FakeStreamServer {
 public:
  struct Received {
    int connection;  // 1-based, in accept order
    std::string text;
  };

  explicit FakeStreamServer(FakeStreamServerOptions options = {});
  ~FakeStreamServer();
  FakeStreamServer(const FakeStreamServer&) = delete;
  FakeStreamServer& operator=(const FakeStreamServer&) = delete;

  uint16_t port() const { return port_; }
  std::string Url(std::string_view path = "/api-ws/v1/stream") const;

  // 0 accepts upgrades; any other status answers them with that status, the headers and a
  // {"detail":...} body, then closes.
  void RejectUpgrades(int status, std::vector<std::pair<std::string, std::string>> headers = {});
  void SetAutoAck(bool on);  // answer subscribe/unsubscribe like Mist (default on)
  void FailChannel(std::string channel, std::string detail);  // answer its subscribe with failure

  void SendText(std::string text);  // to the newest open connection
  void SendBinary(std::string bytes);
  void DropConnections();  // TCP close without a WebSocket close frame
  void GoSilent();  // open connections stop reading and answering (half-open); sockets stay open

  int upgrade_requests() const;  // upgrade requests seen, accepted or not
  int connections() const;       // upgrades accepted
  int open_connections() const;
  std::vector<std::string> authorization_headers() const;  // one per upgrade request
  std::vector<Received> received() const;
  std::vector<std::string> ReceivedOn(int connection) const;
  std::vector<int> close_codes() const;  // codes of close frames received from clients

 private:
  class Conn;
  template <class Ws>
  class ConnImpl;

  void DoAccept();
  void RunOnServer(std::function<void()> fn);
  std::shared_ptr<Conn> NewestOpen();
  void Unregister(Conn* conn);
  std::string Reply(int connection, std::string_view text);  // "" = no reply

  FakeStreamServerOptions options_;
  boost::asio::io_context ioc_{1};
  std::unique_ptr<boost::asio::ssl::context> tls_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread thread_;

  // server thread only
  std::vector<std::shared_ptr<Conn>> open_;
  std::vector<std::shared_ptr<Conn>> silent_;

  mutable std::mutex mu_;
  int reject_status_ = 0;
  std::vector<std::pair<std::string, std::string>> reject_headers_;
  bool auto_ack_ = true;
  std::map<std::string, std::string> failing_;
  int upgrade_requests_ = 0;
  int connections_ = 0;
  int open_count_ = 0;
  std::vector<std::string> authorization_;
  std::vector<Received> received_;
  std::vector<int> close_codes_;
};

}  // namespace mpe::fakes
