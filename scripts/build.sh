#!/usr/bin/env bash
# Configures and builds into ./build (RelWithDebInfo, warnings as errors) with -j2.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
# shellcheck disable=SC2086  # CMAKE_EXTRA is a list of flags, split on purpose
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" \
  -DMPE_WERROR=ON ${CMAKE_EXTRA:-} >/dev/null
cmake --build "$BUILD_DIR" -j"${JOBS:-2}"
