#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace mpe::capture {

// What a downloaded capture file holds: its format and how many packets.
struct CaptureFileInfo {
  std::string format;  // "pcap" or "pcapng"
  uint64_t packets = 0;
};

// Checks that `bytes` is a whole classic pcap (either byte order, micro- or nanosecond) or
// pcapng file (every block well-formed, a section header first) and counts its packets (pcap
// records; pcapng enhanced, simple and obsolete packet blocks). Fails with what is wrong,
// e.g. for an HTML error page or a file cut short. Pure.
common::Result<CaptureFileInfo> InspectCaptureFile(std::string_view bytes);

// Writes `bytes` to `path` atomically: a temporary file beside it, fsync, rename. On any
// failure nothing is left at `path` or beside it.
common::Status WriteFileAtomically(const std::string& path, std::string_view bytes);

}  // namespace mpe::capture
