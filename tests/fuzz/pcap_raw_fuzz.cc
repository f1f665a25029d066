// libFuzzer target "pcap_raw": one pcap_raw base64 text per input. The invariants live in
// fuzz_checks.h so the GoogleTest replay checks the same things; run via scripts/fuzz.sh.

#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mpe::fuzz::EnforceOrAbort(mpe::fuzz::CheckPcapRaw({data, size}));
  return 0;
}
