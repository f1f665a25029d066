#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace mpe::metrics {

// Escapes a label value for the Prometheus text format 0.0.4 (\\, \", \n), after making it
// valid UTF-8 of at most 256 bytes (SanitizeLabelValue).
std::string EscapeLabelValue(std::string_view v);

inline void AppendUint(std::string* out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

inline void AppendDouble(std::string* out, double v) {
  if (std::isnan(v)) {
    out->append("NaN");
  } else if (std::isinf(v)) {
    out->append(v > 0 ? "+Inf" : "-Inf");
  } else {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out->append(buf, r.ptr);
  }
}

// Appends "# HELP name help\n# TYPE name type\n".
void AppendHeader(std::string* out, std::string_view name, std::string_view help,
                  std::string_view type);

// Prints series lines into *out; with a flush callback, hands the text out in chunks (after a
// whole line, once *out holds chunk_bytes). Not thread-safe.
struct SeriesWriter {
  std::string* out;
  // Streaming: after a series line, once *out holds chunk_bytes, flush takes the text.
  size_t chunk_bytes = 0;
  const std::function<void(std::string*)>* flush = nullptr;

  void MaybeFlush() {
    if (flush != nullptr && out->size() >= chunk_bytes) (*flush)(out);
  }

  void Begin(std::string_view name, std::string_view site_labels) {
    out->append(name);
    out->push_back('{');
    out->append(site_labels);
  }
  void Label(std::string_view name, std::string_view value) {
    out->push_back(',');
    out->append(name);
    out->append("=\"");
    out->append(value);
    out->push_back('"');
  }
  void EndUint(uint64_t v) {
    out->append("} ");
    AppendUint(out, v);
    out->push_back('\n');
    MaybeFlush();
  }
  void EndDouble(double v) {
    out->append("} ");
    AppendDouble(out, v);
    out->push_back('\n');
    MaybeFlush();
  }
};

}  // namespace mpe::metrics
