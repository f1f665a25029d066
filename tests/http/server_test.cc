#include "http/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>

#include "fakes/http_test_support.h"

namespace mpe::http {
namespace {

using testing::BasicHeader;

Handlers TestHandlers(std::atomic<bool>* ready, std::atomic<int>* reloads) {
  Handlers h;
  h.metrics = [] {
    std::string text = "# TYPE mpe_test_total counter\n";
    // Big enough to be worth compressing.
    for (int i = 0; i < 200; ++i) text += "mpe_test_total{n=\"" + std::to_string(i) + "\"} 1\n";
    return text;
  };
  h.ready = [ready] {
    return ready->load() ? std::make_pair(true, std::string("ready"))
                         : std::make_pair(false, std::string("no successful Mist poll yet"));
  };
  h.landing_page = [] { return std::string("<html>landing</html>"); };
  h.reload = [reloads] {
    ++*reloads;
    return std::make_pair(true, std::string("reloaded"));
  };
  return h;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(const WebConfig* web = nullptr) {
    server_ = std::make_unique<HttpServer>(TestHandlers(&ready_, &reloads_));
    auto st = server_->Start("127.0.0.1:0", web);
    ASSERT_TRUE(st.ok()) << st.error().message;
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_decompress(false);
  }

  httplib::Result Get(const std::string& path, const httplib::Headers& headers = {}) {
    return client_->Get(path.c_str(), headers);
  }

  std::atomic<bool> ready_{false};
  std::atomic<int> reloads_{0};
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(HttpServerTest, ServesMetricsHealthAndLandingPage) {
  StartServer();
  EXPECT_GT(server_->port(), 0);
  EXPECT_FALSE(server_->tls());
  auto metrics = Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(metrics->body.rfind("# TYPE mpe_test_total counter\n", 0), 0u);
  EXPECT_FALSE(metrics->has_header("Content-Encoding"));
  auto health = Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok\n");
  auto landing = Get("/");
  ASSERT_TRUE(landing);
  EXPECT_EQ(landing->status, 200);
  EXPECT_EQ(landing->body, "<html>landing</html>");
  EXPECT_EQ(landing->get_header_value("Content-Type"), "text/html; charset=utf-8");
  auto missing = Get("/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST_F(HttpServerTest, ReadyzSays503WithTheReasonUntilReady) {
  StartServer();
  auto before = Get("/readyz");
  ASSERT_TRUE(before);
  EXPECT_EQ(before->status, 503);
  EXPECT_EQ(before->body, "no successful Mist poll yet\n");
  ready_ = true;
  auto after = Get("/readyz");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
  EXPECT_EQ(after->body, "ready\n");
}

TEST_F(HttpServerTest, ReloadIsAPostAndIsNotFoundWithoutAHandler) {
  StartServer();
  auto res = client_->Post("/-/reload");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "reloaded\n");
  EXPECT_EQ(reloads_.load(), 1);

  auto get = Get("/-/reload");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 405);
  EXPECT_EQ(get->get_header_value("Allow"), "POST");
  EXPECT_EQ(reloads_.load(), 1);

  HttpServer bare(Handlers{});
  ASSERT_TRUE(bare.Start("127.0.0.1:0").ok());
  httplib::Client c("127.0.0.1", bare.port());
  auto none = c.Post("/-/reload");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 404);
  auto none_get = c.Get("/-/reload");
  ASSERT_TRUE(none_get);
  EXPECT_EQ(none_get->status, 404);
}

// `curl -X POST .../-/reload` sends neither a body nor Content-Length.
TEST_F(HttpServerTest, ReloadWithoutContentLengthIsAnsweredAtOnce) {
  StartServer();
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server_->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string request = "POST /-/reload HTTP/1.1\r\nHost: localhost\r\n\r\n";
  ASSERT_EQ(send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const auto t0 = std::chrono::steady_clock::now();
  std::string response;
  char buf[512];
  while (response.find("reloaded\n") == std::string::npos) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    response.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  EXPECT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("reloaded\n"), std::string::npos) << response;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  EXPECT_EQ(reloads_.load(), 1);

  // A body, when there is one, is read and ignored; the connection stays usable.
  auto with_body = client_->Post("/-/reload", "{}", "application/json");
  ASSERT_TRUE(with_body);
  EXPECT_EQ(with_body->status, 200);
  auto next = Get("/healthz");
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
  EXPECT_EQ(reloads_.load(), 2);
}

TEST_F(HttpServerTest, FailedReloadAnswers500WithTheErrorText) {
  Handlers h = TestHandlers(&ready_, &reloads_);
  h.reload = [] { return std::make_pair(false, std::string("cfg.yaml:3: sites: must be a list")); };
  HttpServer server(std::move(h));
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  httplib::Client c("127.0.0.1", server.port());
  auto res = c.Post("/-/reload");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  EXPECT_EQ(res->body, "cfg.yaml:3: sites: must be a list\n");
  server.Stop();
}

TEST_F(HttpServerTest, GzipsMetricsOnlyForClientsThatAskForIt) {
  StartServer();
  auto gz = Get("/metrics", {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(gz);
  EXPECT_EQ(gz->status, 200);
  EXPECT_EQ(gz->get_header_value("Content-Encoding"), "gzip");
  ASSERT_GE(gz->body.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(gz->body[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>(gz->body[1]), 0x8b);

  httplib::Client decompressing("127.0.0.1", server_->port());
  auto plain = Get("/metrics");
  auto roundtrip = decompressing.Get("/metrics", {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(plain);
  ASSERT_TRUE(roundtrip);
  EXPECT_EQ(roundtrip->body, plain->body);
}

TEST_F(HttpServerTest, MetricsHonourGzipQValuesAndSayTheyVary) {
  StartServer();
  auto refused = Get("/metrics", {{"Accept-Encoding", "gzip;q=0, identity"}});
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 200);
  EXPECT_FALSE(refused->has_header("Content-Encoding"));
  EXPECT_EQ(refused->get_header_value("Vary"), "Accept-Encoding");
  EXPECT_EQ(refused->body.substr(0, 30), "# TYPE mpe_test_total counter\n");
  EXPECT_EQ(refused->get_header_value("Content-Length"), std::to_string(refused->body.size()));

  auto gz = Get("/metrics", {{"Accept-Encoding", "br;q=1, gzip;q=0.5"}});
  ASSERT_TRUE(gz);
  EXPECT_EQ(gz->get_header_value("Content-Encoding"), "gzip");  // never br
  EXPECT_EQ(gz->get_header_value("Vary"), "Accept-Encoding");
  EXPECT_EQ(gz->get_header_value("Content-Length"), std::to_string(gz->body.size()));
  EXPECT_LT(gz->body.size(), refused->body.size());
}

TEST_F(HttpServerTest, LargeMetricsBodiesArriveWholeInBothEncodings) {
  // 8 MB, written from the handler's buffer in many socket writes.
  std::string big;
  for (int i = 0; big.size() < (8u << 20); ++i)
    big += "mpe_big_total{n=\"" + std::to_string(i) + "\"} " + std::to_string(i % 13) + "\n";
  Handlers h;
  h.metrics = [&big] { return big; };
  HttpServer server(std::move(h));
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  httplib::Client plain_client("127.0.0.1", server.port());
  plain_client.set_decompress(false);
  auto plain = plain_client.Get("/metrics");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 200);
  EXPECT_TRUE(plain->body == big) << "plain body differs, " << plain->body.size() << " bytes";
  httplib::Client gunzipping("127.0.0.1", server.port());
  auto gz = gunzipping.Get("/metrics", {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(gz);
  EXPECT_EQ(gz->get_header_value("Content-Encoding"), "gzip");
  EXPECT_LT(std::stoul(gz->get_header_value("Content-Length")), big.size() / 5);
  EXPECT_TRUE(gz->body == big) << "gunzipped body differs, " << gz->body.size() << " bytes";
  server.Stop();
}

TEST_F(HttpServerTest, PiecedMetricsAreSentChunkedOrGzippedPieceByPiece) {
  std::string big;
  for (int i = 0; big.size() < (5u << 20); ++i)
    big += "mpe_big_total{n=\"" + std::to_string(i) + "\"} " + std::to_string(i % 13) + "\n";
  Handlers h;
  std::atomic<int> pieced{0};  // bumped on a render worker, read here after the reply
  h.metrics = [&big] { return big; };
  h.metrics_pieces = [&big, &pieced](size_t chunk, const std::function<void(std::string*)>& emit) {
    ++pieced;
    for (size_t at = 0; at < big.size(); at += chunk) {
      std::string piece = big.substr(at, chunk);
      emit(&piece);
    }
  };
  HttpServer server(std::move(h));
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());

  httplib::Client plain_client("127.0.0.1", server.port());
  plain_client.set_decompress(false);  // sends no Accept-Encoding
  auto plain = plain_client.Get("/metrics");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 200);
  EXPECT_EQ(plain->get_header_value("Transfer-Encoding"), "chunked");
  EXPECT_FALSE(plain->has_header("Content-Encoding"));
  EXPECT_TRUE(plain->body == big) << "plain body differs, " << plain->body.size() << " bytes";
  EXPECT_EQ(pieced.load(), 1);

  httplib::Client gunzipping("127.0.0.1", server.port());
  auto gz = gunzipping.Get("/metrics", {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(gz);
  EXPECT_EQ(gz->get_header_value("Content-Encoding"), "gzip");
  EXPECT_LT(std::stoul(gz->get_header_value("Content-Length")), big.size() / 5);
  EXPECT_TRUE(gz->body == big) << "gunzipped body differs, " << gz->body.size() << " bytes";
  EXPECT_EQ(pieced.load(), 2);

  // A client that names codings but refuses gzip gets the whole body with a length.
  auto identity = plain_client.Get("/metrics", {{"Accept-Encoding", "gzip;q=0, identity"}});
  ASSERT_TRUE(identity);
  EXPECT_FALSE(identity->has_header("Content-Encoding"));
  EXPECT_EQ(identity->get_header_value("Content-Length"), std::to_string(big.size()));
  EXPECT_TRUE(identity->body == big);
  EXPECT_EQ(pieced.load(), 2);
  server.Stop();
}

TEST_F(HttpServerTest, AnEmptyMetricsBodyIsAnEmpty200) {
  HttpServer server(Handlers{});
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  httplib::Client c("127.0.0.1", server.port());
  for (const char* enc : {"identity", "gzip"}) {
    auto res = c.Get("/metrics", {{"Accept-Encoding", enc}});
    ASSERT_TRUE(res) << enc;
    EXPECT_EQ(res->status, 200) << enc;
    EXPECT_EQ(res->body, "") << enc;
  }
  server.Stop();
}

TEST_F(HttpServerTest, StartsAgainAfterStop) {
  StartServer();
  server_->Stop();
  ASSERT_TRUE(server_->Start("127.0.0.1:0").ok());
  httplib::Client c("127.0.0.1", server_->port());
  auto res = c.Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST_F(HttpServerTest, RefusesASecondStartAndABusyPort) {
  StartServer();
  auto again = server_->Start("127.0.0.1:0");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().message, "http server already started");

  HttpServer other(Handlers{});
  const std::string address = "127.0.0.1:" + std::to_string(server_->port());
  auto busy = other.Start(address);
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.error().message, "cannot listen on " + address + ": Address already in use");
  EXPECT_EQ(other.port(), 0);
}

TEST_F(HttpServerTest, RefusesABadListenAddress) {
  HttpServer server(Handlers{});
  auto st = server.Start("127.0.0.1");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "invalid listen address \"127.0.0.1\" (want HOST:PORT)");
}

class BasicAuthServerTest : public HttpServerTest {
 protected:
  void SetUp() override {
    web_.source = "web.yml";
    web_.basic_auth_users = {{"alice", testing::BcryptHash("s3cret")}};
    StartServer(&web_);
  }
  WebConfig web_;
};

TEST_F(BasicAuthServerTest, ChallengesRequestsWithoutCredentials) {
  auto res = Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(res->get_header_value("WWW-Authenticate"), "Basic realm=\"mist_pcap_exporter\"");
  EXPECT_EQ(server_->auth_failures(), 1u);
}

TEST_F(BasicAuthServerTest, ServesWithTheRightPassword) {
  auto res = Get("/metrics", {{"Authorization", BasicHeader("alice", "s3cret")}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body.rfind("# TYPE mpe_test_total counter\n", 0), 0u);
  client_->set_basic_auth("alice", "s3cret");
  auto landing = Get("/");
  ASSERT_TRUE(landing);
  EXPECT_EQ(landing->status, 200);
  EXPECT_EQ(server_->auth_failures(), 0u);
}

TEST_F(BasicAuthServerTest, RejectsAWrongPasswordAndAnUnknownUser) {
  auto wrong = Get("/metrics", {{"Authorization", BasicHeader("alice", "s3cret2")}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(wrong->get_header_value("WWW-Authenticate"), "Basic realm=\"mist_pcap_exporter\"");
  auto unknown = Get("/metrics", {{"Authorization", BasicHeader("mallory", "s3cret")}});
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 401);
  EXPECT_EQ(server_->auth_failures(), 2u);
}

TEST_F(BasicAuthServerTest, ProtectsEveryEndpointButHealthz) {
  auto health = Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  for (const char* path : {"/", "/readyz", "/metrics", "/nope"}) {
    auto res = Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 401) << path;
  }
  auto reload = client_->Post("/-/reload");
  ASSERT_TRUE(reload);
  EXPECT_EQ(reload->status, 401);
  EXPECT_EQ(reloads_.load(), 0);
  EXPECT_EQ(server_->auth_failures(), 5u);
}

TEST(ParseListenAddressTest, AcceptsTheUsualForms) {
  auto a = ParseListenAddress(":10052");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "0.0.0.0");
  EXPECT_EQ(a->port, 10052);
  auto b = ParseListenAddress("127.0.0.1:0");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "127.0.0.1");
  EXPECT_EQ(b->port, 0);
  auto c = ParseListenAddress("[::1]:9000");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->port, 9000);
  auto d = ParseListenAddress("localhost:65535");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->host, "localhost");
  EXPECT_EQ(d->port, 65535);
}

TEST(ParseListenAddressTest, RejectsMalformedAddressesWithAReason) {
  auto message = [](const std::string& a) {
    auto r = ParseListenAddress(a);
    return r.ok() ? std::string("(accepted)") : r.error().message;
  };
  EXPECT_EQ(message(""), "invalid listen address \"\" (want HOST:PORT)");
  EXPECT_EQ(message("10052"), "invalid listen address \"10052\" (want HOST:PORT)");
  EXPECT_EQ(message(":"), "invalid port in listen address \":\" (want 0..65535)");
  EXPECT_EQ(message(":65536"), "invalid port in listen address \":65536\" (want 0..65535)");
  EXPECT_EQ(message(":-1"), "invalid port in listen address \":-1\" (want 0..65535)");
  EXPECT_EQ(message(":+80"), "invalid port in listen address \":+80\" (want 0..65535)");
  EXPECT_EQ(message(":80x"), "invalid port in listen address \":80x\" (want 0..65535)");
  EXPECT_EQ(message("::1:9000"),
            "invalid listen address \"::1:9000\" (write IPv6 hosts in brackets: [::1]:PORT)");
  EXPECT_EQ(message("[::1]"), "invalid listen address \"[::1]\" (want [IPv6]:PORT)");
  EXPECT_EQ(message("[]:80"), "invalid listen address \"[]:80\" (brackets need an IPv6 address)");
  EXPECT_EQ(message("my host:80"), "invalid host in listen address \"my host:80\"");
}

}  // namespace
}  // namespace mpe::http
