// Replays the decode_frame and pcap_raw fuzz corpora and regression inputs through the same
// invariant checks as the libFuzzer targets (tests/fuzz/fuzz_checks.h), without libFuzzer, so
// every crash the fuzzer ever found stays a test in the normal build.

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "decode/frame_decoder.h"
#include "decode/pcap_raw.h"
#include "fuzz/fuzz_checks.h"
#include "fuzz/replay_inputs.h"

namespace mpe::fuzz {
namespace {

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class DecodeFuzzReplayTest : public ::testing::Test {
 protected:
  static std::vector<ReplayInput> Inputs(std::string_view folder, std::string_view target) {
    return ReadReplayInputs(MPE_SOURCE_DIR, folder, target);
  }
};

TEST_F(DecodeFuzzReplayTest, FrameCorpusKeepsEveryDecoderInvariant) {
  const auto inputs = Inputs("corpus", kDecodeFrameTarget);
  ASSERT_GE(inputs.size(), 20u) << "corpus folder not found or emptied";
  for (const ReplayInput& in : inputs) EXPECT_EQ(CheckDecodeFrame(Bytes(in.bytes)), "") << in.path;
}

TEST_F(DecodeFuzzReplayTest, FrameRegressionsKeepEveryDecoderInvariant) {
  for (const ReplayInput& in : Inputs("regressions", kDecodeFrameTarget)) {
    EXPECT_EQ(CheckDecodeFrame(Bytes(in.bytes)), "") << in.path;
  }
}

TEST_F(DecodeFuzzReplayTest, PcapRawCorpusKeepsEveryParserInvariant) {
  const auto inputs = Inputs("corpus", kPcapRawTarget);
  ASSERT_GE(inputs.size(), 20u) << "corpus folder not found or emptied";
  for (const ReplayInput& in : inputs) EXPECT_EQ(CheckPcapRaw(Bytes(in.bytes)), "") << in.path;
}

TEST_F(DecodeFuzzReplayTest, PcapRawRegressionsKeepEveryParserInvariant) {
  for (const ReplayInput& in : Inputs("regressions", kPcapRawTarget)) {
    EXPECT_EQ(CheckPcapRaw(Bytes(in.bytes)), "") << in.path;
  }
}

// The seeds are only useful to the fuzzer if they reach every outcome: a corpus that decayed
// into, say, only invalid JSON would still pass the invariant checks above.
TEST_F(DecodeFuzzReplayTest, FrameCorpusReachesEveryEventKindAndCleanPackets) {
  std::set<decode::EventKind> kinds;
  std::set<decode::DecodeError> errors;
  int clean_radiotap = 0;
  int clean_wired = 0;
  decode::FrameDecoder decoder;
  for (const ReplayInput& in : Inputs("corpus", kDecodeFrameTarget)) {
    std::vector<char> buf(in.bytes.begin(), in.bytes.end());
    buf.resize(in.bytes.size() + decode::FrameDecoder::kPadding);
    const decode::Event e = decoder.Decode(buf.data(), in.bytes.size());
    kinds.insert(e.kind);
    errors.insert(e.error);
    if (e.kind == decode::EventKind::kData && e.error == decode::DecodeError::kNone) {
      clean_radiotap += e.packet.interface == decode::Interface::kRadiotap;
      clean_wired += e.packet.interface == decode::Interface::kWired;
    }
  }
  EXPECT_EQ(kinds.size(), 7u);
  EXPECT_EQ(errors, (std::set<decode::DecodeError>{
                        decode::DecodeError::kNone, decode::DecodeError::kInvalidJson,
                        decode::DecodeError::kNotObject, decode::DecodeError::kInvalidData,
                        decode::DecodeError::kMissingField, decode::DecodeError::kWrongType}));
  EXPECT_GE(clean_radiotap, 2);
  EXPECT_GE(clean_wired, 2);
}

TEST_F(DecodeFuzzReplayTest, PcapRawCorpusHoldsRadiotapAndEthernetPacketsAndEveryError) {
  std::set<uint32_t> linktypes;
  std::set<std::string> errors;
  std::vector<uint8_t> scratch;
  for (const ReplayInput& in : Inputs("corpus", kPcapRawTarget)) {
    auto r = decode::DecodePcapRaw(in.bytes, &scratch);
    if (r.ok()) {
      linktypes.insert(r->linktype);
    } else {
      errors.insert(r.error().message);
    }
  }
  EXPECT_EQ(linktypes,
            (std::set<uint32_t>{decode::kLinktypeEthernet, decode::kLinktypeIeee80211Radiotap}));
  EXPECT_EQ(errors, (std::set<std::string>{
                        "pcap_raw: invalid base64", "pcap_raw: invalid base64 length",
                        "pcap_raw: short global header", "pcap_raw: not a pcap file (bad magic)",
                        "pcap_raw: short record header", "pcap_raw: truncated packet"}));
}

}  // namespace
}  // namespace mpe::fuzz
