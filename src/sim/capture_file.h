#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace mpe::sim {

// Counters shared by every recording of one simulator, for /sim/stats.
struct RecordingTotals {
  std::atomic<uint64_t> recorded{0};  // packets kept in a recording
  std::atomic<uint64_t> dropped{0};   // delivered beyond a recording's bound, not kept
};

// The packets one capture delivered on its stream channel, in delivery order, kept to serve
// the capture's file (pcap_url). Each delivered packet is added once, whichever connection
// delivered it. At most `max_packets` are kept; later ones are only counted. Thread-safe:
// stream sessions add from any io thread, the REST side reads.
class CaptureRecording {
 public:
  // linktypes: of the capture's type (127 radiotap, 1 Ethernet; both for radiotap,wired).
  CaptureRecording(size_t max_packets, int snaplen, std::vector<uint16_t> linktypes,
                   RecordingTotals* totals);

  bool Full() const;
  // `record` = a classic pcap record (16-byte header + bytes); empty when the caller already
  // saw Full() (then only counted).
  void Add(int linktype, std::string_view record);
  uint64_t delivered() const;  // every packet added, kept or not
  uint64_t dropped() const;
  // Frees the packets (the file is no longer kept); the file then answers 404.
  void Release();
  bool released() const;
  // Classic pcap when the capture has one link type, else pcapng with one interface per
  // link type (in the order given, then any other seen). `*ng` says which.
  std::string File(bool* ng) const;

 private:
  struct Packet {
    uint16_t linktype;
    std::string record;
  };
  const size_t max_packets_;
  const int snaplen_;
  const std::vector<uint16_t> linktypes_;
  RecordingTotals* totals_;
  mutable std::mutex mu_;
  std::vector<Packet> packets_;
  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> dropped_{0};
  bool released_ = false;
  std::atomic<bool> full_{false};  // Full() without the lock (asked per generated message)
};

}  // namespace mpe::sim
