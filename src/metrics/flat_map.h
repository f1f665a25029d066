#pragma once

#include <cstdint>
#include <vector>

namespace mpe::metrics {

// MurmurHash3's 64-bit finaliser: every input bit reaches every output bit. For the
// open-addressing tables of this folder.
inline uint64_t Mix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

// Open-addressing hash map from a non-zero uint64 key to a uint32 value, linear probing,
// power-of-two capacity. The hot path's series index: no allocation on lookup, none on insert
// until it grows. Keys must never be 0 (the empty marker). No erase: owners rebuild it
// (Clear + re-insert) when series expire. Not thread-safe.
class FlatMap {
 public:
  static constexpr uint32_t kMissing = 0xffffffffu;

  explicit FlatMap(size_t initial_capacity = 64) { Reset(initial_capacity); }

  uint32_t Find(uint64_t key) const {
    size_t mask = slots_.size() - 1;
    for (size_t i = Hash(key) & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.key == key) return s.value;
      if (s.key == 0) return kMissing;
    }
  }

  void Insert(uint64_t key, uint32_t value) {
    if ((size_ + 1) * 4 > slots_.size() * 3) Grow();
    InsertNoGrow(key, value);
  }

  void Clear() { Reset(64); }
  size_t size() const { return size_; }
  size_t capacity() const { return slots_.size(); }

 private:
  struct Slot {
    uint64_t key = 0;
    uint32_t value = 0;
  };

  static size_t Hash(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return static_cast<size_t>(k);
  }

  void InsertNoGrow(uint64_t key, uint32_t value) {
    size_t mask = slots_.size() - 1;
    for (size_t i = Hash(key) & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.key == key) {
        s.value = value;
        return;
      }
      if (s.key == 0) {
        s.key = key;
        s.value = value;
        ++size_;
        return;
      }
    }
  }

  void Grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(old.size() * 2, Slot{});
    size_ = 0;
    for (const Slot& s : old)
      if (s.key != 0) InsertNoGrow(s.key, s.value);
  }

  void Reset(size_t capacity) {
    size_t c = 16;
    while (c < capacity) c *= 2;
    slots_.assign(c, Slot{});
    size_ = 0;
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace mpe::metrics
