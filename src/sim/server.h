#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "sim/cloud_sim.h"
#include "sim/sim_state.h"

namespace mpe::sim {

// The network side of the simulator: one Boost.Beast listener on one host:port serving the
// REST API, the /sim/ control API and the WebSocket stream at /api-ws/v1/stream, with optional
// TLS. Owns the io_context and its threads; sessions run on per-connection strands.
// Start/Stop from one controlling thread; port() is safe after Start.
class SimServer {
 public:
  SimServer(std::shared_ptr<SimState> state, const SimOptions& opts);
  ~SimServer();
  SimServer(const SimServer&) = delete;
  SimServer& operator=(const SimServer&) = delete;

  common::Status Start();
  void Stop();
  int port() const;
  bool tls() const;
  std::string host() const;  // the host for URLs (loopback when listening on any address)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mpe::sim
