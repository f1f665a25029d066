// Aggregator hot path (one decoded packet -> every family) and scrape cost at 100k series.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <string>
#include <vector>

#include "common/clock.h"
#include "metrics/stream_aggregator.h"

namespace {

using mpe::decode::Event;
using mpe::metrics::StreamAggregator;

std::string SiteId(int i) { return "site-" + std::to_string(i); }
std::string Channel(int i) { return "/sites/" + SiteId(i) + "/pcaps"; }

Event Wireless(const std::string& channel, uint64_t ap, int i) {
  Event e;
  e.kind = mpe::decode::EventKind::kData;
  e.channel = channel;
  e.capture_id = "2b6f1c1e-7c55-4c51-9c3b-3f1a5d0d9a11";
  e.has_lost_messages = true;
  e.lost_messages = i / 100;
  auto& p = e.packet;
  p.interface = mpe::decode::Interface::kRadiotap;
  p.direction = (i & 1) ? mpe::decode::Direction::kTx : mpe::decode::Direction::kRx;
  p.has_ap_mac = true;
  p.ap_mac = ap;
  p.has_length = true;
  p.length = 100 + i % 1400;
  p.has_frequency = true;
  p.channel_frequency = (i % 3 == 0) ? 2437 : 5180;
  p.has_channel = true;
  p.channel = (i % 3 == 0) ? 6 : 36;
  p.has_rssi = true;
  p.rssi = -30 - i % 60;
  p.has_datarate = true;
  p.datarate_mbps = 54;
  static const char* kSub[] = {"Beacon", "QoS Data", "ACK", "Probe Request"};
  p.frame_type = "Management";
  p.frame_subtype = kSub[i % 4];
  return e;
}

void BM_RecordWirelessPacket(benchmark::State& state) {
  StreamAggregator agg({}, mpe::common::SystemClock::Instance());
  agg.AddSite(SiteId(0), "bench");
  std::string channel = Channel(0);
  std::vector<Event> events;
  for (int i = 0; i < 1024; ++i) events.push_back(Wireless(channel, 0x5c5b350e0000ULL + i % 50, i));
  size_t i = 0;
  for (auto _ : state) {
    agg.Record(events[i++ & 1023]);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RecordWirelessPacket);

void BM_RecordWiredPacket(benchmark::State& state) {
  StreamAggregator agg({}, mpe::common::SystemClock::Instance());
  agg.AddSite(SiteId(0), "bench");
  std::string channel = Channel(0);
  std::vector<Event> events;
  static const char* kProto[] = {"TCP", "UDP", "ICMP", "ARP"};
  for (int i = 0; i < 1024; ++i) {
    Event e;
    e.kind = mpe::decode::EventKind::kData;
    e.channel = channel;
    e.packet.interface = mpe::decode::Interface::kWired;
    e.packet.direction = mpe::decode::Direction::kTx;
    e.packet.has_ap_mac = true;
    e.packet.ap_mac = 0x5c5b350e0000ULL + i % 50;
    e.packet.has_length = true;
    e.packet.length = 60 + i % 1400;
    e.packet.proto = kProto[i % 4];
    e.packet.has_vlan = true;
    e.packet.vlan = i % 3 * 10;
    events.push_back(e);
  }
  size_t i = 0;
  for (auto _ : state) agg.Record(events[i++ & 1023]);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RecordWiredPacket);

// 100 sites x 334 APs, one wireless label set each in the packet, frame and RSSI families:
// 100.2k active label sets (plus a few channel/rate sets). Reports scrape time, body size and
// heap bytes per active label set.
void BM_ScrapeAt100kSeries(benchmark::State& state) {
  const size_t heap_before = mallinfo2().uordblks;
  mpe::metrics::AggregatorOptions opts;
  opts.max_series_per_family = 1'000'000;
  auto* agg = new StreamAggregator(opts, mpe::common::SystemClock::Instance());
  std::vector<std::string> channels;
  for (int s = 0; s < 100; ++s) {
    agg->AddSite(SiteId(s), "site " + std::to_string(s));
    channels.push_back(Channel(s));
  }
  for (int s = 0; s < 100; ++s)
    for (int ap = 0; ap < 334; ++ap) {
      Event e = Wireless(channels[s], 0x020000000000ULL + s * 1000 + ap, 0);
      e.packet.frame_subtype = "Beacon";
      agg->Record(e);
    }
  size_t series = 0;
  for (auto f : {StreamAggregator::Family::kPackets, StreamAggregator::Family::kFrames,
                 StreamAggregator::Family::kRssi, StreamAggregator::Family::kChannels,
                 StreamAggregator::Family::kDataRate, StreamAggregator::Family::kWired})
    series += agg->SeriesCount(f);
  const size_t heap_after = mallinfo2().uordblks;
  std::string out;
  for (auto _ : state) {
    out.clear();
    agg->AppendText(&out);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["series"] = static_cast<double>(series);
  state.counters["heap_bytes_per_series"] =
      static_cast<double>(heap_after - heap_before) / static_cast<double>(series);
  state.counters["body_MiB"] = static_cast<double>(out.size()) / (1 << 20);
  delete agg;
}
BENCHMARK(BM_ScrapeAt100kSeries)->Unit(benchmark::kMillisecond)->Iterations(5);

}  // namespace

BENCHMARK_MAIN();
