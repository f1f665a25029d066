#include "metrics/handshake_tracker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <tuple>
#include <utility>
#include <vector>

namespace mpe::metrics {

// gtest's printer for failures (found by ADL, hence outside the anonymous namespace).
void PrintTo(const HandshakeTracker::Outcome& o, std::ostream* os) {
  *os << "{ap=" << std::hex << o.ap_mac << std::dec << (o.complete ? " complete " : " incomplete ")
      << o.duration_us << "}";
}

namespace {

using Outcome = HandshakeTracker::Outcome;

constexpr uint64_t kBssid = 0x0200aabbcc01;
constexpr uint64_t kClient = 0x3c22fb000001;
constexpr uint64_t kAp1 = 0x5c5b35000001;
constexpr uint64_t kAp2 = 0x5c5b35000002;
constexpr int64_t kT0 = 1'733'400'000'000'000;  // a pcap timestamp in µs
constexpr int64_t kSec = 1'000'000;

// Feeds one message the way the aggregator does: OnPacket first, then OnMessage.
std::vector<Outcome> Msg(HandshakeTracker* t, int msgnr, int64_t ts, uint64_t client = kClient,
                         uint64_t ap = kAp1, uint64_t bssid = kBssid) {
  std::vector<Outcome> out;
  t->OnPacket(ts, &out);
  t->OnMessage(bssid, client, ap, msgnr, ts, &out);
  return out;
}

Outcome Complete(int64_t duration, uint64_t ap = kAp1) { return Outcome{ap, true, duration}; }
Outcome Incomplete(uint64_t ap = kAp1) { return Outcome{ap, false, 0}; }

TEST(HandshakeTrackerTest, FourMessagesCompleteWithTheApOfMessageOne) {
  HandshakeTracker t;
  EXPECT_TRUE(Msg(&t, 1, kT0).empty());
  EXPECT_EQ(t.pending(), 1u);
  EXPECT_TRUE(Msg(&t, 2, kT0 + 3'000, kClient, kAp2).empty());
  EXPECT_TRUE(Msg(&t, 3, kT0 + 9'000, kClient, kAp2).empty());
  EXPECT_EQ(Msg(&t, 4, kT0 + 12'345, kClient, kAp2), std::vector<Outcome>{Complete(12'345)});
  EXPECT_EQ(t.pending(), 0u);
  EXPECT_EQ(t.dropped(), 0u);
}

TEST(HandshakeTrackerTest, ExactlyFiveSecondsBetweenMessagesIsAccepted) {
  HandshakeTracker t;
  Msg(&t, 1, kT0);
  EXPECT_TRUE(Msg(&t, 2, kT0 + 5 * kSec).empty());
  EXPECT_TRUE(Msg(&t, 3, kT0 + 10 * kSec).empty());
  EXPECT_EQ(Msg(&t, 4, kT0 + 15 * kSec), std::vector<Outcome>{Complete(15 * kSec)});
}

TEST(HandshakeTrackerTest, OneMicrosecondLateIsNotAcceptedEvenWithoutOnPacket) {
  for (int late : {2, 3, 4}) {
    SCOPED_TRACE(late);
    HandshakeTracker t;
    std::vector<Outcome> out;
    int64_t ts = kT0;
    for (int m = 1; m < late; ++m, ts += kSec) t.OnMessage(kBssid, kClient, kAp1, m, ts, &out);
    ASSERT_TRUE(out.empty());
    // No OnPacket: OnMessage judges its own pair's deadline first.
    t.OnMessage(kBssid, kClient, kAp1, late, ts - kSec + 5 * kSec + 1, &out);
    EXPECT_EQ(out, std::vector<Outcome>{Incomplete()});
    EXPECT_EQ(t.pending(), 0u);
    out.clear();
    t.OnMessage(kBssid, kClient, kAp1, late + 1 > 4 ? 4 : late + 1, ts + 6 * kSec, &out);
    EXPECT_TRUE(out.empty());  // nothing pending any more: later messages are ignored
  }
}

TEST(HandshakeTrackerTest, OnPacketJudgesOnlyDeadlinesStrictlyBelowTheTimestamp) {
  HandshakeTracker t;
  Msg(&t, 1, kT0);
  Msg(&t, 2, kT0 + kSec);
  std::vector<Outcome> out;
  t.OnPacket(kT0 + 6 * kSec, &out);  // deadline == ts: not passed
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(t.pending(), 1u);
  t.OnPacket(kT0 + 6 * kSec + 1, &out);
  EXPECT_EQ(out, std::vector<Outcome>{Incomplete()});
  EXPECT_EQ(t.pending(), 0u);
}

TEST(HandshakeTrackerTest, DuplicateMessageTwoIsIgnoredAndDoesNotMoveTheDeadline) {
  HandshakeTracker t;
  Msg(&t, 1, kT0);
  Msg(&t, 2, kT0 + kSec);
  EXPECT_TRUE(Msg(&t, 2, kT0 + 2 * kSec).empty());
  EXPECT_TRUE(Msg(&t, 3, kT0 + 3 * kSec).empty());
  EXPECT_EQ(Msg(&t, 4, kT0 + 4 * kSec), std::vector<Outcome>{Complete(4 * kSec)});

  // The duplicate at +5.5 s does not count as accepted: message 3 at +6.5 s is 5.5 s after the
  // accepted message 2.
  Msg(&t, 1, kT0 + 100 * kSec);
  Msg(&t, 2, kT0 + 101 * kSec);
  std::vector<Outcome> out;
  t.OnMessage(kBssid, kClient, kAp1, 2, kT0 + 105 * kSec + 500'000, &out);
  EXPECT_TRUE(out.empty());
  t.OnMessage(kBssid, kClient, kAp1, 3, kT0 + 106 * kSec + 500'000, &out);
  EXPECT_EQ(out, std::vector<Outcome>{Incomplete()});
}

TEST(HandshakeTrackerTest, MessagesOutOfOrderAreIgnored) {
  HandshakeTracker t;
  EXPECT_TRUE(Msg(&t, 2, kT0).empty());  // nothing pending: ignored
  EXPECT_TRUE(Msg(&t, 4, kT0).empty());
  EXPECT_EQ(t.pending(), 0u);
  Msg(&t, 1, kT0 + 1);
  EXPECT_TRUE(Msg(&t, 3, kT0 + 2).empty());  // 3 before 2
  EXPECT_TRUE(Msg(&t, 4, kT0 + 3).empty());
  EXPECT_TRUE(Msg(&t, 0, kT0 + 4).empty());  // out of range
  EXPECT_TRUE(Msg(&t, 5, kT0 + 5).empty());
  EXPECT_TRUE(Msg(&t, 2, kT0 + 6).empty());
  EXPECT_TRUE(Msg(&t, 2, kT0 + 7).empty());
  EXPECT_TRUE(Msg(&t, 4, kT0 + 8).empty());  // 4 before 3
  EXPECT_TRUE(Msg(&t, 3, kT0 + 9).empty());
  EXPECT_EQ(Msg(&t, 4, kT0 + 10), std::vector<Outcome>{Complete(9)});
}

TEST(HandshakeTrackerTest, NewMessageOneRestartsThePendingHandshake) {
  HandshakeTracker t;
  Msg(&t, 1, kT0, kClient, kAp1);
  Msg(&t, 2, kT0 + 10);
  Msg(&t, 3, kT0 + 20);
  EXPECT_EQ(Msg(&t, 1, kT0 + 30, kClient, kAp2), std::vector<Outcome>{Incomplete(kAp1)});
  EXPECT_EQ(t.pending(), 1u);
  EXPECT_TRUE(Msg(&t, 4, kT0 + 40).empty());  // the new one expects 2
  Msg(&t, 2, kT0 + 50);
  Msg(&t, 3, kT0 + 60);
  EXPECT_EQ(Msg(&t, 4, kT0 + 70), std::vector<Outcome>{Complete(40, kAp2)});
  // A message 1 after a timed-out one: the old one is incomplete once, the new one starts.
  Msg(&t, 1, kT0 + 100);
  EXPECT_EQ(Msg(&t, 1, kT0 + 100 + 6 * kSec), std::vector<Outcome>{Incomplete()});
  EXPECT_EQ(t.pending(), 1u);
}

TEST(HandshakeTrackerTest, PairsAreIndependent) {
  HandshakeTracker t;
  constexpr uint64_t kOther = kClient + 1;
  constexpr uint64_t kBssid2 = kBssid + 1;
  Msg(&t, 1, kT0, kClient, kAp1);
  Msg(&t, 1, kT0 + 1, kOther, kAp2);
  Msg(&t, 1, kT0 + 2, kClient, kAp2, kBssid2);  // same client, other BSSID: another pair
  EXPECT_EQ(t.pending(), 3u);
  Msg(&t, 2, kT0 + 3, kOther);
  Msg(&t, 2, kT0 + 4, kClient);
  EXPECT_TRUE(Msg(&t, 3, kT0 + 5, kClient, kAp1, kBssid2).empty());  // that pair expects 2
  Msg(&t, 3, kT0 + 6, kOther);
  Msg(&t, 3, kT0 + 7, kClient);
  EXPECT_EQ(Msg(&t, 4, kT0 + 8, kOther), std::vector<Outcome>{Complete(7, kAp2)});
  EXPECT_EQ(t.pending(), 2u);
  // The other two time out together, in deadline order: (kBssid, kClient) was last accepted
  // at +7, (kBssid2, kClient) at +2.
  std::vector<Outcome> out;
  t.OnPacket(kT0 + 7 + 5 * kSec, &out);
  EXPECT_EQ(out, std::vector<Outcome>{Incomplete(kAp2)});
  t.OnPacket(kT0 + 8 + 5 * kSec, &out);
  EXPECT_EQ(out, (std::vector<Outcome>{Incomplete(kAp2), Incomplete(kAp1)}));
  EXPECT_EQ(t.pending(), 0u);
}

TEST(HandshakeTrackerTest, FlushEndsEveryPendingHandshake) {
  HandshakeTracker t;
  for (uint64_t c = 0; c < 5; ++c) Msg(&t, 1, kT0 + static_cast<int64_t>(c), kClient + c);
  Msg(&t, 2, kT0 + 10, kClient + 3);
  std::vector<Outcome> out;
  t.Flush(&out);
  EXPECT_EQ(out.size(), 5u);
  EXPECT_TRUE(std::none_of(out.begin(), out.end(), [](const Outcome& o) { return o.complete; }));
  EXPECT_EQ(t.pending(), 0u);
  out.clear();
  t.Flush(&out);
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(Msg(&t, 2, kT0 + 20, kClient + 3).empty());  // forgotten
  EXPECT_EQ(t.dropped(), 0u);
}

TEST(HandshakeTrackerTest, BoundEvictsTheEarliestDeadline) {
  HandshakeTracker t(2);
  constexpr uint64_t kA = kClient + 10, kB = kClient + 11, kC = kClient + 12;
  Msg(&t, 1, kT0, kA, kAp1);
  Msg(&t, 1, kT0 + 1, kB, kAp2);
  Msg(&t, 2, kT0 + 2, kA);  // A's deadline moves past B's
  EXPECT_EQ(Msg(&t, 1, kT0 + 3, kC, kAp1), std::vector<Outcome>{Incomplete(kAp2)});
  EXPECT_EQ(t.dropped(), 1u);
  EXPECT_EQ(t.pending(), 2u);
  // Restarting a pending pair at the bound evicts nobody.
  EXPECT_EQ(Msg(&t, 1, kT0 + 4, kC, kAp2), std::vector<Outcome>{Incomplete(kAp1)});
  EXPECT_EQ(t.dropped(), 1u);
  Msg(&t, 3, kT0 + 5, kA);
  EXPECT_EQ(Msg(&t, 4, kT0 + 6, kA), std::vector<Outcome>{Complete(6, kAp1)});
  EXPECT_TRUE(Msg(&t, 2, kT0 + 7, kB).empty());  // B was evicted
  EXPECT_EQ(HandshakeTracker(0).max_pending(), 1u);
}

TEST(HandshakeTrackerTest, OnPacketYieldsNothingUntilADeadlinePasses) {
  HandshakeTracker t;
  for (uint64_t c = 0; c < 1000; ++c) Msg(&t, 1, kT0 + static_cast<int64_t>(c) * 1000, c + 1);
  std::vector<Outcome> out;
  for (int64_t ts = kT0; ts <= kT0 + 5 * kSec; ts += 997) t.OnPacket(ts, &out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(t.pending(), 1000u);
  t.OnPacket(kT0 + 5 * kSec + 1, &out);  // only the first one is due
  EXPECT_EQ(out.size(), 1u);
  t.OnPacket(kT0 + 5 * kSec + 1000, &out);  // deadline == ts for the second: not yet
  EXPECT_EQ(out.size(), 1u);
  t.OnPacket(kT0 + 5 * kSec + 500'000, &out);
  EXPECT_EQ(out.size(), 500u);
  EXPECT_EQ(t.pending(), 500u);
}

// Records of a site may come out of order (several APs): an accepted message earlier than the
// last one becomes the last one, and its earlier deadline is the one OnPacket watches.
TEST(HandshakeTrackerTest, AnEarlierAcceptedMessageBringsTheDeadlineForward) {
  HandshakeTracker t;
  constexpr uint64_t kA = kClient + 1, kB = kClient + 2;
  Msg(&t, 1, kT0 + 3 * kSec, kA, kAp1);
  Msg(&t, 1, kT0 + 2 * kSec, kB, kAp2);
  std::vector<Outcome> out;
  t.OnMessage(kBssid, kA, kAp1, 2, kT0, &out);  // accepted: 3 s before message 1
  EXPECT_TRUE(out.empty());
  t.OnPacket(kT0 + 5 * kSec + 1, &out);  // A's deadline passed, B's (T0 + 7 s) not
  EXPECT_EQ(out, std::vector<Outcome>{Incomplete(kAp1)});
  EXPECT_EQ(t.pending(), 1u);
}

// A plain reference implementation of the rule, for the randomized comparison below.
class ReferenceTracker {
 public:
  explicit ReferenceTracker(size_t max_pending) : max_(max_pending) {}

  void OnPacket(int64_t ts, std::vector<Outcome>* out) {
    std::vector<std::tuple<int64_t, Key>> due;
    for (const auto& [k, s] : pending_)
      if (s.last + HandshakeTracker::kTimeoutUs < ts) due.emplace_back(s.last, k);
    std::sort(due.begin(), due.end());
    for (const auto& [last, k] : due) End(k, false, 0, out);
  }

  void OnMessage(uint64_t bssid, uint64_t client, uint64_t ap, int m, int64_t ts,
                 std::vector<Outcome>* out) {
    const Key k{bssid, client};
    auto it = pending_.find(k);
    if (it != pending_.end() && ts - it->second.last > HandshakeTracker::kTimeoutUs) {
      End(k, false, 0, out);
      it = pending_.end();
    }
    if (m == 1) {
      if (it != pending_.end()) End(k, false, 0, out);
      if (pending_.size() >= max_) {
        auto victim = std::min_element(pending_.begin(), pending_.end(), [](auto& a, auto& b) {
          return std::tie(a.second.last, a.first) < std::tie(b.second.last, b.first);
        });
        ++dropped_;
        End(victim->first, false, 0, out);
      }
      pending_[k] = State{ap, ts, ts, 2};
      return;
    }
    if (it == pending_.end() || it->second.next != m) return;
    if (m == 4) return End(k, true, ts, out);
    it->second.last = ts;
    ++it->second.next;
  }

  uint64_t dropped() const { return dropped_; }
  size_t pending() const { return pending_.size(); }

 private:
  using Key = std::pair<uint64_t, uint64_t>;
  struct State {
    uint64_t ap;
    int64_t start, last;
    int next;
  };
  void End(const Key& k, bool complete, int64_t ts, std::vector<Outcome>* out) {
    const State& s = pending_.at(k);
    out->push_back(Outcome{s.ap, complete, complete ? ts - s.start : 0});
    pending_.erase(k);
  }
  size_t max_;
  uint64_t dropped_ = 0;
  std::map<Key, State> pending_;
};

TEST(HandshakeTrackerTest, MatchesAReferenceOnARandomStream) {
  for (size_t max_pending : {size_t{3}, size_t{40}, size_t{4096}}) {
    SCOPED_TRACE(max_pending);
    std::mt19937_64 rng(18 + max_pending);
    HandshakeTracker t(max_pending);
    ReferenceTracker ref(max_pending);
    int64_t ts = kT0;
    std::vector<Outcome> got, want;
    size_t completes = 0, incompletes = 0;
    // 24 pairs; each usually sends the next message of a well-formed handshake (1, 2, 3, 4,
    // 1, ...), sometimes any message 0..5 instead.
    std::map<uint64_t, int> script;
    for (int i = 0; i < 200'000; ++i) {
      // Mostly small steps, sometimes long silences; now and then a step back in time.
      const uint64_t r = rng() % 1000;
      ts +=
          r < 995 ? static_cast<int64_t>(rng() % 100'000) : static_cast<int64_t>(rng() % 9'000'000);
      const int64_t at = r < 20 ? ts - static_cast<int64_t>(rng() % 2'000'000) : ts;
      got.clear();
      want.clear();
      t.OnPacket(at, &got);
      ref.OnPacket(at, &want);
      if (rng() % 4 != 0) {
        const uint64_t pair = rng() % 24;
        const uint64_t bssid = 0x100 + pair % 3, client = 0x200 + pair / 3;
        const uint64_t ap = 0x300 + rng() % 4;
        int& next = script[pair];
        next = next % 4 + 1;
        const int m = rng() % 10 < 8 ? next : static_cast<int>(rng() % 6);
        t.OnMessage(bssid, client, ap, m, at, &got);
        ref.OnMessage(bssid, client, ap, m, at, &want);
      }
      ASSERT_EQ(got, want) << "step " << i;
      ASSERT_EQ(t.pending(), ref.pending());
      for (const Outcome& o : got) ++(o.complete ? completes : incompletes);
    }
    EXPECT_EQ(t.dropped(), ref.dropped());
    EXPECT_GT(completes, 100u);  // the stream exercised every path
    EXPECT_GT(incompletes, 100u);
    if (max_pending < 24) {
      EXPECT_GT(t.dropped(), 0u);
    }
    got.clear();
    t.Flush(&got);
    EXPECT_EQ(got.size(), ref.pending());
  }
}

}  // namespace
}  // namespace mpe::metrics
