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

# write_config FILE [LOG-LEVEL] [ARCHIVE-DIR]: an exporter config for the simulator's demo
# sites, archiving the streamed packets to ARCHIVE-DIR when given.
write_config() {
  {
    cat <<CFG
mist:
  api_url: $SIM_URL
  token_env: MIST_API_TOKEN
  max_requests_per_hour: 1000000  # 1 s polls of running captures: far over Mist's 5,000/h
CFG
    run_demo_sites
    cat <<CFG
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
    [[ -z "${3:-}" ]] || printf 'archive:\n  dir: %s\n' "$3"
  } >"$1"
}

# start_exporter CONFIG [FLAG...]: sets EXPORTER_URL and EXPORTER_PID.
start_exporter() { run_start_exporter "$@"; }
