#pragma once

#include <string>

#include "common/result.h"
#include "sim/cloud_sim.h"

namespace mpe::sim {

// Parsed command line of mist_cloud_sim.
struct SimCommandLine {
  SimOptions options;
  bool help = false;
};

// Parses `--flag=value` (or `--flag value`) arguments. env_token is $MIST_API_TOKEN or null.
// Unknown flags and bad values are errors. Pure.
common::Result<SimCommandLine> ParseSimCommandLine(int argc, const char* const* argv,
                                                   const char* env_token);
std::string SimUsage();

// The whole program: parse, start, print the listening line, wait for SIGINT/SIGTERM, stop.
// Returns the process exit code.
int RunSimMain(int argc, char** argv);

}  // namespace mpe::sim
