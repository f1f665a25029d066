#pragma once

#include <string>
#include <vector>

#include "config/config.h"

namespace mpe::app {

// Risky but legal deployment choices, one line each, for App::Start to log once at warn:
// a token file that group or others may read (checked with stat; a file that cannot be
// stat'ed is the loader's business) and a cleartext http:// API URL to a host that is not
// loopback (the token would cross the network in the clear). Never contains the token.
// Thread-safe (reads the file system only).
std::vector<std::string> StartupWarnings(const config::Config& config);

}  // namespace mpe::app
