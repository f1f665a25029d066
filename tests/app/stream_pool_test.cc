#include "app/stream_pool.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "fakes/stream_fake_server.h"
#include "fakes/wait.h"

namespace mpe::app {
namespace {

using std::chrono::milliseconds;
using Channels = std::vector<std::string>;
using Connections = std::vector<Channels>;

bool WaitUntil(const std::function<bool()>& done, milliseconds timeout = milliseconds(10000)) {
  return fakes::WaitUntil(done, timeout, milliseconds(2));
}

// The pool's StreamIngests connect to a fake Mist stream on loopback that acknowledges
// subscriptions; a connection made while bad_url_ is set cannot start.
class StreamPoolTest : public ::testing::Test {
 protected:
  StreamPool MakePool(int max_per_connection) {
    return StreamPool(max_per_connection, [this](Channels channels) {
      ++made_;
      stream::StreamOptions opts;
      opts.url = bad_url_ ? std::string("not a url") : server_.Url();
      opts.token = "t";
      opts.reconnect_min = milliseconds(10);
      opts.reconnect_max = milliseconds(20);
      return std::make_unique<StreamIngest>(opts, aggregator_, std::move(channels));
    });
  }

  fakes::FakeStreamServer server_;
  common::ManualClock clock_;
  metrics::StreamAggregator aggregator_{metrics::AggregatorOptions{}, clock_};
  int made_ = 0;
  bool bad_url_ = false;
};

TEST_F(StreamPoolTest, OpensConnectionsOfAtMostTheLimitAndSubscribesEveryChannel) {
  StreamPool pool = MakePool(2);
  EXPECT_FALSE(pool.Health().connected);
  EXPECT_FALSE(pool.state().connected);
  ASSERT_TRUE(pool.Apply({"/a", "/b", "/c", "/d", "/e"}).ok());
  EXPECT_EQ(pool.channels(), (Connections{{"/a", "/b"}, {"/c", "/d"}, {"/e"}}));
  EXPECT_EQ(made_, 3);
  ASSERT_TRUE(WaitUntil([&] { return pool.Health().connected && pool.state().connected; }));
  // The server counts an upgrade on its own thread, after the client may already see it done.
  EXPECT_TRUE(WaitUntil([&] { return server_.connections() == 3; }));
  EXPECT_TRUE(WaitUntil([&] { return pool.AnySubscribed(); }));
  EXPECT_EQ(server_.connections(), 3);
  EXPECT_EQ(pool.Health().reconnects, 0u);
  EXPECT_EQ(pool.Health().oversized, 0u);
  EXPECT_EQ(pool.state().last_error, "");
}

TEST_F(StreamPoolTest, KeptConnectionsChangeTheirSubscriptionsAndEmptiedOnesClose) {
  StreamPool pool = MakePool(2);
  ASSERT_TRUE(pool.Apply({"/a", "/b", "/c"}).ok());
  ASSERT_TRUE(WaitUntil([&] { return server_.open_connections() == 2; }));

  ASSERT_TRUE(pool.Apply({"/a", "/c", "/x"}).ok());
  EXPECT_EQ(pool.channels(), (Connections{{"/a", "/x"}, {"/c"}}));
  EXPECT_EQ(made_, 2);  // no new connection

  ASSERT_TRUE(pool.Apply({"/x"}).ok());
  EXPECT_EQ(pool.channels(), (Connections{{"/x"}}));
  EXPECT_TRUE(WaitUntil([&] { return server_.open_connections() == 1; }));
  EXPECT_EQ(server_.connections(), 2);
  EXPECT_EQ(made_, 2);
}

TEST_F(StreamPoolTest, ReconnectAttemptsOfClosedConnectionsStayCounted) {
  StreamPool pool = MakePool(1);
  ASSERT_TRUE(pool.Apply({"/a"}).ok());
  ASSERT_TRUE(WaitUntil([&] { return server_.open_connections() == 1; }));
  server_.DropConnections();
  ASSERT_TRUE(WaitUntil([&] { return server_.connections() == 2 && pool.Health().connected; }));
  EXPECT_EQ(pool.Health().reconnects, 1u);

  ASSERT_TRUE(pool.Apply({}).ok());
  EXPECT_EQ(pool.channels(), Connections{});
  EXPECT_FALSE(pool.Health().connected);
  EXPECT_EQ(pool.Health().reconnects, 1u);
}

TEST_F(StreamPoolTest, AFailedStartKeepsTheConnectionsOpenedBeforeItAndTheNextApplyRetries) {
  StreamPool pool = MakePool(1);
  ASSERT_TRUE(pool.Apply({"/a"}).ok());
  bad_url_ = true;
  EXPECT_FALSE(pool.Apply({"/a", "/b", "/c"}).ok());
  EXPECT_EQ(pool.channels(), (Connections{{"/a"}}));
  EXPECT_EQ(made_, 2);

  bad_url_ = false;
  ASSERT_TRUE(pool.Apply({"/a", "/b", "/c"}).ok());
  EXPECT_EQ(pool.channels(), (Connections{{"/a"}, {"/b"}, {"/c"}}));
  EXPECT_EQ(made_, 4);
}

}  // namespace
}  // namespace mpe::app
