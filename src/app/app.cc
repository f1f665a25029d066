#include "app/app.h"

#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <set>
#include <sstream>

#include "app/shard.h"
#include "app/site_directory.h"
#include "app/startup_warnings.h"
#include "app/stream_ingest.h"
#include "capture/archive_writer.h"
#include "capture/managed_captures.h"
#include "capture/site_ref.h"
#include "common/build_info.h"
#include "common/logging.h"
#include "http/server.h"
#include "metrics/decode_mismatch_metrics.h"
#include "metrics/process_metrics.h"
#include "metrics/stream_aggregator.h"
#include "mist/api_metrics.h"
#include "mist/mist_client.h"
#include "poll/capture_metrics.h"
#include "poll/inventory_watcher.h"
#include "poll/site_poller.h"
#include "poll/usage_watcher.h"

namespace mpe::app {

namespace {

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Inline so the page needs no second request; kept small (one screen of CSS).
constexpr char kLandingStyle[] =
    "<style>body{margin:0;font:14px/1.45 system-ui,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
    "color:#1f2933;background:#f4f6f8}"
    "header{display:flex;align-items:baseline;gap:16px;padding:12px 24px;background:#1f2933;"
    "color:#fff}header h1{margin:0;font-size:20px}.ver{color:#9aa5b1;font-size:13px}"
    "nav{margin-left:auto}nav a{margin-left:18px;color:#b3d4ff;text-decoration:none}"
    "main{padding:4px 24px 24px}h2{margin:20px 0 8px;font-size:16px}"
    "#summary{margin:16px 0 0;font-size:15px}"
    "table{border-collapse:collapse;background:#fff;box-shadow:0 1px 3px rgba(0,0,0,.12)}"
    "th,td{padding:6px 10px;border-bottom:1px solid #e4e7eb;text-align:left;white-space:nowrap}"
    "th{background:#e9edf1;font-size:13px}.num{text-align:right}"
    ".id{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:12px;color:#52606d;"
    "max-width:130px;overflow:hidden;text-overflow:ellipsis}"
    ".ok,.bad,.idle{padding:1px 8px;border-radius:9px;font-size:12px;font-weight:600}"
    ".ok{background:#e3f9e5;color:#05600e}.bad{background:#ffe3e3;color:#a61b1b}"
    ".idle{background:#eceff2;color:#52606d}.warn{color:#a61b1b;font-weight:600}"
    ".err{white-space:normal;color:#a61b1b}</style>";

std::string Channel(const std::string& site_id) { return "/sites/" + site_id + "/pcaps"; }

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

common::Status App::ApplySites(std::vector<poll::SiteRef> owned) {
  std::lock_guard<std::mutex> apply_lock(apply_mu_);
  if (!aggregator_ || !pollers_) return common::MakeError("ApplySites before Start");
  std::vector<poll::SiteRef> sites;
  std::map<std::string, poll::SiteRef> wanted;
  for (auto& s : owned) {
    if (s.id.empty()) continue;
    if (s.name.empty()) s.name = s.id;
    if (wanted.emplace(s.id, s).second) sites.push_back(std::move(s));
  }
  std::set<std::string> removed;
  for (const auto& [id, ref] : applied_) {
    if (!wanted.count(id)) removed.insert(id);
  }
  size_t added = 0;
  for (const auto& id : removed) {
    aggregator_->RemoveSite(id);
    if (archive_) archive_->RemoveSite(id);
  }
  for (const auto& s : sites) {
    auto it = applied_.find(s.id);
    if (it != applied_.end() && it->second.name == s.name) continue;
    added += it == applied_.end();
    aggregator_->AddSite(s.id, s.name);  // a new name relabels the site's series
    if (archive_) archive_->AddSite(s.id, s.name);
  }
  pollers_->SetSites(sites);
  if (inventory_) inventory_->SetSites(sites);
  pollers_->SetReservedPerHour(ReservedRequestsPerHour(sites.size()));
  applied_ = std::move(wanted);
  if (!applied_.empty() || added || !removed.empty()) {
    spdlog::info("sites: {} owned ({} added, {} removed)", applied_.size(), added, removed.size());
  }
  if (!config_.stream.enabled) return common::Ok{};

  // Kept sites stay on their connection (no resubscribe); new ones fill the free slots in
  // connection order, then new connections of up to per_conn channels each.
  const size_t per_conn =
      static_cast<size_t>(std::max(1, config_.stream.max_channels_per_connection));
  std::vector<std::vector<std::string>> next = conn_sites_;
  std::vector<bool> changed(next.size(), false);
  std::set<std::string> assigned;
  for (size_t i = 0; i < next.size(); ++i) {
    const size_t before = next[i].size();
    std::erase_if(next[i], [&](const std::string& id) { return removed.count(id) > 0; });
    changed[i] = next[i].size() != before;
    assigned.insert(next[i].begin(), next[i].end());
  }
  std::vector<std::string> fresh;
  for (const auto& s : sites) {
    if (!assigned.count(s.id)) fresh.push_back(s.id);
  }
  size_t k = 0;
  for (size_t i = 0; i < next.size() && k < fresh.size(); ++i) {
    while (next[i].size() < per_conn && k < fresh.size()) {
      next[i].push_back(fresh[k++]);
      changed[i] = true;
    }
  }
  auto channels_of = [](const std::vector<std::string>& ids) {
    std::vector<std::string> channels;
    channels.reserve(ids.size());
    for (const auto& id : ids) channels.push_back(Channel(id));
    return channels;
  };

  // ingests_ only changes under apply_mu_ (held), so reading it here needs no ingests_mu_.
  for (size_t i = 0; i < next.size(); ++i) {
    if (changed[i] && !next[i].empty()) ingests_[i]->SetChannels(channels_of(next[i]));
  }
  common::Status status = common::Ok{};
  std::vector<std::unique_ptr<StreamIngest>> opened;
  std::vector<std::vector<std::string>> opened_sites;
  while (k < fresh.size()) {
    const size_t end = std::min(fresh.size(), k + per_conn);
    std::vector<std::string> ids(fresh.begin() + static_cast<std::ptrdiff_t>(k),
                                 fresh.begin() + static_cast<std::ptrdiff_t>(end));
    k = end;
    auto ingest = NewIngest(channels_of(ids));
    if (auto st = ingest->Start(); !st.ok()) {
      status = st.error();
      break;
    }
    opened.push_back(std::move(ingest));
    opened_sites.push_back(std::move(ids));
  }
  std::vector<std::unique_ptr<StreamIngest>> retired;
  std::vector<std::vector<std::string>> kept_sites;
  const size_t opened_count = opened.size();
  {
    std::lock_guard<std::mutex> lock(ingests_mu_);
    std::vector<std::unique_ptr<StreamIngest>> kept;
    for (size_t i = 0; i < next.size(); ++i) {
      if (next[i].empty()) {
        const auto& st = ingests_[i]->stats();
        const uint64_t attempts = st.connects.load() + st.connect_failures.load();
        retired_reconnects_ += attempts > 0 ? attempts - 1 : 0;
        retired_oversized_ += st.oversized_messages.load();
        retired.push_back(std::move(ingests_[i]));
      } else {
        kept.push_back(std::move(ingests_[i]));
        kept_sites.push_back(std::move(next[i]));
      }
    }
    for (auto& ingest : opened) kept.push_back(std::move(ingest));
    ingests_ = std::move(kept);
  }
  for (auto& ids : opened_sites) kept_sites.push_back(std::move(ids));
  conn_sites_ = std::move(kept_sites);
  if (!retired.empty() || opened_count > 0) {
    spdlog::info("stream: {} connections ({} opened, {} closed)", conn_sites_.size(), opened_count,
                 retired.size());
  }
  for (auto& ingest : retired) ingest->Stop();  // outside ingests_mu_: may wait for a close
  return status;
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

common::Status App::Start() {
  for (const std::string& warning : StartupWarnings(config_)) spdlog::warn("{}", warning);
  registry_ = std::make_shared<prometheus::Registry>();
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

  api_metrics_ = std::make_unique<mist::ApiMetrics>(*registry_);
  client_ =
      std::make_unique<mist::MistClient>(config_.mist, config_.token, api_metrics_.get(), clock_);
  capture_metrics_ = std::make_unique<poll::CaptureMetrics>(*registry_);
  mismatch_metrics_ = std::make_unique<metrics::DecodeMismatchMetrics>(*registry_);
  if (!config_.archive.dir.empty()) {
    archive_ = std::make_unique<capture::ArchiveWriter>(config_.archive, *registry_, clock_);
  }
  directory_ = std::make_unique<SiteDirectory>(
      config_, *client_, *registry_, [this](std::vector<poll::SiteRef> owned) {
        if (auto st = ApplySites(std::move(owned)); !st.ok()) {
          spdlog::error("applying the new site set failed: {}", st.error().message);
        }
      });
  const std::vector<poll::SiteRef> sites = directory_->InitialSites();

  metrics::AggregatorOptions agg_opts;
  agg_opts.max_series_per_family = config_.metrics.max_series_per_family;
  agg_opts.stale_after = config_.metrics.stale_after;
  agg_opts.top_clients = config_.metrics.top_clients;
  agg_opts.top_clients_window = config_.metrics.top_clients_window;
  agg_opts.lost_mode = config_.stream.lost_messages;
  agg_opts.label_stats = &label_stats_;
  aggregator_ = std::make_unique<metrics::StreamAggregator>(agg_opts, clock_);

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
  {
    std::lock_guard<std::mutex> apply_lock(apply_mu_);
    for (auto& ingest : ingests_) ingest->Stop();
  }
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
  std::unique_lock<std::mutex> ingests_lock(ingests_mu_);
  bool connected = !ingests_.empty();
  uint64_t reconnects = retired_reconnects_;
  uint64_t oversized = retired_oversized_;
  for (const auto& ingest : ingests_) {
    const auto& st = ingest->stats();
    connected = connected && st.connected.load();
    const uint64_t attempts = st.connects.load() + st.connect_failures.load();
    reconnects += attempts > 0 ? attempts - 1 : 0;
    oversized += st.oversized_messages.load();
  }
  ingests_lock.unlock();
  aggregator_->SetStreamHealth(connected, reconnects, oversized);

  std::string out;
  out.reserve(chunk_bytes + (chunk_bytes >> 4) + (1 << 12));
  {
    prometheus::TextSerializer serializer;
    std::ostringstream os;
    // Capture ids and types from Mist's REST answers: valid UTF-8 of at most 256 bytes.
    auto families = registry_->Collect();
    metrics::SanitizeLabelValues(&families, &label_stats_);
    serializer.Serialize(os, families);
    out += os.str();
  }
  {
    // The stream families (nearly all of a large body) from a copy: the aggregator's lock is
    // held only while copying, and the text leaves in pieces.
    auto snapshot = aggregator_->TakeSnapshot();
    metrics::StreamAggregator::RenderText(*snapshot, &out, chunk_bytes, [&](std::string* text) {
      emit(text);
      text->clear();
    });
  }
  metrics::AppendProcessMetrics(&out);
  label_stats_.AppendText(&out);
  if (http_) http_->AppendMetricsText(&out);
  emit(&out);
}

std::string App::MetricsText() const {
  std::string body;
  WriteMetrics(size_t{1} << 20, [&body](std::string* text) { body += *text; });
  return body;
}

std::pair<bool, std::string> App::Readiness() const {
  if (!started_) return {false, "starting"};
  if (pollers_ && pollers_->AnyPollSucceeded()) return {true, "ready"};
  std::lock_guard<std::mutex> lock(ingests_mu_);
  for (const auto& ingest : ingests_) {
    if (ingest->AnySubscribed()) return {true, "ready (stream subscribed)"};
  }
  return {false, "no successful Mist poll yet and no stream channel subscribed"};
}

std::string App::LandingPage() const {
  std::ostringstream html;
  html << "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Mist pcap exporter</title>"
       << kLandingStyle << "</head><body><header><h1>Mist pcap exporter</h1><span class=\"ver\">"
       << "version " << HtmlEscape(MPE_VERSION) << " (revision " << HtmlEscape(common::Revision())
       << ")</span><nav><a href=\"/metrics\">Metrics</a><a href=\"/healthz\">Health</a>"
          "<a href=\"/readyz\">Readiness</a></nav></header><main>";
  bool connected = false;
  std::string last_error;
  {
    std::lock_guard<std::mutex> lock(ingests_mu_);
    connected = !ingests_.empty();
    for (const auto& ingest : ingests_) {
      connected = connected && ingest->connected();
      if (last_error.empty()) last_error = ingest->last_error();
    }
  }
  std::vector<poll::SiteState> sites;
  if (pollers_) sites = pollers_->States();
  const auto capturing = std::count_if(sites.begin(), sites.end(),
                                       [](const poll::SiteState& s) { return s.capture_running; });
  const auto polls_down =
      std::count_if(sites.begin(), sites.end(), [](const poll::SiteState& s) { return !s.up; });
  html << "<p id=\"summary\"><b>" << sites.size() << "</b>"
       << (sites.size() == 1 ? " site" : " sites") << " · <b>" << capturing << "</b> capturing · "
       << (polls_down ? "<span class=\"bad\">" + std::to_string(polls_down) +
                            (polls_down == 1 ? " poll" : " polls") + " failing</span>"
                      : std::string("all polls ok"))
       << " · stream "
       << (!config_.stream.enabled ? std::string("disabled")
           : connected             ? std::string("<span class=\"ok\">connected</span>")
                                   : std::string("<span class=\"bad\">disconnected</span>"))
       << "</p>";
  html << "<h2>Stream</h2><p id=\"stream-state\">";
  if (!config_.stream.enabled) {
    html << "disabled";
  } else {
    html << (connected ? "<span class=\"ok\">connected</span>"
                       : "<span class=\"bad\">disconnected</span>")
         << " to " << HtmlEscape(config_.mist.stream_url);
    if (!connected && !last_error.empty()) html << " — last error: " << HtmlEscape(last_error);
  }
  html << "</p><h2>Sites</h2><table id=\"sites\"><thead><tr><th>Site</th><th>Site ID</th>"
          "<th>Poll</th><th>Stream</th><th>Capture</th><th>Capture ID</th><th>Type</th>"
          "<th class=\"num\">APs ok</th><th class=\"num\">APs failed</th><th>Last error</th>"
          "</tr></thead><tbody>";
  for (const auto& s : sites) {
    std::string stream = "<span class=\"idle\">disabled</span>";
    if (config_.stream.enabled) {
      stream = aggregator_ && aggregator_->IsSubscribed(s.id)
                   ? "<span class=\"ok\">subscribed</span>"
                   : "<span class=\"bad\">not subscribed</span>";
    }
    // UUIDs are cut to a recognisable prefix on screen; the title shows them in full.
    html << "<tr><td>" << HtmlEscape(s.name) << "</td><td class=\"id\" title=\"" << HtmlEscape(s.id)
         << "\">" << HtmlEscape(s.id) << "</td><td>"
         << (s.up ? "<span class=\"ok\">up</span>" : "<span class=\"bad\">down</span>")
         << "</td><td>" << stream << "</td><td>"
         << (s.capture_running ? "<span class=\"ok\">running</span>"
                               : "<span class=\"idle\">none</span>")
         << "</td><td class=\"id\" title=\"" << HtmlEscape(s.capture_id) << "\">"
         << HtmlEscape(s.capture_id) << "</td><td>" << HtmlEscape(s.capture_type)
         << "</td><td class=\"num\">" << s.aps_ok << "</td><td class=\"num"
         << (s.aps_failed ? " warn" : "") << "\">" << s.aps_failed << "</td><td class=\"err\">"
         << HtmlEscape(s.last_error) << "</td></tr>";
  }
  html << "</tbody></table>";
  if (managed_) {
    html << "<h2>Managed captures</h2><table id=\"managed\"><thead><tr><th>Site</th>"
            "<th>Site ID</th><th>Type</th><th>State</th><th>Capture ID</th><th>Last error</th>"
            "</tr></thead><tbody>";
    for (const auto& m : managed_->States()) {
      html << "<tr><td>" << HtmlEscape(m.site) << "</td><td>" << HtmlEscape(m.site_id)
           << "</td><td>" << HtmlEscape(m.type) << "</td><td>" << HtmlEscape(m.state) << "</td><td>"
           << HtmlEscape(m.capture_id) << "</td><td>" << HtmlEscape(m.last_error) << "</td></tr>";
    }
    html << "</tbody></table>";
  }
  html << "</main></body></html>\n";
  return html.str();
}

}  // namespace mpe::app
