#include "fakes/sim_exporter.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <utility>

#include "fakes/wait.h"

namespace mpe::fakes {

std::vector<testing::Sample> ScrapeMetrics(int port, std::chrono::seconds read_timeout) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(read_timeout);
  auto res = client.Get("/metrics");
  if (!res || res->status != 200) return {};
  return testing::ParseMetricsText(res->body);
}

SimAndExporter::SimAndExporter(std::string token) : token_(std::move(token)) {
  sim_options_.listen = "127.0.0.1:0";
  sim_options_.token = token_;
}

SimAndExporter::~SimAndExporter() { Stop(); }

bool SimAndExporter::StartSim() {
  sim_ = std::make_unique<sim::CloudSim>(sim_options_);
  auto st = sim_->Start();
  if (!st.ok()) {
    ADD_FAILURE() << "simulator did not start: " << st.error().message;
    sim_.reset();
    return false;
  }
  return true;
}

config::Config SimAndExporter::Config() const {
  config::Config c;
  c.mist.api_url = sim_->base_url();
  c.mist.stream_url = config::DeriveStreamUrl(c.mist.api_url);
  c.mist.timeout = std::chrono::seconds(2);
  c.mist.max_requests_per_hour = 100000;
  c.token = token_;
  c.stream.reconnect_min = std::chrono::milliseconds(50);
  c.stream.reconnect_max = std::chrono::milliseconds(500);
  c.web.listen_address = "127.0.0.1:0";
  return c;
}

bool SimAndExporter::StartApp(config::Config c, common::Clock& clock,
                              const std::function<void(app::App&)>& before_start) {
  apps_.push_back(std::make_unique<app::App>(std::move(c), clock));
  if (before_start) before_start(*apps_.back());
  auto st = apps_.back()->Start();
  if (!st.ok()) {
    ADD_FAILURE() << "App did not start: " << st.error().message;
    return false;
  }
  return true;
}

void SimAndExporter::StopApps() {
  for (auto& a : apps_) a->Stop();
  apps_.clear();
}

void SimAndExporter::Stop() {
  StopApps();
  if (sim_) sim_->Stop();
}

std::vector<testing::Sample> SimAndExporter::Scrape(size_t i, std::chrono::seconds read_timeout) {
  return ScrapeMetrics(app(i).http_port(), read_timeout);
}

bool SimAndExporter::WaitSubscribed(const std::vector<std::string>& site_ids,
                                    std::chrono::milliseconds timeout,
                                    std::chrono::milliseconds poll) {
  return WaitUntil(
      [&] {
        const auto m = Scrape();
        for (const auto& id : site_ids) {
          bool found = false;
          for (const auto& s : m) {
            auto it = s.labels.find("site_id");
            if (s.name == "mist_pcap_stream_subscribed" && it != s.labels.end() &&
                it->second == id && s.value == 1) {
              found = true;
            }
          }
          if (!found) return false;
        }
        return true;
      },
      timeout, poll);
}

}  // namespace mpe::fakes
