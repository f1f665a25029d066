#include "metrics/top_talkers.h"

#include <algorithm>

#include "metrics/flat_map.h"

namespace mpe::metrics {
namespace {

size_t HashKey(uint64_t k) { return static_cast<size_t>(Mix64(k)); }

size_t PowerOfTwoAtLeast(size_t n) {
  size_t c = 16;
  while (c < n) c *= 2;
  return c;
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

}  // namespace

TopTalkers::TopTalkers(size_t report_k, std::chrono::milliseconds window, int panes)
    : report_k_(report_k),
      m_(report_k == 0 ? 0 : std::max<size_t>(report_k * report_k + 1, 16)),
      pane_ms_(std::max<int64_t>(1, window.count() / std::max(1, panes))),
      panes_(report_k == 0 ? 0 : static_cast<size_t>(std::max(1, panes))) {}

size_t TopTalkers::capacity() const {
  size_t n = 0;
  for (const Pane& p : panes_) n += p.counters.capacity();
  return n;
}

bool TopTalkers::Live(const Pane& pane, int64_t current) const {
  return pane.epoch != kNoEpoch && pane.epoch <= current &&
         pane.epoch > current - static_cast<int64_t>(panes_.size());
}

void TopTalkers::Add(uint64_t client, uint64_t bytes, int64_t now_ms) {
  if (report_k_ == 0 || bytes == 0) return;
  const int64_t index = FloorDiv(now_ms, pane_ms_);
  const int64_t n = static_cast<int64_t>(panes_.size());
  if (newest_ != kNoEpoch && index <= newest_ - n) return;  // already out of the window
  newest_ = std::max(newest_, index);
  Pane& pane = panes_[static_cast<size_t>(((index % n) + n) % n)];
  // The slot holds either this pane or one at least a window older (never a newer one: that
  // would put `index` out of the window, refused above).
  if (pane.epoch != index) ResetPane(&pane, index);
  AddToPane(&pane, client, bytes);
}

void TopTalkers::ResetPane(Pane* pane, int64_t epoch) {
  pane->epoch = epoch;
  pane->total = 0;
  pane->floor = 0;
  pane->counters.clear();
  pane->heap.clear();
  if (pane->counters.capacity() < m_) {  // first use: the only allocation of the pane
    pane->counters.reserve(m_);
    pane->heap.reserve(m_);
    pane->slots.assign(PowerOfTwoAtLeast(2 * m_), kEmptySlot);
  } else {
    std::fill(pane->slots.begin(), pane->slots.end(), kEmptySlot);
  }
}

void TopTalkers::AddToPane(Pane* pane, uint64_t client, uint64_t bytes) {
  pane->total += bytes;
  if (uint32_t* slot = FindSlot(pane, client); *slot != kEmptySlot) {
    Counter& c = pane->counters[*slot];
    c.count += bytes;
    SiftDown(pane, c.heap_pos);
    return;
  }
  if (pane->counters.size() < m_) {
    const auto index = static_cast<uint32_t>(pane->counters.size());
    const auto pos = static_cast<uint32_t>(pane->heap.size());
    pane->counters.push_back(Counter{client, bytes, 0, pos});
    pane->heap.push_back(index);
    InsertSlot(pane, client, index);
    SiftUp(pane, pos);
    return;
  }
  // Full: the minimum counter changes hands and its count becomes the newcomer's error.
  const uint32_t index = pane->heap[0];
  Counter& c = pane->counters[index];
  EraseSlot(pane, c.key);
  pane->floor = c.count;
  c.key = client;
  c.error = c.count;
  c.count += bytes;
  InsertSlot(pane, client, index);
  SiftDown(pane, 0);
}

uint32_t* TopTalkers::FindSlot(Pane* pane, uint64_t key) {
  const size_t mask = pane->slots.size() - 1;
  for (size_t i = HashKey(key) & mask;; i = (i + 1) & mask) {
    uint32_t& s = pane->slots[i];
    if (s == kEmptySlot || pane->counters[s].key == key) return &s;
  }
}

void TopTalkers::InsertSlot(Pane* pane, uint64_t key, uint32_t index) {
  *FindSlot(pane, key) = index;
}

// Linear probing without tombstones: after emptying a slot, later entries of the same probe
// run move back into it when their home position allows.
void TopTalkers::EraseSlot(Pane* pane, uint64_t key) {
  const size_t mask = pane->slots.size() - 1;
  size_t hole = static_cast<size_t>(FindSlot(pane, key) - pane->slots.data());
  pane->slots[hole] = kEmptySlot;
  for (size_t i = (hole + 1) & mask; pane->slots[i] != kEmptySlot; i = (i + 1) & mask) {
    const size_t home = HashKey(pane->counters[pane->slots[i]].key) & mask;
    // Movable when home is not cyclically within (hole, i].
    if (((i - home) & mask) >= ((i - hole) & mask)) {
      pane->slots[hole] = pane->slots[i];
      pane->slots[i] = kEmptySlot;
      hole = i;
    }
  }
}

void TopTalkers::SiftUp(Pane* pane, uint32_t pos) {
  std::vector<uint32_t>& h = pane->heap;
  std::vector<Counter>& c = pane->counters;
  const uint32_t item = h[pos];
  while (pos > 0) {
    const uint32_t parent = (pos - 1) / 2;
    if (c[h[parent]].count <= c[item].count) break;
    h[pos] = h[parent];
    c[h[pos]].heap_pos = pos;
    pos = parent;
  }
  h[pos] = item;
  c[item].heap_pos = pos;
}

void TopTalkers::SiftDown(Pane* pane, uint32_t pos) {
  std::vector<uint32_t>& h = pane->heap;
  std::vector<Counter>& c = pane->counters;
  const auto n = static_cast<uint32_t>(h.size());
  const uint32_t item = h[pos];
  for (;;) {
    uint32_t child = 2 * pos + 1;
    if (child >= n) break;
    if (child + 1 < n && c[h[child + 1]].count < c[h[child]].count) ++child;
    if (c[item].count <= c[h[child]].count) break;
    h[pos] = h[child];
    c[h[pos]].heap_pos = pos;
    pos = child;
  }
  h[pos] = item;
  c[item].heap_pos = pos;
}

uint64_t TopTalkers::WindowTotal(int64_t now_ms) const {
  if (report_k_ == 0) return 0;
  const int64_t current = FloorDiv(now_ms, pane_ms_);
  uint64_t total = 0;
  for (const Pane& p : panes_)
    if (Live(p, current)) total += p.total;
  return total;
}

// Fills candidates_ with one entry per key kept by a live pane: the sums of its counts, errors
// and of the floors of the panes that kept it.
void TopTalkers::CollectCandidates(int64_t current) const {
  size_t kept = 0;
  for (const Pane& p : panes_)
    if (Live(p, current)) kept += p.counters.size();
  candidates_.clear();
  if (candidates_.capacity() < kept) candidates_.reserve(kept);
  const size_t table = PowerOfTwoAtLeast(2 * kept);
  if (candidate_slots_.size() < table) {
    candidate_slots_.assign(table, kEmptySlot);
  } else {
    std::fill(candidate_slots_.begin(), candidate_slots_.end(), kEmptySlot);
  }
  const size_t mask = candidate_slots_.size() - 1;
  for (const Pane& p : panes_) {
    if (!Live(p, current)) continue;
    for (const Counter& c : p.counters) {
      size_t i = HashKey(c.key) & mask;
      while (candidate_slots_[i] != kEmptySlot && candidates_[candidate_slots_[i]].client != c.key)
        i = (i + 1) & mask;
      if (candidate_slots_[i] == kEmptySlot) {
        candidate_slots_[i] = static_cast<uint32_t>(candidates_.size());
        candidates_.push_back(Candidate{c.key, 0, 0, 0});
      }
      Candidate& cand = candidates_[candidate_slots_[i]];
      cand.count += c.count;
      cand.error += c.error;
      cand.floor += p.floor;
    }
  }
}

void TopTalkers::Top(int64_t now_ms, std::vector<Entry>* out) const {
  out->clear();
  if (report_k_ == 0) return;
  const int64_t current = FloorDiv(now_ms, pane_ms_);
  CollectCandidates(current);
  // A pane that did not keep a key contributes its floor: all floors, minus the kept ones'.
  uint64_t floors = 0;
  for (const Pane& p : panes_)
    if (Live(p, current)) floors += p.floor;
  for (Candidate& c : candidates_) {
    c.count += floors - c.floor;
    c.error += floors - c.floor;
  }
  const size_t k = std::min(report_k_, candidates_.size());
  std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<ptrdiff_t>(k),
                    candidates_.end(), [](const Candidate& a, const Candidate& b) {
                      return a.count != b.count ? a.count > b.count : a.client < b.client;
                    });
  for (size_t i = 0; i < k; ++i)
    out->push_back(Entry{candidates_[i].client, candidates_[i].count, candidates_[i].error});
}

void TopTalkers::Clear() {
  for (Pane& p : panes_) {
    if (p.epoch == kNoEpoch) continue;
    ResetPane(&p, 0);
    p.epoch = kNoEpoch;
  }
  newest_ = kNoEpoch;
}

}  // namespace mpe::metrics
