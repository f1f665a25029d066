#!/usr/bin/env bash
# Builds the pinned helm from source through the Go module proxy, once, into a cache outside the
# repository, and prints the binary's path on stdout (progress goes to stderr).
#
#   helm="$(scripts/install_helm.sh)"
#
# Why from source: the only registries reachable from the build machines are the package
# registries (Debian has no helm package; the Go module proxy has helm's source). The version is
# pinned so every machine lints and renders the chart with the same helm.
#
# Environment:
#   HELM_MODULE / HELM_VERSION   what to build (default helm.sh/helm/v4 v4.3.2; the fallback if
#                                v4 ever stops building is HELM_MODULE=helm.sh/helm/v3
#                                HELM_VERSION=v3.21.4)
#   MPE_TOOLS_CACHE              cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/mist-pcap-exporter)
#   GO                           the go binary (default: go in PATH, else /usr/local/go/bin/go)
# The first build takes minutes (it compiles helm and the Kubernetes client libraries); later
# calls return at once.
set -euo pipefail

HELM_MODULE="${HELM_MODULE:-helm.sh/helm/v4}"
HELM_VERSION="${HELM_VERSION:-v4.3.2}"
CACHE_ROOT="${MPE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mist-pcap-exporter}"
DEST="$CACHE_ROOT/helm-$HELM_VERSION"
HELM="$DEST/helm"

# Reuse a finished build. The binary is moved into place only after it ran, so a present file is
# a complete one.
if [[ -x "$HELM" ]]; then
  echo "$HELM"
  exit 0
fi

GO_BIN="${GO:-}"
if [[ -n "$GO_BIN" && ! -x "$GO_BIN" ]]; then
  echo "install_helm: GO=$GO_BIN is not an executable go binary" >&2
  exit 2
fi
if [[ -z "$GO_BIN" ]]; then
  if command -v go >/dev/null 2>&1; then
    GO_BIN="$(command -v go)"
  elif [[ -x /usr/local/go/bin/go ]]; then
    GO_BIN=/usr/local/go/bin/go
  fi
fi
if [[ -z "$GO_BIN" || ! -x "$GO_BIN" ]]; then
  cat >&2 <<EOF
install_helm: go not found (looked for go in PATH and /usr/local/go/bin/go).
  helm $HELM_VERSION is built from source and needs a Go toolchain new enough for it
  (the build machines have one preinstalled at /usr/local/go). Install Go from https://go.dev/dl/
  or set GO=/path/to/go, or put a helm $HELM_VERSION binary at $HELM yourself.
EOF
  exit 2
fi

mkdir -p "$DEST"
# Build into a private directory and rename: two concurrent callers (e.g. parallel ctest runs)
# must never see a half-written binary.
STAGE="$(mktemp -d "$DEST/.build.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT

echo "install_helm: building $HELM_MODULE/cmd/helm@$HELM_VERSION with $("$GO_BIN" version) (first time only; takes minutes)" >&2
start=$SECONDS
# GOFLAGS=-mod=mod: a GOFLAGS=-mod=vendor from the caller's environment would break a module
# install. GOTOOLCHAIN=local: never download another Go toolchain behind the user's back.
# CGO_ENABLED=0: a static binary, like helm's release builds. The -X sets the version the way
# helm's Makefile does; without it `helm version` says only "v4.3".
GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN="$STAGE" \
  "$GO_BIN" install -trimpath -ldflags "-X $HELM_MODULE/internal/version.version=$HELM_VERSION" \
  "$HELM_MODULE/cmd/helm@$HELM_VERSION" >&2
built="$("$STAGE/helm" version --template '{{.Version}}')"
if [[ "$built" != "$HELM_VERSION" ]]; then
  echo "install_helm: the built helm reports version '$built', expected $HELM_VERSION" >&2
  exit 1
fi
mv -f "$STAGE/helm" "$HELM"
echo "install_helm: built $HELM in $((SECONDS - start))s" >&2
echo "$HELM"
