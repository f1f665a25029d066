#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace mpe::metrics {

// Windowed heavy hitters of one site, for mist_pcap_top_clients_bytes: which clients moved the
// most bytes over the last `window`, in bounded memory, with a reported value that is never
// below the truth.
//
// Window: time is cut into `panes` tumbling panes of pane_ms = max(1, window / panes) ms
// (pane index = floor(now_ms / pane_ms)). At now_ms the live panes are the current one and the
// panes - 1 before it, so the window covers between (panes - 1) * pane_ms and panes * pane_ms
// (i.e. between window - pane and window when panes divides window). Older panes are dropped;
// an Add whose pane is already out of the window (now_ms behind the newest Add by a window or
// more) is ignored. Add and Top take now_ms from the same clock, one that does not leap
// forward (the aggregator's cached reading rather than capture timestamps): an Add a window
// ahead of the others expires everything before it and makes later, earlier ones late.
//
// Each pane is a weighted Space-Saving summary with m = max(report_k^2 + 1, 16) counters
// (key, count, error): a known key adds to its count; an absent key takes a free counter
// (error 0) or, when all m are taken, replaces the counter with the minimum count c and
// inherits it (count = c + bytes, error = c). The key -> counter index is an open-addressing
// table (linear probing, backward-shift erase), the minimum an indexed binary heap: O(log m)
// per Add, no allocation once a pane's arrays exist. In every pane the counts sum to the
// pane's bytes, a kept key's count - error <= its true bytes <= count, and an absent key's
// true bytes are at most floor = the count of the last counter the pane evicted (0 if it never
// evicted; floor <= the pane's minimum <= pane_total / m, as the minimum never decreases).
//
// Merge (Top): for every key kept by a live pane, estimate = sum over live panes of (count if
// kept there, else that pane's floor) and error likewise (error if kept, else floor). With
// total = the bytes of the live panes and true = a client's bytes in them:
//  (a) estimate >= true (each pane's term is at least the client's bytes in that pane);
//  (b) estimate - true <= error <= sum over panes of pane_total / m <= total / m;
//  (c) every client with true > total / report_k is reported. Proof: it is kept by some live
//      pane (else true <= sum of floors <= total / m < total / report_k). Suppose report_k
//      other clients j ranked at or above it: estimate_j >= estimate >= true > total / k, so
//      by (b) true_j > total / k - total / m, and these k + 1 clients' bytes sum to more than
//      k (total / k - total / m) + total / k = total (1 + 1/k - k/m) >= total since m > k^2,
//      which no k + 1 distinct clients can exceed. So at most k - 1 rank above it.
//  (d) with at most m distinct clients in each pane nothing is evicted, every floor is 0,
//      and every reported value is exact (error 0).
// (A pane that is full but has not evicted contributes 0 for absent keys, not its minimum,
// which is what makes (d) hold at exactly m clients.)
//
// Memory: at most panes * m counters (~48 bytes each with the index and heap), allocated when
// a pane is first used and reused afterwards; capacity() reports it. Top's scratch holds at
// most as many candidates (~40 bytes each), grown on demand and reused. report_k = 0 disables
// the unit (Add is a no-op, Top is empty, nothing is allocated).
//
// Threads: none of its own and no locks; the owner (the aggregator) serialises every call,
// Top included (it uses scratch space kept in the object).
class TopTalkers {
 public:
  struct Entry {
    uint64_t client;
    uint64_t bytes;  // upper-bound estimate of the client's bytes in the window
    uint64_t error;  // maximum overestimate: true bytes >= bytes - error
    bool operator==(const Entry&) const = default;
  };

  TopTalkers(size_t report_k, std::chrono::milliseconds window, int panes = 10);

  // Accounts `bytes` to `client` at now_ms. bytes == 0 is a no-op.
  void Add(uint64_t client, uint64_t bytes, int64_t now_ms);

  // The at most report_k clients with the largest estimates in the window ending at now_ms,
  // sorted by bytes descending then client ascending. Replaces *out's contents.
  void Top(int64_t now_ms, std::vector<Entry>* out) const;

  // Forgets every count; keeps the allocated arrays.
  void Clear();

  // Bytes added to the panes live at now_ms (the `total` of the guarantees above).
  uint64_t WindowTotal(int64_t now_ms) const;

  size_t report_k() const { return report_k_; }
  size_t counters_per_pane() const { return m_; }
  int64_t pane_ms() const { return pane_ms_; }
  int panes() const { return static_cast<int>(panes_.size()); }
  // Counters allocated over all panes; never above panes() * counters_per_pane().
  size_t capacity() const;

 private:
  static constexpr int64_t kNoEpoch = std::numeric_limits<int64_t>::min();
  static constexpr uint32_t kEmptySlot = 0xffffffffu;

  struct Counter {
    uint64_t key;
    uint64_t count;
    uint64_t error;
    uint32_t heap_pos;
  };
  struct Pane {
    int64_t epoch = kNoEpoch;  // pane index, kNoEpoch when unused
    uint64_t total = 0;        // bytes added to the pane
    uint64_t floor = 0;        // count of the last evicted counter
    std::vector<Counter> counters;
    std::vector<uint32_t> heap;   // counter indices, min-heap on count
    std::vector<uint32_t> slots;  // key index: counter index or kEmptySlot
  };
  // Scratch of Top: one per candidate key.
  struct Candidate {
    uint64_t client;
    uint64_t count;  // sum of kept counts, then the estimate
    uint64_t error;  // sum of kept errors, then the error
    uint64_t floor;  // sum of floors of the panes that kept it
  };

  bool Live(const Pane& pane, int64_t current) const;
  void ResetPane(Pane* pane, int64_t epoch);
  void AddToPane(Pane* pane, uint64_t client, uint64_t bytes);
  static uint32_t* FindSlot(Pane* pane, uint64_t key);
  static void InsertSlot(Pane* pane, uint64_t key, uint32_t index);
  static void EraseSlot(Pane* pane, uint64_t key);
  static void SiftUp(Pane* pane, uint32_t pos);
  static void SiftDown(Pane* pane, uint32_t pos);
  void CollectCandidates(int64_t current) const;

  size_t report_k_;
  size_t m_;
  int64_t pane_ms_;
  int64_t newest_ = kNoEpoch;  // newest pane index an Add reached
  std::vector<Pane> panes_;
  mutable std::vector<Candidate> candidates_;
  mutable std::vector<uint32_t> candidate_slots_;
};

}  // namespace mpe::metrics
