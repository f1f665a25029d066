// The whole ingest path without the socket: server WebSocket frames are copied into the
// FrameReader 128 KiB at a time (as the session's socket reads do), split into messages and
// handed to StreamIngest::OnFrame (decode, pcap_raw sampling, aggregation), exactly as in the
// exporter. One iteration replays the whole stream; items are messages.
//
// The stream is a synthetic mix by default (70% wireless, half of the messages with `data` as a
// JSON string). To replay what the harness (bench/harness/) sends, dump the blaster's stream first:
//   /usr/bin/python3 bench/dump_blaster_stream.py -n 200000 /tmp/blaster.bin
//   MPE_INGEST_STREAM=/tmp/blaster.bin build/bench/ingest_bench
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "app/stream_ingest.h"
#include "bench_frames.h"
#include "common/clock.h"
#include "metrics/stream_aggregator.h"
#include "stream/ws_frames.h"

namespace {

constexpr char kSiteId[] = "4ac1dcf4-9d8b-7211-65c4-057819f0862b";  // the blaster's default

// One unmasked server text frame.
void AppendServerFrame(std::string& out, const std::string& payload) {
  out += static_cast<char>(0x81);
  const size_t n = payload.size();
  if (n < 126) {
    out += static_cast<char>(n);
  } else if (n < 65536) {
    out += static_cast<char>(126);
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n & 0xff);
  } else {
    out += static_cast<char>(127);
    for (int s = 56; s >= 0; s -= 8) out += static_cast<char>((n >> s) & 0xff);
  }
  out += payload;
}

struct Stream {
  std::string bytes;
  size_t messages = 0;
};

Stream SyntheticStream() {
  const std::string wireless = mpe::bench::WirelessData();
  const std::string wired = mpe::bench::WiredData();
  Stream s;
  for (int i = 0; i < 4000; ++i) {
    const std::string& data = (i % 10 < 7) ? wireless : wired;
    AppendServerFrame(s.bytes,
                      (i % 2 == 0) ? mpe::bench::ObjectFrame(data) : mpe::bench::StringFrame(data));
    ++s.messages;
  }
  return s;
}

// Counts the frames of a stream file (server frames, unmasked).
size_t CountFrames(const std::string& b) {
  size_t n = 0;
  size_t i = 0;
  while (i + 2 <= b.size()) {
    uint64_t len = static_cast<unsigned char>(b[i + 1]) & 0x7f;
    size_t h = 2;
    if (len == 126) {
      len = (uint64_t{static_cast<unsigned char>(b[i + 2])} << 8) |
            static_cast<unsigned char>(b[i + 3]);
      h = 4;
    } else if (len == 127) {
      len = 0;
      for (int k = 0; k < 8; ++k) len = (len << 8) | static_cast<unsigned char>(b[i + 2 + k]);
      h = 10;
    }
    i += h + len;
    ++n;
  }
  return n;
}

const Stream& TheStream() {
  static const Stream stream = [] {
    const char* path = std::getenv("MPE_INGEST_STREAM");
    if (path == nullptr || *path == '\0') return SyntheticStream();
    std::ifstream in(path, std::ios::binary);
    Stream s;
    s.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    s.messages = CountFrames(s.bytes);
    return s;
  }();
  return stream;
}

class Sink final : public mpe::stream::FrameReader::Handler {
 public:
  explicit Sink(mpe::app::StreamIngest& ingest) : ingest_(ingest) {}
  bool OnMessage(char* data, size_t len, bool is_text) override {
    ingest_.OnFrame(data, len, is_text);
    return true;
  }
  bool OnControl(mpe::stream::Opcode, std::string_view) override { return true; }

 private:
  mpe::app::StreamIngest& ingest_;
};

void BM_IngestStream(benchmark::State& state) {
  const Stream& stream = TheStream();
  if (stream.messages == 0) {
    state.SkipWithError("empty stream (MPE_INGEST_STREAM)");
    return;
  }
  mpe::metrics::StreamAggregator agg({}, mpe::common::SystemClock::Instance());
  agg.AddSite(kSiteId, "bench");
  mpe::stream::StreamOptions options;
  options.url = "ws://127.0.0.1:1/api-ws/v1/stream";  // never started
  mpe::app::StreamIngest ingest(options, agg, {std::string("/sites/") + kSiteId + "/pcaps"});
  ingest.set_fast_decode(state.range(0) != 0);
  Sink sink(ingest);
  for (auto _ : state) {
    mpe::stream::FrameReader reader(1 << 20);
    size_t off = 0;
    while (off < stream.bytes.size()) {
      auto [dst, room] = reader.WritableTail();
      const size_t n = std::min(room, stream.bytes.size() - off);
      std::memcpy(dst, stream.bytes.data() + off, n);
      reader.Commit(n);
      off += n;
      mpe::stream::FrameReader::Error error;
      if (!reader.Parse(sink, &error)) {
        state.SkipWithError(error.message.c_str());
        return;
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(stream.messages));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(stream.bytes.size()));
  state.counters["messages"] = static_cast<double>(stream.messages);
}
// Arg: 1 = the decoder's fast path on (as in the exporter), 0 = general reading only.
BENCHMARK(BM_IngestStream)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
