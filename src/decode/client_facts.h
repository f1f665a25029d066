#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "common/packet_layer.h"
#include "decode/event.h"
#include "decode/pcap_raw.h"

namespace mpe::decode {

// The `layer` label of mist_pcap_decode_truncated_total: the innermost of these layers that
// holds a truncated packet's last captured byte (unlisted layers count under the listed one
// that contains them). Shared with the simulator (common/packet_layer.h).
using TruncatedLayer = common::PacketLayer;
inline const char* TruncatedLayerName(TruncatedLayer layer) {  // "radiotap", "802.11", ...
  return common::PacketLayerName(layer);
}

enum class JoinSubtype : uint8_t {
  kNone,
  kAuthentication,
  kAssociationResponse,
  kReassociationResponse
};
enum class DisconnectSubtype : uint8_t { kNone, kDeauthentication, kDisassociation };
const char* JoinSubtypeName(JoinSubtype s);              // "authentication", ...
const char* DisconnectSubtypeName(DisconnectSubtype s);  // "deauthentication", ...

// What one captured packet says about clients (docs/spec.md §6.3, client connectivity): the
// fields the client-connectivity families count. Plain data; zero/none when absent.
struct ClientFacts {
  bool ok = false;  // the pcap headers were read; nothing else is valid without it
  bool radiotap = false;
  int64_t ts_us = 0;  // the pcap record's timestamp, integer microseconds
  uint32_t caplen = 0;
  uint32_t origlen = 0;
  bool truncated = false;  // caplen < origlen
  TruncatedLayer truncated_layer = TruncatedLayer::kRadiotap;

  // 802.11 (radiotap packets).
  bool has_fc = false;
  bool retry = false;
  JoinSubtype join = JoinSubtype::kNone;  // a join response sent by the AP (TA == BSSID)
  uint16_t status_code = 0;
  DisconnectSubtype disconnect = DisconnectSubtype::kNone;
  uint16_t reason_code = 0;
  uint8_t eapol_message = 0;  // 1..4: a whole pairwise EAPOL-Key message; 0: none
  uint64_t bssid = 0;         // with eapol_message: the handshake's (BSSID, client) pair
  uint64_t client = 0;
  bool has_data_client = false;  // a data frame to or from an individual client (top clients)
  uint64_t data_client = 0;

  // Wired packets.
  uint8_t dhcp_message_type = 0;  // DHCP option 53, 1..8; 0: none
  int8_t dns_rcode = -1;          // a DNS response from UDP source port 53; -1: none
};

// Decodes what the client-connectivity families need from a stream message's pcap_raw. Only
// the bytes the walk reads are base64-decoded (headers, not payloads), so a packet costs a
// few hundred base64 characters at most, usually about 120. The rest of pcap_raw is not
// validated here (PcapEnricher's full decode counts bad pcap_raw). Every read is bounded by
// the record's caplen and by the text. One instance per ingest thread (owns its scratch);
// not thread-safe.
class ClientFactsDecoder {
 public:
  // `interface` as pcap_dict says (the interface wins over the linktype, as in PcapEnricher).
  // Returns false (facts->ok false) when pcap_raw is not a one-packet pcap we can read.
  bool Decode(std::string_view pcap_raw, Interface interface, ClientFacts* facts);
  // The same from a record PcapEnricher already decoded.
  void Decode(const RawPacketInfo& raw, bool radiotap, ClientFacts* facts);

 private:
  std::vector<uint8_t> scratch_;
};

// Exposed for tests: tshark 4.0's numbering of an EAPOL-Key frame
// (wlan_rsna_eapol.keydes.msgnr) for a pairwise key; 0 when it gives none.
int EapolMessageNumber(uint16_t key_info, uint16_t key_data_length);

}  // namespace mpe::decode
