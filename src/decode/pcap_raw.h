#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace mpe::decode {

// The one packet inside a stream message's pcap_raw (base64 of a classic pcap file: 24-byte
// global header, 16-byte record header, captured bytes). Plain data; `packet` points into
// the scratch buffer given to DecodePcapRaw and is valid until that buffer is reused.
struct RawPacketInfo {
  uint32_t linktype = 0;  // low 16 bits of the header's network field (FCS bits dropped)
  uint32_t snaplen = 0;
  uint16_t version_major = 0;
  uint16_t version_minor = 0;
  bool big_endian = false;  // byte order of the file
  bool nanosecond = false;  // ts_frac is nanoseconds (magic a1b23c4d), else microseconds
  uint32_t ts_sec = 0;
  uint32_t ts_frac = 0;
  uint32_t caplen = 0;   // bytes present (== packet.size())
  uint32_t origlen = 0;  // bytes on the wire
  std::span<const uint8_t> packet;
};

inline constexpr uint32_t kLinktypeEthernet = 1;
inline constexpr uint32_t kLinktypeIeee80211Radiotap = 127;
inline constexpr size_t kPcapGlobalHeaderBytes = 24;
inline constexpr size_t kPcapRecordHeaderBytes = 16;

// Standard or URL-safe base64, padding optional, CR/LF/space ignored. Appends nothing on
// error (out is cleared first). Pure; never reads outside `text`.
common::Status Base64Decode(std::string_view text, std::vector<uint8_t>* out);

// Decodes `base64` into *scratch (reused: no allocation once it has grown) and parses the
// pcap headers of the first record; a second record, if any, is ignored. Errors name what
// was wrong (bad base64, short global header, bad magic, short record header, truncated
// packet). Pure; never reads outside its inputs. Thread-safe for distinct scratch buffers.
common::Result<RawPacketInfo> DecodePcapRaw(std::string_view base64, std::vector<uint8_t>* scratch);

// True when `bytes` start with a plausible radiotap header (version 0, length 8..caplen).
// Mist's sample pcap_raw says linktype 1 for radiotap+802.11 frames (docs/spec.md §2.4): a
// writer uses this to pick linktype 127 instead.
bool LooksLikeRadiotap(std::span<const uint8_t> bytes);

namespace internal {
// Decodes whole groups of four standard or URL-safe base64 characters of `text` from *pos
// into o[decoded..] until `want` bytes are there, a character outside the alphabet (or '=')
// is met, or the text ends; advances *pos; returns the new byte count. Writes up to 4 bytes
// past the last decoded one. Exposed for tests.
size_t Base64DecodeGroups(std::string_view text, size_t* pos, uint8_t* o, size_t decoded,
                          size_t want);
}  // namespace internal

}  // namespace mpe::decode
