#include "fakes/faults_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <rapidjson/document.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace mpe::fakes {

struct FaultServer::Conn {
  int fd = -1;
  std::mutex write_mu;
  bool websocket = false;
  std::atomic<bool> open{true};
  std::atomic<bool> silent{false};

  bool Write(std::string_view bytes) {
    std::lock_guard<std::mutex> lock(write_mu);
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }
  bool ReadExact(char* out, size_t n) {
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::recv(fd, out + done, n - done, 0);
      if (r <= 0) return false;
      done += static_cast<size_t>(r);
    }
    return true;
  }
  void Shutdown() { ::shutdown(fd, SHUT_RDWR); }
};

namespace {

constexpr char kWsGuid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  size_t e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

std::string ReasonPhrase(int status) {
  switch (status) {
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    default:
      return "Status";
  }
}

std::string AcceptKey(const std::string& key) {
  std::string in = key + kWsGuid;
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(in.data()), in.size(), digest);
  unsigned char out[64];
  int n = EVP_EncodeBlock(out, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<char*>(out), static_cast<size_t>(n));
}

std::string HttpHead(int status, const HeaderList& headers, size_t content_length) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + ReasonPhrase(status) + "\r\n";
  for (const auto& [k, v] : headers) out += k + ": " + v + "\r\n";
  out += "Content-Type: application/json\r\nContent-Length: " + std::to_string(content_length) +
         "\r\nConnection: close\r\n\r\n";
  return out;
}

}  // namespace

std::string WsFrame(uint8_t opcode, std::string_view payload, bool fin) {
  std::string out;
  out.push_back(static_cast<char>((fin ? 0x80 : 0x00) | (opcode & 0x0f)));
  const uint64_t n = payload.size();
  if (n < 126) {
    out.push_back(static_cast<char>(n));
  } else if (n <= 0xffff) {
    out.push_back(static_cast<char>(126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xff));
  } else {
    out.push_back(static_cast<char>(127));
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(n >> shift));
  }
  out.append(payload);
  return out;
}

std::string WsCloseFrame(uint16_t code, std::string_view reason) {
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xff));
  payload.append(reason);
  return WsFrame(8, payload);
}

FaultServer::FaultServer() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::listen(listen_fd_, 64);
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  rest_ = [](const FaultRequest&) { return FaultReply{404, {}, R"({"detail":"not found"})"}; };
  accept_thread_ = std::thread([this] { AcceptLoop(); });
}

FaultServer::~FaultServer() { Stop(); }

void FaultServer::Stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& c : conns_) c->Shutdown();
  }
  cv_.notify_all();
  ::shutdown(listen_fd_, SHUT_RDWR);
  if (accept_thread_.joinable()) accept_thread_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
  ::close(listen_fd_);
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& c : conns_) ::close(c->fd);
  conns_.clear();
}

std::string FaultServer::http_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
std::string FaultServer::ws_url() const {
  return "ws://127.0.0.1:" + std::to_string(port_) + "/api-ws/v1/stream";
}

void FaultServer::SetRestHandler(RestHandler handler) {
  std::lock_guard<std::mutex> lock(mu_);
  rest_ = std::move(handler);
}

void FaultServer::RejectUpgrades(int status, int count, HeaderList headers, std::string body) {
  std::lock_guard<std::mutex> lock(mu_);
  reject_status_ = status;
  reject_left_ = count;
  reject_headers_ = std::move(headers);
  reject_body_ = std::move(body);
}

void FaultServer::FailSubscribes(bool on, std::string detail) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_subscribes_ = on;
  fail_detail_ = std::move(detail);
}

void FaultServer::AcceptLoop() {
  for (;;) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto conn = std::make_shared<Conn>();
    conn->fd = fd;
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    conns_.push_back(conn);
    threads_.emplace_back([this, conn] { Serve(conn); });
  }
}

void FaultServer::Serve(std::shared_ptr<Conn> conn) {
  std::string head;
  char c;
  while (head.size() < 65536 && !head.ends_with("\r\n\r\n")) {
    if (::recv(conn->fd, &c, 1, 0) != 1) {
      conn->open = false;
      return;
    }
    head.push_back(c);
  }
  FaultRequest req;
  std::map<std::string, std::string> headers;
  size_t line_end = head.find("\r\n");
  std::string request_line = head.substr(0, line_end);
  size_t sp1 = request_line.find(' ');
  size_t sp2 = request_line.rfind(' ');
  if (sp1 != std::string::npos && sp2 > sp1) {
    req.method = request_line.substr(0, sp1);
    req.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  }
  for (size_t pos = line_end + 2; pos < head.size();) {
    size_t end = head.find("\r\n", pos);
    if (end == std::string::npos || end == pos) break;
    std::string line = head.substr(pos, end - pos);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      headers[Lower(Trim(line.substr(0, colon)))] = Trim(line.substr(colon + 1));
    }
    pos = end + 2;
  }
  req.authorization = headers["authorization"];
  {
    std::lock_guard<std::mutex> lock(mu_);
    authorizations_.push_back(req.authorization);
  }
  // Request bodies (POST/PUT) are read and ignored.
  if (auto it = headers.find("content-length"); it != headers.end()) {
    std::string body(static_cast<size_t>(std::strtoul(it->second.c_str(), nullptr, 10)), '\0');
    if (!conn->ReadExact(body.data(), body.size())) return;
  }
  if (Lower(headers["upgrade"]) == "websocket") {
    ServeWebSocket(*conn, headers["sec-websocket-key"]);
  } else {
    ServeRest(*conn, req);
  }
  conn->open = false;
  conn->Shutdown();
}

void FaultServer::ServeRest(Conn& conn, const FaultRequest& req) {
  RestHandler handler;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++rest_requests_;
    handler = rest_;
  }
  FaultReply reply = handler(req);
  if (reply.hang) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return stopping_; });
    return;
  }
  if (!conn.Write(HttpHead(reply.status, reply.headers, reply.body.size()))) return;
  if (reply.drip_interval.count() <= 0) {
    conn.Write(reply.body);
    return;
  }
  for (char b : reply.body) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_for(lock, reply.drip_interval, [this] { return stopping_; })) return;
    }
    if (!conn.Write(std::string_view(&b, 1))) return;
  }
}

void FaultServer::ServeWebSocket(Conn& conn, const std::string& key) {
  int status = 101;
  HeaderList headers;
  std::string body;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++upgrade_requests_;
    if (reject_left_ > 0) {
      --reject_left_;
      status = reject_status_;
      headers = reject_headers_;
      body = reject_body_;
    } else {
      ++connections_;
    }
  }
  if (status != 101) {
    if (conn.Write(HttpHead(status, headers, body.size()))) conn.Write(body);
    return;
  }
  conn.websocket = true;
  if (!conn.Write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Accept: " +
                  AcceptKey(key) + "\r\n\r\n")) {
    return;
  }
  for (;;) {
    unsigned char h[2];
    if (!conn.ReadExact(reinterpret_cast<char*>(h), 2)) return;
    const uint8_t opcode = h[0] & 0x0f;
    uint64_t len = h[1] & 0x7f;
    if (len == 126) {
      unsigned char ext[2];
      if (!conn.ReadExact(reinterpret_cast<char*>(ext), 2)) return;
      len = static_cast<uint64_t>(ext[0]) << 8 | ext[1];
    } else if (len == 127) {
      unsigned char ext[8];
      if (!conn.ReadExact(reinterpret_cast<char*>(ext), 8)) return;
      len = 0;
      for (unsigned char b : ext) len = len << 8 | b;
    }
    if (len > (1u << 24)) return;
    unsigned char mask[4] = {0, 0, 0, 0};
    if ((h[1] & 0x80) != 0 && !conn.ReadExact(reinterpret_cast<char*>(mask), 4)) return;
    std::string payload(static_cast<size_t>(len), '\0');
    if (!conn.ReadExact(payload.data(), payload.size())) return;
    for (size_t i = 0; i < payload.size(); ++i)
      payload[i] = static_cast<char>(payload[i] ^ mask[i % 4]);
    if (conn.silent) {
      if (opcode == 8) return;
      continue;
    }
    if (opcode == 8) {
      int code = payload.size() >= 2 ? (static_cast<unsigned char>(payload[0]) << 8 |
                                        static_cast<unsigned char>(payload[1]))
                                     : 1005;
      {
        std::lock_guard<std::mutex> lock(mu_);
        close_codes_.push_back(code);
      }
      conn.Write(WsFrame(8, payload.substr(0, std::min<size_t>(payload.size(), 2))));
      return;
    }
    if (opcode == 9) {
      conn.Write(WsFrame(10, payload));
    } else if (opcode == 1) {
      if (!HandleClientText(conn, payload)) return;
    }
  }
}

bool FaultServer::HandleClientText(Conn& conn, const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) return true;
  bool subscribe = doc.HasMember("subscribe") && doc["subscribe"].IsString();
  bool unsubscribe = doc.HasMember("unsubscribe") && doc["unsubscribe"].IsString();
  if (!subscribe && !unsubscribe) return true;
  std::string channel = subscribe ? doc["subscribe"].GetString() : doc["unsubscribe"].GetString();
  std::string reply;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (subscribe) subscribes_.push_back(channel);
    if (!subscribe) {
      reply = R"({"event":"channel_unsubscribed","channel":")" + channel + "\"}";
    } else if (fail_subscribes_) {
      reply = R"({"event":"subscribe_failed","channel":")" + channel + R"(","detail":")" +
              fail_detail_ + "\"}";
    } else {
      reply = R"({"event":"channel_subscribed","channel":")" + channel + "\"}";
    }
  }
  return conn.Write(WsFrame(1, reply));
}

std::shared_ptr<FaultServer::Conn> FaultServer::Newest() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = conns_.rbegin(); it != conns_.rend(); ++it) {
    if ((*it)->websocket && (*it)->open && !(*it)->silent) return *it;
  }
  return nullptr;
}

bool FaultServer::SendRaw(std::string bytes) {
  auto conn = Newest();
  return conn != nullptr && conn->Write(bytes);
}

bool FaultServer::SendFragmented(std::string_view payload, int pieces) {
  auto conn = Newest();
  if (conn == nullptr || pieces < 1) return false;
  std::string bytes;
  const size_t step =
      (payload.size() + static_cast<size_t>(pieces) - 1) / static_cast<size_t>(pieces);
  for (int i = 0; i < pieces; ++i) {
    size_t from = std::min(payload.size(), static_cast<size_t>(i) * step);
    size_t n = std::min(step, payload.size() - from);
    bytes += WsFrame(i == 0 ? 1 : 0, payload.substr(from, n), i == pieces - 1);
  }
  return conn->Write(bytes);
}

bool FaultServer::CutMidFrame(std::string_view payload) {
  auto conn = Newest();
  if (conn == nullptr) return false;
  std::string frame = WsFrame(1, payload);
  const size_t header = frame.size() - payload.size();
  bool ok = conn->Write(std::string_view(frame).substr(0, header + payload.size() / 2));
  conn->open = false;
  conn->Shutdown();
  return ok;
}

bool FaultServer::SendClose(uint16_t code, std::string_view reason) {
  auto conn = Newest();
  return conn != nullptr && conn->Write(WsCloseFrame(code, reason));
}

bool FaultServer::GoSilent() {
  auto conn = Newest();
  if (conn == nullptr) return false;
  conn->silent = true;
  return true;
}

int FaultServer::upgrade_requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return upgrade_requests_;
}
int FaultServer::connections() const {
  std::lock_guard<std::mutex> lock(mu_);
  return connections_;
}
int FaultServer::open_connections() const {
  std::lock_guard<std::mutex> lock(mu_);
  int n = 0;
  for (const auto& c : conns_) n += c->websocket && c->open ? 1 : 0;
  return n;
}
int FaultServer::rest_requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rest_requests_;
}
std::vector<int> FaultServer::close_codes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return close_codes_;
}
std::vector<std::string> FaultServer::subscribes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return subscribes_;
}
std::vector<std::string> FaultServer::authorizations() const {
  std::lock_guard<std::mutex> lock(mu_);
  return authorizations_;
}

}  // namespace mpe::fakes
