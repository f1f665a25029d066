#!/usr/bin/env bash
# API economy (issue 16): how many REST calls a fleet costs and how soon capture changes reach
# /metrics, for the events schedule (poll.schedule: events, the default) and the fixed one
# (every site on status_interval / list_interval, stretched to the budget), side by side.
#
#   BUILD_DIR=build bench/api_economy.sh
#
# Each schedule gets its own mist_cloud_sim with the same scenario and --seed, so both see the
# same changes at the same times: SITES generated sites of 2 APs, and the churn mode (a
# streaming radiotap capture starts at a random idle site every START_EVERY and ends after
# DURATION, an OK AP of a running churn capture fails every FAIL_EVERY; every change with its
# time in /sim/changes). The exporters run on a BUDGET requests/hour, poll.status_interval 30s,
# poll.list_interval 5m, poll.idle_interval auto, all sites on one stream connection. Real time,
# no scaled clock: the run takes MINUTES (+ start-up). bench/api_economy.py scrapes both
# exporters every second and matches each change with the first scrape that shows it.
#
# Env: SITES (2000), MINUTES (30), BUDGET (4000), START_EVERY (60s), DURATION (600s),
# FAIL_EVERY (97s: not a multiple of the 30 s status interval, so failures fall at every phase of the polls), SCHEDULES ("events fixed"), SEED (7), RATE (20 stream msgs/s per
# connection), BUILD_DIR / EXPORTER_BIN / SIM_BIN, OUT (temp dir; keeps every log and scrape).
# Prints the markdown table (also $OUT/api_economy.md).
set -euo pipefail
source "$(dirname "$0")/simbench_lib.sh"

SITES="${SITES:-2000}"
MINUTES="${MINUTES:-30}"
BUDGET="${BUDGET:-4000}"
START_EVERY="${START_EVERY:-60s}"
DURATION="${DURATION:-600s}"
FAIL_EVERY="${FAIL_EVERY:-97s}"
SCHEDULES="${SCHEDULES:-events fixed}"
SEED="${SEED:-7}"
RATE="${RATE:-20}"
export MIST_API_TOKEN="bench-$RANDOM$RANDOM"
ORG=9e1f3c2a-0000-4000-8000-00000000b000

scenario() {
  cat <<EOF
email: bench@example.com
orgs: [{id: $ORG, name: Bench Org}]
generate_sites: {count: $SITES, org: $ORG, aps_per_site: 2}
churn: {start_every: $START_EVERY, duration: $DURATION, type: radiotap, fail_ap_every: $FAIL_EVERY, max_running: 12}
EOF
}

# exporter_config SCHEDULE SIM_URL: the sites of simbench.py's config, our budget and schedule.
exporter_config() {
  $PY "$HELPER" config "$SITES" "$2" | $PY -c '
import sys, yaml
c = yaml.safe_load(sys.stdin)
c["mist"]["max_requests_per_hour"] = int(sys.argv[1])
c["stream"]["max_channels_per_connection"] = 1000  # the most the exporter allows
c["poll"] = {"schedule": sys.argv[2], "status_interval": "30s", "list_interval": "5m",
             "idle_interval": "auto"}
yaml.safe_dump(c, sys.stdout, sort_keys=False)' "$BUDGET" "$1"
}

targets=()
names=()
core=0
for schedule in $SCHEDULES; do
  dir="$OUT/$schedule"
  mkdir -p "$dir"
  scenario >"$dir/scenario.yaml"
  RUN_LOG_DIR="$dir" RUN_START_SECONDS=60 run_start_sim --scenario="$dir/scenario.yaml" \
    --rate="$RATE" --seed="$SEED" --token="$MIST_API_TOKEN"
  sim_url="$SIM_URL"
  exporter_config "$schedule" "$sim_url" >"$dir/exporter.yaml"
  RUN_LOG_DIR="$dir" RUN_EXPORTER_WRAP="taskset -c $core" run_start_exporter "$dir/exporter.yaml"
  core=$(( (core + 1) % $(nproc) ))
  port="$EXPORTER_PORT_ACTUAL"
  targets+=("$schedule=http://127.0.0.1:$port/metrics,$sim_url")
  names+=("$schedule")
  log "$schedule: simulator $sim_url, exporter :$port ($dir)"
done

log "watching for $MINUTES minutes ($SITES sites, budget $BUDGET/h)"
$PY "$ROOT/bench/api_economy.py" watch "$OUT" $(( MINUTES * 60 )) "${targets[@]}"
log "report ($OUT)"
echo "SITES=$SITES MINUTES=$MINUTES BUDGET=$BUDGET START_EVERY=$START_EVERY DURATION=$DURATION FAIL_EVERY=$FAIL_EVERY SEED=$SEED $(load_note)"
$PY "$ROOT/bench/api_economy.py" report "$OUT" "${names[@]}"
