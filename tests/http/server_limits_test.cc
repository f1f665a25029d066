// The web server's limits and deadlines, over loopback with raw sockets: what an attacker
// sends, not what a polite client does. Deadlines are shortened through ServerOptions; every
// bound on elapsed time is generous so that the tests pass on a machine whose cores are busy.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "fakes/http_test_support.h"
#include "fakes/wait.h"
#include "http/server.h"

namespace mpe::http {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Reads until the peer closes or `timeout` passes; what arrived.
std::string ReadUntilClosed(int fd, milliseconds timeout) {
  std::string out;
  const auto deadline = Clock::now() + timeout;
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) break;
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// True when the peer closed (or reset) the connection within `timeout`.
bool ClosedWithin(int fd, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  char buf[4096];
  while (Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (poll(&p, 1, static_cast<int>(std::max<int64_t>(left, 1))) <= 0) continue;
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return true;
  }
  return false;
}

// gzip of `size` zero bytes: about 1,000 times smaller than what it inflates to.
std::string GzipBomb(size_t size) {
  std::string zeros(size, '\0');
  z_stream zs{};
  deflateInit2(&zs, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, static_cast<uLong>(size)), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(zeros.data());
  zs.avail_in = static_cast<uInt>(size);
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// Waits (up to 5 s) for `done`: a counter moves on the server's thread just after the client
// sees the connection close.
bool WaitFor(const std::function<bool()>& done) {
  return fakes::WaitUntil(done, std::chrono::seconds(5), milliseconds(1));
}

class ServerLimitsTest : public ::testing::Test {
 protected:
  void Start(ServerOptions options = {}, const WebConfig* web = nullptr) {
    Handlers h;
    h.metrics = [] { return std::string("mpe_up 1\n"); };
    h.reload = [this] {
      ++reloads_;
      return std::make_pair(true, std::string("reloaded"));
    };
    server_ = std::make_unique<HttpServer>(std::move(h), options);
    auto st = server_->Start("127.0.0.1:0", web);
    ASSERT_TRUE(st.ok()) << st.error().message;
  }

  int Scrape(milliseconds* took = nullptr) {
    const auto t0 = Clock::now();
    httplib::Client c("127.0.0.1", server_->port());
    c.set_connection_timeout(5);
    c.set_read_timeout(5);
    auto res = c.Get("/metrics");
    if (took != nullptr) *took = std::chrono::duration_cast<milliseconds>(Clock::now() - t0);
    return res ? res->status : -1;
  }

  std::atomic<int> reloads_{0};
  std::unique_ptr<HttpServer> server_;
};

TEST_F(ServerLimitsTest, AHeaderOverSixteenKibibytesGets431AndIsNotReadFurther) {
  Start();
  const int fd = Connect(server_->port());
  ASSERT_GE(fd, 0);
  // 20 KiB of header and no end: the server must answer without waiting for the rest.
  ASSERT_TRUE(SendAll(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a')));
  const std::string answer = ReadUntilClosed(fd, milliseconds(5000));
  close(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 431 ", 0), 0u) << answer;
  EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
  EXPECT_EQ(server_->counters().header_too_large, 1u);
  EXPECT_EQ(Scrape(), 200);
  std::string text;
  server_->AppendMetricsText(&text);
  EXPECT_NE(text.find("\nmist_pcap_http_requests_refused_total{code=\"431\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\n# TYPE mist_pcap_http_open_connections gauge\n"), std::string::npos);
}

TEST_F(ServerLimitsTest, ManySmallHeaderLinesCountTowardsTheSameLimit) {
  Start();
  const int fd = Connect(server_->port());
  ASSERT_GE(fd, 0);
  std::string req = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 2000; ++i) req += "X-" + std::to_string(i) + ": y\r\n";
  ASSERT_TRUE(SendAll(fd, req + "\r\n"));
  const std::string answer = ReadUntilClosed(fd, milliseconds(5000));
  close(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 431 ", 0), 0u) << answer.substr(0, 200);
}

TEST_F(ServerLimitsTest, AnAnnouncedBodyOverSixtyFourKibibytesGets413BeforeAnyOfItIsSent) {
  Start();
  const int fd = Connect(server_->port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(fd,
                      "POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n"
                      "Content-Encoding: gzip\r\n\r\n"));
  const std::string answer = ReadUntilClosed(fd, milliseconds(5000));
  close(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 413 ", 0), 0u) << answer;
  EXPECT_EQ(server_->counters().body_too_large, 1u);
  EXPECT_EQ(reloads_.load(), 0);
}

TEST_F(ServerLimitsTest, AChunkedBodyIsCutAtSixtyFourKibibytes) {
  Start();
  const int fd = Connect(server_->port());
  ASSERT_GE(fd, 0);
  std::string req = "POST /-/reload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 20; ++i) req += "1000\r\n" + std::string(4096, 'z') + "\r\n";
  SendAll(fd, req);  // the server may close before all of it is sent
  const std::string answer = ReadUntilClosed(fd, milliseconds(5000));
  close(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 413 ", 0), 0u) << answer;
  EXPECT_EQ(reloads_.load(), 0);
}

TEST_F(ServerLimitsTest, AGzipBodyIsNeverInflated) {
  Start();
  // 64 MiB of zeros in about 64 KiB: accepted as bytes, ignored, never decompressed.
  const std::string bomb = GzipBomb(size_t{64} << 20);
  ASSERT_LT(bomb.size(), 64u * 1024);
  httplib::Client c("127.0.0.1", server_->port());
  httplib::Headers headers{{"Content-Encoding", "gzip"}};
  auto res = c.Post("/-/reload", headers, bomb, "application/octet-stream");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "reloaded\n");
}

TEST_F(ServerLimitsTest, ABodyBehindExpectContinueIsAskedForAndRead) {
  Start();
  const int fd = Connect(server_->port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(fd,
                      "POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n"
                      "Expect: 100-continue\r\nConnection: close\r\n\r\n"));
  char buf[256];
  const ssize_t n = recv(fd, buf, sizeof buf, 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(SendAll(fd, std::string(2000, 'b')));
  const std::string answer = ReadUntilClosed(fd, milliseconds(5000));
  close(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer;
  EXPECT_EQ(reloads_.load(), 1);
}

TEST_F(ServerLimitsTest, ASlowlorisHeaderIsCutAtTheHeaderDeadline) {
  ServerOptions o;
  o.header_timeout = milliseconds(400);
  Start(o);
  const int fd = Connect(server_->port());
  ASSERT_GE(fd, 0);
  const auto t0 = Clock::now();
  // One byte every 50 ms would never end the header; each byte must not extend the deadline.
  const std::string req = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  bool closed = false;
  for (size_t i = 0; i < 200 && !closed; ++i) {
    if (!SendAll(fd, std::string(1, i < req.size() ? req[i] : 'a'))) break;
    closed = ClosedWithin(fd, milliseconds(50));
  }
  const auto took = Clock::now() - t0;
  close(fd);
  EXPECT_TRUE(closed || took < std::chrono::seconds(10));
  EXPECT_GE(took, milliseconds(350));
  EXPECT_LT(took, std::chrono::seconds(5));
  EXPECT_TRUE(WaitFor([&] { return server_->counters().header_timeouts == 1; }));
}

TEST_F(ServerLimitsTest, EightIdleSocketsDoNotDelayAScrape) {
  Start();
  std::vector<int> idle;
  for (int i = 0; i < 64; ++i) idle.push_back(Connect(server_->port()));
  milliseconds took{};
  EXPECT_EQ(Scrape(&took), 200);
  EXPECT_LT(took, milliseconds(1000));
  for (int fd : idle) close(fd);
}

TEST_F(ServerLimitsTest, AtMaxConnectionsTheLongestWaitingConnectionMakesRoom) {
  ServerOptions o;
  o.max_connections = 4;
  Start(o);
  std::vector<int> idle;
  for (int i = 0; i < 4; ++i) {
    idle.push_back(Connect(server_->port()));
    // Accepted in this order (the registry orders by time of accept).
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    while (server_->counters().open < static_cast<uint64_t>(i + 1) && Clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(1));
    }
  }
  EXPECT_EQ(server_->counters().open, 4u);
  EXPECT_EQ(Scrape(), 200);
  EXPECT_TRUE(ClosedWithin(idle[0], milliseconds(5000)));
  EXPECT_FALSE(ClosedWithin(idle[3], milliseconds(100)));
  EXPECT_GE(server_->counters().evicted, 1u);
  for (int fd : idle) close(fd);
}

TEST_F(ServerLimitsTest, AnIdleKeptAliveConnectionIsClosedFirst) {
  ServerOptions o;
  o.max_connections = 3;
  Start(o);
  // A client that made a request and keeps the connection: idle.
  const int kept = Connect(server_->port());
  ASSERT_TRUE(SendAll(kept, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  char buf[512];
  ASSERT_GT(recv(kept, buf, sizeof buf, 0), 0);
  // Two newer connections that have not sent a header yet.
  const int a = Connect(server_->port());
  const int b = Connect(server_->port());
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (server_->counters().open < 3 && Clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  EXPECT_EQ(Scrape(), 200);
  EXPECT_TRUE(ClosedWithin(kept, milliseconds(5000)));
  EXPECT_FALSE(ClosedWithin(a, milliseconds(100)));
  close(kept);
  close(a);
  close(b);
}

TEST_F(ServerLimitsTest, AKeptAliveConnectionIsClosedAfterTheIdleTimeout) {
  ServerOptions o;
  o.idle_timeout = milliseconds(300);
  Start(o);
  const int fd = Connect(server_->port());
  ASSERT_TRUE(SendAll(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  char buf[512];
  ASSERT_GT(recv(fd, buf, sizeof buf, 0), 0);
  const auto t0 = Clock::now();
  EXPECT_TRUE(ClosedWithin(fd, milliseconds(5000)));
  EXPECT_GE(Clock::now() - t0, milliseconds(100));  // not at once (the timer started earlier)
  close(fd);
}

TEST_F(ServerLimitsTest, ATlsHandshakeThatNeverEndsIsCutAtTheHandshakeDeadline) {
  testing::TempDir dir;
  testing::WriteSelfSignedCert(dir.File("server.crt"), dir.File("server.key"));
  testing::WriteFile(dir.File("web.yml"),
                     "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n");
  auto web = LoadWebConfig(dir.File("web.yml"));
  ASSERT_TRUE(web.ok()) << web.error().message;
  ServerOptions o;
  o.handshake_timeout = milliseconds(400);
  Start(o, &*web);
  // One socket that sends nothing, one that starts a ClientHello and stops.
  const int silent = Connect(server_->port());
  const int partial = Connect(server_->port());
  ASSERT_GE(silent, 0);
  ASSERT_GE(partial, 0);
  const auto t0 = Clock::now();
  ASSERT_TRUE(SendAll(partial, std::string("\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03", 11)));
  EXPECT_TRUE(ClosedWithin(silent, milliseconds(5000)));
  EXPECT_TRUE(ClosedWithin(partial, milliseconds(5000)));
  EXPECT_GE(Clock::now() - t0, milliseconds(350));
  close(silent);
  close(partial);
  EXPECT_TRUE(WaitFor([&] { return server_->counters().handshake_timeouts == 2; }))
      << server_->counters().handshake_timeouts;
  // A real client still gets through.
  EXPECT_TRUE(testing::TlsHandshake(server_->port(), 0, 0).ok);
}

// A client that asks for plain text (sent chunked as it is printed) and never reads holds a
// render worker; a second one must not hold the other, or every scrape would wait.
TEST_F(ServerLimitsTest, ClientsThatStopReadingAChunkedScrapeLeaveAWorkerForOthers) {
  std::string big;
  for (int i = 0; big.size() < (32u << 20); ++i)
    big += "mpe_big_total{n=\"" + std::to_string(i) + "\"} 1\n";
  Handlers h;
  h.metrics = [&big] { return big; };
  h.metrics_pieces = [&big](size_t chunk, const std::function<void(std::string*)>& emit) {
    for (size_t at = 0; at < big.size(); at += chunk) {
      std::string piece = big.substr(at, chunk);
      emit(&piece);
    }
  };
  ServerOptions o;
  o.write_timeout = std::chrono::seconds(60);  // longer than the test: only the cap helps
  server_ = std::make_unique<HttpServer>(std::move(h), o);
  ASSERT_TRUE(server_->Start("127.0.0.1:0").ok());
  std::vector<int> stalled;
  for (int i = 0; i < 2; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(server_->port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_TRUE(SendAll(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
    stalled.push_back(fd);
    std::this_thread::sleep_for(milliseconds(200));  // let its render start and stall
  }
  const auto t0 = Clock::now();
  httplib::Client c("127.0.0.1", server_->port());
  c.set_read_timeout(10);
  auto res = c.Get("/metrics", {{"Accept-Encoding", "gzip"}});
  const auto took = Clock::now() - t0;
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_LT(took, std::chrono::seconds(5));
  for (int fd : stalled) close(fd);
  server_->Stop();
}

class ServerAuthLimitsTest : public ServerLimitsTest {
 protected:
  void SetUp() override {
    web_.source = "web.yml";
    web_.basic_auth_users = {{"alice", testing::BcryptHash("s3cret")}};
  }
  WebConfig web_;
};

TEST_F(ServerAuthLimitsTest, WrongCredentialsAreRefusedFromTheHeaderBeforeTheBodyIsRead) {
  Start({}, &web_);
  const int fd = Connect(server_->port());
  ASSERT_GE(fd, 0);
  // The body is announced but never sent: the 401 cannot have waited for it.
  ASSERT_TRUE(SendAll(fd, "POST /-/reload HTTP/1.1\r\nHost: x\r\nAuthorization: " +
                              testing::BasicHeader("alice", "wrong") +
                              "\r\nContent-Length: 1000\r\n\r\n"));
  const std::string answer = ReadUntilClosed(fd, milliseconds(5000));
  close(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 401 ", 0), 0u) << answer;
  EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
  EXPECT_EQ(reloads_.load(), 0);
  EXPECT_EQ(server_->auth_failures(), 1u);
}

TEST_F(ServerAuthLimitsTest, HealthzAnswersWhileBcryptIsBusy) {
  ServerOptions o;
  o.auth_threads = 1;
  Start(o, &web_);
  // 16 clients with wrong passwords keep the bcrypt worker busy.
  std::atomic<bool> stop{false};
  std::vector<std::thread> attackers;
  for (int i = 0; i < 16; ++i) {
    attackers.emplace_back([&, i] {
      httplib::Client c("127.0.0.1", server_->port());
      c.set_basic_auth("alice", "wrong" + std::to_string(i));
      while (!stop.load()) c.Get("/metrics");
    });
  }
  std::this_thread::sleep_for(milliseconds(200));
  std::vector<int64_t> took;
  for (int i = 0; i < 10; ++i) {
    const auto t0 = Clock::now();
    httplib::Client c("127.0.0.1", server_->port());
    auto res = c.Get("/healthz");
    took.push_back(std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count());
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
  }
  stop = true;
  for (auto& t : attackers) t.join();
  std::sort(took.begin(), took.end());
  EXPECT_LT(took[took.size() / 2], 50) << "median /healthz ms under a bcrypt flood";
  EXPECT_GT(server_->auth_failures(), 16u);
}

}  // namespace
}  // namespace mpe::http
