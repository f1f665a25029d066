#!/usr/bin/env bash
# The README's demo command: installs dependencies, builds, starts the simulated Mist cloud and
# the exporter pointed at it, prints the URLs, and runs until Ctrl-C.
# Env: SIM_PORT (18080) and EXPORTER_PORT (10052), the loopback ports of the simulator and the
# exporter (the exporter's config/demo.yaml is rewritten to follow both); RATE (200 stream
# messages/s); MIST_API_TOKEN (demo-token).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh --runtime
JOBS="${JOBS:-2}" CMAKE_EXTRA="-DMPE_BUILD_TESTS=OFF -DMPE_BUILD_BENCH=OFF" BUILD_DIR=build-demo \
  scripts/build.sh

SIM_PORT="${SIM_PORT:-18080}"
EXPORTER_PORT="${EXPORTER_PORT:-10052}"
export MIST_API_TOKEN="${MIST_API_TOKEN:-demo-token}"
pids=()
config="$(mktemp "${TMPDIR:-/tmp}/mpe-demo.XXXXXX.yaml")"
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -f "$config"
}
trap cleanup EXIT INT TERM
# config/demo.yaml with the two ports this run uses.
sed -e "s#127\.0\.0\.1:18080#127.0.0.1:${SIM_PORT}#g" \
  -e "s#127\.0\.0\.1:10052#127.0.0.1:${EXPORTER_PORT}#g" config/demo.yaml >"$config"

./build-demo/mist_cloud_sim --listen="127.0.0.1:${SIM_PORT}" --scenario=config/sim_scenario.yaml \
  --token="$MIST_API_TOKEN" --rate="${RATE:-200}" &
pids+=($!)
for _ in $(seq 1 100); do
  curl -sf -o /dev/null -H "Authorization: Token $MIST_API_TOKEN" \
    "http://127.0.0.1:${SIM_PORT}/api/v1/self" && break
  sleep 0.1
done
./build-demo/mist_pcap_exporter --config.file="$config" &
pids+=($!)
for _ in $(seq 1 100); do
  curl -sf -o /dev/null "http://127.0.0.1:${EXPORTER_PORT}/healthz" && break
  sleep 0.1
done
cat <<MSG

  Simulated Mist cloud:  http://127.0.0.1:${SIM_PORT}   (ground truth: /sim/truth)
  Exporter metrics:      http://127.0.0.1:${EXPORTER_PORT}/metrics
  Exporter status page:  http://127.0.0.1:${EXPORTER_PORT}/
  Press Ctrl-C to stop.

MSG
wait -n "${pids[@]}"
