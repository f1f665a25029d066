#include "app/app.h"

#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <sstream>

#include "app/pcap_enricher.h"
#include "app/stream_ingest.h"
#include "capture/archive_writer.h"
#include "capture/managed_captures.h"
#include "http/server.h"
#include "metrics/process_metrics.h"
#include "metrics/stream_aggregator.h"
#include "mist/api_metrics.h"
#include "mist/mist_client.h"
#include "poll/capture_metrics.h"
#include "poll/site_poller.h"

namespace mpe::app {

namespace {

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Channel(const std::string& site_id) { return "/sites/" + site_id + "/pcaps"; }

}  // namespace

App::App(config::Config config, common::Clock& clock)
    : config_(std::move(config)), clock_(clock) {}

App::~App() { Stop(); }

std::vector<std::pair<std::string, std::string>> App::OwnedSites() const {
  std::vector<std::pair<std::string, std::string>> sites;
  for (const auto& s : config_.sites) sites.emplace_back(s.id, s.name.empty() ? s.id : s.name);
  return sites;
}

common::Status App::Start() {
  registry_ = std::make_shared<prometheus::Registry>();
  prometheus::BuildGauge()
      .Name("mist_pcap_exporter_build_info")
      .Help("Build information of the exporter; value 1.")
      .Register(*registry_)
      .Add({{"version", MPE_VERSION}, {"revision", MPE_REVISION}})
      .Set(1);
  prometheus::BuildGauge()
      .Name("mist_pcap_exporter_shard")
      .Help("The shard this replica serves; value 1.")
      .Register(*registry_)
      .Add({{"index", std::to_string(config_.shard.index)},
            {"count", std::to_string(config_.shard.count)}})
      .Set(1);

  api_metrics_ = std::make_unique<mist::ApiMetrics>(*registry_);
  client_ = std::make_unique<mist::MistClient>(config_.mist, config_.token, api_metrics_.get(),
                                               clock_);
  capture_metrics_ = std::make_unique<poll::CaptureMetrics>(*registry_);
  mismatch_metrics_ = std::make_unique<DecodeMismatchMetrics>(*registry_);
  if (!config_.archive.dir.empty()) {
    archive_ = std::make_unique<capture::ArchiveWriter>(config_.archive, *registry_, clock_);
    for (const auto& [id, name] : OwnedSites()) archive_->AddSite(id, name);
  }

  metrics::AggregatorOptions agg_opts;
  agg_opts.max_series_per_family = config_.metrics.max_series_per_family;
  agg_opts.stale_after = config_.metrics.stale_after;
  agg_opts.lost_mode = config_.stream.lost_messages;
  aggregator_ = std::make_unique<metrics::StreamAggregator>(agg_opts, clock_);

  const auto sites = OwnedSites();
  for (const auto& [id, name] : sites) aggregator_->AddSite(id, name);

  http::Handlers handlers;
  handlers.metrics = [this] { return MetricsText(); };
  handlers.ready = [this] { return Readiness(); };
  handlers.landing_page = [this] { return LandingPage(); };
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
  http_ = std::make_unique<http::HttpServer>(std::move(handlers));
  if (auto st = http_->Start(config_.web.listen_address, web ? &*web : nullptr); !st.ok())
    return st.error();
  spdlog::info("listening on {} (port {})", config_.web.listen_address, http_->port());

  std::vector<poll::SiteRef> refs;
  for (const auto& [id, name] : sites) refs.push_back(poll::SiteRef{id, name});
  pollers_ = std::make_unique<poll::PollerSet>(config_, *client_, *capture_metrics_, clock_);
  pollers_->SetSites(refs);
  pollers_->Start();
  if (!config_.captures.empty()) {
    managed_ = std::make_unique<capture::ManagedCaptures>(config_, *client_, *registry_, clock_);
    managed_->Start();
  }

  if (config_.stream.enabled && !sites.empty()) {
    const size_t per_conn =
        static_cast<size_t>(std::max(1, config_.stream.max_channels_per_connection));
    for (size_t first = 0; first < sites.size(); first += per_conn) {
      std::vector<std::string> channels;
      for (size_t i = first; i < std::min(sites.size(), first + per_conn); ++i)
        channels.push_back(Channel(sites[i].first));
      stream::StreamOptions opts;
      opts.url = config_.mist.stream_url;
      opts.token = config_.token;
      opts.ca_file = config_.mist.ca_file;
      opts.ping_interval = config_.stream.ping_interval;
      opts.reconnect_min = config_.stream.reconnect_min;
      opts.reconnect_max = config_.stream.reconnect_max;
      auto ingest = std::make_unique<StreamIngest>(opts, *aggregator_, std::move(channels));
      ingest->SetPcapSinks(mismatch_metrics_.get(), archive_.get());
      if (auto st = ingest->Start(); !st.ok()) return st.error();
      ingests_.push_back(std::move(ingest));
    }
  }

  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = false;
  }
  maintenance_ = std::thread([this] { MaintenanceLoop(); });
  started_ = true;
  spdlog::info("started: {} sites, stream {}", sites.size(),
               config_.stream.enabled ? config_.mist.stream_url : std::string("disabled"));
  return common::Ok{};
}

void App::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (maintenance_.joinable()) maintenance_.join();
  if (managed_) managed_->Stop();
  if (pollers_) pollers_->Stop();
  for (auto& ingest : ingests_) ingest->Stop();
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

std::string App::MetricsText() const {
  bool connected = !ingests_.empty();
  uint64_t reconnects = 0;
  uint64_t oversized = 0;
  for (const auto& ingest : ingests_) {
    const auto& st = ingest->stats();
    connected = connected && st.connected.load();
    const uint64_t attempts = st.connects.load() + st.connect_failures.load();
    reconnects += attempts > 0 ? attempts - 1 : 0;
    oversized += st.oversized_messages.load();
  }
  aggregator_->SetStreamHealth(connected, reconnects, oversized);

  std::string out;
  out.reserve(1 << 16);
  {
    prometheus::TextSerializer serializer;
    std::ostringstream os;
    serializer.Serialize(os, registry_->Collect());
    out += os.str();
  }
  aggregator_->AppendText(&out);
  metrics::AppendProcessMetrics(&out);
  return out;
}

std::pair<bool, std::string> App::Readiness() const {
  if (!started_) return {false, "starting"};
  if (pollers_ && pollers_->AnyPollSucceeded()) return {true, "ready"};
  for (const auto& ingest : ingests_) {
    if (ingest->AnySubscribed()) return {true, "ready (stream subscribed)"};
  }
  return {false, "no successful Mist poll yet and no stream channel subscribed"};
}

std::string App::LandingPage() const {
  std::ostringstream html;
  html << "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Mist pcap exporter</title>"
          "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
          "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
          ".ok{color:#080}.bad{color:#b00}</style></head><body>"
       << "<h1>Mist pcap exporter</h1><p>Version " << HtmlEscape(MPE_VERSION) << " (revision "
       << HtmlEscape(MPE_REVISION) << ")</p>"
       << "<p><a href=\"/metrics\">Metrics</a> · <a href=\"/healthz\">Health</a> · "
          "<a href=\"/readyz\">Readiness</a></p>";
  bool connected = !ingests_.empty();
  std::string last_error;
  for (const auto& ingest : ingests_) {
    connected = connected && ingest->connected();
    if (last_error.empty()) last_error = ingest->last_error();
  }
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
          "<th>Poll</th><th>Capture</th><th>Capture ID</th><th>Type</th><th>APs ok</th>"
          "<th>APs failed</th><th>Last error</th></tr></thead><tbody>";
  if (pollers_) {
    for (const auto& s : pollers_->States()) {
      html << "<tr><td>" << HtmlEscape(s.name) << "</td><td>" << HtmlEscape(s.id) << "</td><td>"
           << (s.up ? "<span class=\"ok\">up</span>" : "<span class=\"bad\">down</span>")
           << "</td><td>" << (s.capture_running ? "running" : "none") << "</td><td>"
           << HtmlEscape(s.capture_id) << "</td><td>" << HtmlEscape(s.capture_type)
           << "</td><td>" << s.aps_ok << "</td><td>" << s.aps_failed << "</td><td>"
           << HtmlEscape(s.last_error) << "</td></tr>";
    }
  }
  html << "</tbody></table>";
  if (managed_) {
    html << "<h2>Managed captures</h2><table id=\"managed\"><thead><tr><th>Site</th>"
            "<th>Site ID</th><th>Type</th><th>State</th><th>Capture ID</th><th>Last error</th>"
            "</tr></thead><tbody>";
    for (const auto& m : managed_->States()) {
      html << "<tr><td>" << HtmlEscape(m.site) << "</td><td>" << HtmlEscape(m.site_id)
           << "</td><td>" << HtmlEscape(m.type) << "</td><td>" << HtmlEscape(m.state)
           << "</td><td>" << HtmlEscape(m.capture_id) << "</td><td>" << HtmlEscape(m.last_error)
           << "</td></tr>";
    }
    html << "</tbody></table>";
  }
  html << "</body></html>\n";
  return html.str();
}

}  // namespace mpe::app
