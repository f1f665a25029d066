#!/usr/bin/env bash
# Series per dashboard panel against a simulated fleet: no panel may draw more than 20 series.
#
#   scripts/fleet_dashboards.sh EXPORTER_BIN SIM_BIN SRC_DIR
#
# Generates a 300-site scenario (FLEET_SITES overrides: one org, 3 APs per site, a capture at
# most sites in stream format, some in pcap format, failing APs and lost stream messages at
# some), starts mist_cloud_sim with it, the exporter discovering the org's sites, and a real
# Prometheus (1 s scrape and rule evaluation, SRC_DIR/deploy/prometheus/rules.yml). Once every
# site is polled, the simulator answers every 40th REST call with a 5xx so that some sites fail.
# Then tools/deploy-check/panel_series.py runs every panel of every dashboard with the
# variables at "All" and $topn at its largest choice (graphs as range queries over the data
# collected, tables and stats as instant queries), prints the series count per panel and
# fails when a panel returns more than 20 or a query errors.
# Exit: 0 ok, 1 failure, 77 binaries missing (skip). PROMETHEUS=/path overrides the server
# binary; KEEP_TMP=1 keeps the temp dir with all logs; COLLECT_SECONDS (default 90) is how long
# data is collected after the sites are up.
set -euo pipefail

# shellcheck source=lib/run.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/run.sh"
run_e2e_args "$(basename "$0" .sh)" "$@"
PY=/usr/bin/python3
SITES="${FLEET_SITES:-300}"
DEADLINE_SECONDS="${DEADLINE_SECONDS:-150}"
COLLECT_SECONDS="${COLLECT_SECONDS:-90}"
MAX_SERIES=20
run_init fleet_dashboards
TMP="$RUN_DIR"

# --- scenario ------------------------------------------------------------------------------
ORG_ID="f1ee7000-0000-4000-8000-000000000001"
"$PY" - "$SITES" "$ORG_ID" >"$TMP/scenario.yaml" <<'PYEOF'
import sys

sites, org = int(sys.argv[1]), sys.argv[2]
print("email: fleet@example.com")
print(f"orgs:\n  - id: {org}\n    name: Fleet Org")
print("sites:")
for i in range(sites):
    aps = [f"5c5b35{i:04x}{a:02x}" for a in range(1, 4)]
    print(f"  - id: f1ee7000-0000-4000-8000-{i + 1:012d}")
    print(f"    name: Store-{i + 1:04d}")
    print(f"    org: {org}")
    print(f"    aps: [{', '.join(aps)}]")
    if i % 7 == 3:
        print(f"    failing_aps: [{aps[2]}]")
    print("    stream:")
    six = ', "6"' if i % 4 == 0 else ""
    print(f'      bands: ["2.4", "5"{six}]')
    print(f"      vlans: [1, {10 + i % 12}]")
    print(f"      lost_messages_every: {40 if i % 5 == 0 else 0}")
    # 4 of 5 sites capture: mostly radiotap,wired in stream format, every 10th in pcap format
    # (never streamed), the rest idle (Mist answers 404 to their status polls).
    if i % 5 != 4:
        print("    capture:")
        print(f"      type: {'radiotap,wired' if i % 2 == 0 else 'radiotap'}")
        print(f"      format: {'pcap' if i % 10 == 1 else 'stream'}")
        print(f"      duration: {3600 + 60 * (i % 50)}")
        print(f"      started_ago: {30 * (i % 40)}")
    print(f"    history:\n      - {{type: radiotap, started_ago: {3600 + 60 * i}, duration: 600}}")
PYEOF

# --- simulator -----------------------------------------------------------------------------
run_start_sim "--scenario=$TMP/scenario.yaml" "--rate=300"
run_step "started simulator (pid $SIM_PID) on $SIM_URL with $SITES sites"
# The simulated token's hourly limit (5,000) would make the exporter stretch its polling of
# 300 sites to minutes; this test is about the dashboards, not the budget.
curl -sf -X POST "$SIM_URL/sim/usage" -H 'Content-Type: application/json' \
  -d '{"request_limit": 100000000}' >/dev/null

# --- exporter and Prometheus -----------------------------------------------------------------
# A fixed port: at log level warn the exporter does not log the one it got.
run_free_port EXP_PORT
cat >"$TMP/exporter.yaml" <<EOF
mist:
  api_url: $SIM_URL
  token_env: MIST_API_TOKEN
  timeout: 5s
  max_requests_per_hour: 10000000
discovery:
  org_id: $ORG_ID
poll:
  status_interval: 5s
  list_interval: 30s
stream:
  enabled: true
web:
  listen_address: 127.0.0.1:$EXP_PORT
log:
  level: warn
  format: text
EOF
# Poll every site on the fixed schedule so that all of them report within seconds (the events
# schedule polls idle sites only every poll.idle_interval, >= 10m).
export MIST_API_TOKEN=demo-token
run_start_exporter_and_prometheus "$TMP/exporter.yaml" "$SRC_DIR/deploy/prometheus/rules.yml"
PROM_START=$SECONDS
run_wait_prometheus_data "$SITES"

# Some sites fail from now on (every 40th REST answer is a 500).
curl -sf -X POST "$SIM_URL/sim/faults" -H 'Content-Type: application/json' \
  -d '{"error_5xx_every": 40}' >/dev/null
run_step "injected faults: every 40th REST call answers 5xx; collecting data for ${COLLECT_SECONDS}s"
# Halfway, the exporter stops answering for PAUSE_SECONDS (SIGSTOP): Prometheus' scrapes time
# out and it marks every series of the target stale until the next good scrape, as it does
# when a real exporter is slow or restarts. No panel may draw an AP twice because of it.
PAUSE_SECONDS="${PAUSE_SECONDS:-6}"
sleep $((COLLECT_SECONDS / 2))
if ((PAUSE_SECONDS > 0)); then
  kill -STOP "$EXPORTER_PID"
  sleep "$PAUSE_SECONDS"
  kill -CONT "$EXPORTER_PID"
  run_step "paused the exporter for ${PAUSE_SECONDS}s (failed scrapes)"
fi
sleep $((COLLECT_SECONDS - COLLECT_SECONDS / 2))
DEADLINE_SECONDS=$((SECONDS - RUN_START + 60))
run_until "some sites failing (mist_pcap_up == 0)" run_prom_true 'count(mist_pcap_up == 0) > 0'

RANGE=$((SECONDS - PROM_START))
SCRAPED="$(curl -sf "$PROM_URL/api/v1/query" --data-urlencode 'query=scrape_samples_scraped{job="mist-pcap-exporter"}' \
  | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["data"]["result"][0]["value"][1])')"
run_step "$SCRAPED samples per scrape; counting series per panel over the last ${RANGE}s"
# A failed scrape marks every series stale for a step; say how many there were (the pause above
# makes some; more come from a loaded machine).
FAILED="$(curl -sf "$PROM_URL/api/v1/query" --data-urlencode \
  "query=count_over_time(up{job=\"mist-pcap-exporter\"}[${RANGE}s]) - sum_over_time(up{job=\"mist-pcap-exporter\"}[${RANGE}s])" \
  | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["data"]["result"][0]["value"][1])')"
run_step "failed scrapes in the range: $FAILED"
if "$PY" "$SRC_DIR/tools/deploy-check/panel_series.py" --src "$SRC_DIR" --prometheus "$PROM_URL" \
  --range-seconds "$RANGE" --max-series "$MAX_SERIES" | tee "$TMP/panels.log"; then
  run_step "PASS"
else
  run_step "FAIL: see the TOO MANY / ERROR lines above"
  exit 1
fi
