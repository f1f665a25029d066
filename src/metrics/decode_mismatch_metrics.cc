#include "metrics/decode_mismatch_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

namespace mpe::metrics {

DecodeMismatchMetrics::DecodeMismatchMetrics(prometheus::Registry& registry) {
  auto& family = prometheus::BuildCounter()
                     .Name("mist_pcap_decode_mismatch_total")
                     .Help(
                         "Packets whose pcap_dict field disagrees with the native decode of "
                         "pcap_raw (Mist's value is kept).")
                     .Register(registry);
  for (int i = 0; i < static_cast<int>(decode::MismatchField::kCount); ++i) {
    counters_[i] =
        &family.Add({{"field", decode::MismatchFieldName(static_cast<decode::MismatchField>(i))}});
  }
}

void DecodeMismatchMetrics::Count(uint8_t mismatches) {
  for (int i = 0; i < static_cast<int>(decode::MismatchField::kCount); ++i) {
    if ((mismatches & decode::MismatchBit(static_cast<decode::MismatchField>(i))) != 0) {
      counters_[i]->Increment();
    }
  }
}

}  // namespace mpe::metrics
