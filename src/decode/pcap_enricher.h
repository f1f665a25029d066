#pragma once

#include <cstdint>
#include <vector>

#include "decode/client_facts.h"
#include "decode/event.h"
#include "decode/packet_decode.h"
#include "decode/pcap_raw.h"

namespace mpe::decode {

// pcap_dict fields the native decode is compared with (the `field` label of
// mist_pcap_decode_mismatch_total).
enum class MismatchField : uint8_t {
  kFrequency,
  kRssi,
  kFrameType,
  kFrameSubtype,
  kVlan,
  kProto,
  kCount
};
const char* MismatchFieldName(MismatchField f);
constexpr uint8_t MismatchBit(MismatchField f) {
  return static_cast<uint8_t>(1u << static_cast<unsigned>(f));
}

// What one data event's pcap_raw holds, decoded once and handed on to the metrics and the
// archive. Pointers stay valid until the next Read.
struct PcapView {
  const RawPacketInfo* record = nullptr;  // the whole record, when it was decoded (see below)
  bool radiotap = false;                  // the layout `record` was read as
  bool bad_pcap_raw = false;              // a whole decode was tried and failed
  uint8_t mismatches = 0;                 // MismatchBit of each pcap_dict field that disagrees
  const ClientFacts* facts = nullptr;     // null without pcap_raw or when it is not a pcap
};

// Reads a packet event's pcap_raw once: completes the event from the bytes and gives the
// client facts (decode/client_facts.h).
//
// Enrichment: decodes the one-packet pcap natively (DecodePacket) and fills channel_frequency,
// rssi, frame_type/subtype, datarate (radiotap) or vlan and proto (Ethernet) where pcap_dict
// lacks them; where both exist and disagree it reports a mismatch and keeps Mist's value. The
// whole decode costs about as much as the rest of the ingest path, so a packet is decoded
// whole only when pcap_dict lacks a field it can fill, when decode_every_packet is set (the
// archive needs the bytes), or as one of every kSampleEvery packets (a live cross-check).
// The client facts need only the header bytes, which are decoded on their own otherwise.
//
// One instance per ingest thread (owns its scratch); not thread-safe.
class PcapEnricher {
 public:
  static constexpr uint32_t kSampleEvery = 16;

  void set_decode_every_packet(bool every) { every_packet_ = every; }

  // Enrichment and client facts of a data event; an empty view for other events.
  PcapView Read(Event* event);

  // Enrichment alone: the decoded record (valid until the next call) or nullptr when the event
  // has no (decodable) pcap_raw or was not picked for decoding. `*radiotap` tells the layout,
  // `*mismatches` gets the MismatchBits.
  const RawPacketInfo* Enrich(Event* event, bool* radiotap = nullptr,
                              uint8_t* mismatches = nullptr);

  uint64_t mismatches() const { return mismatches_; }
  uint64_t bad_pcap_raw() const { return bad_pcap_raw_; }

 private:
  bool every_packet_ = false;
  uint32_t sample_counter_ = 0;
  std::vector<uint8_t> scratch_;
  RawPacketInfo raw_;
  ClientFactsDecoder facts_decoder_;
  ClientFacts facts_;
  uint64_t mismatches_ = 0;
  uint64_t bad_pcap_raw_ = 0;
};

}  // namespace mpe::decode
