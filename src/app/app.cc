#include "app/app.h"

#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "app/shard.h"
#include "app/site_changes.h"
#include "app/site_directory.h"
#include "app/startup_warnings.h"
#include "app/stream_ingest.h"
#include "app/stream_pool.h"
#include "capture/archive_writer.h"
#include "capture/managed_captures.h"
#include "capture/site_ref.h"
#include "common/build_info.h"
#include "common/logging.h"
#include "http/server.h"
#include "http/status_page.h"
#include "metrics/decode_mismatch_metrics.h"
#include "metrics/stream_aggregator.h"
#include "mist/api_metrics.h"
#include "mist/mist_client.h"
#include "poll/capture_metrics.h"
#include "poll/inventory_watcher.h"
#include "poll/site_poller.h"
#include "poll/usage_watcher.h"

namespace mpe::app {

namespace {

std::string Channel(const std::string& site_id) { return "/sites/" + site_id + "/pcaps"; }

metrics::AggregatorOptions AggregatorOptionsFrom(const config::Config& config,
                                                 metrics::LabelValueStats* label_stats) {
  metrics::AggregatorOptions opts;
  opts.max_series_per_family = config.metrics.max_series_per_family;
  opts.stale_after = config.metrics.stale_after;
  opts.top_clients = config.metrics.top_clients;
  opts.top_clients_window = config.metrics.top_clients_window;
  opts.lost_mode = config.stream.lost_messages;
  opts.label_stats = label_stats;
  return opts;
}

// AP names change rarely: the org inventory is read hourly.
constexpr std::chrono::hours kInventoryInterval{1};

}  // namespace

App::App(config::Config config, common::Clock& clock) : config_(std::move(config)), clock_(clock) {}

App::~App() { Stop(); }

config::Config App::ManagedCapturesConfig() const {
  config::Config c = config_;
  c.captures.clear();
  for (const auto& entry : config_.captures) {
    auto site = capture::ResolveSite(config_, entry.site);
    const bool mine = site ? OwnsSite(site->id, config_.shard.index, config_.shard.count)
                           : config_.shard.index == 0;  // report a bad entry once, not N times
    if (mine) c.captures.push_back(entry);
  }
  if (c.captures.size() != config_.captures.size()) {
    spdlog::info("managed captures: {} of {} entries belong to this shard ({}/{})",
                 c.captures.size(), config_.captures.size(), config_.shard.index,
                 config_.shard.count);
  }
  return c;
}

std::unique_ptr<StreamIngest> App::NewIngest(std::vector<std::string> channels) {
  stream::StreamOptions opts;
  opts.url = config_.mist.stream_url;
  opts.token = config_.token;
  opts.ca_file = config_.mist.ca_file;
  opts.ping_interval = config_.stream.ping_interval;
  opts.reconnect_min = config_.stream.reconnect_min;
  opts.reconnect_max = config_.stream.reconnect_max;
  auto ingest = std::make_unique<StreamIngest>(opts, *aggregator_, std::move(channels));
  ingest->SetPcapSinks(mismatch_metrics_.get(), archive_.get());
  // The stream tells the pollers when a site's capture changed (events schedule).
  poll::PollerSet* pollers = pollers_.get();
  ingest->SetCaptureEvents(
      [pollers](std::string_view site_id, std::string_view capture_id, bool ended) {
        if (ended) {
          pollers->OnStreamCaptureEnd(std::string(site_id));
        } else {
          pollers->OnStreamCapture(std::string(site_id), capture_id);
        }
      });
  return ingest;
}

common::Status App::ApplySites(std::vector<common::Site> owned) {
  std::lock_guard<std::mutex> apply_lock(apply_mu_);
  if (!aggregator_ || !pollers_) return common::MakeError("ApplySites before Start");
  SiteChanges changes = DiffSites(applied_, std::move(owned));
  for (const auto& id : changes.removed) {
    aggregator_->RemoveSite(id);
    if (archive_) archive_->RemoveSite(id);
  }
  for (const auto& s : changes.upserted) {
    aggregator_->AddSite(s.id, s.name);  // a new name relabels the site's series
    if (archive_) archive_->AddSite(s.id, s.name);
  }
  pollers_->SetSites(changes.sites);
  if (inventory_) inventory_->SetSites(changes.sites);
  pollers_->SetReservedPerHour(ReservedRequestsPerHour(changes.sites.size()));
  applied_ = std::move(changes.sites);
  if (!applied_.empty() || changes.added || !changes.removed.empty()) {
    spdlog::info("sites: {} owned ({} added, {} removed)", applied_.size(), changes.added,
                 changes.removed.size());
  }
  if (!config_.stream.enabled) return common::Ok{};
  std::vector<std::string> channels;
  channels.reserve(applied_.size());
  for (const auto& s : applied_) channels.push_back(Channel(s.id));
  return streams_->Apply(channels);
}

double App::ReservedRequestsPerHour(size_t sites) const {
  auto per_hour = [](std::chrono::milliseconds every, double requests) {
    return every.count() > 0 ? requests * 3600000.0 / static_cast<double>(every.count()) : 0.0;
  };
  double reserved = per_hour(config_.mist.usage_interval, 1);
  if (!config_.discovery.org_id.empty()) {
    // One page per 1,000 sites per refresh, plus /self for "auto".
    reserved += per_hour(config_.discovery.interval, 1.0 + static_cast<double>(sites / 1000));
  }
  if (inventory_) {
    reserved += per_hour(kInventoryInterval, std::max(2, inventory_->last_requests()));
  }
  return reserved;
}

void App::EnableReload(ReloadSource source) { reload_source_ = std::move(source); }

std::pair<bool, std::string> App::Reload() {
  if (!reloader_) return {false, "config reload is not enabled"};
  // HTTP answers before the pollers exist; Stop closes the reloader before tearing down.
  if (!started_) return {false, "config reload refused: the exporter is not running"};
  ReloadOutcome outcome = reloader_->Reload();
  return {outcome.ok, std::move(outcome.message)};
}

common::Status App::ApplyReload(const config::ReloadPlan& plan) {
  auto changed = [&plan](std::string_view key) {
    return std::find(plan.applied.begin(), plan.applied.end(), key) != plan.applied.end();
  };
  if (changed("log.level")) common::SetLogLevel(plan.next.log.level);
  if (changed("poll.status_interval") || changed("poll.list_interval") ||
      changed("poll.list_window") || changed("poll.idle_interval") || changed("poll.schedule")) {
    pollers_->SetPollConfig(plan.next.poll);
  }
  // Sites and discovery: the directory re-selects and calls ApplySites on this thread.
  if (changed("sites") || changed("discovery.org_id") || changed("discovery.include") ||
      changed("discovery.exclude") || changed("discovery.interval")) {
    directory_->Reconfigure(plan.next);
  }
  return common::Ok{};
}

void App::RegisterExporterInfo() {
  prometheus::BuildGauge()
      .Name("mist_pcap_exporter_build_info")
      .Help("Build information of the exporter; value 1.")
      .Register(*registry_)
      .Add({{"version", MPE_VERSION}, {"revision", common::Revision()}})
      .Set(1);
  prometheus::BuildGauge()
      .Name("mist_pcap_exporter_shard")
      .Help("The shard this replica serves; value 1.")
      .Register(*registry_)
      .Add({{"index", std::to_string(config_.shard.index)},
            {"count", std::to_string(config_.shard.count)}})
      .Set(1);
}

common::Status App::StartHttp() {
  http::Handlers handlers;
  handlers.metrics = [this] { return MetricsText(); };
  handlers.metrics_pieces = [this](size_t chunk_bytes,
                                   const std::function<void(std::string*)>& emit) {
    WriteMetrics(chunk_bytes, emit);
  };
  handlers.ready = [this] { return Readiness(); };
  handlers.landing_page = [this] { return LandingPage(); };
  if (reload_source_) {
    reloader_ = std::make_unique<ConfigReloader>(
        *reload_source_, config_, *registry_, clock_,
        [this](const config::ReloadPlan& plan) { return ApplyReload(plan); });
    // POST /-/reload only with --web.enable-lifecycle (as Prometheus): without it anyone who
    // reaches the port could make the exporter re-read its config. SIGHUP always works.
    if (config_.web.enable_lifecycle) handlers.reload = [this] { return Reload(); };
  }
  std::optional<http::WebConfig> web;
  if (!config_.web.config_file.empty()) {
    auto loaded = http::LoadWebConfig(config_.web.config_file);
    if (!loaded.ok()) return loaded.error();
    web = std::move(*loaded);
    const size_t users = web->basic_auth_users.size();
    spdlog::info("web config {}: tls {}, basic auth {}", config_.web.config_file,
                 web->tls ? "on" : "off",
                 users ? std::to_string(users) + (users == 1 ? " user" : " users") : "off");
  }
  http::ServerOptions http_options;
  http_options.max_connections = static_cast<size_t>(config_.web.max_connections);
  http_ = std::make_unique<http::HttpServer>(std::move(handlers), http_options);
  if (auto st = http_->Start(config_.web.listen_address, web ? &*web : nullptr); !st.ok())
    return st.error();
  spdlog::info("listening on {} (port {})", config_.web.listen_address, http_->port());
  return common::Ok{};
}

common::Status App::Start() {
  for (const std::string& warning : StartupWarnings(config_)) spdlog::warn("{}", warning);
  registry_ = std::make_shared<prometheus::Registry>();
  RegisterExporterInfo();
  api_metrics_ = std::make_unique<mist::ApiMetrics>(*registry_);
  client_ =
      std::make_unique<mist::MistClient>(config_.mist, config_.token, api_metrics_.get(), clock_);
  capture_metrics_ = std::make_unique<poll::CaptureMetrics>(*registry_);
  mismatch_metrics_ = std::make_unique<metrics::DecodeMismatchMetrics>(*registry_);
  if (!config_.archive.dir.empty()) {
    archive_ = std::make_unique<capture::ArchiveWriter>(config_.archive, *registry_, clock_);
  }
  directory_ = std::make_unique<SiteDirectory>(
      config_, *client_, *registry_, [this](std::vector<common::Site> owned) {
        if (auto st = ApplySites(std::move(owned)); !st.ok()) {
          spdlog::error("applying the new site set failed: {}", st.error().message);
        }
      });
  const std::vector<common::Site> sites = directory_->InitialSites();
  aggregator_ = std::make_unique<metrics::StreamAggregator>(
      AggregatorOptionsFrom(config_, &label_stats_), clock_);
  // Connections are made by ApplySites; NewIngest reads pollers_ only then.
  streams_ = std::make_unique<StreamPool>(
      config_.stream.max_channels_per_connection,
      [this](std::vector<std::string> channels) { return NewIngest(std::move(channels)); });
  exposition_.registry = registry_.get();
  exposition_.aggregator = aggregator_.get();
  exposition_.label_stats = &label_stats_;
  exposition_.stream_health = [this] { return streams_->Health(); };
  exposition_.append_http = [this](std::string* out) {
    if (http_) http_->AppendMetricsText(out);
  };
  if (auto st = StartHttp(); !st.ok()) return st.error();

  pollers_ = std::make_unique<poll::PollerSet>(config_, *client_, *capture_metrics_, clock_);
  inventory_ = std::make_unique<poll::InventoryWatcher>(
      *client_, *registry_, clock_, kInventoryInterval, config_.discovery.org_id);
  // Aggregator sites, pollers and stream connections (chunks of max_channels_per_connection).
  if (auto st = ApplySites(sites); !st.ok()) return st.error();
  pollers_->Start();
  usage_ = std::make_unique<poll::UsageWatcher>(
      *client_, *registry_, clock_, config_.mist.usage_interval, config_.mist.max_requests_per_hour,
      [this](int budget) { pollers_->SetRequestBudget(budget); });
  usage_->Start();
  inventory_->Start();
  if (!config_.captures.empty()) {
    managed_config_ = ManagedCapturesConfig();
    managed_ =
        std::make_unique<capture::ManagedCaptures>(managed_config_, *client_, *registry_, clock_);
    managed_->Start();
  }
  directory_->Start();

  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = false;
  }
  maintenance_ = std::thread([this] { MaintenanceLoop(); });
  started_ = true;
  spdlog::info("started: {} sites{}, stream {}", sites.size(),
               directory_->discovery_enabled() ? " (discovery running)" : "",
               config_.stream.enabled ? config_.mist.stream_url : std::string("disabled"));
  return common::Ok{};
}

void App::Stop() {
  if (reloader_) reloader_->Close();  // waits for a reload in progress; none after this
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (directory_) directory_->Stop();  // no ApplySites after this
  if (maintenance_.joinable()) maintenance_.join();
  if (managed_) managed_->Stop();
  if (usage_) usage_->Stop();
  if (inventory_) inventory_->Stop();
  if (pollers_) pollers_->Stop();
  if (streams_) streams_->Stop();
  if (archive_) archive_->Close();
  if (http_) http_->Stop();
  if (started_.exchange(false)) spdlog::info("stopped");
}

void App::MaintenanceLoop() {
  int ticks = 0;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::seconds(1));
    if (stopping_) break;
    lock.unlock();
    aggregator_->Tick();
    if (++ticks % 10 == 0) {
      size_t removed = aggregator_->ExpireStale();
      if (removed) spdlog::debug("expired {} stale label sets", removed);
    }
    lock.lock();
  }
}

int App::http_port() const { return http_ ? http_->port() : 0; }

void App::WriteMetrics(size_t chunk_bytes, const std::function<void(std::string*)>& emit) const {
  metrics::WriteExposition(exposition_, chunk_bytes, emit);
}

std::string App::MetricsText() const { return metrics::ExpositionText(exposition_); }

std::pair<bool, std::string> App::Readiness() const {
  if (!started_) return {false, "starting"};
  if (pollers_ && pollers_->AnyPollSucceeded()) return {true, "ready"};
  if (streams_ && streams_->AnySubscribed()) return {true, "ready (stream subscribed)"};
  return {false, "no successful Mist poll yet and no stream channel subscribed"};
}

std::string App::LandingPage() const {
  http::StatusPage page;
  page.version = MPE_VERSION;
  page.revision = common::Revision();
  page.stream_enabled = config_.stream.enabled;
  page.stream_url = config_.mist.stream_url;
  if (streams_) {
    StreamPool::State stream = streams_->state();
    page.stream_connected = stream.connected;
    page.stream_last_error = std::move(stream.last_error);
  }
  std::vector<poll::SiteState> sites;
  if (pollers_) sites = pollers_->States();
  for (auto& s : sites) {
    const bool subscribed =
        config_.stream.enabled && aggregator_ && aggregator_->IsSubscribed(s.id);
    page.sites.push_back({std::move(s.name), std::move(s.id), s.up, subscribed, s.capture_running,
                          std::move(s.capture_id), std::move(s.capture_type), s.aps_ok,
                          s.aps_failed, std::move(s.last_error)});
  }
  if (managed_) {
    page.show_managed = true;
    for (auto& m : managed_->States()) {
      page.managed.push_back({std::move(m.site), std::move(m.site_id), std::move(m.type),
                              std::move(m.state), std::move(m.capture_id),
                              std::move(m.last_error)});
    }
  }
  return http::RenderStatusPage(page);
}

}  // namespace mpe::app
