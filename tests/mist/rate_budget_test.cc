#include "mist/rate_budget.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace mpe::mist {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;

TEST(RequestBudgetTest, RefusesBeyondTheHourlyLimitUntilTheOldestRequestAges) {
  common::ManualClock clock;
  RequestBudget budget(3, clock);
  EXPECT_TRUE(budget.TryAcquire());
  clock.Advance(minutes(10));
  EXPECT_TRUE(budget.TryAcquire());
  EXPECT_TRUE(budget.TryAcquire());
  EXPECT_FALSE(budget.TryAcquire());
  EXPECT_EQ(budget.Used(), 3);
  EXPECT_EQ(budget.TimeUntilAvailable(), minutes(50));
  clock.Advance(minutes(50) - milliseconds(1));
  EXPECT_FALSE(budget.TryAcquire());
  clock.Advance(milliseconds(1));
  EXPECT_EQ(budget.TimeUntilAvailable(), milliseconds(0));
  EXPECT_TRUE(budget.TryAcquire());
  EXPECT_FALSE(budget.TryAcquire());
}

TEST(RequestBudgetTest, ZeroMeansUnlimited) {
  common::ManualClock clock;
  RequestBudget budget(0, clock);
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(budget.TryAcquire());
  EXPECT_EQ(budget.TimeUntilAvailable(), milliseconds(0));
}

TEST(RequestBudgetTest, ConcurrentCallersNeverExceedTheLimit) {
  common::ManualClock clock;
  RequestBudget budget(1000, clock);
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) granted += budget.TryAcquire() ? 1 : 0;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(granted.load(), 1000);
}

}  // namespace
}  // namespace mpe::mist
