#include "metrics/exposition.h"

#include <gtest/gtest.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "metrics/label_value.h"
#include "metrics/stream_aggregator.h"

namespace mpe::metrics {
namespace {

class ExpositionTest : public ::testing::Test {
 protected:
  ExpositionTest() {
    prometheus::BuildGauge()
        .Name("registry_family")
        .Help("From the registry.")
        .Register(registry_)
        .Add({{"id", "bad\xff"}})
        .Set(1);
    AggregatorOptions opts;
    opts.label_stats = &label_stats_;
    aggregator_ = std::make_unique<StreamAggregator>(opts, clock_);
    for (const char* site : {"s1", "s2", "s3"}) aggregator_->AddSite(site, site);
    sources_.registry = &registry_;
    sources_.aggregator = aggregator_.get();
    sources_.label_stats = &label_stats_;
    sources_.stream_health = [] { return StreamHealth{true, 7, 2}; };
    sources_.append_http = [](std::string* out) { out->append("http_family 1\n"); };
  }

  size_t Position(const std::string& text, const std::string& part) {
    const size_t at = text.find(part);
    EXPECT_NE(at, std::string::npos) << part;
    return at;
  }

  common::ManualClock clock_;
  prometheus::Registry registry_;
  LabelValueStats label_stats_;
  std::unique_ptr<StreamAggregator> aggregator_;
  ExpositionSources sources_;
};

TEST_F(ExpositionTest, PrintsRegistryStreamProcessLabelAndHttpFamiliesInThatOrder) {
  const std::string text = ExpositionText(sources_);
  const size_t registry = Position(text, "# HELP registry_family From the registry.");
  const size_t stream = Position(text, "# TYPE mist_pcap_packets_total counter");
  const size_t process = Position(text, "# TYPE process_cpu_seconds_total counter");
  const size_t labels = Position(text, "# TYPE mist_pcap_label_values_sanitized_total counter");
  const size_t http = Position(text, "http_family 1\n");
  EXPECT_EQ(registry, 0u);
  EXPECT_LT(registry, stream);
  EXPECT_LT(stream, process);
  EXPECT_LT(process, labels);
  EXPECT_LT(labels, http);
  EXPECT_TRUE(text.ends_with("http_family 1\n"));
  // The stream health is handed to the aggregator at scrape time; the registry's label value
  // was sanitised and counted.
  EXPECT_NE(text.find("\nmist_pcap_stream_reconnects_total 7\n"), std::string::npos) << text;
  EXPECT_NE(text.find("mist_pcap_label_values_sanitized_total{reason=\"invalid_utf8\"} 1\n"),
            std::string::npos)
      << text;
}

// The body without the samples that change from one scrape to the next (CPU, memory, and the
// sanitising counter that each scrape bumps).
std::string Stable(const std::string& text) {
  std::string out;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    end = end == std::string::npos ? text.size() : end + 1;
    const std::string_view line(text.data() + begin, end - begin);
    if (!line.starts_with("process_") &&
        !line.starts_with("mist_pcap_label_values_sanitized_total{")) {
      out.append(line);
    }
    begin = end;
  }
  return out;
}

TEST_F(ExpositionTest, PiecesAddUpToTheWholeBody) {
  const std::string whole = ExpositionText(sources_);
  std::vector<std::string> pieces;
  WriteExposition(sources_, 256, [&pieces](std::string* text) { pieces.push_back(*text); });
  EXPECT_GT(pieces.size(), 2u);
  std::string joined;
  for (const auto& p : pieces) joined += p;
  EXPECT_EQ(Stable(joined), Stable(whole));
  EXPECT_EQ(joined.find("# HELP registry_family"), 0u);
  EXPECT_TRUE(joined.ends_with("http_family 1\n"));
}

}  // namespace
}  // namespace mpe::metrics
