#!/usr/bin/env bash
# End-to-end check that every dashboard and rule expression works against real data.
#
#   scripts/promql_e2e.sh EXPORTER_BIN SIM_BIN SRC_DIR
#
# Starts mist_cloud_sim (--rate=200) and mist_pcap_exporter on free loopback ports, a real
# Prometheus (1s scrape and rule evaluation, recording + alert rules of
# SRC_DIR/deploy/prometheus/rules.yml, storage in a temp dir), waits up to ~90 s until
# packets flow through to Prometheus, then runs every PromQL expression of
# SRC_DIR/dashboards/*.json and of the rules through /api/v1/query
# (tools/deploy-check/promql_queries.py). Fails if any expression errors or any dashboard
# expression returns no series.
# Exit: 0 ok, 1 failure, 77 binaries missing (skip). PROMETHEUS=/path overrides the server
# binary; KEEP_TMP=1 keeps the temp dir with all logs.
set -euo pipefail

# shellcheck source=lib/run.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/run.sh"
run_e2e_args "$(basename "$0" .sh)" "$@"
PY=/usr/bin/python3
DEADLINE_SECONDS="${DEADLINE_SECONDS:-90}"
run_init promql_e2e
TMP="$RUN_DIR"

# --- simulator -----------------------------------------------------------------------------
SIM_ARGS=("--rate=200")
if [[ -f "$SRC_DIR/config/sim_scenario.yaml" ]]; then
  SIM_ARGS+=("--scenario=$SRC_DIR/config/sim_scenario.yaml")
fi
run_start_sim "${SIM_ARGS[@]}"
run_step "started simulator (pid $SIM_PID) on $SIM_URL: ${SIM_ARGS[*]}"

# --- exporter and Prometheus -----------------------------------------------------------------
{
  cat <<YAML
mist:
  api_url: $SIM_URL
  token_env: MIST_API_TOKEN
  timeout: 5s
YAML
  run_demo_sites
  cat <<YAML
poll:
  status_interval: 2s
  list_interval: 5s
stream:
  enabled: true
web:
  listen_address: 127.0.0.1:0
log:
  level: info
  format: text
YAML
} >"$TMP/exporter.yaml"
# Poll every site on the fixed schedule: the events schedule polls a site without a capture
# (Warehouse) only every poll.idle_interval (>= 10m), after the deadline.
export MIST_API_TOKEN=demo-token
run_start_exporter_and_prometheus "$TMP/exporter.yaml" "$SRC_DIR/deploy/prometheus/rules.yml"
run_wait_prometheus_data 3

# --- every expression ---------------------------------------------------------------------------
REMAINING=$((DEADLINE_SECONDS + 30 - (SECONDS - RUN_START)))
((REMAINING < 15)) && REMAINING=15
run_step "running every dashboard and rule expression (empty results retried for ${REMAINING}s)"
if "$PY" "$SRC_DIR/tools/deploy-check/promql_queries.py" --src "$SRC_DIR" --run "$PROM_URL" \
  --deadline-seconds "$REMAINING" | tee "$TMP/queries.log"; then
  run_step "PASS"
else
  run_step "FAIL: see the ERROR/EMPTY lines above"
  exit 1
fi
