#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "sim/capture_file.h"
#include "sim/capture_request.h"
#include "sim/cloud_sim.h"
#include "sim/packet_gen.h"
#include "sim/scenario.h"
#include "sim/truth.h"

namespace mpe::sim {

// A response of the REST or control API, independent of the HTTP library.
struct HttpReply {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type = "application/json";
};

// The simulated cloud's model: orgs, sites, captures, faults, request statistics, stream
// controls and the ground truth. No I/O: the server feeds it requests and it answers them.
// Thread-safe (one mutex for the model; the truth has its own); the capture-end listener is
// called without the lock held, from whichever thread ended the capture.
class SimState {
 public:
  using CaptureEndListener = std::function<void(uint32_t site_index, const std::string& channel,
                                                const std::string& capture_id)>;

  SimState(const Scenario& scenario, uint64_t seed, std::string token, const common::Clock& clock,
           double rate);

  // What to do with a REST request before routing it: its endpoint name (counted here), the
  // latency to add, and a canned reply (401 or an injected fault) when there is one.
  struct Admission {
    std::string endpoint;
    int latency_ms = 0;
    std::optional<HttpReply> reply;
  };
  // Also records the request (method, target, body) for GET /sim/requests and counts it in
  // the token's usage of the current hour when the token is right.
  Admission Admit(std::string_view method, std::string_view target, std::string_view authorization,
                  std::string_view body);
  bool Hanging() const { return hang_.load(std::memory_order_relaxed); }
  HttpReply HandleRest(std::string_view method, std::string_view target, std::string_view body);
  // /sim/... control endpoints (no token, no faults).
  HttpReply HandleControl(std::string_view method, std::string_view target, std::string_view body);
  void CountCode(int status);
  // The capture files behind pcap_url (no token: the URL itself is the secret).
  static bool IsDownload(std::string_view target);
  HttpReply HandleDownload(std::string_view method, std::string_view target,
                           bool has_authorization);
  // Where the server listens, for the absolute pcap_url links.
  void SetListenAddress(const std::string& scheme, const std::string& host, int port);
  // Origin of pcap_url ("" = the API's own; "{port}" is replaced by the listening port).
  void SetDownloadOrigin(const std::string& origin);

  // WebSocket upgrade: 0 to accept, else the HTTP status to answer (counted as rejected).
  int CheckUpgrade(std::string_view authorization);
  // Site index when the site exists.
  std::optional<uint32_t> FindSite(const std::string& site_id) const;
  // Streaming captures now running at the given sites.
  void RunningTargets(const std::vector<std::string>& site_ids,
                      std::vector<std::shared_ptr<const StreamTarget>>* out) const;

  double NowSeconds() const { return Now(); }
  double rate() const { return rate_.load(std::memory_order_relaxed); }
  double data_as_string() const { return data_as_string_.load(std::memory_order_relaxed); }
  Faults faults() const;
  // Takes one slot of the stream limit; false when the limit is reached. `epoch` identifies
  // the limit the slot belongs to, for ReleaseData.
  bool ReserveData(uint64_t* epoch);
  void ReleaseData(uint64_t epoch, int64_t n);
  // Whether a connection that completed `written` data writes is to be dropped now; counts it.
  bool ShouldDrop(uint64_t written);

  void SetFaults(const Faults& f);
  void SetStreamLimit(int64_t n);
  void SetRate(double r) { rate_.store(r); }
  void SetDataAsStringRatio(double r) { data_as_string_.store(r); }
  common::Status StartCapture(const std::string& site_id, std::string_view body_json);
  bool StopCapture(const std::string& site_id);
  void AddSite(const std::string& org_id, const std::string& site_id, const std::string& name,
               const std::vector<uint64_t>& aps);
  bool RemoveSite(const std::string& site_id);
  // Ends captures whose duration is over and applies the churn events that are due, in the
  // order of their times (called periodically and before REST calls).
  void Reap();

  void SetCaptureEndListener(CaptureEndListener l);
  void CountWsConnection();
  // A stream connection subscribed to (+1) or left (-1) a site's channel; /sim/stats shows the
  // connections subscribed per site now.
  void CountSubscription(const std::string& site_id, int delta);
  // A close frame received from a client, by its close code (0 when it carried none).
  void CountWsClose(int code);
  GroundTruth& truth() { return truth_; }
  const GroundTruth& truth() const { return truth_; }
  std::string StatsJson() const;

 private:
  // Not RunningCaptureSpec (scenario.h): that is scenario input with times relative to the
  // start; this is a live or listed capture with absolute times, ids, failures and its file.
  struct Capture {
    std::string id;
    bool listed_with_id = true;  // false: a history item without "id" (the schema allows it)
    uint64_t serial = 0;
    std::string type = "radiotap";
    std::string format = "stream";
    double started = 0;
    double duration = 600;
    int max_num_packets = 1024;
    int max_pkt_len = 128;
    std::vector<uint64_t> ap_macs;
    std::map<uint64_t, std::string> failed;  // mac -> reason
    std::string client_mac, ssid, band, tcpdump_expression;
    bool includes_mcast = false;
    std::optional<int> channel, bandwidth;  // scan
    std::string notes;                      // kept, never returned (no such field in Mist)
    std::string termination_reason;         // set when it ends
    std::string file_token;                 // the secret part of pcap_url
    std::shared_ptr<CaptureRecording> recording;
    std::string source = "scenario";  // who started it: scenario | rest | churn
  };
  // One AP as the org inventory lists it.
  struct InventoryAp {
    uint64_t mac = 0;
    std::string name;  // empty: listed without a name
    std::string model;
  };
  struct Site {
    uint32_t index = 0;
    std::string id, name, org_id;
    std::vector<uint64_t> aps;
    std::vector<InventoryAp> inventory;  // the APs of `aps`, in that order
    double created = 0;                  // created_time of its inventory entries
    std::set<uint64_t> failing;
    StreamSettings stream;
    std::optional<Capture> running;
    std::shared_ptr<StreamTarget> target;  // set while a streaming capture runs
    std::vector<Capture> history;          // finished captures
  };
  struct Ended {
    uint32_t site_index;
    std::string channel;
    std::string capture_id;
  };

  double Now() const { return clock_.NowSeconds(); }
  std::string NewId();  // requires mu_
  Site& NewSite(const std::string& id, const std::string& name, const std::string& org_id);
  common::Result<Capture> BuildCapture(Site& site, std::string_view body_json);  // requires mu_
  void Begin(Site& site, Capture c);                                             // requires mu_
  // Ends the site's capture; `time` is when (its expiry when it ran out).   requires mu_
  void End(Site& site, const char* reason, double time, std::vector<Ended>* ended);
  void ReapLocked(std::vector<Ended>* ended);
  void StartChurnCapture(double time);  // requires mu_
  void FailChurnAp(double time);        // requires mu_
  // Appends to the ground-truth change log (GET /sim/changes).           requires mu_
  void RecordChange(double time, const char* kind, const Site& site, const Capture& c,
                    uint64_t ap_mac = 0);
  void SetInventory(Site& site, const std::map<uint64_t, ApDetails>& details);  // requires mu_
  void Notify(const std::vector<Ended>& ended);

  // /sim/ control endpoints (HandleControl routes to them).
  struct ControlCall;
  HttpReply ControlTruth(const ControlCall& c);
  HttpReply ControlStats(const ControlCall& c);
  HttpReply ControlChanges(const ControlCall& c);
  HttpReply ControlResetTruth(const ControlCall& c);
  HttpReply ControlFaults(const ControlCall& c);
  HttpReply ControlStream(const ControlCall& c);
  HttpReply ControlAddSite(const ControlCall& c);
  HttpReply ControlRequests(const ControlCall& c);
  HttpReply ControlClearRequests(const ControlCall& c);
  HttpReply ControlUsage(const ControlCall& c);
  HttpReply ControlIdleStatus(const ControlCall& c);
  HttpReply ControlDownloads(const ControlCall& c);
  HttpReply ControlRemoveSite(const ControlCall& c);

  struct Writers;  // JSON pieces of REST answers (sim_state.cc)
  HttpReply CaptureStatus(const Site& site) const;
  HttpReply StartReply(const Site& site) const;
  HttpReply SiteJson(const Site& site) const;
  HttpReply Usage() const;
  HttpReply Annotate(Site& site, const std::string& pcap_id, std::string_view body);
  std::string PcapUrl(const Capture& c) const;  // requires mu_
  void NewFile(Capture& c);                     // requires mu_
  void RollUsageHour();                         // requires mu_
  HttpReply RequestsJson() const;
  HttpReply CaptureList(const Site& site, const std::map<std::string, std::string>& q) const;
  std::vector<const Site*> SitesOfOrg(const std::string& org) const;  // in creation order
  HttpReply OrgSites(const std::string& org, const std::map<std::string, std::string>& q) const;
  HttpReply OrgInventory(const std::string& org, const std::map<std::string, std::string>& q) const;
  HttpReply ChangesJson(const std::map<std::string, std::string>& q) const;
  HttpReply Self() const;

  const common::Clock& clock_;
  const std::string token_;
  GroundTruth truth_;
  std::atomic<bool> hang_{false};
  std::atomic<double> rate_;
  std::atomic<double> data_as_string_{0.5};
  std::atomic<int64_t> limit_{0};
  std::atomic<int64_t> reserved_{0};
  std::atomic<uint64_t> limit_epoch_{0};

  mutable std::mutex mu_;
  std::string email_;
  std::vector<OrgSpec> orgs_;
  std::map<std::string, Site> sites_;
  uint32_t next_site_index_ = 0;
  uint64_t next_serial_ = 1;
  uint64_t id_state_;
  Faults faults_;
  uint64_t rest_calls_ = 0;  // admitted (authenticated) REST calls since SetFaults
  uint64_t drops_done_ = 0;
  std::map<std::string, uint64_t> requests_;
  std::map<std::string, uint64_t> site_requests_;  // capture_status + capture_list by site id
  std::map<std::string, int64_t> subscribed_;      // stream connections per site id
  std::map<int, uint64_t> codes_;
  uint64_t ws_connections_ = 0;
  uint64_t ws_upgrade_rejected_ = 0;
  std::map<int, uint64_t> ws_close_codes_;
  CaptureEndListener listener_;

  // Status body when no capture runs: 404 {"detail"} (default) or 200 {}.
  bool idle_status_empty_ = false;
  std::map<std::string, uint64_t> ignored_request_fields_;
  // Token usage of the current hour (GET /api/v1/self/usage).
  int64_t usage_hour_ = -1;
  uint64_t usage_own_ = 0;
  uint64_t usage_other_ = 0;
  uint64_t usage_limit_ = 5000;
  bool usage_enforce_ = false;
  // Last REST requests as received (GET /sim/requests).
  struct LoggedRequest {
    uint64_t seq;
    double time;
    std::string method, target, body;
    bool authorization;
  };
  std::deque<LoggedRequest> request_log_;
  uint64_t request_seq_ = 0;
  // Capture files.
  RecordingTotals recording_totals_;
  std::deque<std::shared_ptr<CaptureRecording>> kept_files_;  // of captures that ran here
  uint64_t files_evicted_ = 0;
  std::map<std::string, std::shared_ptr<CaptureRecording>> files_;  // by file token
  std::string scheme_ = "http", host_ = "127.0.0.1", download_origin_;
  int port_ = 0;
  std::string download_mode_ = "ok";  // ok | forbidden | not_found | not_pcap
  std::map<std::string, uint64_t> downloads_;
  // Churn (scenario `churn:`): the next due times on the simulator's clock, its own seeded
  // RNG (so REST traffic does not change which sites churn) and what it did.
  std::optional<ChurnSpec> churn_;
  double next_churn_start_ = 0;
  double next_churn_fail_ = 0;
  uint64_t churn_rng_state_ = 0;
  uint64_t ChurnRandom();  // requires mu_
  std::map<std::string, uint64_t> churn_counts_;
  // Ground-truth log of capture starts, ends and churn AP failures.
  struct Change {
    uint64_t seq = 0;
    double time = 0;
    const char* kind = "";
    std::string site_id, capture_id, source, reason;
    uint64_t ap_mac = 0;
  };
  std::deque<Change> changes_;
  uint64_t change_seq_ = 0;
  // Org inventory defaults; every AP gets an ordinal as it is added (unnamed_every).
  InventorySpec inventory_spec_;
  uint64_t next_ap_ordinal_ = 1;
};

}  // namespace mpe::sim
