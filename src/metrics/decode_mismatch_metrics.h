#pragma once

#include <cstdint>

#include "decode/pcap_enricher.h"

namespace prometheus {
class Registry;
class Counter;
}  // namespace prometheus

namespace mpe::metrics {

// mist_pcap_decode_mismatch_total{field}: pcap_dict fields that disagree with the native decode
// of pcap_raw (decode::PcapEnricher). One family shared by every ingest thread (prometheus
// counters are atomic). Thread-safe.
class DecodeMismatchMetrics {
 public:
  explicit DecodeMismatchMetrics(prometheus::Registry& registry);
  // One increment per decode::MismatchBit set in `mismatches`.
  void Count(uint8_t mismatches);

 private:
  prometheus::Counter* counters_[static_cast<int>(decode::MismatchField::kCount)];
};

}  // namespace mpe::metrics
