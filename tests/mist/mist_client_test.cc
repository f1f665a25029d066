#include "mist/mist_client.h"

#include <gtest/gtest.h>

#include <future>
#include <memory>

#include "fakes/mist_fake_server.h"
#include "fakes/mist_metrics_probe.h"

namespace mpe::mist {
namespace {

using fakes::LabelMap;
using fakes::MistFakeServer;
using Reply = MistFakeServer::Reply;

constexpr char kToken[] = "tok-SECRET-5f2c9a7e1d";
constexpr char kStatusPath[] = "/api/v1/sites/s1/pcaps/capture";
constexpr char kListPath[] = "/api/v1/sites/s1/pcaps";

constexpr char kRunning[] = R"({"id": "cap-1", "type": "radiotap", "format": "stream",
  "started_time": 1764150000, "duration": 600, "max_num_packets": 1024, "num_packets": 12,
  "max_pkt_len": 128, "aps": ["5c5b350e001c", "5c5b350e001d"], "ok": ["5c5b350e001c"],
  "failed": ["5c5b350e001d"]})";
constexpr char kStarted[] = R"({"id": "cap-1", "org_id": "o1", "site_id": "s1",
  "type": "radiotap", "timestamp": 1764150000.25, "expiry": 1764150600.25, "duration": 600,
  "ap_count": 2, "aps": ["5c5b350e001c", "5c5b350e001d"], "include_mcast": false,
  "format": "stream", "enabled": true})";

Reply Status(int status, std::string body,
             std::vector<std::pair<std::string, std::string>> headers = {}) {
  Reply r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

class MistClientTest : public ::testing::Test {
 protected:
  MistClientTest() : metrics_(registry_) {
    config_.api_url = server_.base_url();
    config_.timeout = std::chrono::seconds(5);
    config_.max_requests_per_hour = 100;
  }

  MistClient& Client() {
    if (!client_) {
      client_ =
          std::make_unique<MistClient>(config_, kToken, &metrics_, common::SystemClock::Instance());
    }
    return *client_;
  }

  std::optional<double> Requests(const std::string& endpoint, const std::string& code) {
    return fakes::Value(registry_, "mist_pcap_api_requests_total",
                        LabelMap{{"endpoint", endpoint}, {"code", code}});
  }

  MistFakeServer server_;
  prometheus::Registry registry_;
  ApiMetrics metrics_;
  config::MistConfig config_;
  std::unique_ptr<MistClient> client_;
};

TEST_F(MistClientTest, ReadsARunningCaptureAndSendsTheTokenHeader) {
  server_.SetJson("GET", kStatusPath, kRunning);
  auto s = Client().GetCaptureStatus("s1");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_TRUE(s->running);
  EXPECT_EQ(s->id, "cap-1");
  EXPECT_EQ(s->requested_aps.size(), 2u);
  EXPECT_EQ(s->failed_aps, (std::vector<std::string>{"5c5b350e001d"}));
  auto requests = server_.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].authorization, std::string("Token ") + kToken);
  EXPECT_EQ(Requests("capture_status", "200"), 1);
  EXPECT_EQ(fakes::Value(registry_, "mist_pcap_api_request_duration_seconds",
                         LabelMap{{"endpoint", "capture_status"}}),
            1);
}

TEST_F(MistClientTest, Treats404AndEmptyBodiesAsNoCapture) {
  server_.Set("GET", kStatusPath, Status(404, R"({"detail": "no capture"})"));
  auto s = Client().GetCaptureStatus("s1");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_FALSE(s->running);
  EXPECT_EQ(Requests("capture_status", "404"), 1);

  server_.SetJson("GET", kStatusPath, R"({"enabled": false, "id": "x"})");
  auto s2 = Client().GetCaptureStatus("s1");
  ASSERT_TRUE(s2.ok());
  EXPECT_FALSE(s2->running);
}

TEST_F(MistClientTest, FollowsNextLinksAcrossThreePages) {
  server_.SetJson("GET", kListPath,
                  R"({"results": [{"id": "a", "type": "radiotap", "timestamp": 100}],
                      "next": "/api/v1/sites/s1/pcaps?duration=1d&limit=100&page=2"})");
  server_.SetJson("GET", kListPath,
                  R"({"results": [{"id": "b", "type": "wired", "timestamp": 200}],
                      "next": "/api/v1/sites/s1/pcaps?duration=1d&limit=100&page=3"})",
                  {{"page", "2"}});
  server_.SetJson("GET", kListPath,
                  R"({"results": [{"id": "c", "type": "radiotap", "timestamp": 300}]})",
                  {{"page", "3"}});
  ListQuery q;
  q.duration = std::chrono::hours(24);
  auto list = Client().ListCaptures("s1", q);
  ASSERT_TRUE(list.ok()) << list.error().message;
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].id, "a");
  EXPECT_EQ((*list)[1].id, "b");
  EXPECT_EQ((*list)[2].id, "c");
  EXPECT_EQ(server_.Count(kListPath), 3);
  auto first = server_.Requests()[0];
  EXPECT_EQ(first.params["duration"], "1d");
  EXPECT_EQ(first.params["limit"], "100");
  EXPECT_EQ(first.params.count("page"), 0u);
  EXPECT_EQ(Requests("capture_list", "200"), 3);
}

TEST_F(MistClientTest, StopsWhenTheNextLinkRepeats) {
  server_.SetJson("GET", kListPath,
                  R"({"results": [{"id": "a"}], "next": "/api/v1/sites/s1/pcaps?page=2"})");
  server_.SetJson("GET", kListPath,
                  R"({"results": [{"id": "b"}], "next": "/api/v1/sites/s1/pcaps?page=2"})",
                  {{"page", "2"}});
  auto list = Client().ListCaptures("s1", ListQuery{});
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.error().code, kErrorPaging);
  EXPECT_NE(list.error().message.find("repeats"), std::string::npos);
  EXPECT_EQ(server_.Count(kListPath), 2);
}

TEST_F(MistClientTest, RefusesANextLinkToAnotherHost) {
  server_.SetJson("GET", kListPath,
                  R"({"results": [], "next": "https://evil.example/api/v1/sites/s1/pcaps"})");
  auto list = Client().ListCaptures("s1", ListQuery{});
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.error().code, kErrorPaging);
  EXPECT_EQ(server_.Total(), 1);
}

TEST_F(MistClientTest, PagesOrgSitesByXPageHeaders) {
  const std::string path = "/api/v1/orgs/o1/sites";
  auto page = [](const std::string& body, const std::string& n) {
    return Status(200, body, {{"X-Page-Limit", "2"}, {"X-Page-Page", n}, {"X-Page-Total", "5"}});
  };
  server_.Set("GET", path, page(R"([{"id": "s1", "name": "A"}, {"id": "s2", "name": "B"}])", "1"),
              {{"page", "1"}});
  server_.Set("GET", path, page(R"([{"id": "s3", "name": "C"}, {"id": "s4", "name": "D"}])", "2"),
              {{"page", "2"}});
  server_.Set("GET", path, page(R"([{"id": "s5", "name": "E"}])", "3"), {{"page", "3"}});
  auto sites = Client().ListOrgSites("o1");
  ASSERT_TRUE(sites.ok()) << sites.error().message;
  ASSERT_EQ(sites->size(), 5u);
  EXPECT_EQ((*sites)[4].id, "s5");
  EXPECT_EQ((*sites)[4].name, "E");
  EXPECT_EQ(server_.Count(path), 3);
  EXPECT_EQ(Requests("org_sites", "200"), 3);
}

TEST_F(MistClientTest, ReadsSelfPrivileges) {
  server_.SetJson("GET", "/api/v1/self",
                  R"({"email": "x@y", "privileges": [{"scope": "org", "org_id": "o1",
                      "role": "admin", "name": "Demo Org"}]})");
  auto self = Client().GetSelf();
  ASSERT_TRUE(self.ok());
  ASSERT_EQ(self->privileges.size(), 1u);
  EXPECT_EQ(self->privileges[0].org_id, "o1");
  EXPECT_EQ(Requests("self", "200"), 1);
}

TEST_F(MistClientTest, ErrorsCarryEndpointSiteAndDetailButNeverTheToken) {
  fakes::LogCapture log;
  const struct {
    int status;
    const char* detail;
  } cases[] = {
      {401, "Invalid token."}, {403, "You do not have permission"}, {500, "internal hiccup"}};
  for (const auto& c : cases) {
    // A hostile server echoing the token must not get it into our messages either.
    server_.Set(
        "GET", kStatusPath,
        Status(c.status, std::string(R"({"detail": ")") + c.detail + " " + kToken + R"("})"));
    auto s = Client().GetCaptureStatus("s1");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, c.status);
    const std::string& m = s.error().message;
    EXPECT_NE(m.find("capture_status"), std::string::npos) << m;
    EXPECT_NE(m.find("site=s1"), std::string::npos) << m;
    EXPECT_NE(m.find(c.detail), std::string::npos) << m;
    EXPECT_NE(m.find("HTTP " + std::to_string(c.status)), std::string::npos) << m;
    EXPECT_EQ(m.find(kToken), std::string::npos) << m;
    EXPECT_EQ(s.retry_after(), -1);
    EXPECT_EQ(Requests("capture_status", std::to_string(c.status)), 1);
  }
  std::string text = log.Text();
  EXPECT_EQ(text.find(kToken), std::string::npos);
  EXPECT_NE(text.find("endpoint=capture_status path=/api/v1/sites/s1/pcaps/capture status=401"),
            std::string::npos)
      << text;
}

TEST_F(MistClientTest, Reports429WithAndWithoutRetryAfter) {
  server_.Set(
      "GET", kStatusPath,
      std::vector<Reply>{Status(429, R"({"detail":"Too Many Requests"})", {{"Retry-After", "7"}}),
                         Status(429, R"({"detail":"Too Many Requests"})")});
  auto first = Client().GetCaptureStatus("s1");
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, 429);
  EXPECT_EQ(first.retry_after(), 7);
  EXPECT_NE(first.error().message.find("Too Many Requests"), std::string::npos);
  auto second = Client().GetCaptureStatus("s1");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, 429);
  EXPECT_EQ(second.retry_after(), -1);
  EXPECT_EQ(fakes::Value(registry_, "mist_pcap_api_rate_limited_total", {}), 2);
  EXPECT_EQ(Requests("capture_status", "429"), 2);
}

TEST_F(MistClientTest, StopsSendingWhenTheBudgetIsExhausted) {
  config_.max_requests_per_hour = 3;
  server_.SetJson("GET", kStatusPath, "{}");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Client().GetCaptureStatus("s1").ok());
  auto refused = Client().GetCaptureStatus("s1");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, kErrorBudgetExhausted);
  EXPECT_GT(refused.retry_after(), 3500);
  EXPECT_LE(refused.retry_after(), 3600);
  EXPECT_NE(refused.error().message.find("budget exhausted"), std::string::npos);
  EXPECT_EQ(server_.Total(), 3);
  EXPECT_EQ(Requests("capture_status", "200"), 3);
}

TEST_F(MistClientTest, ReportsInvalidJsonAsABadResponse) {
  server_.SetJson("GET", kStatusPath, "{\"id\": ");
  auto s = Client().GetCaptureStatus("s1");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, kErrorBadResponse);
  EXPECT_NE(s.error().message.find("invalid JSON"), std::string::npos);
}

TEST_F(MistClientTest, CountsTransportFailuresAsError) {
  config_.api_url = "http://127.0.0.1:1";  // nothing listens on port 1
  auto s = Client().GetCaptureStatus("s1");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, kErrorNoResponse);
  EXPECT_NE(s.error().message.find("no response"), std::string::npos);
  EXPECT_EQ(Requests("capture_status", "error"), 1);
}

TEST_F(MistClientTest, TimesOutOnAHungServer) {
  config_.timeout = std::chrono::milliseconds(300);
  Reply hang = Status(200, "{}");
  hang.hang = true;
  server_.Set("GET", kStatusPath, hang);
  auto started = std::chrono::steady_clock::now();
  auto s = Client().GetCaptureStatus("s1");
  auto took = std::chrono::steady_clock::now() - started;
  server_.ReleaseHangs();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, kErrorNoResponse);
  EXPECT_LT(took, std::chrono::seconds(2));
  EXPECT_EQ(Requests("capture_status", "error"), 1);
}

TEST_F(MistClientTest, CancelInterruptsAHungRequestAndLaterCalls) {
  Reply hang = Status(200, "{}");
  hang.hang = true;
  server_.Set("GET", kStatusPath, hang);
  CancelToken cancel;
  auto pending =
      std::async(std::launch::async, [&] { return Client().GetCaptureStatus("s1", &cancel); });
  ASSERT_TRUE(fakes::WaitFor([&] { return server_.Hanging() == 1; }));
  auto started = std::chrono::steady_clock::now();
  cancel.Cancel();
  ASSERT_EQ(pending.wait_for(std::chrono::seconds(1)), std::future_status::ready);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1));
  auto s = pending.get();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, kErrorCancelled);
  server_.ReleaseHangs();

  auto later = Client().GetCaptureStatus("s1", &cancel);
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.error().code, kErrorCancelled);
  EXPECT_EQ(server_.Count(kStatusPath), 1);
}

TEST_F(MistClientTest, StartsStopsAndAnnotatesCaptures) {
  server_.SetJson("POST", kStatusPath, kStarted);
  server_.SetJson("DELETE", kStatusPath, "{}");
  server_.SetJson("PUT", "/api/v1/sites/s1/pcaps/cap-1", R"({"id": "cap-1"})");
  const std::string body = R"({"type":"radiotap","duration":600})";
  auto started = Client().StartCapture("s1", body);
  ASSERT_TRUE(started.ok()) << started.error().message;
  EXPECT_EQ(started->id, "cap-1");
  EXPECT_DOUBLE_EQ(started->timestamp, 1764150000.25);
  EXPECT_EQ(started->ap_count, 2);
  ASSERT_TRUE(Client().StopCapture("s1").ok());
  ASSERT_TRUE(Client().AnnotateCapture("s1", "cap-1", "say \"hi\"").ok());
  auto requests = server_.Requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].body, body);
  EXPECT_EQ(requests[1].method, "DELETE");
  EXPECT_EQ(requests[2].method, "PUT");
  EXPECT_EQ(requests[2].body, R"({"notes":"say \"hi\""})");
  EXPECT_EQ(Requests("capture_start", "200"), 1);
  EXPECT_EQ(Requests("capture_stop", "200"), 1);
  EXPECT_EQ(Requests("capture_annotate", "200"), 1);
}

TEST_F(MistClientTest, StartReportsAnAlreadyRunningCapture) {
  server_.Set("POST", kStatusPath, Status(400, R"({"detail":"a capture is already running"})"));
  auto started = Client().StartCapture("s1", "{}");
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, 400);
  EXPECT_NE(started.error().message.find("a capture is already running"), std::string::npos);
  EXPECT_NE(started.error().message.find("capture_start"), std::string::npos);
}

TEST_F(MistClientTest, RejectsAnUnusableApiUrl) {
  config_.api_url = "ftp://x";
  auto s = Client().GetSelf();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, kErrorConfig);
  EXPECT_EQ(server_.Total(), 0);
}

TEST_F(MistClientTest, ReadsApiUsage) {
  server_.SetJson("GET", "/api/v1/self/usage", R"({"request_limit": 5000, "requests": 4321})");
  auto u = Client().GetApiUsage();
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(u->requests, 4321);
  EXPECT_EQ(u->request_limit, 5000);
  EXPECT_EQ(Requests("self_usage", "200"), 1);
  EXPECT_EQ(server_.Requests()[0].authorization, std::string("Token ") + kToken);
}

TEST_F(MistClientTest, RefusesAnswersLargerThan32MiBAndCountsThem) {
  // 33 MiB of a valid JSON string: refused before it is held, counted as too_large.
  std::string huge = "{\"detail\": \"" + std::string(33u << 20, 'x') + "\"}";
  server_.SetJson("GET", kStatusPath, huge);
  auto s = Client().GetCaptureStatus("s1");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, kErrorTooLarge);
  EXPECT_NE(s.error().message.find("larger than 32 MiB"), std::string::npos) << s.error().message;
  EXPECT_EQ(Requests("capture_status", "too_large"), 1);
  EXPECT_EQ(Requests("capture_status", "200"), std::nullopt);
}

TEST_F(MistClientTest, EscapesControlCharactersInMistsDetail) {
  server_.Set("POST", kStatusPath,
              Status(400, "{\"detail\": \"bad\\nINFO forged line \\u001b[31mred\"}"));
  auto started = Client().StartCapture("s1", "{}");
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().message.find('\n'), std::string::npos);
  EXPECT_EQ(started.error().message.find('\x1b'), std::string::npos);
  EXPECT_NE(started.error().message.find("bad\\nINFO forged line \\x1b[31mred"), std::string::npos)
      << started.error().message;
}

TEST_F(MistClientTest, DownloadSendsTheTokenOnlyToTheMistOrigin) {
  const std::string file = std::string("\xd4\xc3\xb2\xa1", 4) + std::string(20, '\0');
  server_.Set("GET", "/files/a.pcap", Status(200, file));
  // Same server, but "localhost" is another origin than mist.api_url's 127.0.0.1.
  const std::string foreign = "http://localhost:" + std::to_string(server_.port());
  auto got = Client().DownloadCaptureFile("s1", foreign + "/files/a.pcap?sig=1");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(*got, file);
  // Relative to the API, and absolute on the API origin: with the token.
  ASSERT_TRUE(Client().DownloadCaptureFile("s1", "/files/a.pcap").ok());
  ASSERT_TRUE(Client().DownloadCaptureFile("s1", server_.base_url() + "/files/a.pcap").ok());
  auto requests = server_.Requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].authorization, "");
  EXPECT_EQ(requests[1].authorization, std::string("Token ") + kToken);
  EXPECT_EQ(requests[2].authorization, std::string("Token ") + kToken);
  EXPECT_EQ(Requests("capture_download", "200"), 3);
}

TEST_F(MistClientTest, DownloadRedirectToAnotherOriginDropsTheToken) {
  const std::string foreign = "http://localhost:" + std::to_string(server_.port());
  server_.Set("GET", "/api/v1/sites/s1/pcaps/x/file",
              Status(302, "", {{"Location", foreign + "/store/x.pcap?sig=2"}}));
  server_.Set("GET", "/store/x.pcap", Status(200, "pcap-bytes"));
  auto got = Client().DownloadCaptureFile("s1", "/api/v1/sites/s1/pcaps/x/file");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(*got, "pcap-bytes");
  auto requests = server_.Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].authorization, std::string("Token ") + kToken);
  EXPECT_EQ(requests[1].path, "/store/x.pcap");
  EXPECT_EQ(requests[1].authorization, "");
}

TEST_F(MistClientTest, DownloadReportsHttpErrors) {
  server_.Set("GET", "/files/gone.pcap", Status(404, R"({"detail": "expired"})"));
  auto got = Client().DownloadCaptureFile("s1", "/files/gone.pcap");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, 404);
  EXPECT_NE(got.error().message.find("HTTP 404: expired"), std::string::npos);
  auto bad = Client().DownloadCaptureFile("s1", "ftp://elsewhere/x");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.find(kToken), std::string::npos);
}

}  // namespace
}  // namespace mpe::mist
