#include "decode/pcap_enricher.h"

#include <cmath>

namespace mpe::decode {

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

namespace {

// Fills what pcap_dict lacks from the decoded radiotap and 802.11 headers; returns the
// MismatchBits of the fields where both exist and disagree (Mist's value is kept).
uint8_t FillRadiotap(const PacketInfo& info, PacketFields* p) {
  uint8_t mismatches = 0;
  auto Mismatch = [&mismatches](MismatchField field) { mismatches |= MismatchBit(field); };
  if (info.has_channel && info.channel_frequency != 0) {
    if (!p->has_frequency) {
      p->has_frequency = true;
      p->channel_frequency = info.channel_frequency;
    } else if (p->channel_frequency != info.channel_frequency) {
      Mismatch(MismatchField::kFrequency);
    }
  }
  if (info.has_signal) {
    if (!p->has_rssi) {
      p->has_rssi = true;
      p->rssi = info.signal_dbm;
    } else if (std::lround(p->rssi) != info.signal_dbm) {
      Mismatch(MismatchField::kRssi);
    }
  }
  if (info.has_rate && !p->has_datarate && info.rate_mbps > 0) {
    p->has_datarate = true;
    p->datarate_mbps = info.rate_mbps;
  }
  if (info.has_dot11) {
    if (!info.frame_type.empty()) {
      if (p->frame_type.empty()) {
        p->frame_type = info.frame_type;
      } else if (p->frame_type != info.frame_type) {
        Mismatch(MismatchField::kFrameType);
      }
    }
    if (!info.frame_subtype.empty()) {
      if (p->frame_subtype.empty()) {
        p->frame_subtype = info.frame_subtype;
      } else if (p->frame_subtype != info.frame_subtype) {
        Mismatch(MismatchField::kFrameSubtype);
      }
    }
  }
  return mismatches;
}

// The same for Ethernet: the first VLAN id and the protocol.
uint8_t FillEthernet(const PacketInfo& info, PacketFields* p) {
  uint8_t mismatches = 0;
  auto Mismatch = [&mismatches](MismatchField field) { mismatches |= MismatchBit(field); };
  if (!info.has_ethernet) return 0;
  if (info.vlan_count > 0) {
    if (!p->has_vlan) {
      p->has_vlan = true;
      p->vlan = info.vlan_ids[0];
    } else if (p->vlan != info.vlan_ids[0]) {
      Mismatch(MismatchField::kVlan);
    }
  }
  if (!info.proto.empty()) {
    if (p->proto.empty()) {
      p->proto = info.proto;
    } else if (p->proto != info.proto) {
      Mismatch(MismatchField::kProto);
    }
  }
  return mismatches;
}

}  // namespace

const RawPacketInfo* PcapEnricher::Enrich(Event* event, bool* radiotap_out,
                                          uint8_t* mismatches_out) {
  PacketFields& p = event->packet;
  if (mismatches_out != nullptr) *mismatches_out = 0;
  if (event->kind != EventKind::kData || p.pcap_raw.empty()) return nullptr;
  if (!every_packet_) {
    const bool wired = p.interface == Interface::kWired;
    const bool wireless = p.interface == Interface::kRadiotap;
    // A missing vlan is normal (untagged), so only proto makes a wired packet incomplete.
    const bool incomplete = (!wired && (!p.has_frequency || !p.has_rssi || p.frame_type.empty() ||
                                        p.frame_subtype.empty() || !p.has_datarate)) ||
                            (!wireless && p.proto.empty());
    if (!incomplete && ++sample_counter_ % kSampleEvery != 0) return nullptr;
  }
  auto raw = DecodePcapRaw(p.pcap_raw, &scratch_);
  if (!raw.ok()) {
    ++bad_pcap_raw_;
    return nullptr;
  }
  raw_ = *raw;
  // The interface Mist names wins over the linktype (Mist's sample claims 1 for radiotap).
  bool radiotap;
  if (p.interface == Interface::kRadiotap) {
    radiotap = true;
  } else if (p.interface == Interface::kWired) {
    radiotap = false;
  } else {
    radiotap = raw_.linktype == kLinktypeIeee80211Radiotap || LooksLikeRadiotap(raw_.packet);
  }
  if (radiotap_out != nullptr) *radiotap_out = radiotap;
  const PacketInfo info = DecodePacket(raw_.packet, radiotap);

  const uint8_t mismatches = radiotap ? FillRadiotap(info, &p) : FillEthernet(info, &p);
  if (mismatches != 0) {
    mismatches_ += static_cast<uint64_t>(__builtin_popcount(mismatches));
    if (mismatches_out != nullptr) *mismatches_out = mismatches;
  }
  return &raw_;
}

PcapView PcapEnricher::Read(Event* event) {
  PcapView view;
  if (event->kind != EventKind::kData || event->packet.pcap_raw.empty()) return view;
  const uint64_t bad_before = bad_pcap_raw_;
  view.record = Enrich(event, &view.radiotap, &view.mismatches);
  view.bad_pcap_raw = bad_pcap_raw_ != bad_before;
  // From the whole record when there is one, else from the few header bytes the facts need.
  if (view.record != nullptr) {
    facts_decoder_.Decode(*view.record, view.radiotap, &facts_);
  } else {
    facts_decoder_.Decode(event->packet.pcap_raw, event->packet.interface, &facts_);
  }
  if (facts_.ok) view.facts = &facts_;
  return view;
}

}  // namespace mpe::decode
