#include "app/stream_ingest.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "e2e/metrics_text.h"
#include "fakes/mist_fake_server.h"

namespace mpe::app {
namespace {

using std::chrono::seconds;

constexpr char kSite[] = "5e1f0000-0000-4000-8000-00000000f001";
const std::string kChannel = std::string("/sites/") + kSite + "/pcaps";

// Frames are handed to StreamIngest::OnFrame directly, as the stream client's io thread does; the
// client itself is never started.
class StreamIngestTest : public ::testing::Test {
 protected:
  StreamIngestTest()
      : aggregator_(metrics::AggregatorOptions{}, clock_),
        ingest_(stream::StreamOptions{}, aggregator_, {kChannel}, clock_) {
    aggregator_.AddSite(kSite, "Lab");
  }

  void Feed(std::string frame, bool is_text = true) {
    frame.resize(frame.size() + decode::FrameDecoder::kPadding);  // the decoder's read padding
    ingest_.OnFrame(frame.data(), frame.size() - decode::FrameDecoder::kPadding, is_text);
  }

  double DecodeErrors(const std::string& reason) {
    std::string text;
    aggregator_.AppendText(&text);
    const auto samples = testing::ParseMetricsText(text);
    const auto* s =
        testing::FindSample(samples, "mist_pcap_stream_decode_errors_total", {{"reason", reason}});
    return s != nullptr ? s->value : -1;
  }

  // The warn lines of the capture, in order.
  std::vector<std::string> Warnings() {
    std::istringstream in(logs_.Text());
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
      if (line.find("] [warning] ") != std::string::npos) out.push_back(line);
    }
    return out;
  }

  fakes::LogCapture logs_;
  common::ManualClock clock_;
  metrics::StreamAggregator aggregator_;
  StreamIngest ingest_;
};

TEST_F(StreamIngestTest, UndecodableFramesAreCountedAndReportedOncePerReasonPerMinute) {
  for (int i = 0; i < 3; ++i) Feed("not json {");
  Feed("[1,2,3]");
  Feed(std::string("\x01\x02", 2), false);
  Feed(std::string("\x03\x04\x05", 3), false);
  EXPECT_EQ(DecodeErrors("invalid_json"), 3);
  EXPECT_EQ(DecodeErrors("not_object"), 1);
  EXPECT_EQ(DecodeErrors("binary_frame"), 2);
  auto lines = Warnings();
  ASSERT_EQ(lines.size(), 3u) << logs_.Text();
  EXPECT_NE(lines[0].find("stream frame skipped reason=invalid_json channel=- bytes=10 (0 more "
                          "since the last line); counted in mist_pcap_stream_decode_errors_total"),
            std::string::npos)
      << lines[0];
  EXPECT_NE(lines[1].find("reason=not_object"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("reason=binary_frame channel=- bytes=2 "), std::string::npos) << lines[2];

  // Within the minute: counted, not logged. After it: one line saying how many were skipped.
  clock_.Advance(StreamIngest::kDecodeErrorLogEvery - seconds(1));
  Feed("still not json");
  EXPECT_EQ(Warnings().size(), 3u) << logs_.Text();
  clock_.Advance(seconds(1));
  Feed("and again not json");
  EXPECT_EQ(DecodeErrors("invalid_json"), 5);
  lines = Warnings();
  ASSERT_EQ(lines.size(), 4u) << logs_.Text();
  EXPECT_NE(lines[3].find("reason=invalid_json channel=- bytes=18 (3 more since the last line)"),
            std::string::npos)
      << lines[3];
}

TEST_F(StreamIngestTest, ReportsTheReasonTheAggregatorCountedWithASanitisedChannel) {
  // A data string that is not JSON, on a subscribed site: invalid_data with the channel.
  Feed(R"({"event":"data","channel":")" + kChannel + R"(","data":"{broken"})");
  // Data on a channel no site owns: unknown_channel; the control character is not logged raw.
  Feed(R"({"event":"data","channel":"/sites/x\ny/pcaps","data":{"pcap_dict":{}}})");
  EXPECT_EQ(DecodeErrors("invalid_data"), 1);
  EXPECT_EQ(DecodeErrors("unknown_channel"), 1);
  auto lines = Warnings();
  ASSERT_EQ(lines.size(), 2u) << logs_.Text();
  EXPECT_NE(lines[0].find("reason=invalid_data channel=" + kChannel + " "), std::string::npos)
      << lines[0];
  // Escaped (common::EscapeControl), not replaced: the log shows what was sent.
  EXPECT_NE(lines[1].find("reason=unknown_channel channel=/sites/x\\ny/pcaps "), std::string::npos)
      << lines[1];
  // A good message logs nothing.
  Feed(R"({"event":"data","channel":")" + kChannel +
       R"(","data":{"capture_id":"cap-f1","lost_messages":0,"pcap_dict":{)"
       R"("channel_frequency":5180,"channel":36,"datarate":"54.0 Mbps","rssi":-65,)"
       R"("frame_type":"Management","frame_subtype":"Beacon","ap_mac":"5c:5b:35:0e:00:01",)"
       R"("direction":"tx","timestamp":1764150001.25,"length":342.0,"interface":"radiotap"}}})");
  EXPECT_EQ(DecodeErrors("missing_field"), 0);
  EXPECT_EQ(DecodeErrors("wrong_type"), 0);
  EXPECT_EQ(Warnings().size(), 2u) << logs_.Text();
}

}  // namespace
}  // namespace mpe::app
