#include "metrics/label_value.h"

#include "common/text.h"
#include "metrics/text_format.h"

namespace mpe::metrics {

unsigned LabelValueFixes(std::string_view v) {
  unsigned fixes = kLabelOk;
  if (!common::IsValidUtf8(v)) fixes |= kLabelInvalidUtf8;
  // Replacing bytes can only grow the value: a long one stays long.
  if (v.size() > kMaxLabelValueBytes) fixes |= kLabelTooLong;
  return fixes;
}

unsigned SanitizeLabelValue(std::string_view v, std::string* out) {
  const unsigned fixes = LabelValueFixes(v);
  if (fixes == kLabelOk) {
    out->assign(v);
    return fixes;
  }
  std::string valid = (fixes & kLabelInvalidUtf8) ? common::ReplaceInvalidUtf8(v) : std::string(v);
  out->assign(common::Utf8Prefix(valid, kMaxLabelValueBytes));
  return LabelValueFixes(std::string_view(valid)) | fixes;
}

void LabelValueStats::AppendText(std::string* out) const {
  AppendHeader(out, "mist_pcap_label_values_sanitized_total",
               "Label values from Mist made valid UTF-8 or cut to 256 bytes, by reason, each "
               "time one is used.",
               "counter");
  out->append("mist_pcap_label_values_sanitized_total{reason=\"invalid_utf8\"} ");
  AppendUint(out, invalid_utf8());
  out->append("\nmist_pcap_label_values_sanitized_total{reason=\"too_long\"} ");
  AppendUint(out, too_long());
  out->push_back('\n');
}

void SanitizeLabelValues(std::vector<prometheus::MetricFamily>* families, LabelValueStats* stats) {
  std::string fixed;
  for (auto& family : *families) {
    for (auto& metric : family.metric) {
      for (auto& label : metric.label) {
        if (label.value.size() <= kMaxLabelValueBytes && common::IsValidUtf8(label.value)) continue;
        const unsigned fixes = SanitizeLabelValue(label.value, &fixed);
        label.value.swap(fixed);
        if (stats != nullptr) stats->Count(fixes);
      }
    }
  }
}

}  // namespace mpe::metrics
