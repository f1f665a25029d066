#!/usr/bin/env bash
# Regenerates docs/landing-page.png: runs the landing page browser test
# (tests/scripts/landing_page_chromium.sh: simulator + exporter on loopback, headless Chromium,
# DOM checked) and saves a 1200x700 screenshot of the verified page.
# Usage: scripts/screenshot_landing.sh [BUILD_DIR]   (default: build; build it first with
# scripts/build.sh). Needs the Debian package chromium (scripts/install_deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC="$(pwd)"
BUILD_DIR="${1:-build}"
for bin in mist_pcap_exporter mist_cloud_sim; do
  [[ -x "$BUILD_DIR/$bin" ]] || {
    echo "missing $BUILD_DIR/$bin: build first (scripts/build.sh)" >&2
    exit 1
  }
done
OUT="$SRC/docs/landing-page.png"
SCREENSHOT="$OUT" bash tests/scripts/landing_page_chromium.sh \
  "$BUILD_DIR/mist_pcap_exporter" "$BUILD_DIR/mist_cloud_sim" "$SRC"
echo "wrote docs/landing-page.png"
