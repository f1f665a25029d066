#pragma once

#include <cstdint>
#include <vector>

#include "decode/event.h"
#include "decode/packet_decode.h"
#include "decode/pcap_raw.h"

namespace prometheus {
class Registry;
class Counter;
}  // namespace prometheus

namespace mpe::app {

// pcap_dict fields the native decode is compared with (the `field` label of
// mist_pcap_decode_mismatch_total).
enum class MismatchField : uint8_t {
  kFrequency,
  kRssi,
  kFrameType,
  kFrameSubtype,
  kVlan,
  kProto,
  kCount
};
const char* MismatchFieldName(MismatchField f);

// mist_pcap_decode_mismatch_total{field}: one family shared by every ingest thread (prometheus
// counters are atomic). Thread-safe.
class DecodeMismatchMetrics {
 public:
  explicit DecodeMismatchMetrics(prometheus::Registry& registry);
  void Count(MismatchField field);

 private:
  prometheus::Counter* counters_[static_cast<int>(MismatchField::kCount)];
};

// Completes a packet event from its pcap_raw: decodes the one-packet pcap natively
// (decode::DecodePacket) and fills channel_frequency, rssi, frame_type/subtype, datarate
// (radiotap) or vlan and proto (Ethernet) where pcap_dict lacks them; where both exist and
// disagree it counts a mismatch and keeps Mist's value. Events without pcap_raw cost nothing.
//
// Cost: the base64 + pcap decode costs about 70% of the rest of the ingest path
// (bench/packet_decode_bench), so a packet is decoded only when pcap_dict lacks a field the
// decode can fill, when decode_every_packet is set (the archive needs the bytes anyway), or as
// one of every kSampleEvery packets, which keeps the mismatch counter a live cross-check for
// a few percent of ingest time.
//
// One instance per ingest thread (owns its decode scratch); not thread-safe. `metrics` may be
// null and must outlive it.
class PcapEnricher {
 public:
  static constexpr uint32_t kSampleEvery = 16;

  explicit PcapEnricher(DecodeMismatchMetrics* metrics = nullptr) : metrics_(metrics) {}
  void set_metrics(DecodeMismatchMetrics* metrics) { metrics_ = metrics; }
  void set_decode_every_packet(bool every) { every_packet_ = every; }

  // Returns the decoded pcap record (valid until the next call) or nullptr when the event has
  // no (decodable) pcap_raw or was not picked for decoding (see above). `*radiotap` tells
  // which layout the packet was decoded as.
  const decode::RawPacketInfo* Enrich(decode::Event* event, bool* radiotap = nullptr);

  uint64_t mismatches() const { return mismatches_; }
  uint64_t bad_pcap_raw() const { return bad_pcap_raw_; }

 private:
  void Mismatch(MismatchField field);

  DecodeMismatchMetrics* metrics_;
  bool every_packet_ = false;
  uint32_t sample_counter_ = 0;
  std::vector<uint8_t> scratch_;
  decode::RawPacketInfo raw_;
  uint64_t mismatches_ = 0;
  uint64_t bad_pcap_raw_ = 0;
};

}  // namespace mpe::app
