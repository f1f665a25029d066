#pragma once

#include <ostream>

#include "config/config_loader.h"
#include "config/flags.h"

namespace mpe::capture {

// `mist_pcap_exporter captures list|status|start|stop|annotate ...`. Exit codes: 0 ok,
// 1 usage/validation, 2 Mist API error. Runs on the calling thread.
int RunCapturesCli(const config::CommandLine& cl, const config::LoadOptions& load_options,
                   std::ostream& out, std::ostream& err);

}  // namespace mpe::capture
