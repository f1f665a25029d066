#!/usr/bin/env bash
# 300 simulated sites behind a real Prometheus: no dashboard panel returns more than 20 series.
set -euo pipefail
exec bash "$3/scripts/fleet_dashboards.sh" "$1" "$2" "$3"
