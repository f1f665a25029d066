#pragma once
// Label values from the network (stream strings, Mist's REST answers) made acceptable to
// Prometheus: valid UTF-8 (else the whole scrape is rejected) and bounded in size.
#include <prometheus/metric_family.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mpe::metrics {

inline constexpr size_t kMaxLabelValueBytes = 256;

enum LabelFix : unsigned { kLabelOk = 0, kLabelInvalidUtf8 = 1, kLabelTooLong = 2 };

// What SanitizeLabelValue would change in `v` (a LabelFix mask), without copying.
unsigned LabelValueFixes(std::string_view v);

// `v` with invalid UTF-8 replaced by U+FFFD, then cut to kMaxLabelValueBytes at a character
// boundary; returns the LabelFix mask of what changed. Pure.
unsigned SanitizeLabelValue(std::string_view v, std::string* out);

// mist_pcap_label_values_sanitized_total{reason="invalid_utf8"|"too_long"}: label values
// changed by SanitizeLabelValue, counted each time one is used (a stream update, or a scrape
// of a polled series). Thread-safe.
class LabelValueStats {
 public:
  void Count(unsigned fixes) {
    if (fixes & kLabelInvalidUtf8) invalid_utf8_.fetch_add(1, std::memory_order_relaxed);
    if (fixes & kLabelTooLong) too_long_.fetch_add(1, std::memory_order_relaxed);
  }
  uint64_t invalid_utf8() const { return invalid_utf8_.load(); }
  uint64_t too_long() const { return too_long_.load(); }
  void AppendText(std::string* out) const;

 private:
  std::atomic<uint64_t> invalid_utf8_{0};
  std::atomic<uint64_t> too_long_{0};
};

// Sanitises every label value of `families` in place (prometheus-cpp families, whose values
// come from Mist's REST answers), counting into `stats` (may be null).
void SanitizeLabelValues(std::vector<prometheus::MetricFamily>* families, LabelValueStats* stats);

}  // namespace mpe::metrics
