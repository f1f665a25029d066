#pragma once

#include <array>
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

// One histogram family's series: Start prints nothing but returns a writer for the series'
// labels (site labels first), which Finish prints once per bucket line and on _sum and _count.
class HistogramWriter {
 public:
  HistogramWriter(SeriesWriter& w, std::string_view name)
      : w_(w),
        bucket_(std::string(name) + "_bucket"),
        sum_(std::string(name) + "_sum"),
        count_(std::string(name) + "_count") {}

  SeriesWriter& Start(std::string_view site_labels) {
    labels_.assign(site_labels);
    return labels_writer_;
  }
  // buckets: per bucket, not cumulative, the last one +Inf (les.size() + 1 values).
  template <typename Buckets, size_t N>
  void Finish(const Buckets& buckets, const std::array<const char*, N>& les, double sum) {
    std::string* const out = w_.out;
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= N; ++b) {
      cumulative += buckets[b];
      Line(bucket_);
      out->append(",le=\"");
      out->append(b < N ? std::string_view(les[b]) : std::string_view("+Inf"));
      out->append("\"} ");
      AppendUint(out, cumulative);
      out->push_back('\n');
    }
    Line(sum_);
    w_.EndDouble(sum);
    Line(count_);
    w_.EndUint(cumulative);
  }

 private:
  void Line(const std::string& name) {
    w_.out->append(name);
    w_.out->push_back('{');
    w_.out->append(labels_);
  }

  SeriesWriter& w_;
  const std::string bucket_, sum_, count_;
  std::string labels_;
  SeriesWriter labels_writer_{&labels_};
};

}  // namespace mpe::metrics
