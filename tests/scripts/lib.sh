# Shared helpers for the script tests (sourced, not run). Args of every test:
#   $1 exporter binary, $2 simulator binary, $3 source dir.
set -euo pipefail
EXPORTER="$1"; SIM="$2"; SRC="$3"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# wait_for CMD... : retries CMD for up to 30 s.
wait_for() {
  for _ in $(seq 1 300); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  fail "timed out waiting for: $*"
}

# start_sim [extra args]: sets SIM_URL.
start_sim() {
  "$SIM" --listen=127.0.0.1:0 --scenario="$SRC/config/sim_scenario.yaml" "$@" \
    >"$WORK/sim.out" 2>"$WORK/sim.err" &
  PIDS+=($!)
  wait_for grep -q "listening on" "$WORK/sim.out"
  SIM_URL="$(grep -o 'http://[0-9.:]*' "$WORK/sim.out" | head -1)"
}

# write_config FILE [log level]: an exporter config for the simulator's demo sites.
write_config() {
  cat >"$1" <<CFG
mist:
  api_url: $SIM_URL
  token_env: MIST_API_TOKEN
  max_requests_per_hour: 1000000  # 1 s polls of running captures: far over Mist's 5,000/h
sites:
  - {id: 978c48e6-6ef6-11e6-8bbf-02e208b2d34f, name: HQ}
  - {id: a1b2c3d4-0000-4000-8000-000000000002, name: Branch-01}
  - {id: a1b2c3d4-0000-4000-8000-000000000003, name: Warehouse}
poll:
  status_interval: 1s
  list_interval: 2s
  idle_interval: 1s
stream:
  reconnect_min: 100ms
  reconnect_max: 1s
web:
  listen_address: 127.0.0.1:0
log:
  level: ${2:-info}
CFG
}

# start_exporter CONFIG [FLAG...]: sets EXPORTER_URL (port parsed from the log).
start_exporter() {
  "$EXPORTER" --config.file="$1" "${@:2}" >"$WORK/exporter.out" 2>"$WORK/exporter.err" &
  PIDS+=($!)
  wait_for grep -q "listening on" "$WORK/exporter.err"
  local port
  port="$(grep -o '(port [0-9]*)' "$WORK/exporter.err" | head -1 | tr -dc 0-9)"
  EXPORTER_URL="http://127.0.0.1:$port"
}
