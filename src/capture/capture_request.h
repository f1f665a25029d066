#pragma once

#include <string>

#include "common/result.h"
#include "config/config.h"

namespace mpe::capture {

// Checks a capture request the way Mist would, before anything is sent: type is one of
// client | radiotap | "radiotap,wired" | wired | gateway | new_assoc; duration 60..86400;
// num_packets 0..10000; max_pkt_len 64..2048; client_mac required for type client; every MAC
// valid; band 24|2.4|5|6 (comma list); format stream|pcap. Normalises MACs (12 lowercase hex)
// and band ("2.4" -> "24") in place. Pure.
common::Status ValidateCaptureRequest(config::ManagedCapture* request);

// Mist's Capture object for POST /sites/{id}/pcaps/capture (RapidJSON Writer): only the
// fields that are set; `site` is not part of it. Pure.
std::string CaptureRequestJson(const config::ManagedCapture& request);

}  // namespace mpe::capture
