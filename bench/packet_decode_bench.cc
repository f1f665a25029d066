// Cost of the native pcap_raw decode (decode::PcapEnricher) relative to the rest of the ingest
// path (frame decode + aggregator). Realistic frames: radiotap (Flags, Rate, Channel, signal)
// + 802.11 QoS Data cut at 128 bytes, and Ethernet + 802.1Q + IPv4 + TCP.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "common/clock.h"
#include "decode/client_facts.h"
#include "decode/frame_decoder.h"
#include "decode/packet_decode.h"
#include "decode/pcap_enricher.h"
#include "decode/pcap_raw.h"
#include "metrics/stream_aggregator.h"

namespace {

using mpe::decode::FrameDecoder;

constexpr const char kSite[] = "4ac1dcf4-9d8b-7211-65c4-057819f0862b";
constexpr const char kChannel[] = "/sites/4ac1dcf4-9d8b-7211-65c4-057819f0862b/pcaps";

void Le32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

std::string Base64(const std::string& in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string Pcap(uint32_t linktype, std::string packet, size_t caplen) {
  packet.resize(caplen, '\x5a');
  std::string out;
  Le32(&out, 0xa1b2c3d4);
  out += std::string("\x02\x00\x04\x00", 4);
  Le32(&out, 0);
  Le32(&out, 0);
  Le32(&out, 65535);
  Le32(&out, linktype);
  Le32(&out, 1764150001);
  Le32(&out, 123456);
  Le32(&out, static_cast<uint32_t>(packet.size()));
  Le32(&out, 412);
  return out + packet;
}

std::string RadiotapQosData() {
  std::string p("\x00\x00\x12\x00\x2e\x00\x00\x00", 8);  // Flags, Rate, Channel, signal
  p += std::string("\x00\x0c\x3c\x14\x40\x01", 6);       // flags, 6 Mbps, 5180, flags
  p += static_cast<char>(-63);
  p += std::string(3, '\0');
  p[2] = static_cast<char>(p.size());
  p += std::string("\x88\x01\x2c\x00", 4);
  p += std::string("\xd4\x20\xb0\x81\x99\x2e\x5c\x5b\x35\x0e\x00\x01\x5c\x5b\x35\x0e\x00\x01", 18);
  p += std::string("\x10\x00\x05\x00", 4);
  return Pcap(127, p, 128);
}

std::string EthernetTcp() {
  std::string p("\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\x81\x00\x00\x0a\x08\x00", 18);
  p += std::string("\x45\x00\x01\x8a\x00\x01\x40\x00\x40\x06\x00\x00", 12);
  p += std::string("\x0a\x14\x1e\x28\xc0\xa8\x64\xc8", 8);
  p += std::string(
      "\x01\xbb\xc9\x3a\x00\x00\x00\x01\x00\x00\x00\x01\x50\x18\x01\xf5\x00\x00\x00\x00", 20);
  return Pcap(1, p, 128);
}

std::string WirelessFrame() {
  return std::string(R"({"event":"data","channel":")") + kChannel +
         R"(","data":{"capture_id":"5d1a5a6e-1a2b-4c3d-8e9f-0a1b2c3d4e5f",)"
         R"("pcap_dict":{"channel_frequency":5180,"channel":36,"datarate":"6.0 Mbps",)"
         R"("rssi":-63,"dst":"d4:20:b0:81:99:2e","src":"5c:5b:35:0e:00:01",)"
         R"("bssid":"5c:5b:35:0e:00:01","frame_type":"Data","frame_subtype":"QoS Data",)"
         R"("proto":"802.11","ap_mac":"5c:5b:35:0e:00:01","direction":"rx",)"
         R"("timestamp":1764150001.123456,"length":412.0,"interface":"radiotap",)"
         R"("info":"QoS Data, SN=1234, FN=0, Flags=.p.....T"},"pcap_raw":")" +
         Base64(RadiotapQosData()) + R"("}})";
}

std::string WiredFrame() {
  return std::string(R"({"event":"data","channel":")") + kChannel +
         R"(","data":{"capture_id":"5d1a5a6e-1a2b-4c3d-8e9f-0a1b2c3d4e5f",)"
         R"("pcap_dict":{"dst_mac":"00:11:22:33:44:55","src_mac":"66:77:88:99:aa:bb",)"
         R"("vlan":10,"src_ip":"10.20.30.40","dst_ip":"192.168.100.200","src_port":443,)"
         R"("dst_port":51514,"proto":"TCP","ap_mac":"5c:5b:35:0e:00:1c","direction":"tx",)"
         R"("timestamp":1764150002.654321,"length":412.0,"interface":"wired",)"
         R"("info":"443 > 51514 [PSH, ACK] Seq=1 Ack=1 Win=501 Len=346"},"pcap_raw":")" +
         Base64(EthernetTcp()) + R"("}})";
}

// The ingest path of StreamIngest::OnFrame: copy, decode, (enrich), record.
void RunIngest(benchmark::State& state, const std::string& frame, bool enrich,
               bool every_packet = true) {
  mpe::metrics::StreamAggregator aggregator({}, mpe::common::SystemClock::Instance());
  aggregator.AddSite(kSite, "HQ");
  FrameDecoder decoder;
  mpe::decode::PcapEnricher enricher;
  enricher.set_decode_every_packet(every_packet);
  std::vector<char> buf(frame.size() + FrameDecoder::kPadding);
  for (auto _ : state) {
    std::memcpy(buf.data(), frame.data(), frame.size());
    mpe::decode::Event e = decoder.Decode(buf.data(), frame.size());
    if (enrich) benchmark::DoNotOptimize(enricher.Enrich(&e));
    benchmark::DoNotOptimize(aggregator.Record(e));
  }
  if (enricher.mismatches() != 0 || enricher.bad_pcap_raw() != 0) {
    state.SkipWithError("the bench frame does not agree with itself");
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_IngestWireless(benchmark::State& state) { RunIngest(state, WirelessFrame(), false); }
void BM_IngestWirelessEnriched(benchmark::State& state) { RunIngest(state, WirelessFrame(), true); }
void BM_IngestWired(benchmark::State& state) { RunIngest(state, WiredFrame(), false); }
void BM_IngestWiredEnriched(benchmark::State& state) { RunIngest(state, WiredFrame(), true); }
BENCHMARK(BM_IngestWireless);
BENCHMARK(BM_IngestWirelessEnriched);
BENCHMARK(BM_IngestWired);
BENCHMARK(BM_IngestWiredEnriched);
// The product default without an archive: complete pcap_dicts are decoded 1 in kSampleEvery.
void BM_IngestWirelessSampled(benchmark::State& state) {
  RunIngest(state, WirelessFrame(), true, false);
}
void BM_IngestWiredSampled(benchmark::State& state) { RunIngest(state, WiredFrame(), true, false); }
BENCHMARK(BM_IngestWirelessSampled);
BENCHMARK(BM_IngestWiredSampled);

// The pieces: base64 + pcap header parse, and the packet walk alone.
void BM_PcapRawDecode(benchmark::State& state) {
  const std::string b64 = Base64(RadiotapQosData());
  std::vector<uint8_t> scratch;
  for (auto _ : state) benchmark::DoNotOptimize(mpe::decode::DecodePcapRaw(b64, &scratch));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PcapRawDecode);

// What every packet now costs for the client-connectivity families: the header bytes of
// pcap_raw base64-decoded and walked (ClientFactsDecoder), for the QoS data frame above and
// the Ethernet/TCP packet below.
void BM_ClientFactsRadiotap(benchmark::State& state) {
  const std::string b64 = Base64(RadiotapQosData());
  mpe::decode::ClientFactsDecoder decoder;
  mpe::decode::ClientFacts facts;
  for (auto _ : state) {
    decoder.Decode(b64, mpe::decode::Interface::kRadiotap, &facts);
    benchmark::DoNotOptimize(facts);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ClientFactsRadiotap);

void BM_ClientFactsEthernet(benchmark::State& state) {
  const std::string b64 = Base64(EthernetTcp());
  mpe::decode::ClientFactsDecoder decoder;
  mpe::decode::ClientFacts facts;
  for (auto _ : state) {
    decoder.Decode(b64, mpe::decode::Interface::kWired, &facts);
    benchmark::DoNotOptimize(facts);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ClientFactsEthernet);

void BM_PacketDecodeRadiotap(benchmark::State& state) {
  const std::string pcap = RadiotapQosData();
  std::span<const uint8_t> packet(reinterpret_cast<const uint8_t*>(pcap.data()) + 40,
                                  pcap.size() - 40);
  for (auto _ : state) benchmark::DoNotOptimize(mpe::decode::DecodePacket(packet, true));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PacketDecodeRadiotap);

void BM_PacketDecodeEthernet(benchmark::State& state) {
  const std::string pcap = EthernetTcp();
  std::span<const uint8_t> packet(reinterpret_cast<const uint8_t*>(pcap.data()) + 40,
                                  pcap.size() - 40);
  for (auto _ : state) benchmark::DoNotOptimize(mpe::decode::DecodePacket(packet, false));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PacketDecodeEthernet);

}  // namespace

BENCHMARK_MAIN();
