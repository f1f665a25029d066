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

#include "decode/frame_decoder.h"

namespace {

using mpe::decode::EventKind;
using mpe::decode::FrameDecoder;

std::string Base64(const std::vector<uint8_t>& in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint32_t{in[i]} << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// ~550 base64 characters: a 24+16-byte pcap header and a 372-byte packet.
std::string PcapRaw() {
  std::vector<uint8_t> bytes(412);
  uint32_t x = 2463534242u;
  for (uint8_t& b : bytes) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    b = static_cast<uint8_t>(x);
  }
  return Base64(bytes);
}

std::string Quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

const char kChannel[] = "/sites/4ac1dcf4-9d8b-7211-65c4-057819f0862b/pcaps";

std::string WirelessData() {
  return std::string(R"({"capture_id":"5d1a5a6e-1a2b-4c3d-8e9f-0a1b2c3d4e5f","lost_messages":0,)") +
         R"("pcap_dict":{"channel_frequency":5180,"channel":36,"datarate":"866.7 Mbps",)"
         R"("rssi":-63,"dst":"ff:ff:ff:ff:ff:ff","src":"d4:20:b0:81:99:2e",)"
         R"("bssid":"d4:20:b0:81:99:2e","frame_type":"Data","frame_subtype":"QoS Data",)"
         R"("proto":"802.11","ap_mac":"d4:20:b0:81:99:2e","direction":"rx",)"
         R"("timestamp":1764150001.123456,"length":412.0,"interface":"radiotap",)"
         R"("info":"QoS Data, SN=1234, FN=0, Flags=.p.....T \u2192 d4:20:b0:81:99:2e \u2192 )"
         R"(ff:ff:ff:ff:ff:ff, TID=0, A-MSDU \u2192 \"corp-wlan\" 802.11ax HE-MCS 9 NSS 2"},)"
         R"("pcap_raw":")" +
         PcapRaw() + R"("})";
}

std::string WiredData() {
  return std::string(R"({"capture_id":"5d1a5a6e-1a2b-4c3d-8e9f-0a1b2c3d4e5f","lost_messages":0,)") +
         R"("pcap_dict":{"dst_mac":"00:11:22:33:44:55","src_mac":"66:77:88:99:aa:bb",)"
         R"("vlan":10,"src_ip":"10.20.30.40","dst_ip":"192.168.100.200","src_port":443,)"
         R"("dst_port":51514,"proto":"TCP","ap_mac":"5c:5b:35:0e:00:1c","direction":"tx",)"
         R"("timestamp":1764150002.654321,"length":412.0,"interface":"wired",)"
         R"("info":"443 \u2192 51514 [PSH, ACK] Seq=1 Ack=1 Win=501 Len=346 \u2192 TLSv1.3 )"
         R"(Application Data, Application Data \u2192 \"api.example.com\" HTTP/2 DATA"},)"
         R"("pcap_raw":")" +
         PcapRaw() + R"("})";
}

std::string ObjectFrame(const std::string& data) {
  return std::string(R"({"event":"data","channel":")") + kChannel + R"(","data":)" + data + "}";
}

std::string StringFrame(const std::string& data) { return ObjectFrame(Quote(data)); }

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
