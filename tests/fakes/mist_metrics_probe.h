#pragma once

// Reads values out of a prometheus::Registry by collecting it, as a scrape would.
// Header-only for the same reason as mist_fake_server.h.

#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mpe::fakes {

using LabelMap = std::map<std::string, std::string>;

inline LabelMap LabelsOf(const prometheus::ClientMetric& m) {
  LabelMap out;
  for (const auto& l : m.label) out[l.name] = l.value;
  return out;
}

// Every label set of the family `name` (empty when the family has no series).
inline std::vector<LabelMap> LabelSets(prometheus::Registry& registry, const std::string& name) {
  std::vector<LabelMap> out;
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& m : family.metric) out.push_back(LabelsOf(m));
  }
  return out;
}

// The value of the series with exactly `labels`: gauge/counter value, histogram sample count.
inline std::optional<double> Value(prometheus::Registry& registry, const std::string& name,
                                   const LabelMap& labels) {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& m : family.metric) {
      if (LabelsOf(m) != labels) continue;
      switch (family.type) {
        case prometheus::MetricType::Counter:
          return m.counter.value;
        case prometheus::MetricType::Gauge:
          return m.gauge.value;
        case prometheus::MetricType::Histogram:
          return static_cast<double>(m.histogram.sample_count);
        default:
          return std::nullopt;
      }
    }
  }
  return std::nullopt;
}

}  // namespace mpe::fakes
