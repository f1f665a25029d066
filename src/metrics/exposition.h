#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace prometheus {
class Registry;
}

namespace mpe::metrics {

class LabelValueStats;
class StreamAggregator;

// The stream connections' state at scrape time (the aggregator prints it).
struct StreamHealth {
  bool connected = false;   // at least one connection and all of them up
  uint64_t reconnects = 0;  // connection attempts after the first (stream::ReconnectAttempts)
  uint64_t oversized = 0;   // messages dropped for exceeding the frame limit
};

// What /metrics prints, in this order: the prometheus-cpp registry (capture state, API and
// exporter families; label values from Mist sanitised), the stream aggregator's families, the
// process families, the label-sanitising counters and last the HTTP server's own families.
// Pointers must outlive every scrape; unset functions print nothing.
struct ExpositionSources {
  const prometheus::Registry* registry = nullptr;
  StreamAggregator* aggregator = nullptr;
  LabelValueStats* label_stats = nullptr;
  std::function<StreamHealth()> stream_health;
  std::function<void(std::string*)> append_http;
};

// Prints the whole body, handing it to `emit` in pieces of about chunk_bytes (emit may move
// from or clear the string). The aggregator's lock is held only while its series are copied.
// Thread-safe as far as the sources are (scrapes run on HTTP render workers).
void WriteExposition(const ExpositionSources& sources, size_t chunk_bytes,
                     const std::function<void(std::string*)>& emit);
// The whole body as one string.
std::string ExpositionText(const ExpositionSources& sources);

}  // namespace mpe::metrics
