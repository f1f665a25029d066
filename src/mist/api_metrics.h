#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>
#include <string_view>

namespace mpe::mist {

// The REST client's own metrics (docs/spec.md §6.4). Registers its families on the
// given registry, which must outlive it. Thread-safe: every MistClient call records from
// whatever thread made it (prometheus-cpp families and metrics are internally synchronised).
struct ApiMetrics {
  explicit ApiMetrics(prometheus::Registry& registry);

  // code: the HTTP status as a string, or "error" for transport failures and timeouts.
  void Record(std::string_view endpoint, std::string_view code, double seconds);
  void RecordRateLimited() { rate_limited.Increment(); }

  prometheus::Family<prometheus::Counter>& requests;
  prometheus::Family<prometheus::Histogram>& duration;
  prometheus::Counter& rate_limited;
};

}  // namespace mpe::mist
