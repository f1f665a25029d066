#include "capture/cli.h"

namespace mpe::capture {

int RunCapturesCli(const config::CommandLine&, const config::LoadOptions&, std::ostream&,
                   std::ostream& err) {
  err << "mist_pcap_exporter: the captures command is not available in this build yet\n";
  return 1;
}

}  // namespace mpe::capture
