# shellcheck shell=bash
# shellcheck disable=SC2034  # EXPORTER, SIM, SRC and WORK are for the tests that source this
# Shared helpers for the script tests (sourced, not run) on top of scripts/lib/run.sh, which
# starts, waits for and stops the processes. Args of every test:
#   $1 exporter binary, $2 simulator binary, $3 source dir.
set -euo pipefail
EXPORTER="$1"; SIM="$2"; SRC="$3"
EXPORTER_BIN="$EXPORTER"; SIM_BIN="$SIM"
# shellcheck source=../../scripts/lib/run.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/run.sh"
run_init "$(basename "$0" .sh)"
WORK="$RUN_DIR"

# wait_for CMD... : retries CMD for up to 30 s.
wait_for() { run_wait 30 "$*" "$@"; }

# start_sim [extra args]: the demo scenario; sets SIM_URL and SIM_PID.
# shellcheck disable=SC2120  # the arguments are optional
start_sim() { run_start_sim --scenario="$SRC/config/sim_scenario.yaml" "$@"; }

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

# start_exporter CONFIG [FLAG...]: sets EXPORTER_URL and EXPORTER_PID.
start_exporter() { run_start_exporter "$@"; }
