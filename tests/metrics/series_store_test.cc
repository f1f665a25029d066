#include "metrics/series_store.h"

#include <gtest/gtest.h>

namespace mpe::metrics {
namespace {

using Key = KeyLayout<16, 22, 3>;

TEST(KeyLayoutTest, PacksAndUnpacksEveryField) {
  const uint64_t key = Key::Pack(7, 123456, 5);
  EXPECT_EQ(key & kKeyTag, kKeyTag);
  EXPECT_EQ(Key::Get<0>(key), 7u);
  EXPECT_EQ(Key::Get<1>(key), 123456u);
  EXPECT_EQ(Key::Get<2>(key), 5u);
  // Values wider than their field are cut to it, never spill into the next one.
  EXPECT_EQ(Key::Get<1>(Key::Pack(0, (1u << 22) + 3, 0)), 3u);
  EXPECT_EQ(Key::Get<2>(Key::Pack(0, (1u << 22) + 3, 0)), 0u);
}

TEST(SeriesStoreTest, GetAtFindsTheSameSeriesAsGet) {
  SeriesStore<CounterSeries> store;
  const uint64_t other = Key::Pack(kOtherSite, kOtherId, kOtherId);
  store.GetAt(10, Key::Pack(1, 2, 3), other, 5, 100)->count += 1;
  store.GetAt(10, Key::Pack(1, 2, 3), other, 6, 100)->count += 1;
  store.Get(Key::Pack(1, 2, 3), other, 7, 100)->count += 1;
  ASSERT_EQ(store.series().size(), 1u);
  EXPECT_EQ(store.series()[0].count, 3u);
  EXPECT_EQ(store.series()[0].last_seen, 7u);
}

TEST(SeriesStoreTest, ASharedSlotNeverMixesTwoKeys) {
  SeriesStore<CounterSeries> store;
  const uint64_t other = Key::Pack(kOtherSite, kOtherId, kOtherId);
  // Two sites whose ids give the same slot: each key keeps its own series.
  for (int i = 0; i < 5; ++i) {
    store.GetAt(3, Key::Pack(1, 2, 3), other, 1, 100)->count += 1;
    store.GetAt(3, Key::Pack(2, 2, 3), other, 1, 100)->count += 10;
  }
  ASSERT_EQ(store.series().size(), 2u);
  EXPECT_EQ(store.series()[0].key, Key::Pack(1, 2, 3));
  EXPECT_EQ(store.series()[0].count, 5u);
  EXPECT_EQ(store.series()[1].key, Key::Pack(2, 2, 3));
  EXPECT_EQ(store.series()[1].count, 50u);
}

TEST(SeriesStoreTest, GetAtAfterRemoveIfUsesTheMovedSeries) {
  SeriesStore<CounterSeries> store;
  const uint64_t other = Key::Pack(kOtherSite, kOtherId, kOtherId);
  store.GetAt(0, Key::Pack(1, 2, 0), other, 1, 100)->count += 1;
  store.GetAt(1, Key::Pack(1, 2, 1), other, 2, 100)->count += 1;
  // The first series goes; the second moves to index 0 while slot 1 still says index 1.
  EXPECT_EQ(store.RemoveIf([](const CounterSeries& s) { return s.last_seen < 2; }), 1u);
  store.GetAt(1, Key::Pack(1, 2, 1), other, 3, 100)->count += 1;
  // Slot 0 now points at index 0, which holds another key: a new series, not that one.
  store.GetAt(0, Key::Pack(1, 2, 0), other, 3, 100)->count += 1;
  ASSERT_EQ(store.series().size(), 2u);
  EXPECT_EQ(store.series()[0].key, Key::Pack(1, 2, 1));
  EXPECT_EQ(store.series()[0].count, 2u);
  EXPECT_EQ(store.series()[1].key, Key::Pack(1, 2, 0));
  EXPECT_EQ(store.series()[1].count, 1u);
}

TEST(SeriesStoreTest, GetAtOverTheCapCountsEveryDropAndUsesTheOverflowSeries) {
  SeriesStore<CounterSeries> store;
  const uint64_t other = Key::Pack(kOtherSite, kOtherId, kOtherId);
  store.GetAt(0, Key::Pack(1, 2, 0), other, 1, 2)->count += 1;  // cap 2: one series + other
  for (int i = 0; i < 3; ++i) store.GetAt(1, Key::Pack(1, 2, 1), other, 1, 2)->count += 1;
  ASSERT_EQ(store.series().size(), 2u);
  EXPECT_EQ(store.series()[1].key, other);
  EXPECT_EQ(store.series()[1].count, 3u);
  EXPECT_EQ(store.dropped(), 3u);
}

TEST(SeriesStoreTest, SlotsAtOrAboveTheLimitAreNotRememberedButStillCount) {
  SeriesStore<CounterSeries> store;
  const uint64_t other = Key::Pack(kOtherSite, kOtherId, kOtherId);
  const size_t far = SeriesStore<CounterSeries>::kMaxSlots;
  store.GetAt(far, Key::Pack(1, 2, 0), other, 1, 100)->count += 1;
  store.GetAt(SIZE_MAX, Key::Pack(1, 2, 0), other, 1, 100)->count += 1;
  ASSERT_EQ(store.series().size(), 1u);
  EXPECT_EQ(store.series()[0].count, 2u);
}

}  // namespace
}  // namespace mpe::metrics
