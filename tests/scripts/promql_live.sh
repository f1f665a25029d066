#!/usr/bin/env bash
# A real Prometheus scrapes the simulator-fed exporter; every dashboard and rule expression runs.
set -euo pipefail
exec bash "$3/scripts/promql_e2e.sh" "$1" "$2" "$3"
