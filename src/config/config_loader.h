#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "config/config.h"
#include "config/flags.h"

namespace mpe::config {

// Looks up an environment variable; nullopt when unset. Injected so tests need no setenv.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

struct LoadOptions {
  EnvLookup env;  // empty: the process environment (getenv)
  // False skips the "no API token" check and ignores an unreadable token file, for callers
  // that only validate the file or never talk to Mist.
  bool require_token = true;
};

// Reads, validates and resolves a config file (docs/spec.md §4), then applies the flag overrides of
// `cl` (listen address, web config file, log level/format, shard). Every rejection is one
// message "<file>:<line>: <key.path>: <problem>"; a file that cannot be read gives
// "<file>: cannot read config file: <reason>". The token's value never appears in any message.
// Pure apart from reading the file, the token file and the environment; thread-safe.
//
// Normalisations: mist.api_url loses a trailing slash; an empty mist.stream_url is derived
// with DeriveStreamUrl; captures' MACs become 12 lowercase hex digits and band "2.4" becomes
// "24" (Mist's spelling). Relative token_file paths are taken from the working directory.
common::Result<Config> LoadConfigFile(const std::string& path, const CommandLine& cl,
                                      const LoadOptions& opts);
common::Result<Config> LoadConfigString(std::string_view yaml, const std::string& source_name,
                                        const CommandLine& cl, const LoadOptions& opts);

// One line for --check-config, e.g. "config OK: 3 sites, discovery off, stream on, ...".
// Never includes the token.
std::string Summary(const Config& c);

// Why `address` is not a valid "HOST:PORT", ":PORT" or "[v6]:PORT" listen address (port
// 0..65535); nullopt when it is fine.
std::optional<std::string> ListenAddressProblem(std::string_view address);

// The ordinal at the end of a StatefulSet pod name ("mpe-2" -> 2); nullopt when there is none.
std::optional<int> TrailingOrdinal(std::string_view hostname);

}  // namespace mpe::config
