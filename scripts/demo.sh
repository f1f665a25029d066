#!/usr/bin/env bash
# The README's demo command: installs dependencies, builds, starts the simulated Mist cloud and
# the exporter pointed at it, prints the URLs, and runs until Ctrl-C.
#
# Environment (every port the demo uses follows its variable):
#   SIM_PORT=18080        loopback port of mist_cloud_sim: its REST API, the WebSocket stream
#                         (/api-ws/v1/stream) and /sim/truth all live on it; the exporter's
#                         config (config/demo.yaml, copied to a temp file) is pointed at it
#   EXPORTER_PORT=10052   loopback port of the exporter's /metrics, / and /healthz
#   RATE=200              stream data messages per second the simulator sends
#   MIST_API_TOKEN=demo-token   the token the simulator expects and the exporter sends
#   EXPORTER_BIN, SIM_BIN unset: install the runtime packages and build into build-demo/;
#                         both set: run these binaries as they are (no install, no build)
# A port that is not a number or is already taken stops the demo before anything starts.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/run.sh
source scripts/lib/run.sh

SIM_PORT="${SIM_PORT:-18080}"
EXPORTER_PORT="${EXPORTER_PORT:-10052}"
export MIST_API_TOKEN="${MIST_API_TOKEN:-demo-token}"
run_check_port SIM_PORT "$SIM_PORT"
run_check_port EXPORTER_PORT "$EXPORTER_PORT"
[[ "$SIM_PORT" != "$EXPORTER_PORT" ]] || fail "SIM_PORT and EXPORTER_PORT are both $SIM_PORT"

if [[ -z "${EXPORTER_BIN:-}" || -z "${SIM_BIN:-}" ]]; then
  scripts/install_deps.sh --runtime
  JOBS="${JOBS:-2}" CMAKE_EXTRA="-DMPE_BUILD_TESTS=OFF -DMPE_BUILD_BENCH=OFF" BUILD_DIR=build-demo \
    scripts/build.sh
  EXPORTER_BIN=./build-demo/mist_pcap_exporter
  SIM_BIN=./build-demo/mist_cloud_sim
fi

RUN_ECHO=1  # the simulator's and the exporter's logs go to the terminal as well
run_init demo
# config/demo.yaml with the simulator's port; the exporter's port is given by flag.
config="$RUN_DIR/demo.yaml"
sed "s#^\(  api_url: http://127\.0\.0\.1:\)18080#\1${SIM_PORT}#" config/demo.yaml >"$config"
grep -q "^  api_url: http://127.0.0.1:${SIM_PORT}\b" "$config" ||
  fail "config/demo.yaml has no 'api_url: http://127.0.0.1:18080' line to point at SIM_PORT"

run_start_sim --listen="127.0.0.1:${SIM_PORT}" --scenario=config/sim_scenario.yaml \
  --token="$MIST_API_TOKEN" --rate="${RATE:-200}"
run_wait_http 10 "$SIM_URL/api/v1/self" -H "Authorization: Token $MIST_API_TOKEN"
run_start_exporter "$config" --web.listen-address="127.0.0.1:${EXPORTER_PORT}"
cat <<MSG

  Simulated Mist cloud:  http://127.0.0.1:${SIM_PORT}   (ground truth: /sim/truth)
  Exporter metrics:      http://127.0.0.1:${EXPORTER_PORT}/metrics
  Exporter status page:  http://127.0.0.1:${EXPORTER_PORT}/
  Press Ctrl-C to stop.

MSG
wait -n "$SIM_PID" "$EXPORTER_PID"
