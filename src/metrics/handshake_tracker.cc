#include "metrics/handshake_tracker.h"

#include <algorithm>

#include "metrics/flat_map.h"

namespace mpe::metrics {
namespace {

size_t HashPair(uint64_t bssid, uint64_t client) {
  return static_cast<size_t>(Mix64(bssid ^ (client * 0x9e3779b97f4a7c15ULL)));
}

}  // namespace

HandshakeTracker::HandshakeTracker(size_t max_pending)
    : max_pending_(std::max<size_t>(1, max_pending)), slots_(16, kEmptySlot) {}

void HandshakeTracker::OnMessage(uint64_t bssid, uint64_t client, uint64_t ap_mac, int msgnr,
                                 int64_t ts_us, std::vector<Outcome>* out) {
  uint32_t index = *FindSlot(bssid, client);
  // The pair's own deadline first: a late message must not revive a timed-out handshake.
  if (index != kEmptySlot && ts_us - entries_[index].last_us > kTimeoutUs) {
    Finish(index, false, 0, out);
    index = kEmptySlot;
  }
  if (msgnr == 1) {
    if (index != kEmptySlot) Finish(index, false, 0, out);
    Start(bssid, client, ap_mac, ts_us, out);
    return;
  }
  if (index == kEmptySlot || msgnr != entries_[index].next) return;  // not the next expected
  if (msgnr == 4) {
    Finish(index, true, ts_us, out);
    return;
  }
  Pending& e = entries_[index];
  const int64_t previous = e.last_us;
  e.last_us = ts_us;
  ++e.next;
  if (ts_us >= previous) {
    SiftDown(e.heap_pos);
  } else {
    SiftUp(e.heap_pos);
  }
  UpdateEarliest();
}

void HandshakeTracker::Start(uint64_t bssid, uint64_t client, uint64_t ap_mac, int64_t ts_us,
                             std::vector<Outcome>* out) {
  if (entries_.size() >= max_pending_) {
    ++dropped_;
    Finish(heap_[0], false, 0, out);
  }
  if ((entries_.size() + 1) * 2 > slots_.size()) GrowTable();
  const auto index = static_cast<uint32_t>(entries_.size());
  const auto pos = static_cast<uint32_t>(heap_.size());
  entries_.push_back(Pending{bssid, client, ap_mac, ts_us, ts_us, pos, 2});
  heap_.push_back(index);
  *FindSlot(bssid, client) = index;
  SiftUp(pos);
  UpdateEarliest();
}

void HandshakeTracker::Finish(uint32_t index, bool complete, int64_t end_us,
                              std::vector<Outcome>* out) {
  const Pending& e = entries_[index];
  out->push_back(Outcome{e.ap_mac, complete, complete ? end_us - e.start_us : 0});
  EraseSlot(e.bssid, e.client);
  HeapErase(e.heap_pos);
  // Keep entries_ dense: the last entry moves into the freed place.
  const auto last = static_cast<uint32_t>(entries_.size() - 1);
  if (index != last) {
    entries_[index] = entries_[last];
    const Pending& moved = entries_[index];
    *FindSlot(moved.bssid, moved.client) = index;  // finds the slot still holding `last`
    heap_[moved.heap_pos] = index;
  }
  entries_.pop_back();
  UpdateEarliest();
}

void HandshakeTracker::ExpireBefore(int64_t ts_us, std::vector<Outcome>* out) {
  while (!heap_.empty() && entries_[heap_[0]].last_us + kTimeoutUs < ts_us)
    Finish(heap_[0], false, 0, out);
}

void HandshakeTracker::Flush(std::vector<Outcome>* out) {
  while (!heap_.empty()) Finish(heap_[0], false, 0, out);
}

uint32_t* HandshakeTracker::FindSlot(uint64_t bssid, uint64_t client) {
  const size_t mask = slots_.size() - 1;
  for (size_t i = HashPair(bssid, client) & mask;; i = (i + 1) & mask) {
    uint32_t& s = slots_[i];
    if (s == kEmptySlot || (entries_[s].bssid == bssid && entries_[s].client == client)) return &s;
  }
}

// Linear probing without tombstones: after emptying a slot, later entries of the same probe
// run move back into it when their home position allows.
void HandshakeTracker::EraseSlot(uint64_t bssid, uint64_t client) {
  const size_t mask = slots_.size() - 1;
  size_t hole = static_cast<size_t>(FindSlot(bssid, client) - slots_.data());
  slots_[hole] = kEmptySlot;
  for (size_t i = (hole + 1) & mask; slots_[i] != kEmptySlot; i = (i + 1) & mask) {
    const Pending& e = entries_[slots_[i]];
    const size_t home = HashPair(e.bssid, e.client) & mask;
    if (((i - home) & mask) >= ((i - hole) & mask)) {
      slots_[hole] = slots_[i];
      slots_[i] = kEmptySlot;
      hole = i;
    }
  }
}

void HandshakeTracker::GrowTable() {
  slots_.assign(slots_.size() * 2, kEmptySlot);
  for (size_t i = 0; i < entries_.size(); ++i)
    *FindSlot(entries_[i].bssid, entries_[i].client) = static_cast<uint32_t>(i);
}

// Heap order: deadline, then the pair, so that simultaneous deadlines end in a fixed order.
bool HandshakeTracker::Before(uint32_t a, uint32_t b) const {
  const Pending& x = entries_[a];
  const Pending& y = entries_[b];
  if (x.last_us != y.last_us) return x.last_us < y.last_us;
  if (x.bssid != y.bssid) return x.bssid < y.bssid;
  return x.client < y.client;
}

void HandshakeTracker::SiftUp(uint32_t pos) {
  const uint32_t item = heap_[pos];
  while (pos > 0) {
    const uint32_t parent = (pos - 1) / 2;
    if (!Before(item, heap_[parent])) break;
    heap_[pos] = heap_[parent];
    entries_[heap_[pos]].heap_pos = pos;
    pos = parent;
  }
  heap_[pos] = item;
  entries_[item].heap_pos = pos;
}

void HandshakeTracker::SiftDown(uint32_t pos) {
  const auto n = static_cast<uint32_t>(heap_.size());
  const uint32_t item = heap_[pos];
  for (;;) {
    uint32_t child = 2 * pos + 1;
    if (child >= n) break;
    if (child + 1 < n && Before(heap_[child + 1], heap_[child])) ++child;
    if (!Before(heap_[child], item)) break;
    heap_[pos] = heap_[child];
    entries_[heap_[pos]].heap_pos = pos;
    pos = child;
  }
  heap_[pos] = item;
  entries_[item].heap_pos = pos;
}

void HandshakeTracker::HeapErase(uint32_t pos) {
  const uint32_t moved = heap_.back();
  heap_.pop_back();
  if (pos >= heap_.size()) return;
  heap_[pos] = moved;
  entries_[moved].heap_pos = pos;
  SiftUp(pos);
  SiftDown(entries_[moved].heap_pos);
}

void HandshakeTracker::UpdateEarliest() {
  earliest_deadline_ = heap_.empty() ? kNever : entries_[heap_[0]].last_us + kTimeoutUs;
}

}  // namespace mpe::metrics
