#include "sim/sim_cli.h"

#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string_view>
#include <vector>

#include "common/flag_parser.h"
#include "common/logging.h"

namespace mpe::sim {

namespace {

bool ParseDouble(const std::string& text, double* out) {
  char* end = nullptr;
  *out = std::strtod(text.c_str(), &end);
  return !text.empty() && end != nullptr && *end == '\0';
}

bool ParseUint(const std::string& text, uint64_t* out) {
  if (text.empty() || text[0] == '-') return false;
  char* end = nullptr;
  *out = std::strtoull(text.c_str(), &end, 10);
  return end != nullptr && *end == '\0';
}

// The simulator's flags: every one but --help takes a value.
const std::vector<common::FlagDef>& SimFlags() {
  using common::FlagKind;
  static const std::vector<common::FlagDef> flags = {
      {"--help", FlagKind::kSwitch, "-h"},
      {"--listen", FlagKind::kValue, ""},
      {"--scenario", FlagKind::kValue, ""},
      {"--rate", FlagKind::kValue, ""},
      {"--seed", FlagKind::kValue, ""},
      {"--tls-cert", FlagKind::kValue, ""},
      {"--tls-key", FlagKind::kValue, ""},
      {"--token", FlagKind::kValue, ""},
      {"--download-origin", FlagKind::kValue, ""},
  };
  return flags;
}

// The simulator's wording: flag names in quotes, "--help=x" is an unknown flag.
std::string ErrorText(const common::FlagError& error) {
  switch (error.kind) {
    case common::FlagErrorKind::kUnknownFlag:
    case common::FlagErrorKind::kUnexpectedValue:
      return "unknown flag '" + error.flag + "'";
    case common::FlagErrorKind::kUnexpectedArgument:
      return "unexpected argument '" + error.value + "'";
    default:
      return common::FlagErrorText(error);
  }
}

// Applies one parsed flag to `cl`; the error text when its value is bad.
std::optional<std::string> Apply(const std::string& name, const std::string& value,
                                 SimCommandLine& cl) {
  if (name == "--help") {
    cl.help = true;
  } else if (name == "--listen") {
    cl.options.listen = value;
  } else if (name == "--scenario") {
    cl.options.scenario_file = value;
  } else if (name == "--rate") {
    if (!ParseDouble(value, &cl.options.rate) || cl.options.rate <= 0) {
      return "--rate must be a positive number";
    }
  } else if (name == "--seed") {
    if (!ParseUint(value, &cl.options.seed)) return "--seed must be a non-negative integer";
  } else if (name == "--download-origin") {
    cl.options.download_origin = value;
  } else if (name == "--tls-cert") {
    cl.options.tls_cert = value;
  } else if (name == "--tls-key") {
    cl.options.tls_key = value;
  } else if (name == "--token") {
    if (value.empty()) return "--token must not be empty";
    cl.options.token = value;
  }
  return std::nullopt;
}

}  // namespace

std::string SimUsage() {
  return "usage: mist_cloud_sim [--listen=HOST:PORT] [--scenario=FILE] [--rate=MSGS_PER_S]\n"
         "                      [--seed=N] [--tls-cert=FILE --tls-key=FILE] [--token=TOKEN]\n"
         "                      [--download-origin=URL]\n"
         "\n"
         "A simulated Juniper Mist cloud: the site pcaps REST API and the WebSocket stream\n"
         "(/api-ws/v1/stream) on one address, plus /sim/ control endpoints (truth, stats,\n"
         "faults, stream, reset_truth, sites, requests, usage, idle_status, downloads,\n"
         "changes), the org inventory and the capture files behind pcap_url (/pcap-files/).\n"
         "\n"
         "  --listen     address to listen on (default 127.0.0.1:18080; port 0 picks one)\n"
         "  --scenario   scenario YAML (default: the built-in demo, see\n"
         "               config/sim_scenario.yaml)\n"
         "  --rate       stream data messages per second per connection (default 50)\n"
         "  --seed       makes ids and packet content deterministic (default 1)\n"
         "  --tls-cert, --tls-key  serve https/wss with this PEM certificate and key\n"
         "  --token      API token clients must send (default: $MIST_API_TOKEN, else\n"
         "               \"demo-token\")\n"
         "  --download-origin  origin of the pcap_url links, e.g. http://localhost:{port}\n"
         "               ({port} = the listening port; default: the API's own origin)\n"
         "  --help       this text\n";
}

common::Result<SimCommandLine> ParseSimCommandLine(int argc, const char* const* argv,
                                                   const char* env_token) {
  SimCommandLine cl;
  cl.options.listen = "127.0.0.1:18080";
  cl.options.token = env_token != nullptr && *env_token != '\0' ? env_token : "demo-token";
  std::vector<std::string_view> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  const common::FlagParse parsed = common::ParseFlags(args, SimFlags());
  for (const common::ParsedFlag& flag : parsed.flags) {
    if (auto problem = Apply(flag.name, flag.value, cl)) return common::MakeError(*problem);
  }
  if (parsed.error) return common::MakeError(ErrorText(*parsed.error));
  if (cl.options.tls_cert.empty() != cl.options.tls_key.empty()) {
    return common::MakeError("--tls-cert and --tls-key go together");
  }
  return cl;
}

int RunSimMain(int argc, char** argv) {
  auto cl = ParseSimCommandLine(argc, argv, std::getenv("MIST_API_TOKEN"));
  if (!cl.ok()) {
    std::cerr << "mist_cloud_sim: " << cl.error().message << "\n" << SimUsage();
    return 1;
  }
  if (cl->help) {
    std::cout << SimUsage();
    return 0;
  }
  common::SetupLogging("info", "text");
  // Block the stop signals before any io thread exists so only sigwait below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  CloudSim sim(cl->options);
  auto st = sim.Start();
  if (!st.ok()) {
    std::cerr << "mist_cloud_sim: " << st.error().message << "\n";
    return 1;
  }
  std::cout << "mist_cloud_sim listening on " << sim.base_url() << std::endl;
  int sig = 0;
  sigwait(&signals, &sig);
  sim.Stop();
  return 0;
}

}  // namespace mpe::sim
