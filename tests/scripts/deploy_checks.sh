#!/usr/bin/env bash
# Static checks of dashboards, rules, manifests and the Dockerfile (scripts/check_deploy.sh).
set -euo pipefail
exec bash "$3/scripts/check_deploy.sh"
