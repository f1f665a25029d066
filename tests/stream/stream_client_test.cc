#include "stream/stream_client.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fakes/stream_fake_server.h"
#include "fakes/wait.h"

namespace mpe::stream {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kToken = "s3cret-token-XYZ";
constexpr const char* kA = "/sites/aaaa/pcaps";
constexpr const char* kB = "/sites/bbbb/pcaps";
constexpr const char* kC = "/sites/cccc/pcaps";

bool WaitUntil(const std::function<bool()>& done, milliseconds timeout = milliseconds(5000)) {
  return fakes::WaitUntil(done, timeout, milliseconds(2));
}

std::string Sub(std::string_view channel) {
  return "{\"subscribe\":\"" + std::string(channel) + "\"}";
}
std::string Unsub(std::string_view channel) {
  return "{\"unsubscribe\":\"" + std::string(channel) + "\"}";
}

// Records every callback and, like the app, turns ack events into client calls.
class RecordingSink final : public FrameSink {
 public:
  struct Frame {
    std::string data;
    bool is_text;
    bool operator==(const Frame&) const = default;
  };

  void Attach(StreamClient* client) { client_ = client; }

  void OnFrame(char* data, size_t len, bool is_text) override {
    data[len] = '\0';  // the len + 1 capacity contract (ASan flags an overflow)
    {
      std::lock_guard lock(mu_);
      frames_.push_back({std::string(data, len), is_text});
    }
    if (!is_text || client_ == nullptr) return;
    rapidjson::Document doc;
    doc.ParseInsitu(data);  // in place, as the real decoder may do
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("event")) return;
    std::string event = doc["event"].GetString();
    std::string channel = doc.HasMember("channel") ? doc["channel"].GetString() : "";
    if (event == "channel_subscribed") client_->OnSubscribed(channel);
    if (event == "channel_unsubscribed") client_->OnUnsubscribed(channel);
    if (event == "subscribe_failed") client_->OnSubscribeFailed(channel, doc["detail"].GetString());
  }
  void OnConnected() override {
    std::lock_guard lock(mu_);
    ++connected_;
  }
  void OnDisconnected(std::string_view reason) override {
    std::lock_guard lock(mu_);
    disconnect_reasons_.emplace_back(reason);
  }

  std::vector<Frame> frames() const {
    std::lock_guard lock(mu_);
    return frames_;
  }
  // Frames that are not ack events.
  std::vector<Frame> data_frames() const {
    std::lock_guard lock(mu_);
    std::vector<Frame> out;
    for (const auto& f : frames_) {
      if (f.data.find("\"event\":\"channel_") == std::string::npos) out.push_back(f);
    }
    return out;
  }
  int connected() const {
    std::lock_guard lock(mu_);
    return connected_;
  }
  std::vector<std::string> disconnect_reasons() const {
    std::lock_guard lock(mu_);
    return disconnect_reasons_;
  }

 private:
  StreamClient* client_ = nullptr;
  mutable std::mutex mu_;
  std::vector<Frame> frames_;
  int connected_ = 0;
  std::vector<std::string> disconnect_reasons_;
};

class StreamClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    previous_logger_ = spdlog::default_logger();
    log_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(2000);
    log_->set_pattern("%l %v");
    auto logger = std::make_shared<spdlog::logger>("stream-test", log_);
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
  }

  void TearDown() override {
    // Whatever happened in the test, the token never reached a log line.
    for (const std::string& line : log_->last_formatted()) {
      EXPECT_EQ(line.find(kToken), std::string::npos) << line;
    }
    if (HasFailure()) {
      for (const std::string& line : log_->last_formatted()) std::cerr << "log: " << line << '\n';
    }
    spdlog::set_default_logger(previous_logger_);
  }

  static StreamOptions Options(std::string url) {
    StreamOptions o;
    o.url = std::move(url);
    o.token = kToken;
    o.reconnect_min = milliseconds(20);
    o.reconnect_max = milliseconds(200);
    o.ack_timeout = milliseconds(3000);
    o.connect_timeout = milliseconds(3000);
    o.backoff_seed = 42;
    return o;
  }

  bool LogContains(std::string_view needle) const {
    for (const std::string& line : log_->last_formatted()) {
      if (line.find(needle) != std::string::npos) return true;
    }
    return false;
  }

  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> log_;
  std::shared_ptr<spdlog::logger> previous_logger_;
};

TEST_F(StreamClientTest, ConnectsWithTheTokenAndSubscribesToEveryChannel) {
  fakes::FakeStreamServer server;
  RecordingSink sink;
  StreamClient client(Options(server.Url()), sink);
  sink.Attach(&client);
  client.SetChannels({kA, kB, kC, kA});
  ASSERT_TRUE(client.Start().ok());

  ASSERT_TRUE(WaitUntil([&] { return client.SubscribedChannels().size() == 3; }));
  EXPECT_EQ(server.authorization_headers(), std::vector<std::string>{"Token s3cret-token-XYZ"});
  EXPECT_EQ(server.ReceivedOn(1), (std::vector<std::string>{Sub(kA), Sub(kB), Sub(kC)}));
  EXPECT_EQ(client.SubscribedChannels(), (std::vector<std::string>{kA, kB, kC}));
  EXPECT_TRUE(client.IsSubscribed(kB));
  EXPECT_FALSE(client.IsSubscribed("/sites/other/pcaps"));
  EXPECT_TRUE(client.stats().connected);
  EXPECT_EQ(client.stats().connects, 1u);
  EXPECT_EQ(client.stats().reconnects, 0u);
  EXPECT_EQ(client.stats().connect_failures, 0u);
  EXPECT_EQ(sink.connected(), 1);
  EXPECT_TRUE(LogContains("stream connected url=" + server.Url() + " channels=3"));
  EXPECT_TRUE(
      LogContains("stream subscriptions settled url=" + server.Url() + " subscribed=3 failed=0"));
}

TEST_F(StreamClientTest, DeliversExactFramesInOrderWithTheirTextFlag) {
  fakes::FakeStreamServer server;
  RecordingSink sink;
  StreamClient client(Options(server.Url()), sink);
  ASSERT_TRUE(client.Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return sink.connected() == 1 && server.open_connections() == 1; }));

  std::string binary("\x00\x01\xff\x7f", 4);
  server.SendText(R"({"event":"data","channel":"/sites/aaaa/pcaps","data":"{}"})");
  server.SendBinary(binary);
  server.SendText("");
  server.SendText("third");

  ASSERT_TRUE(WaitUntil([&] { return sink.frames().size() == 4; }));
  std::vector<RecordingSink::Frame> expected = {
      {R"({"event":"data","channel":"/sites/aaaa/pcaps","data":"{}"})", true},
      {binary, false},
      {"", true},
      {"third", true}};
  EXPECT_EQ(sink.frames(), expected);
  EXPECT_EQ(client.stats().frames, 4u);
  EXPECT_EQ(client.stats().bytes, 58u + 4u + 0u + 5u);
}

TEST_F(StreamClientTest, SetChannelsAddsAndRemovesWithoutReconnecting) {
  fakes::FakeStreamServer server;
  RecordingSink sink;
  StreamClient client(Options(server.Url()), sink);
  sink.Attach(&client);
  client.SetChannels({kA, kB});
  ASSERT_TRUE(client.Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return client.SubscribedChannels().size() == 2; }));

  client.SetChannels({kB, kC});
  ASSERT_TRUE(WaitUntil([&] {
    return client.SubscribedChannels() == std::vector<std::string>{kB, kC} &&
           server.ReceivedOn(1).size() == 4;
  }));
  EXPECT_EQ(server.ReceivedOn(1), (std::vector<std::string>{Sub(kA), Sub(kB), Unsub(kA), Sub(kC)}));
  EXPECT_EQ(server.upgrade_requests(), 1);
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(client.stats().connects, 1u);
  EXPECT_EQ(client.stats().disconnects, 0u);
  EXPECT_EQ(sink.connected(), 1);
}

TEST_F(StreamClientTest, ReconnectsAndResubscribesEveryTimeTheServerDrops) {
  fakes::FakeStreamServer server;
  RecordingSink sink;
  StreamClient client(Options(server.Url()), sink);
  sink.Attach(&client);
  client.SetChannels({kA, kB});
  ASSERT_TRUE(client.Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return client.SubscribedChannels().size() == 2; }));

  for (uint64_t i = 1; i <= 3; ++i) {
    server.DropConnections();
    ASSERT_TRUE(WaitUntil([&] {
      return client.stats().reconnects == i && client.SubscribedChannels().size() == 2;
    })) << "drop "
        << i;
  }
  EXPECT_EQ(client.stats().reconnects, 3u);
  EXPECT_EQ(client.stats().connects, 4u);
  EXPECT_EQ(client.stats().disconnects, 3u);
  EXPECT_EQ(client.stats().connect_failures, 0u);
  EXPECT_EQ(server.connections(), 4);
  for (int conn = 1; conn <= 4; ++conn) {
    EXPECT_EQ(server.ReceivedOn(conn), (std::vector<std::string>{Sub(kA), Sub(kB)})) << conn;
  }
  EXPECT_EQ(sink.connected(), 4);
  EXPECT_EQ(sink.disconnect_reasons().size(), 3u);
  EXPECT_TRUE(LogContains("stream read failed url=" + server.Url()));
}

TEST_F(StreamClientTest, ReconnectsAfterAboutTwoPingIntervalsWhenTheServerGoesSilent) {
  fakes::FakeStreamServer server;
  RecordingSink sink;
  StreamOptions options = Options(server.Url());
  options.ping_interval = milliseconds(200);
  StreamClient client(options, sink);
  sink.Attach(&client);
  client.SetChannels({kA});
  ASSERT_TRUE(client.Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return client.IsSubscribed(kA); }));

  auto silent_since = SteadyClock::now();
  server.GoSilent();
  ASSERT_TRUE(WaitUntil([&] { return client.stats().disconnects == 1; }, milliseconds(3000)));
  auto detected_after = SteadyClock::now() - silent_since;
  // The last pong came at most one ping interval before the silence began.
  EXPECT_GE(detected_after, milliseconds(200));
  EXPECT_LT(detected_after, milliseconds(1000));
  EXPECT_EQ(client.stats().half_open, 1u);
  ASSERT_TRUE(WaitUntil([&] { return client.stats().reconnects == 1 && client.IsSubscribed(kA); }));
  EXPECT_EQ(server.ReceivedOn(2), std::vector<std::string>{Sub(kA)});
  EXPECT_TRUE(LogContains("(half-open), reconnecting"));
}

TEST_F(StreamClientTest, KeepsAnIdleButAnsweringConnectionOpen) {
  fakes::FakeStreamServer server;
  RecordingSink sink;
  StreamOptions options = Options(server.Url());
  // Half-open is 2 x ping_interval of silence: 300 ms leaves a loaded machine 600 ms to run
  // the client's read and the server's pong before a stall looks like a dead peer (at 100 ms it
  // did, once, with both cores busy).
  options.ping_interval = milliseconds(300);
  StreamClient client(options, sink);
  ASSERT_TRUE(client.Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return sink.connected() == 1; }));
  // Five ping intervals with no data at all: the pongs alone keep the connection.
  auto until = SteadyClock::now() + milliseconds(1500);
  EXPECT_FALSE(WaitUntil([&] { return client.stats().disconnects > 0; }, milliseconds(1500)));
  EXPECT_GE(SteadyClock::now(), until);
  EXPECT_EQ(client.stats().half_open, 0u);
  EXPECT_EQ(server.connections(), 1);
}

TEST_F(StreamClientTest, RetriesARejectedUpgradeWithBackoffAndCountsIt) {
  fakes::FakeStreamServer server;
  server.RejectUpgrades(401);
  RecordingSink sink;
  StreamClient client(Options(server.Url()), sink);
  sink.Attach(&client);
  client.SetChannels({kA});
  ASSERT_TRUE(client.Start().ok());

  ASSERT_TRUE(WaitUntil([&] { return client.stats().upgrade_rejected >= 3; }));
  EXPECT_EQ(client.stats().last_upgrade_status, 401);
  EXPECT_EQ(client.stats().connects, 0u);
  EXPECT_FALSE(client.stats().connected);
  EXPECT_GE(client.stats().last_retry_delay_ms, 1);
  EXPECT_LE(client.stats().last_retry_delay_ms, 200);
  EXPECT_TRUE(LogContains("error stream ws_handshake failed url=" + server.Url() +
                          ": upgrade rejected with HTTP 401 (check the API token)"));
  EXPECT_EQ(sink.connected(), 0);

  server.RejectUpgrades(0);
  ASSERT_TRUE(WaitUntil([&] { return client.IsSubscribed(kA); }));
  client.Stop();
  EXPECT_EQ(client.stats().upgrade_rejected, static_cast<uint64_t>(server.upgrade_requests() - 1));
  EXPECT_EQ(client.stats().connect_failures, client.stats().upgrade_rejected.load());
  EXPECT_EQ(client.stats().connects, 1u);
  EXPECT_EQ(client.stats().reconnects, 0u);
  for (const std::string& header : server.authorization_headers()) {
    EXPECT_EQ(header, "Token s3cret-token-XYZ");
  }
}

TEST_F(StreamClientTest, BacksOffOnAServerErrorDuringTheUpgrade) {
  fakes::FakeStreamServer server;
  server.RejectUpgrades(500);
  RecordingSink sink;
  StreamClient client(Options(server.Url()), sink);
  ASSERT_TRUE(client.Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return client.stats().upgrade_rejected >= 2; }));
  client.Stop();
  EXPECT_EQ(client.stats().last_upgrade_status, 500);
  EXPECT_EQ(client.stats().upgrade_rejected, static_cast<uint64_t>(server.upgrade_requests()));
  EXPECT_LE(client.stats().last_retry_delay_ms, 200);
  EXPECT_TRUE(LogContains("warning stream ws_handshake failed url=" + server.Url() +
                          ": upgrade rejected with HTTP 500"));
}

TEST_F(StreamClientTest, WaitsAtLeastRetryAfterWhenRateLimited) {
  fakes::FakeStreamServer server;
  server.RejectUpgrades(429, {{"Retry-After", "7"}});
  RecordingSink sink;
  StreamOptions options = Options(server.Url());
  options.rate_limited_min_wait = milliseconds(3000);
  StreamClient client(options, sink);
  ASSERT_TRUE(client.Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return client.stats().upgrade_rejected == 1; }));
  ASSERT_TRUE(WaitUntil([&] { return client.stats().last_retry_delay_ms == 7000; }));
  EXPECT_EQ(client.stats().last_upgrade_status, 429);
  EXPECT_TRUE(LogContains("upgrade rejected with HTTP 429 (Retry-After 7 s)"));

  // Stopping during the long wait is immediate and nothing else was attempted.
  auto before = SteadyClock::now();
  client.Stop();
  EXPECT_LT(SteadyClock::now() - before, milliseconds(500));
  EXPECT_EQ(server.upgrade_requests(), 1);
}

// The recovery half of the 429 case of the fault matrix (tests/e2e/fault_matrix_test.cc): the
// App uses the fixed 30 s minimum wait, too long for an e2e run, so it is shortened here.
TEST_F(StreamClientTest, ConnectsAgainAfterTheRateLimitWaitAndSubscribes) {
  fakes::FakeStreamServer server;
  server.RejectUpgrades(429, {{"Retry-After", "0"}});
  RecordingSink sink;
  StreamOptions options = Options(server.Url());
  options.rate_limited_min_wait = milliseconds(400);
  StreamClient client(options, sink);
  sink.Attach(&client);
  client.SetChannels({kA});
  ASSERT_TRUE(client.Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return client.stats().upgrade_rejected >= 1; }));
  server.RejectUpgrades(0);
  ASSERT_TRUE(WaitUntil([&] { return client.IsSubscribed(kA); }));
  client.Stop();
  // Every wait after a 429 was the minimum, above reconnect_max (200 ms).
  EXPECT_EQ(client.stats().last_retry_delay_ms, 400);
  EXPECT_EQ(client.stats().last_upgrade_status, 429);
  // A slow machine may see a second 429 before the rejection is lifted: compare with the server.
  EXPECT_EQ(client.stats().upgrade_rejected, static_cast<uint64_t>(server.upgrade_requests() - 1));
  EXPECT_EQ(client.stats().connects, 1u);
  EXPECT_EQ(sink.connected(), 1);
  EXPECT_TRUE(LogContains("warning stream ws_handshake failed url=" + server.Url() +
                          ": upgrade rejected with HTTP 429"));
  EXPECT_TRUE(LogContains("recovered after " + std::to_string(server.upgrade_requests() - 1) +
                          " failed attempt(s)"));
}

TEST_F(StreamClientTest, ConnectsOverTlsWhenTheCaFileTrustsTheServer) {
  auto cert = fakes::MakeSelfSignedCert();
  ASSERT_TRUE(cert.ok()) << cert.error().message;
  fakes::FakeStreamServer server({true, (*cert)->cert_file, (*cert)->key_file});
  RecordingSink sink;
  StreamOptions options = Options(server.Url());
  options.ca_file = (*cert)->cert_file;
  StreamClient client(options, sink);
  sink.Attach(&client);
  client.SetChannels({kA});
  ASSERT_TRUE(client.Start().ok());

  ASSERT_TRUE(WaitUntil([&] { return client.IsSubscribed(kA); }));
  EXPECT_EQ(server.authorization_headers(), std::vector<std::string>{"Token s3cret-token-XYZ"});
  EXPECT_EQ(client.stats().connect_failures, 0u);
  EXPECT_TRUE(LogContains("stream connected url=wss://127.0.0.1:"));
}

TEST_F(StreamClientTest, RejectsAnUntrustedCertificateAndCountsTheFailure) {
  auto cert = fakes::MakeSelfSignedCert();
  ASSERT_TRUE(cert.ok()) << cert.error().message;
  fakes::FakeStreamServer server({true, (*cert)->cert_file, (*cert)->key_file});
  RecordingSink sink;
  StreamClient client(Options(server.Url()), sink);
  ASSERT_TRUE(client.Start().ok());

  ASSERT_TRUE(WaitUntil([&] { return client.stats().connect_failures >= 2; }));
  client.Stop();
  EXPECT_EQ(server.upgrade_requests(), 0);
  EXPECT_EQ(client.stats().connects, 0u);
  EXPECT_EQ(client.stats().upgrade_rejected, 0u);
  EXPECT_TRUE(LogContains("warning stream tls_handshake failed url=" + server.Url() + ": "));
  EXPECT_TRUE(LogContains("(certificate verify: self-signed certificate)"));
  EXPECT_NE(client.last_error().find("tls_handshake: "), std::string::npos);
}

TEST_F(StreamClientTest, StopUnsubscribesClosesWithCode1000AndReturnsQuickly) {
  fakes::FakeStreamServer server;
  RecordingSink sink;
  StreamClient client(Options(server.Url()), sink);
  sink.Attach(&client);
  client.SetChannels({kA, kB});
  ASSERT_TRUE(client.Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return client.SubscribedChannels().size() == 2; }));

  auto before = SteadyClock::now();
  client.Stop();
  EXPECT_LT(SteadyClock::now() - before, milliseconds(500));
  ASSERT_TRUE(WaitUntil([&] { return !server.close_codes().empty(); }));
  EXPECT_EQ(server.close_codes(), std::vector<int>{1000});
  EXPECT_EQ(server.ReceivedOn(1),
            (std::vector<std::string>{Sub(kA), Sub(kB), Unsub(kA), Unsub(kB)}));
  EXPECT_EQ(sink.disconnect_reasons(), std::vector<std::string>{"stopped"});
  EXPECT_FALSE(client.stats().connected);
  EXPECT_TRUE(client.SubscribedChannels().empty());
  EXPECT_EQ(client.stats().disconnects, 0u);
}

TEST_F(StreamClientTest, StopIsBoundedWhenTheServerNoLongerAnswers) {
  fakes::FakeStreamServer server;
  RecordingSink sink;
  StreamClient client(Options(server.Url()), sink);
  sink.Attach(&client);
  client.SetChannels({kA});
  ASSERT_TRUE(client.Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return client.IsSubscribed(kA); }));
  server.GoSilent();

  auto before = SteadyClock::now();
  client.Stop();
  EXPECT_LT(SteadyClock::now() - before, milliseconds(2100));
  EXPECT_EQ(sink.disconnect_reasons(), std::vector<std::string>{"stopped (close timed out)"});
  EXPECT_TRUE(server.close_codes().empty());
}

TEST_F(StreamClientTest, ReconnectsAfterAMessageLargerThanTheLimit) {
  fakes::FakeStreamServer server;
  RecordingSink sink;
  StreamOptions options = Options(server.Url());
  options.max_frame_bytes = 1024;
  StreamClient client(options, sink);
  sink.Attach(&client);
  client.SetChannels({kA});
  ASSERT_TRUE(client.Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return client.IsSubscribed(kA); }));

  server.SendText(std::string(1025, 'x'));
  ASSERT_TRUE(WaitUntil([&] { return client.stats().reconnects == 1 && client.IsSubscribed(kA); }));
  EXPECT_EQ(client.stats().oversized_messages, 1u);
  EXPECT_EQ(client.stats().disconnects, 1u);
  EXPECT_TRUE(sink.data_frames().empty());
  EXPECT_TRUE(LogContains("stream read failed url=" + server.Url() +
                          ": message larger than max_frame_bytes=1024"));

  // Exactly the limit is still accepted, on the new connection.
  std::string at_limit(1024, 'y');
  server.SendText(at_limit);
  ASSERT_TRUE(WaitUntil([&] { return sink.data_frames().size() == 1; }));
  EXPECT_EQ(sink.data_frames()[0].data, at_limit);
}

TEST_F(StreamClientTest, CountsAndRetriesAFailedSubscriptionWithoutReconnecting) {
  fakes::FakeStreamServer server;
  server.FailChannel(kB, "unknown site");
  RecordingSink sink;
  StreamOptions options = Options(server.Url());
  options.subscribe_retry = milliseconds(100);
  StreamClient client(options, sink);
  sink.Attach(&client);
  client.SetChannels({kA, kB});
  ASSERT_TRUE(client.Start().ok());

  ASSERT_TRUE(WaitUntil([&] { return client.stats().subscribe_failures >= 2; }));
  EXPECT_TRUE(client.IsSubscribed(kA));
  EXPECT_FALSE(client.IsSubscribed(kB));
  std::vector<std::string> sent = server.ReceivedOn(1);
  EXPECT_GE(std::count(sent.begin(), sent.end(), Sub(kB)), 2);
  EXPECT_EQ(std::count(sent.begin(), sent.end(), Sub(kA)), 1);
  EXPECT_EQ(server.connections(), 1);
  EXPECT_TRUE(LogContains("stream subscribe failed url=" + server.Url() +
                          " channel=/sites/bbbb/pcaps detail=\"unknown site\" retry_in=100ms"));
  EXPECT_TRUE(LogContains("subscribed=1 failed=1"));
}

// Mist's detail is text the server controls: a newline or an ANSI sequence in it must not
// forge a log line or recolour a terminal.
TEST_F(StreamClientTest, AForgedSubscribeFailedDetailIsEscapedInTheLog) {
  fakes::FakeStreamServer server;
  server.FailChannel(kB, "no\n[2026-01-01 00:00:00] [error] forged\x1b[31m");
  RecordingSink sink;
  StreamOptions options = Options(server.Url());
  options.subscribe_retry = milliseconds(100);
  StreamClient client(options, sink);
  sink.Attach(&client);
  client.SetChannels({kA, kB});
  ASSERT_TRUE(client.Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return client.stats().subscribe_failures >= 1; }));
  EXPECT_TRUE(LogContains("detail=\"no\\n[2026-01-01 00:00:00] [error] forged\\x1b[31m\""));
  EXPECT_FALSE(LogContains("forged\x1b"));
  EXPECT_FALSE(LogContains("no\n[2026"));
}

TEST_F(StreamClientTest, ResubscribesOnceOnAMissingAckThenReconnects) {
  fakes::FakeStreamServer server;
  server.SetAutoAck(false);
  RecordingSink sink;
  StreamOptions options = Options(server.Url());
  options.ack_timeout = milliseconds(150);
  StreamClient client(options, sink);
  sink.Attach(&client);
  client.SetChannels({kA});
  ASSERT_TRUE(client.Start().ok());

  ASSERT_TRUE(WaitUntil([&] { return client.stats().reconnects == 1; }));
  EXPECT_EQ(server.ReceivedOn(1), (std::vector<std::string>{Sub(kA), Sub(kA)}));
  EXPECT_GE(client.stats().ack_timeouts, 2u);
  EXPECT_FALSE(client.IsSubscribed(kA));
  EXPECT_TRUE(LogContains("no channel_subscribed within 150 ms after resubscribing"));

  server.SetAutoAck(true);
  ASSERT_TRUE(WaitUntil([&] { return client.IsSubscribed(kA); }));
}

TEST_F(StreamClientTest, StartRejectsABadUrlAndAnUnreadableCaFile) {
  RecordingSink sink;
  StreamClient bad_url(Options("http://127.0.0.1:1/x"), sink);
  auto status = bad_url.Start();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message, "stream url must start with ws:// or wss://");

  StreamOptions options = Options("wss://127.0.0.1:1/x");
  options.ca_file = "/nonexistent/ca.pem";
  StreamClient bad_ca(options, sink);
  status = bad_ca.Start();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message.rfind("stream: cannot load ca_file /nonexistent/ca.pem: ", 0),
            0u);
}

TEST_F(StreamClientTest, CountsConnectFailuresWhileNothingListens) {
  uint16_t port;
  {
    fakes::FakeStreamServer probe;  // bind then release a port so nothing listens on it
    port = probe.port();
  }
  RecordingSink sink;
  StreamClient client(Options("ws://127.0.0.1:" + std::to_string(port) + "/x"), sink);
  ASSERT_TRUE(client.Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return client.stats().connect_failures >= 2; }));
  EXPECT_EQ(client.stats().upgrade_rejected, 0u);
  EXPECT_TRUE(LogContains(
      "warning stream connect failed url=ws://127.0.0.1:" + std::to_string(port) + "/x: "));
}

}  // namespace
}  // namespace mpe::stream
