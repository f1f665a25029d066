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

if [[ $# -ne 3 ]]; then
  echo "usage: $0 EXPORTER_BIN SIM_BIN SRC_DIR" >&2
  exit 2
fi
EXPORTER_BIN="$1"
SIM_BIN="$2"
SRC_DIR="$(cd "$3" && pwd)"
PY=/usr/bin/python3
PROMETHEUS="${PROMETHEUS:-prometheus}"
DEADLINE_SECONDS="${DEADLINE_SECONDS:-90}"

for b in "$EXPORTER_BIN" "$SIM_BIN"; do
  if [[ ! -x "$b" ]]; then
    echo "promql_e2e: SKIP, binary not found or not executable: $b"
    exit 77
  fi
done
command -v "$PROMETHEUS" >/dev/null || { echo "promql_e2e: prometheus not found (apt-get install prometheus)" >&2; exit 2; }
command -v curl >/dev/null || { echo "promql_e2e: curl not found" >&2; exit 2; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/promql_e2e.XXXXXX")"
PIDS=()
cleanup() {
  local rc=$?
  # Stop only the processes this script started, newest first.
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill "${PIDS[$i]}" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ $rc -ne 0 ]]; then
    for log in sim exporter prometheus; do
      [[ -f "$TMP/$log.log" ]] || continue
      echo "---- last lines of $log.log ----"
      tail -n 15 "$TMP/$log.log"
    done
  fi
  if [[ "${KEEP_TMP:-0}" == 1 ]]; then echo "promql_e2e: kept $TMP"; else rm -rf "$TMP"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
SIM_PORT="$(free_port)"
EXP_PORT="$(free_port)"
PROM_PORT="$(free_port)"
while [[ "$EXP_PORT" == "$SIM_PORT" ]]; do EXP_PORT="$(free_port)"; done
while [[ "$PROM_PORT" == "$SIM_PORT" || "$PROM_PORT" == "$EXP_PORT" ]]; do PROM_PORT="$(free_port)"; done
PROM_URL="http://127.0.0.1:$PROM_PORT"
START=$SECONDS

step() { printf 'promql_e2e: [%3ds] %s\n' "$((SECONDS - START))" "$*"; }

# wait_until DESCRIPTION CMD...: polls CMD every 0.5 s until it succeeds or the deadline passes.
wait_until() {
  local what="$1"
  shift
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS - START > DEADLINE_SECONDS)); then
      echo "promql_e2e: FAIL, timed out after ${DEADLINE_SECONDS}s waiting for: $what" >&2
      return 1
    fi
    for pid in "${PIDS[@]}"; do
      if ! kill -0 "$pid" 2>/dev/null; then
        echo "promql_e2e: FAIL, process $pid exited while waiting for: $what" >&2
        return 1
      fi
    done
    sleep 0.5
  done
  step "$what"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# prom_true EXPR: the instant query returns at least one series.
prom_true() {
  curl -sf "$PROM_URL/api/v1/query" --data-urlencode "query=$1" \
    | "$PY" -c 'import json, sys; sys.exit(0 if json.load(sys.stdin)["data"]["result"] else 1)'
}

# --- simulator -----------------------------------------------------------------------------
SIM_ARGS=("--listen=127.0.0.1:$SIM_PORT" "--rate=200")
if [[ -f "$SRC_DIR/config/sim_scenario.yaml" ]]; then
  SIM_ARGS+=("--scenario=$SRC_DIR/config/sim_scenario.yaml")
fi
"$SIM_BIN" "${SIM_ARGS[@]}" >"$TMP/sim.log" 2>&1 &
PIDS+=($!)
step "started simulator (pid $!) on 127.0.0.1:$SIM_PORT: ${SIM_ARGS[*]}"
wait_until "simulator listens on $SIM_PORT" port_open "$SIM_PORT"

# --- exporter --------------------------------------------------------------------------------
cat >"$TMP/exporter.yaml" <<EOF
mist:
  api_url: http://127.0.0.1:$SIM_PORT
  token_env: MIST_API_TOKEN
  timeout: 5s
sites:
  - id: 978c48e6-6ef6-11e6-8bbf-02e208b2d34f
    name: HQ
  - id: a1b2c3d4-0000-4000-8000-000000000002
    name: Branch-01
  - id: a1b2c3d4-0000-4000-8000-000000000003
    name: Warehouse
poll:
  status_interval: 2s
  list_interval: 5s
stream:
  enabled: true
web:
  listen_address: 127.0.0.1:$EXP_PORT
log:
  level: info
  format: text
EOF
# Poll every site on the fixed schedule: the events schedule polls a site without a capture
# (Warehouse) only every poll.idle_interval (>= 10m), after the deadline. Exporters older than
# poll.schedule reject the key and poll that way anyway.
sed 's/^  list_interval: 5s$/  list_interval: 5s\n  schedule: fixed/' "$TMP/exporter.yaml" >"$TMP/exporter-fixed.yaml"
if MIST_API_TOKEN=demo-token "$EXPORTER_BIN" --config.file="$TMP/exporter-fixed.yaml" --check-config >/dev/null 2>&1; then
  mv "$TMP/exporter-fixed.yaml" "$TMP/exporter.yaml"
fi
MIST_API_TOKEN=demo-token "$EXPORTER_BIN" --config.file="$TMP/exporter.yaml" >"$TMP/exporter.log" 2>&1 &
PIDS+=($!)
step "started exporter (pid $!) on 127.0.0.1:$EXP_PORT"
wait_until "exporter serves /metrics" curl -sf "http://127.0.0.1:$EXP_PORT/metrics"

# --- Prometheus ------------------------------------------------------------------------------
cp "$SRC_DIR/deploy/prometheus/rules.yml" "$TMP/rules.yml"
cat >"$TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - rules.yml
scrape_configs:
  - job_name: mist-pcap-exporter
    static_configs:
      - targets: ["127.0.0.1:$EXP_PORT"]
EOF
promtool check config "$TMP/prometheus.yml" >/dev/null
"$PROMETHEUS" --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/prom-data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" >"$TMP/prometheus.log" 2>&1 &
PIDS+=($!)
step "started prometheus (pid $!) on $PROM_URL"
wait_until "prometheus ready" curl -sf "$PROM_URL/-/ready"
wait_until "exporter scraped (up == 1)" prom_true 'up{job="mist-pcap-exporter"} == 1'
wait_until "all 3 sites polled (mist_pcap_up)" prom_true 'count(mist_pcap_up) >= 3'
wait_until "packets flowing (rate > 0)" prom_true 'sum(rate(mist_pcap_packets_total[1m])) > 0'
wait_until "recording rules evaluated" prom_true 'mist_pcap:packets:rate5m'

# --- every expression ---------------------------------------------------------------------------
REMAINING=$((DEADLINE_SECONDS + 30 - (SECONDS - START)))
((REMAINING < 15)) && REMAINING=15
step "running every dashboard and rule expression (empty results retried for ${REMAINING}s)"
if "$PY" "$SRC_DIR/tools/deploy-check/promql_queries.py" --src "$SRC_DIR" --run "$PROM_URL" \
  --deadline-seconds "$REMAINING" | tee "$TMP/queries.log"; then
  step "PASS"
else
  step "FAIL: see the ERROR/EMPTY lines above"
  exit 1
fi
