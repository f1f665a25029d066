#include "sim/cloud_sim.h"

#include "common/mac.h"
#include "sim/scenario.h"
#include "sim/server.h"
#include "sim/sim_state.h"

namespace mpe::sim {

CloudSim::CloudSim(SimOptions opts) : opts_(std::move(opts)) {
  common::Result<Scenario> scenario =
      !opts_.scenario_yaml.empty()   ? ParseScenario(opts_.scenario_yaml)
      : !opts_.scenario_file.empty() ? LoadScenarioFile(opts_.scenario_file)
                                     : ParseScenario(DefaultScenarioYaml());
  if (!scenario.ok()) {
    init_error_ = scenario.error();
    return;
  }
  const common::Clock& clock =
      opts_.clock != nullptr ? *opts_.clock : common::SystemClock::Instance();
  state_ = std::make_shared<SimState>(*scenario, opts_.seed, opts_.token, clock, opts_.rate);
  state_->SetDownloadOrigin(opts_.download_origin);
}

CloudSim::~CloudSim() { Stop(); }

common::Status CloudSim::Start() {
  if (server_) return common::Ok{};
  if (init_error_) return *init_error_;
  auto server = std::make_unique<SimServer>(state_, opts_);
  auto st = server->Start();
  if (!st.ok()) return st;
  server_ = std::move(server);
  return common::Ok{};
}

void CloudSim::Stop() {
  if (server_) server_->Stop();
  server_.reset();
}

int CloudSim::port() const { return server_ ? server_->port() : 0; }

std::string CloudSim::base_url() const {
  if (!server_) return "";
  return std::string(server_->tls() ? "https://" : "http://") + server_->host() + ":" +
         std::to_string(server_->port());
}

void CloudSim::SetFaults(const Faults& faults) {
  if (state_) state_->SetFaults(faults);
}

std::string CloudSim::TruthJson() const { return state_ ? state_->truth().ToJson() : "{}"; }
std::string CloudSim::StatsJson() const { return state_ ? state_->StatsJson() : "{}"; }
void CloudSim::ResetTruth() {
  if (state_) state_->truth().Reset();
}

common::Status CloudSim::StartCapture(const std::string& site_id, const std::string& body_json) {
  if (!state_) return common::MakeError("simulator not started");
  return state_->StartCapture(site_id, body_json);
}

void CloudSim::StopCapture(const std::string& site_id) {
  if (state_) state_->StopCapture(site_id);
}

void CloudSim::AddSite(const std::string& org_id, const std::string& site_id,
                       const std::string& name, const std::vector<std::string>& ap_macs) {
  if (!state_) return;
  std::vector<uint64_t> aps;
  for (const std::string& text : ap_macs) {
    if (auto mac = common::ParseMac(text)) aps.push_back(*mac);
  }
  state_->AddSite(org_id, site_id, name, aps);
}

void CloudSim::RemoveSite(const std::string& site_id) {
  if (state_) state_->RemoveSite(site_id);
}

void CloudSim::SetStreamLimit(int64_t n) {
  if (state_) state_->SetStreamLimit(n);
}
void CloudSim::SetRate(double msgs_per_s) {
  if (state_ && msgs_per_s > 0) state_->SetRate(msgs_per_s);
}
void CloudSim::SetDataAsStringRatio(double r) {
  if (state_ && r >= 0 && r <= 1) state_->SetDataAsStringRatio(r);
}

}  // namespace mpe::sim
