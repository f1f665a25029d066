#!/usr/bin/env bash
# Runs the shared ingest harness (../shared/bench) for the raw floor, the two peer exporters
# and ours (pinned to one core), RUNS times each, and writes the table to bench/results.md.
#   bench/run_harness.sh                 # N=1000000 for ours, N_PEERS=200000 for the peers, RUNS=3
#   N=200000 RUNS=1 bench/run_harness.sh # quick look
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
HARNESS="${HARNESS:-$ROOT/../shared/bench}"
EXPORTER="${EXPORTER:-$ROOT/build/mist_pcap_exporter}"
N="${N:-1000000}"
N_PEERS="${N_PEERS:-200000}"
RUNS="${RUNS:-3}"
CORE="${CORE:-1}"
OUT="$(mktemp -d)"
PY=/usr/bin/python3
[[ -x "$EXPORTER" ]] || { echo "build the exporter first (scripts/build.sh)"; exit 1; }
[[ -d "$HARNESS/peer_node/node_modules" ]] || (cd "$HARNESS/peer_node" && npm ci --no-audit --no-fund)

run() {  # name n run_index args...
  local name="$1" n="$2" i="$3"; shift 3
  $PY "$HARNESS/run_bench.py" --name "$name" -n "$n" --json-out "$OUT/$name-$i.json" "$@" \
    | tail -1 || echo "$name run $i failed"
}
# Rounds interleave the four so that a slow spell of a shared machine hits all of them alike.
for i in $(seq 1 "$RUNS"); do
  run floor "$N" "$i" --floor
  run peer_python "$N_PEERS" "$i" --cmd "taskset -c $CORE $PY peer_python.py --ws-port {ws_port} --site-id {site_id} --metrics-port {metrics_port}"
  run peer_node "$N_PEERS" "$i" --cmd "taskset -c $CORE node peer_node/index.js --ws-port {ws_port} --site-id {site_id} --metrics-port {metrics_port}"
  run mist_pcap_exporter "$N" "$i" --config-template "$ROOT/bench/bench-config.yaml" \
    --cmd "taskset -c $CORE env MIST_API_TOKEN=bench $EXPORTER --config.file={config} --web.listen-address=127.0.0.1:{metrics_port}"
done
$PY "$ROOT/bench/summarize.py" "$OUT" | tee "$ROOT/bench/results.md"
