#!/usr/bin/env bash
# Installs the Debian 12 packages the build, the demo and the tests need. Idempotent: it only
# calls apt-get when something is missing. Usage: scripts/install_deps.sh [--runtime|--all]
# --all also builds the pinned helm the deploy checks use (scripts/install_helm.sh: from source
# through the Go module proxy, once, into a cache outside the repository).
set -euo pipefail

BUILD_PKGS=(build-essential cmake ninja-build pkg-config prometheus-cpp-dev libcpp-httplib-dev
  rapidjson-dev libyaml-cpp-dev libspdlog-dev libboost-dev libssl-dev libcrypt-dev
  libgtest-dev libgmock-dev libbenchmark-dev zlib1g-dev ca-certificates curl openssl)
TEST_PKGS=(prometheus tshark python3 python3-yaml python3-websockets python3-prometheus-client
  python3-jsonschema
  yamllint jsonnet clang-14 clang-format-14 libclang-rt-14-dev chromium)

mode="${1:---all}"
pkgs=("${BUILD_PKGS[@]}")
if [[ "$mode" == "--all" ]]; then
  pkgs+=("${TEST_PKGS[@]}")
  command -v node >/dev/null 2>&1 || pkgs+=(nodejs npm)
  # Debian's kubectl (for `kubectl kustomize`) conflicts with other kubectl packages; any
  # kubectl already on the machine will do.
  command -v kubectl >/dev/null 2>&1 || pkgs+=(kubernetes-client)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install_deps: all ${#pkgs[@]} packages present"
else
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  echo "install_deps: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [[ "$mode" == "--all" ]]; then
  echo "install_deps: helm $("$(dirname "$0")/install_helm.sh")"
fi
