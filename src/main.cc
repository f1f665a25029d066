// mist_pcap_exporter: parse flags, load config, run the App until a signal. The only file no
// test links; everything it calls is tested through the library.
#include <malloc.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>

#include "app/app.h"
#include "capture/cli.h"
#include "common/build_info.h"
#include "common/logging.h"
#include "config/config_loader.h"
#include "config/flags.h"
#include "http/web_config.h"

namespace {

std::optional<std::string> GetEnv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

// --help and --version: the exit code when one was given.
std::optional<int> PrintInfo(const mpe::config::CommandLine& cl) {
  if (cl.help) {
    std::cout << mpe::config::UsageText();
    return 0;
  }
  if (cl.version) {
    std::cout << "mist_pcap_exporter " << MPE_VERSION << " (revision " << mpe::common::Revision()
              << ")\n";
    return 0;
  }
  return std::nullopt;
}

int RunSubcommand(const mpe::config::CommandLine& cl,
                  const mpe::config::LoadOptions& load_options) {
  if (cl.subcommand.front() != "captures") {
    std::cerr << "mist_pcap_exporter: unknown command \"" << cl.subcommand.front()
              << "\" (see --help)\n";
    return 1;
  }
  return mpe::capture::RunCapturesCli(cl, load_options, std::cout, std::cerr);
}

int CheckConfig(const mpe::config::Config& cfg) {
  // The web config is part of the deployment: check it (YAML, certificate, key, client CA,
  // cipher suites) as the start would.
  if (!cfg.web.config_file.empty()) {
    auto web = mpe::http::LoadWebConfig(cfg.web.config_file);
    if (!web.ok()) {
      std::cerr << "mist_pcap_exporter: " << web.error().message << "\n";
      return 1;
    }
  }
  std::cout << mpe::config::Summary(cfg) << "\n";
  return 0;
}

// Signals are taken synchronously by this thread; every other thread inherits the mask.
sigset_t BlockSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return signals;
}

// SIGHUP reloads the config file; SIGTERM and SIGINT end the wait.
void WaitForShutdown(mpe::app::App& app, const sigset_t& signals, const std::string& config_file) {
  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      spdlog::info("SIGHUP received, reloading {}", config_file);
      app.Reload();  // logs its outcome; a bad file keeps the running config
      continue;
    }
    spdlog::info("signal {} received, shutting down", sig);
    break;
  }
}

int Serve(mpe::config::Config cfg, const mpe::config::CommandLine& cl,
          const mpe::config::LoadOptions& load_options) {
  const sigset_t signals = BlockSignals();
  mpe::app::App app(std::move(cfg));
  app.EnableReload(mpe::app::ReloadSource{cl.config_file, cl, load_options});
  if (auto st = app.Start(); !st.ok()) {
    spdlog::error("cannot start: {}", st.error().message);
    app.Stop();
    return 1;
  }
  WaitForShutdown(app, signals, cl.config_file);
  app.Stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace mpe;
  // /metrics bodies are tens of MB at 100k series. glibc raises its mmap threshold to the size
  // of the largest block freed so far, after which every HTTP worker's arena keeps a body-sized
  // block for good (282 MiB RSS at 128k series, docs/performance.md). A fixed threshold keeps such
  // blocks mmapped, so each is returned to the kernel when its scrape ends.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  auto cl = config::ParseCommandLine(argc, argv);
  if (!cl.ok()) {
    std::cerr << "mist_pcap_exporter: " << cl.error().message << "\n";
    return 1;
  }
  if (auto done = PrintInfo(*cl)) return *done;

  config::LoadOptions load_options;
  load_options.env = GetEnv;
  if (!cl->subcommand.empty()) return RunSubcommand(*cl, load_options);

  auto cfg = config::LoadConfigFile(cl->config_file, *cl, load_options);
  if (!cfg.ok()) {
    std::cerr << "mist_pcap_exporter: " << cfg.error().message << "\n";
    return 1;
  }
  if (cl->check_config) return CheckConfig(*cfg);
  common::SetupLogging(cfg->log.level, cfg->log.format);
  return Serve(std::move(cfg).value(), *cl, load_options);
}
