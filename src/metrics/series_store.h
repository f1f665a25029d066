#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "metrics/flat_map.h"

namespace mpe::metrics {

// Every label dimension reserves id 0 for "unknown" and id 1 for "other" (the overflow value).
constexpr uint32_t kUnknownId = 0;
constexpr uint32_t kOtherId = 1;
constexpr uint64_t kKeyTag = 1ULL << 63;  // keeps every key non-zero (FlatMap's empty marker)
constexpr uint16_t kOtherSite = 0xfffe;   // the overflow series' site labels read "other"

// A family's packed series key: the widths of its label ids, lowest bits first, declared once
// and used both to pack (Pack) and to unpack (Get). The widths must leave the top bit free for
// kKeyTag; checked at compile time.
template <uint32_t... kBits>
struct KeyLayout {
  static constexpr std::array<uint32_t, sizeof...(kBits)> kWidths = {kBits...};
  static_assert((kBits + ... + 0) <= 63, "a series key keeps its top bit for kKeyTag");
  static constexpr uint32_t Shift(size_t field) {
    uint32_t shift = 0;
    for (size_t i = 0; i < field; ++i) shift += kWidths[i];
    return shift;
  }
  static constexpr uint64_t Mask(size_t field) { return (uint64_t{1} << kWidths[field]) - 1; }
  template <typename... V>
  static constexpr uint64_t Pack(V... values) {
    static_assert(sizeof...(V) == sizeof...(kBits), "one value per declared field");
    const std::array<uint64_t, sizeof...(V)> v = {static_cast<uint64_t>(values)...};
    uint64_t key = kKeyTag;
    for (size_t i = 0; i < v.size(); ++i) key |= (v[i] & Mask(i)) << Shift(i);
    return key;
  }
  template <size_t kField>
  static constexpr uint32_t Get(uint64_t key) {
    static_assert(kField < sizeof...(kBits));
    return static_cast<uint32_t>((key >> Shift(kField)) & Mask(kField));
  }
};

struct CounterSeries {
  uint64_t key;
  uint32_t last_seen;
  uint64_t count;
  double bytes;
};

template <size_t N>
struct HistogramSeries {
  uint64_t key;
  uint32_t last_seen;
  std::array<uint64_t, N + 1> buckets;  // per bucket (not cumulative); last is +Inf
  double sum;
};

// One family's label sets: packed key -> slot, with the cardinality cap.
template <typename S>
class SeriesStore {
 public:
  S* Get(uint64_t key, uint64_t overflow_key, uint32_t now, size_t cap) {
    uint32_t i = index_.Find(key);
    if (i == FlatMap::kMissing) {
      if (series_.size() + 1 >= cap) {
        ++dropped_;
        key = overflow_key;
        i = index_.Find(key);
      }
      if (i == FlatMap::kMissing) {
        i = static_cast<uint32_t>(series_.size());
        S s{};
        s.key = key;
        series_.push_back(s);
        index_.Insert(key, i);
      }
    }
    S& s = series_[i];
    s.last_seen = now;
    return &s;
  }

  // Get with a dense slot number the caller derives from small label ids (e.g. AP id and
  // band): a slot remembers where its last series sits, so a hit costs one compare instead of
  // a hash probe. The remembered series is used only when its key is the one asked for, so a
  // stale or shared slot (another site's AP, series removed) falls back to Get; slots at or
  // above kMaxSlots are not remembered.
  static constexpr size_t kMaxSlots = size_t{1} << 18;
  S* GetAt(size_t slot, uint64_t key, uint64_t overflow_key, uint32_t now, size_t cap) {
    if (slot < slots_.size()) {
      const uint32_t i = slots_[slot];
      if (i < series_.size() && series_[i].key == key) [[likely]] {
        S& s = series_[i];
        s.last_seen = now;
        return &s;
      }
    } else if (slot < kMaxSlots) {
      slots_.resize(std::min(std::max(slot + 1, slots_.size() * 2), kMaxSlots), FlatMap::kMissing);
    }
    S* s = Get(key, overflow_key, now, cap);
    if (slot < slots_.size()) slots_[slot] = static_cast<uint32_t>(s - series_.data());
    return s;
  }

  template <typename Pred>
  size_t RemoveIf(Pred pred) {
    size_t before = series_.size();
    series_.erase(std::remove_if(series_.begin(), series_.end(), pred), series_.end());
    size_t removed = before - series_.size();
    if (removed) {
      index_.Clear();
      for (uint32_t i = 0; i < series_.size(); ++i) index_.Insert(series_[i].key, i);
    }
    return removed;
  }

  const std::vector<S>& series() const { return series_; }
  uint64_t dropped() const { return dropped_; }

 private:
  FlatMap index_;
  std::vector<S> series_;
  std::vector<uint32_t> slots_;  // GetAt's slot -> index into series_ (may be stale)
  uint64_t dropped_ = 0;
};

}  // namespace mpe::metrics
