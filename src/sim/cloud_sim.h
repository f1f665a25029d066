#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace mpe::sim {

// Failure injection; all off by default. Settable at run time (SetFaults, POST /sim/faults).
struct Faults {
  int status_429_every = 0;  // every Nth REST call answers 429
  int retry_after_s = -1;    // -1: no Retry-After header; else its value
  int error_5xx_every = 0;   // every Nth REST call answers error_code
  int error_code = 500;
  int latency_ms = 0;         // added to every REST call
  bool hang = false;          // REST calls never answer until hang is cleared or the sim stops
  int drop_stream_after = 0;  // drop each stream connection after N data messages (no close frame)
  int drop_stream_times = 0;  // how many drops in total (0 = unlimited while drop_stream_after>0)
  int upgrade_status = 0;     // non-zero: answer the WebSocket upgrade with this HTTP status
};

struct SimOptions {
  std::string listen = "127.0.0.1:0";
  std::string scenario_file;  // used when scenario_yaml is empty
  std::string scenario_yaml;  // both empty: the built-in demo scenario
  double rate = 50;           // data messages per second per connection, across captures
  uint64_t seed = 1;
  std::string token = "demo-token";
  std::string tls_cert, tls_key;  // both set: https/wss
  // Origin of the pcap_url download links, e.g. "http://localhost:{port}" ({port} = the
  // listening port); empty = the API's own origin (base_url()).
  std::string download_origin;
  // Time source for capture start/expiry; nullptr = system clock. Must outlive the sim.
  const common::Clock* clock = nullptr;
};

class SimState;
class SimServer;

// The simulated Mist cloud: REST API, WebSocket stream and the ground truth of what it
// delivered, on one host:port. Owns its io threads. Start/Stop from one controlling thread;
// every other method is thread-safe and may be called while the sim runs.
class CloudSim {
 public:
  explicit CloudSim(SimOptions opts);
  ~CloudSim();
  CloudSim(const CloudSim&) = delete;
  CloudSim& operator=(const CloudSim&) = delete;

  common::Status Start();
  void Stop();
  int port() const;
  std::string base_url() const;  // "http://127.0.0.1:PORT" (https with TLS)

  void SetFaults(const Faults& faults);
  std::string TruthJson() const;  // same as GET /sim/truth
  std::string StatsJson() const;  // same as GET /sim/stats
  void ResetTruth();

  // Test controls (also over HTTP under /sim/).
  common::Status StartCapture(const std::string& site_id, const std::string& body_json);
  void StopCapture(const std::string& site_id);
  void AddSite(const std::string& org_id, const std::string& site_id, const std::string& name,
               const std::vector<std::string>& ap_macs = {});
  void RemoveSite(const std::string& site_id);
  // Stop generating after n more data messages in total (0 = unlimited). Counts from the call.
  void SetStreamLimit(int64_t n);
  void SetRate(double msgs_per_s);
  void SetDataAsStringRatio(double r);  // share of data sent as a JSON string (default 0.5)

 private:
  SimOptions opts_;
  std::optional<common::Error> init_error_;  // scenario problem, reported by Start
  std::shared_ptr<SimState> state_;
  std::unique_ptr<SimServer> server_;
};

}  // namespace mpe::sim
