// Stream frame decoding throughput (one thread, one FrameDecoder, realistic ~1.2 KB frames).
// Each iteration copies the frame into a reused buffer first (in-situ parsing destroys it),
// as the stream session does when a frame arrives; the copy is part of the measured cost.
#include <benchmark/benchmark.h>
#include <rapidjson/document.h>
#include <rapidjson/reader.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "bench_frames.h"
#include "decode/frame_decoder.h"

namespace {

using mpe::bench::ObjectFrame;
using mpe::bench::StringFrame;
using mpe::bench::WiredData;
using mpe::bench::WirelessData;
using mpe::decode::EventKind;
using mpe::decode::FrameDecoder;

void RunDecode(benchmark::State& state, const std::string& frame) {
  FrameDecoder decoder;
  std::vector<char> buf(frame.size() + FrameDecoder::kPadding);
  for (auto _ : state) {
    std::memcpy(buf.data(), frame.data(), frame.size());
    mpe::decode::Event e = decoder.Decode(buf.data(), frame.size());
    if (e.kind != EventKind::kData || e.error != mpe::decode::DecodeError::kNone) {
      state.SkipWithError("frame did not decode");
      break;
    }
    benchmark::DoNotOptimize(e);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(frame.size()));
  state.counters["frame_bytes"] = static_cast<double>(frame.size());
}

void BM_DecodeWirelessObject(benchmark::State& state) {
  RunDecode(state, ObjectFrame(WirelessData()));
}
BENCHMARK(BM_DecodeWirelessObject);

void BM_DecodeWirelessString(benchmark::State& state) {
  RunDecode(state, StringFrame(WirelessData()));
}
BENCHMARK(BM_DecodeWirelessString);

void BM_DecodeWired(benchmark::State& state) { RunDecode(state, StringFrame(WiredData())); }
BENCHMARK(BM_DecodeWired);

// Baselines behind the design choices (not product code paths):
// - a DOM parse alone (reused pool buffer, in situ) costs more than the whole SAX decode;
// - kParseValidateEncodingFlag turns off the SSE4.2 string scan (arg 1 = validate).
void BM_BaselineDomParseOnly(benchmark::State& state) {
  const std::string frame = ObjectFrame(WirelessData());
  std::vector<char> buf(frame.size() + FrameDecoder::kPadding);
  std::vector<char> pool(64 * 1024);
  std::vector<char> stack(16 * 1024);
  for (auto _ : state) {
    std::memcpy(buf.data(), frame.data(), frame.size());
    buf[frame.size()] = '\0';
    rapidjson::MemoryPoolAllocator<> value_alloc(pool.data(), pool.size());
    rapidjson::MemoryPoolAllocator<> stack_alloc(stack.data(), stack.size());
    rapidjson::GenericDocument<rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>,
                               rapidjson::MemoryPoolAllocator<>>
        doc(&value_alloc, 1024, &stack_alloc);
    doc.ParseInsitu(buf.data());
    benchmark::DoNotOptimize(doc.HasParseError());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(frame.size()));
}
BENCHMARK(BM_BaselineDomParseOnly);

void BM_BaselineSaxNullHandler(benchmark::State& state) {
  const std::string frame = ObjectFrame(WirelessData());
  std::vector<char> buf(frame.size() + FrameDecoder::kPadding);
  rapidjson::Reader reader;
  rapidjson::BaseReaderHandler<> handler;
  for (auto _ : state) {
    std::memcpy(buf.data(), frame.data(), frame.size());
    buf[frame.size()] = '\0';
    rapidjson::InsituStringStream is(buf.data());
    bool ok =
        state.range(0) != 0
            ? !reader
                   .Parse<rapidjson::kParseInsituFlag | rapidjson::kParseValidateEncodingFlag>(
                       is, handler)
                   .IsError()
            : !reader.Parse<rapidjson::kParseInsituFlag>(is, handler).IsError();
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(frame.size()));
}
BENCHMARK(BM_BaselineSaxNullHandler)->Arg(0)->Arg(1);

}  // namespace

BENCHMARK_MAIN();
