#include "mist/api_metrics.h"

namespace mpe::mist {

namespace {
prometheus::Histogram::BucketBoundaries DurationBuckets() {
  return {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}
}  // namespace

ApiMetrics::ApiMetrics(prometheus::Registry& registry)
    : requests(prometheus::BuildCounter()
                   .Name("mist_pcap_api_requests_total")
                   .Help("Mist REST API requests by endpoint and HTTP status (\"error\" when no "
                         "response arrived).")
                   .Register(registry)),
      duration(prometheus::BuildHistogram()
                   .Name("mist_pcap_api_request_duration_seconds")
                   .Help("Mist REST API request duration in seconds, by endpoint.")
                   .Register(registry)),
      rate_limited(prometheus::BuildCounter()
                       .Name("mist_pcap_api_rate_limited_total")
                       .Help("Mist REST API responses with HTTP 429 (rate limited).")
                       .Register(registry)
                       .Add({})) {}

void ApiMetrics::Record(std::string_view endpoint, std::string_view code, double seconds) {
  requests.Add({{"endpoint", std::string(endpoint)}, {"code", std::string(code)}}).Increment();
  duration.Add({{"endpoint", std::string(endpoint)}}, DurationBuckets()).Observe(seconds);
}

}  // namespace mpe::mist
