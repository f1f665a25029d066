#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace mpe::metrics {

// The 4-way handshake rule of issue 18 for one site, on pcap record timestamps in integer
// microseconds, per (BSSID, client) pair:
//  - a pairwise message 1 starts a handshake (remembering the AP that captured it);
//  - messages 2, 3, 4, in this order, each at most kTimeoutUs after the last message the
//    handshake accepted (ts - last <= 5,000,000), advance it; 4 completes it (duration =
//    ts(msg 4) - ts(msg 1));
//  - a message that is not the next expected one is ignored (duplicates, 3 before 2, ...);
//  - a new message 1 while one is pending makes the pending one incomplete and starts anew;
//  - a pending handshake whose deadline (last accepted ts + kTimeoutUs) is strictly below the
//    ts of a later packet of the site, or still pending at the capture's end, is incomplete.
//    OnMessage judges its own pair's deadline before anything else, so a message 2/3/4 more
//    than kTimeoutUs late is never accepted even if OnPacket was not called.
// Timestamps are taken as given: an accepted message earlier than the last one (records out
// of order) is accepted and becomes the last one.
//
// Bound: at most max_pending pairs are pending (at least 1). A message 1 for a new pair when
// that many are pending first ends the one with the earliest deadline as incomplete and
// counts it in dropped().
//
// Storage: pending handshakes in a dense vector, found through an open-addressing table keyed
// by the pair and ordered by an indexed min-heap on (deadline, bssid, client) — O(1) lookup,
// O(log n) per accepted message, and OnPacket is one comparison when nothing is due. Both grow
// by doubling up to the bound and are reused: no allocation in steady state. Outcomes are
// appended to the caller's vector; several due at once come in heap order.
//
// Threads: none of its own and no locks; the owner (the aggregator) serialises every call.
class HandshakeTracker {
 public:
  static constexpr int64_t kTimeoutUs = 5'000'000;

  struct Outcome {
    uint64_t ap_mac;      // the AP of the message 1 that started the handshake
    bool complete;        // false: incomplete (timed out, restarted, evicted, flushed)
    int64_t duration_us;  // message 1 -> message 4 when complete, else 0
    bool operator==(const Outcome&) const = default;
  };

  explicit HandshakeTracker(size_t max_pending = 4096);

  // One pairwise EAPOL-Key message (msgnr 1..4; other numbers are ignored) without the Retry
  // bit. Call OnPacket for the same packet first.
  void OnMessage(uint64_t bssid, uint64_t client, uint64_t ap_mac, int msgnr, int64_t ts_us,
                 std::vector<Outcome>* out);

  // Every packet of the site: ends as incomplete the pending handshakes whose deadline is
  // strictly below ts_us. One comparison when none is due.
  void OnPacket(int64_t ts_us, std::vector<Outcome>* out) {
    if (ts_us > earliest_deadline_) ExpireBefore(ts_us, out);
  }

  // The capture ended: every pending handshake is incomplete.
  void Flush(std::vector<Outcome>* out);

  size_t pending() const { return entries_.size(); }
  uint64_t dropped() const { return dropped_; }
  size_t max_pending() const { return max_pending_; }

 private:
  static constexpr uint32_t kEmptySlot = 0xffffffffu;
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

  struct Pending {
    uint64_t bssid;
    uint64_t client;
    uint64_t ap_mac;
    int64_t start_us;
    int64_t last_us;  // ts of the last accepted message
    uint32_t heap_pos;
    int next;  // the message expected next: 2, 3 or 4
  };

  void ExpireBefore(int64_t ts_us, std::vector<Outcome>* out);
  void Start(uint64_t bssid, uint64_t client, uint64_t ap_mac, int64_t ts_us,
             std::vector<Outcome>* out);
  // Appends the outcome of entries_[index] and forgets it.
  void Finish(uint32_t index, bool complete, int64_t end_us, std::vector<Outcome>* out);
  uint32_t* FindSlot(uint64_t bssid, uint64_t client);
  void EraseSlot(uint64_t bssid, uint64_t client);
  void GrowTable();
  bool Before(uint32_t a, uint32_t b) const;
  void SiftUp(uint32_t pos);
  void SiftDown(uint32_t pos);
  void HeapErase(uint32_t pos);
  void UpdateEarliest();

  size_t max_pending_;
  uint64_t dropped_ = 0;
  int64_t earliest_deadline_ = kNever;
  std::vector<Pending> entries_;
  std::vector<uint32_t> heap_;   // entry indices, min-heap on Before
  std::vector<uint32_t> slots_;  // pair index: entry index or kEmptySlot
};

}  // namespace mpe::metrics
