#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace mpe::config {

// The parsed command line (docs/spec.md §3.1). Only what the user passed is set, so the loader
// can tell "flag absent, keep the config file's value" from an explicit override. Value type.
// The Mist token has no flag on purpose: flags show up in `ps` and shell history.
struct CommandLine {
  std::string config_file = "config/mist_pcap_exporter.yaml";
  std::optional<std::string> listen_address;    // --web.listen-address
  std::optional<std::string> web_config_file;   // --web.config.file
  std::optional<std::string> log_level;         // --log.level
  std::optional<std::string> log_format;        // --log.format
  std::optional<int> shard_index, shard_count;  // --shard.index --shard.count
  bool check_config = false, version = false, help = false;
  bool web_enable_lifecycle = false;  // --web.enable-lifecycle
  // From the first non-flag word on (or everything after "--"), e.g.
  // {"captures", "list", "--site", "HQ"}; flags after it belong to the subcommand.
  std::vector<std::string> subcommand;
};

// Parses argv (argv[0] is the program name). Accepts `--flag=value` and `--flag value`; the
// booleans are --check-config, --web.enable-lifecycle, --version, --help and -h. Errors name the
// flag and the problem
// ("unknown flag --foo (see --help)"). Pure; thread-safe.
common::Result<CommandLine> ParseCommandLine(int argc, const char* const argv[]);

// The --help text.
std::string UsageText();

}  // namespace mpe::config
