#include "metrics/decode_mismatch_metrics.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "fakes/capture_test_util.h"

namespace mpe::metrics {
namespace {

using decode::MismatchBit;
using decode::MismatchField;

TEST(DecodeMismatchMetricsTest, CountsOncePerFieldBit) {
  prometheus::Registry registry;
  DecodeMismatchMetrics metrics(registry);
  metrics.Count(MismatchBit(MismatchField::kFrequency) | MismatchBit(MismatchField::kProto));
  metrics.Count(MismatchBit(MismatchField::kProto));
  metrics.Count(0);
  auto value = [&registry](const char* field) {
    return fakes::MetricValue(registry, "mist_pcap_decode_mismatch_total", {{"field", field}})
        .value_or(-1);
  };
  EXPECT_EQ(value("frequency"), 1);
  EXPECT_EQ(value("proto"), 2);
  EXPECT_EQ(value("rssi"), 0);
  EXPECT_EQ(value("frame_type"), 0);
  EXPECT_EQ(value("frame_subtype"), 0);
  EXPECT_EQ(value("vlan"), 0);
}

}  // namespace
}  // namespace mpe::metrics
