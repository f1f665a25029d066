#include "config/flags.h"

#include <charconv>
#include <string_view>
#include <vector>

#include "common/flag_parser.h"
#include "config/config_loader.h"

namespace mpe::config {
namespace {

using common::FlagKind;
using common::MakeError;

std::optional<int> ParseInt(std::string_view text) {
  int value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

// The exporter's flags (docs/spec.md §3.1); the words after them are the subcommand's.
const std::vector<common::FlagDef>& Flags() {
  static const std::vector<common::FlagDef> flags = {
      {"--config.file", FlagKind::kValue, ""},
      {"--web.listen-address", FlagKind::kValue, ""},
      {"--web.config.file", FlagKind::kValue, ""},
      {"--log.level", FlagKind::kValue, ""},
      {"--log.format", FlagKind::kValue, ""},
      {"--shard.index", FlagKind::kValue, ""},
      {"--shard.count", FlagKind::kValue, ""},
      {"--check-config", FlagKind::kSwitch, ""},
      {"--version", FlagKind::kSwitch, ""},
      {"--help", FlagKind::kSwitch, "-h"},
      {"--web.enable-lifecycle", FlagKind::kSwitch, ""},
  };
  return flags;
}

// Flags before the subcommand: "--" or the first word that is not a flag ends them.
constexpr common::FlagSyntax kSyntax{
    .double_dash_ends_flags = true, .stop_at_positional = true, .dash_words_are_flags = true};

// Applies one parsed flag to `cl`; returns the problem text when the value is bad.
std::optional<std::string> Apply(std::string_view name, const std::string& value, CommandLine& cl) {
  auto quoted = [&] { return "\"" + value + "\""; };
  if (name == "--check-config") {
    cl.check_config = true;
  } else if (name == "--version") {
    cl.version = true;
  } else if (name == "--help") {
    cl.help = true;
  } else if (name == "--web.enable-lifecycle") {
    cl.web_enable_lifecycle = true;
  } else if (name == "--config.file") {
    if (value.empty()) return std::string("must not be empty");
    cl.config_file = value;
  } else if (name == "--web.listen-address") {
    if (auto problem = ListenAddressProblem(value)) return problem;
    cl.listen_address = value;
  } else if (name == "--web.config.file") {
    cl.web_config_file = value;  // empty is allowed: it switches a file-configured one off
  } else if (name == "--log.level") {
    if (value != "debug" && value != "info" && value != "warn" && value != "error") {
      return "must be one of debug, info, warn, error; got " + quoted();
    }
    cl.log_level = value;
  } else if (name == "--log.format") {
    if (value != "text" && value != "json") return "must be text or json; got " + quoted();
    cl.log_format = value;
  } else if (name == "--shard.index") {
    auto n = ParseInt(value);
    if (!n) return "must be an integer; got " + quoted();
    if (*n < 0) return "must be >= 0; got " + value;
    cl.shard_index = *n;
  } else if (name == "--shard.count") {
    auto n = ParseInt(value);
    if (!n) return "must be an integer; got " + quoted();
    if (*n < 1) return "must be >= 1; got " + value;
    cl.shard_count = *n;
  }
  return std::nullopt;
}

}  // namespace

common::Result<CommandLine> ParseCommandLine(int argc, const char* const argv[]) {
  CommandLine cl;
  std::vector<std::string_view> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  common::FlagParse parsed = common::ParseFlags(args, Flags(), kSyntax);
  for (const common::ParsedFlag& flag : parsed.flags) {
    if (auto problem = Apply(flag.name, flag.value, cl)) {
      return MakeError(flag.name + ": " + *problem);
    }
  }
  if (parsed.error) {
    const std::string text = common::FlagErrorText(*parsed.error);
    if (parsed.error->kind == common::FlagErrorKind::kUnknownFlag) {
      return MakeError(text + " (see --help)");
    }
    return MakeError(text);
  }
  cl.subcommand = std::move(parsed.rest);
  if (cl.shard_index && cl.shard_count && *cl.shard_index >= *cl.shard_count) {
    return MakeError("--shard.index: " + std::to_string(*cl.shard_index) +
                     " must be less than --shard.count " + std::to_string(*cl.shard_count));
  }
  return cl;
}

std::string UsageText() {
  return R"(usage: mist_pcap_exporter [flags]
       mist_pcap_exporter [flags] captures list|status|start|stop|annotate [options]

Prometheus exporter for Juniper Mist packet captures.

Flags:
  --config.file=PATH            config file (default config/mist_pcap_exporter.yaml)
  --web.listen-address=ADDR     HOST:PORT or :PORT to serve /metrics on (overrides
                                web.listen_address)
  --web.config.file=PATH        TLS / basic auth web config (exporter-toolkit format)
  --web.enable-lifecycle        serve POST /-/reload (off by default; SIGHUP always reloads)
  --log.level=LEVEL             debug, info, warn or error (overrides log.level)
  --log.format=FORMAT           text or json (overrides log.format)
  --shard.index=N               this replica's shard (default: the ordinal at the end of
                                $HOSTNAME when --shard.count > 1)
  --shard.count=M               number of replicas sharing the sites (default 1)
  --check-config                validate the config file, print a summary and exit 0/1
  --version                     print the version and exit
  -h, --help                    print this help and exit

The Mist API token is read from the environment variable named by mist.token_env
(default MIST_API_TOKEN) or from mist.token_file; it is never taken from a flag.
)";
}

}  // namespace mpe::config
