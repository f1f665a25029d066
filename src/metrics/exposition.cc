#include "metrics/exposition.h"

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <sstream>

#include "metrics/label_value.h"
#include "metrics/process_metrics.h"
#include "metrics/stream_aggregator.h"

namespace mpe::metrics {

void WriteExposition(const ExpositionSources& sources, size_t chunk_bytes,
                     const std::function<void(std::string*)>& emit) {
  if (sources.stream_health) {
    const StreamHealth health = sources.stream_health();
    sources.aggregator->SetStreamHealth(health.connected, health.reconnects, health.oversized);
  }
  std::string out;
  out.reserve(chunk_bytes + (chunk_bytes >> 4) + (1 << 12));
  {
    prometheus::TextSerializer serializer;
    std::ostringstream os;
    // Capture ids and types from Mist's REST answers: valid UTF-8 of at most 256 bytes.
    auto families = sources.registry->Collect();
    SanitizeLabelValues(&families, sources.label_stats);
    serializer.Serialize(os, families);
    out += os.str();
  }
  {
    // The stream families (nearly all of a large body) from a copy: the aggregator's lock is
    // held only while copying, and the text leaves in pieces.
    auto snapshot = sources.aggregator->TakeSnapshot();
    StreamAggregator::RenderText(*snapshot, &out, chunk_bytes, [&](std::string* text) {
      emit(text);
      text->clear();
    });
  }
  AppendProcessMetrics(&out);
  sources.label_stats->AppendText(&out);
  if (sources.append_http) sources.append_http(&out);
  emit(&out);
}

std::string ExpositionText(const ExpositionSources& sources) {
  std::string body;
  WriteExposition(sources, size_t{1} << 20, [&body](std::string* text) { body += *text; });
  return body;
}

}  // namespace mpe::metrics
