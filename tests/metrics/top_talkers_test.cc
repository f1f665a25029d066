#include "metrics/top_talkers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <vector>

namespace mpe::metrics {

// gtest's printer for failures (found by ADL, hence outside the anonymous namespace).
void PrintTo(const TopTalkers::Entry& e, std::ostream* os) {
  *os << "{client=" << e.client << " bytes=" << e.bytes << " error=" << e.error << "}";
}

namespace {

using std::chrono::milliseconds;
using Entry = TopTalkers::Entry;

std::vector<Entry> TopOf(const TopTalkers& t, int64_t now_ms) {
  std::vector<Entry> out;
  t.Top(now_ms, &out);
  return out;
}

// The truth: bytes per client per pane, and what the live panes at now_ms hold.
class Exact {
 public:
  explicit Exact(const TopTalkers& t) : pane_ms_(t.pane_ms()), panes_(t.panes()) {}
  void Add(uint64_t client, uint64_t bytes, int64_t now_ms) {
    panes_bytes_[now_ms / pane_ms_][client] += bytes;
  }
  std::map<uint64_t, uint64_t> Window(int64_t now_ms, std::vector<uint64_t>* pane_totals) const {
    std::map<uint64_t, uint64_t> sum;
    const int64_t current = now_ms / pane_ms_;
    for (const auto& [pane, clients] : panes_bytes_) {
      if (pane > current || pane <= current - panes_) continue;
      uint64_t total = 0;
      for (const auto& [c, b] : clients) {
        sum[c] += b;
        total += b;
      }
      if (pane_totals) pane_totals->push_back(total);
    }
    return sum;
  }

 private:
  int64_t pane_ms_;
  int64_t panes_;
  std::map<int64_t, std::map<uint64_t, uint64_t>> panes_bytes_;
};

// The exact top k of a map, in the reported order.
std::vector<Entry> ExactTop(const std::map<uint64_t, uint64_t>& truth, size_t k) {
  std::vector<Entry> all;
  for (const auto& [c, b] : truth) all.push_back(Entry{c, b, 0});
  std::sort(all.begin(), all.end(), [](const Entry& a, const Entry& b) {
    return a.bytes != b.bytes ? a.bytes > b.bytes : a.client < b.client;
  });
  if (all.size() > k) all.resize(k);
  return all;
}

TEST(TopTalkersTest, ExactWithFewClientsSortedByBytesThenClient) {
  TopTalkers t(3, milliseconds(60'000));
  EXPECT_EQ(t.counters_per_pane(), 16u);
  EXPECT_EQ(t.pane_ms(), 6'000);
  t.Add(7, 100, 1'000);
  t.Add(5, 300, 2'000);
  t.Add(9, 300, 7'000);  // next pane
  t.Add(7, 250, 8'000);
  t.Add(1, 10, 9'000);
  t.Add(2, 0, 9'000);  // no bytes: nothing
  EXPECT_EQ(TopOf(t, 9'000), (std::vector<Entry>{{7, 350, 0}, {5, 300, 0}, {9, 300, 0}}));
  EXPECT_EQ(t.WindowTotal(9'000), 960u);
  TopTalkers wide(10, milliseconds(60'000));
  wide.Add(4, 1, 0);
  wide.Add(3, 2, 0);
  EXPECT_EQ(TopOf(wide, 0), (std::vector<Entry>{{3, 2, 0}, {4, 1, 0}}));
}

// (d): with at most m distinct clients in each pane, even a full pane evicts nothing and a
// client absent from it gets nothing added.
TEST(TopTalkersTest, ExactWithAtMostMClientsPerPane) {
  TopTalkers t(4, milliseconds(4'000), 4);  // m = 17, panes of 1 s
  ASSERT_EQ(t.counters_per_pane(), 17u);
  Exact exact(t);
  std::mt19937_64 rng(4);
  for (int64_t ms = 0; ms < 20'000; ms += 3) {
    // Pane p sees 17 clients of its own, a different set each pane; on even panes 16 of them
    // and a heavy client shared by those panes. 17 distinct per pane: full, never evicting.
    const int64_t pane = ms / 1'000;
    const uint64_t own = pane % 2 == 0 ? 16 : 17;
    uint64_t client = static_cast<uint64_t>(pane * 17) + rng() % own;
    if (pane % 2 == 0 && rng() % 4 == 0) client = 1'000'000;
    const uint64_t bytes = 60 + rng() % 1'500;
    t.Add(client, bytes, ms);
    exact.Add(client, bytes, ms);
    if (ms % 999 == 0) {
      const auto truth = exact.Window(ms, nullptr);
      ASSERT_EQ(TopOf(t, ms), ExactTop(truth, 4)) << "at " << ms;
    }
  }
}

TEST(TopTalkersTest, EvictedCounterInheritsTheMinimumAsError) {
  TopTalkers t(1, milliseconds(1'000), 1);  // m = 16, one pane
  for (uint64_t c = 1; c <= 16; ++c) t.Add(c, 10, 0);
  t.Add(17, 5, 0);  // replaces a counter of 10
  EXPECT_EQ(TopOf(t, 0), (std::vector<Entry>{{17, 15, 10}}));
  t.Add(17, 100, 0);
  EXPECT_EQ(TopOf(t, 0), (std::vector<Entry>{{17, 115, 10}}));
}

// The counter that changes hands is the true minimum, also after counts grew in place.
TEST(TopTalkersTest, EvictsTheSmallestCounter) {
  TopTalkers t(4, milliseconds(1'000), 1);  // m = 17, one pane
  ASSERT_EQ(t.counters_per_pane(), 17u);
  for (uint64_t c = 1; c <= 17; ++c) t.Add(c, 100, 0);
  for (uint64_t c = 1; c <= 16; ++c) t.Add(c, 1'000 + c, 0);  // 17 stays the smallest
  t.Add(18, 2'000, 0);
  EXPECT_EQ(TopOf(t, 0),
            (std::vector<Entry>{{18, 2'100, 100}, {16, 1'116, 0}, {15, 1'115, 0}, {14, 1'114, 0}}));
}

// A client evicted from one pane still has that pane's floor in its estimate (a), and its
// error says so.
TEST(TopTalkersTest, EvictedClientKeepsAnUpperBoundAcrossPanes) {
  TopTalkers t(1, milliseconds(2'000), 2);  // m = 16, panes of 1 s
  t.Add(99, 50, 0);
  for (uint64_t c = 1; c <= 16; ++c) t.Add(c, 100, 10);  // the 16th evicts 99 (count 50)
  t.Add(99, 1'000, 1'000);                               // next pane
  EXPECT_EQ(TopOf(t, 1'000), (std::vector<Entry>{{99, 1'050, 50}}));
  // Once the first pane leaves the window, the floor goes with it.
  EXPECT_EQ(TopOf(t, 2'000), (std::vector<Entry>{{99, 1'000, 0}}));
}

struct StreamCase {
  size_t k;
  int panes;
  int heavy;
  uint64_t light_clients;
  uint64_t seed;
};

// (a), (b), (c) against an exact count, on streams with far more clients than counters.
TEST(TopTalkersTest, RandomStreamsKeepTheGuarantees) {
  const StreamCase cases[] = {
      {3, 10, 2, 5'000, 1}, {5, 4, 4, 20'000, 2}, {10, 10, 6, 50'000, 3}, {2, 1, 1, 300, 4}};
  for (const StreamCase& sc : cases) {
    SCOPED_TRACE(sc.seed);
    TopTalkers t(sc.k, milliseconds(60'000), sc.panes);
    Exact exact(t);
    std::mt19937_64 rng(sc.seed);
    const double m = static_cast<double>(t.counters_per_pane());
    size_t adds = 0, checks = 0, evicted = 0, heavy_checked = 0;
    for (int64_t ms = 0; ms < 300'000; ms += 1 + static_cast<int64_t>(rng() % 4)) {
      // Heavy clients come and go: client h is active in the minutes where (minute + h) % 3 != 0.
      const int64_t minute = ms / 60'000;
      uint64_t client = 1'000'000 + rng() % sc.light_clients;
      uint64_t bytes = 40 + rng() % 200;
      const int h = static_cast<int>(rng() % (2 * sc.heavy));
      if (h < sc.heavy && (minute + h) % 3 != 0) {
        client = static_cast<uint64_t>(h + 1);
        bytes = 400 + rng() % 1'200;
      }
      t.Add(client, bytes, ms);
      exact.Add(client, bytes, ms);
      if (++adds % 4'000 != 0) continue;
      ++checks;
      std::vector<uint64_t> pane_totals;
      const auto truth = exact.Window(ms, &pane_totals);
      uint64_t total = 0, per_pane_bound = 0;
      for (uint64_t p : pane_totals) {
        total += p;
        per_pane_bound += static_cast<uint64_t>(static_cast<double>(p) / m);
      }
      ASSERT_EQ(t.WindowTotal(ms), total);
      const auto top = TopOf(t, ms);
      ASSERT_LE(top.size(), sc.k);
      for (size_t i = 0; i < top.size(); ++i) {
        const Entry& e = top[i];
        const uint64_t real = truth.count(e.client) ? truth.at(e.client) : 0;
        ASSERT_GE(e.bytes, real) << "(a) client " << e.client;            // (a)
        ASSERT_LE(e.bytes - real, e.error) << "(b) client " << e.client;  // (b)
        ASSERT_LE(e.error, per_pane_bound) << "(b) client " << e.client;
        ASSERT_LE(static_cast<double>(e.error), static_cast<double>(total) / m);
        if (e.error > 0) ++evicted;
        if (i > 0) {
          ASSERT_TRUE(top[i - 1].bytes > e.bytes ||
                      (top[i - 1].bytes == e.bytes && top[i - 1].client < e.client));
        }
      }
      for (const auto& entry : truth) {  // (c)
        // (a named copy: clang 14 cannot capture a structured binding in a lambda)
        const uint64_t client = entry.first, real = entry.second;
        if (real * sc.k <= total) continue;
        ++heavy_checked;
        ASSERT_TRUE(
            std::any_of(top.begin(), top.end(), [&](const Entry& e) { return e.client == client; }))
            << "(c) client " << client << " with " << real << " of " << total;
      }
    }
    EXPECT_GT(checks, 20u);
    EXPECT_GT(evicted, 0u);  // the streams did overflow the summaries
    EXPECT_GT(heavy_checked, 0u);
  }
}

TEST(TopTalkersTest, WindowExpiresPaneByPane) {
  TopTalkers t(2, milliseconds(1'000), 10);  // panes of 100 ms
  t.Add(1, 500, 99);                         // pane 0
  t.Add(2, 300, 150);                        // pane 1
  EXPECT_EQ(TopOf(t, 999), (std::vector<Entry>{{1, 500, 0}, {2, 300, 0}}));
  // At 1000 ms pane 10 begins and pane 0 leaves the window (it covered 901 ms of data).
  EXPECT_EQ(TopOf(t, 1'000), (std::vector<Entry>{{2, 300, 0}}));
  EXPECT_EQ(TopOf(t, 1'099), (std::vector<Entry>{{2, 300, 0}}));
  EXPECT_EQ(TopOf(t, 1'100), std::vector<Entry>{});
  // Pane 10 reuses pane 0's slot: the old counts are gone, not added.
  t.Add(3, 10, 1'000);
  EXPECT_EQ(TopOf(t, 1'000), (std::vector<Entry>{{2, 300, 0}, {3, 10, 0}}));
  EXPECT_EQ(t.WindowTotal(1'000), 310u);
  // Late data: pane 1 is still live and takes it; pane 0 is out of the window and refused.
  t.Add(2, 1, 199);
  t.Add(1, 1'000, 99);
  EXPECT_EQ(TopOf(t, 1'000), (std::vector<Entry>{{2, 301, 0}, {3, 10, 0}}));
  // A long silence: everything expires.
  EXPECT_EQ(TopOf(t, 50'000), std::vector<Entry>{});
  EXPECT_EQ(t.WindowTotal(50'000), 0u);
  t.Add(4, 7, 50'000);
  EXPECT_EQ(TopOf(t, 50'000), (std::vector<Entry>{{4, 7, 0}}));
}

TEST(TopTalkersTest, MemoryStaysBounded) {
  TopTalkers t(10, milliseconds(300'000), 10);
  EXPECT_EQ(t.counters_per_pane(), 101u);
  EXPECT_EQ(t.capacity(), 0u);  // nothing until a pane is used
  std::mt19937_64 rng(10);
  std::vector<Entry> out;
  size_t after_first_window = 0;
  for (int64_t ms = 0; ms < 3'000'000; ms += 3) {
    t.Add(rng(), 1 + rng() % 1'500, ms);
    if (ms % 30'000 == 0) t.Top(ms, &out);
    if (ms == 300'000) after_first_window = t.capacity();
  }
  EXPECT_EQ(after_first_window, 10u * 101u);
  EXPECT_EQ(t.capacity(), 10u * 101u);
  EXPECT_EQ(TopTalkers(2, milliseconds(1'000)).counters_per_pane(), 16u);
  EXPECT_EQ(TopTalkers(20, milliseconds(1'000)).counters_per_pane(), 401u);
}

TEST(TopTalkersTest, ZeroKDisables) {
  TopTalkers t(0, milliseconds(60'000));
  t.Add(1, 100, 0);
  EXPECT_EQ(TopOf(t, 0), std::vector<Entry>{});
  EXPECT_EQ(t.WindowTotal(0), 0u);
  EXPECT_EQ(t.capacity(), 0u);
}

TEST(TopTalkersTest, ClearForgetsCountsAndKeepsMemory) {
  TopTalkers t(3, milliseconds(10'000), 5);
  for (uint64_t c = 0; c < 100; ++c) t.Add(c, c + 1, static_cast<int64_t>(c) * 100);
  const size_t capacity = t.capacity();
  EXPECT_GT(capacity, 0u);
  t.Clear();
  EXPECT_EQ(TopOf(t, 9'900), std::vector<Entry>{});
  EXPECT_EQ(t.WindowTotal(9'900), 0u);
  EXPECT_EQ(t.capacity(), capacity);
  t.Add(5, 50, 0);  // the clock may start over after a clear
  EXPECT_EQ(TopOf(t, 0), (std::vector<Entry>{{5, 50, 0}}));
}

TEST(TopTalkersTest, OddParametersAreClamped) {
  TopTalkers t(1, milliseconds(5), 10);  // window shorter than the panes: 1 ms panes
  EXPECT_EQ(t.pane_ms(), 1);
  t.Add(1, 1, 0);
  EXPECT_EQ(TopOf(t, 9), (std::vector<Entry>{{1, 1, 0}}));
  EXPECT_EQ(TopOf(t, 10), std::vector<Entry>{});
  TopTalkers one(1, milliseconds(1'000), 0);  // no panes asked: one
  EXPECT_EQ(one.panes(), 1);
  one.Add(1, 1, -5);  // negative time floors to pane -1
  EXPECT_EQ(TopOf(one, -1), (std::vector<Entry>{{1, 1, 0}}));
  EXPECT_EQ(TopOf(one, 0), std::vector<Entry>{});
}

}  // namespace
}  // namespace mpe::metrics
