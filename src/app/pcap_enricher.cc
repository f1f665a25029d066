#include "app/pcap_enricher.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <cmath>

namespace mpe::app {

const char* MismatchFieldName(MismatchField f) {
  switch (f) {
    case MismatchField::kFrequency:
      return "frequency";
    case MismatchField::kRssi:
      return "rssi";
    case MismatchField::kFrameType:
      return "frame_type";
    case MismatchField::kFrameSubtype:
      return "frame_subtype";
    case MismatchField::kVlan:
      return "vlan";
    case MismatchField::kProto:
      return "proto";
    default:
      return "unknown";
  }
}

DecodeMismatchMetrics::DecodeMismatchMetrics(prometheus::Registry& registry) {
  auto& family = prometheus::BuildCounter()
                     .Name("mist_pcap_decode_mismatch_total")
                     .Help(
                         "Packets whose pcap_dict field disagrees with the native decode of "
                         "pcap_raw (Mist's value is kept).")
                     .Register(registry);
  for (int i = 0; i < static_cast<int>(MismatchField::kCount); ++i) {
    counters_[i] = &family.Add({{"field", MismatchFieldName(static_cast<MismatchField>(i))}});
  }
}

void DecodeMismatchMetrics::Count(MismatchField field) {
  counters_[static_cast<int>(field)]->Increment();
}

void PcapEnricher::Mismatch(MismatchField field) {
  ++mismatches_;
  if (metrics_ != nullptr) metrics_->Count(field);
}

const decode::RawPacketInfo* PcapEnricher::Enrich(decode::Event* event, bool* radiotap_out) {
  decode::PacketFields& p = event->packet;
  if (event->kind != decode::EventKind::kData || p.pcap_raw.empty()) return nullptr;
  if (!every_packet_) {
    const bool wired = p.interface == decode::Interface::kWired;
    const bool wireless = p.interface == decode::Interface::kRadiotap;
    // A missing vlan is normal (untagged), so only proto makes a wired packet incomplete.
    const bool incomplete = (!wired && (!p.has_frequency || !p.has_rssi || p.frame_type.empty() ||
                                        p.frame_subtype.empty() || !p.has_datarate)) ||
                            (!wireless && p.proto.empty());
    if (!incomplete && ++sample_counter_ % kSampleEvery != 0) return nullptr;
  }
  auto raw = decode::DecodePcapRaw(p.pcap_raw, &scratch_);
  if (!raw.ok()) {
    ++bad_pcap_raw_;
    return nullptr;
  }
  raw_ = *raw;
  // The interface Mist names wins over the linktype (Mist's sample claims 1 for radiotap).
  bool radiotap;
  if (p.interface == decode::Interface::kRadiotap) {
    radiotap = true;
  } else if (p.interface == decode::Interface::kWired) {
    radiotap = false;
  } else {
    radiotap = raw_.linktype == decode::kLinktypeIeee80211Radiotap ||
               decode::LooksLikeRadiotap(raw_.packet);
  }
  if (radiotap_out != nullptr) *radiotap_out = radiotap;
  const decode::PacketInfo info = decode::DecodePacket(raw_.packet, radiotap);

  if (radiotap) {
    if (info.has_channel && info.channel_frequency != 0) {
      if (!p.has_frequency) {
        p.has_frequency = true;
        p.channel_frequency = info.channel_frequency;
      } else if (p.channel_frequency != info.channel_frequency) {
        Mismatch(MismatchField::kFrequency);
      }
    }
    if (info.has_signal) {
      if (!p.has_rssi) {
        p.has_rssi = true;
        p.rssi = info.signal_dbm;
      } else if (std::lround(p.rssi) != info.signal_dbm) {
        Mismatch(MismatchField::kRssi);
      }
    }
    if (info.has_rate && !p.has_datarate && info.rate_mbps > 0) {
      p.has_datarate = true;
      p.datarate_mbps = info.rate_mbps;
    }
    if (info.has_dot11) {
      if (!info.frame_type.empty()) {
        if (p.frame_type.empty()) {
          p.frame_type = info.frame_type;
        } else if (p.frame_type != info.frame_type) {
          Mismatch(MismatchField::kFrameType);
        }
      }
      if (!info.frame_subtype.empty()) {
        if (p.frame_subtype.empty()) {
          p.frame_subtype = info.frame_subtype;
        } else if (p.frame_subtype != info.frame_subtype) {
          Mismatch(MismatchField::kFrameSubtype);
        }
      }
    }
  } else if (info.has_ethernet) {
    if (info.vlan_count > 0) {
      if (!p.has_vlan) {
        p.has_vlan = true;
        p.vlan = info.vlan_ids[0];
      } else if (p.vlan != info.vlan_ids[0]) {
        Mismatch(MismatchField::kVlan);
      }
    }
    if (!info.proto.empty()) {
      if (p.proto.empty()) {
        p.proto = info.proto;
      } else if (p.proto != info.proto) {
        Mismatch(MismatchField::kProto);
      }
    }
  }
  return &raw_;
}

}  // namespace mpe::app
