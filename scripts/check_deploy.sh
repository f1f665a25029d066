#!/usr/bin/env bash
# Static validation of dashboards/, deploy/, the Dockerfile and docs/operations.md.
#
#   scripts/check_deploy.sh            # from the repository root (or anywhere)
#
# Needs (Debian 12): prometheus (promtool), jsonnet, kubernetes-client (kubectl 1.20, for
# `kubectl kustomize`), yamllint, python3-yaml for /usr/bin/python3, nodejs + npm, and Go
# (/usr/local/go on the build machines) for helm. Installs nothing itself except `npm ci` in
# tools/deploy-check (pinned package-lock.json) and helm, which scripts/install_helm.sh builds
# once into a cache outside the repository (minutes the first time; run it ahead of a
# time-limited ctest).
# Environment: KUBECTL=/path/to/kubectl overrides the kubectl choice; HELM=/path/to/helm skips
# building helm; KEEP_TMP=1 keeps the rendered files. Prints one line per check and exits 1 if
# any check fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY=/usr/bin/python3
TOOLS="$ROOT/tools/deploy-check"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/check_deploy.XXXXXX")"
cleanup() { if [[ "${KEEP_TMP:-0}" == 1 ]]; then echo "kept $TMP"; else rm -rf "$TMP"; fi; }
trap cleanup EXIT

passed=0
failed=0
failed_names=()

# run_check NAME CMD...: runs CMD with output in a log; prints PASS/FAIL with the log's last
# line as detail, and the whole log on failure.
run_check() {
  local name="$1"
  shift
  local log="$TMP/log.$((passed + failed))"
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    printf 'PASS  %-34s %s\n' "$name" "$(grep -v '^\s*$' "$log" | tail -n 1 | sed 's/^\s*//' | cut -c1-110)"
  else
    failed=$((failed + 1))
    failed_names+=("$name")
    printf 'FAIL  %-34s (output below)\n' "$name"
    sed 's/^/      | /' "$log" | tail -n 60
  fi
}

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "check_deploy: missing tool '$1' ($2)" >&2; exit 2; }
}
need promtool "apt-get install prometheus"
need yamllint "apt-get install yamllint"
need node "apt-get install nodejs"
need npm "apt-get install npm"
need jsonnet "apt-get install jsonnet"
if ! "$PY" -c 'import yaml' 2>/dev/null; then
  echo "check_deploy: /usr/bin/python3 with python3-yaml required" >&2
  exit 2
fi

# kubectl: $KUBECTL, else Debian's kubernetes-client /usr/bin/kubectl, else any kubectl in PATH.
pick_kubectl() {
  if [[ -n "${KUBECTL:-}" ]]; then
    echo "$KUBECTL"
  elif [[ -x /usr/bin/kubectl ]] && dpkg -S /usr/bin/kubectl 2>/dev/null | grep -q '^kubernetes-client:'; then
    echo /usr/bin/kubectl
  elif command -v kubectl >/dev/null 2>&1; then
    command -v kubectl
  else
    echo "check_deploy: kubectl missing (apt-get install kubernetes-client)" >&2
    exit 2
  fi
}
KUBECTL_BIN="$(pick_kubectl)"
KUBECTL_VERSION="$("$KUBECTL_BIN" version --client 2>/dev/null | grep -o 'v[0-9]*\.[0-9]*\.[0-9]*' | head -n 1)"

echo "check_deploy: repo $ROOT; kubectl $KUBECTL_BIN ($KUBECTL_VERSION); $(promtool --version 2>&1 | head -n 1)"

# --- npm tools (pinned) ------------------------------------------------------------------------
npm_ci() { (cd "$TOOLS" && npm ci --no-audit --no-fund --loglevel=error && echo "npm ci: $(find node_modules -mindepth 1 -maxdepth 1 | wc -l) entries in node_modules"); }
run_check "npm ci tools/deploy-check" npm_ci
NPX_BIN="$TOOLS/node_modules/.bin"

# --- Prometheus rules and configs ----------------------------------------------------------------
run_check "promtool check rules" promtool check rules deploy/prometheus/rules.yml
run_check "promtool test rules" promtool test rules deploy/prometheus/rules_test*.yml
# rules.yml, dashboards/*.json, the Helm chart's copies and the PrometheusRule are rendered
# from mixin/; a hand edit of one of them (or a mixin change not rerendered) fails here.
run_check "gen_mixin.sh --check" bash scripts/gen_mixin.sh --check
run_check "promtool check config" promtool check config deploy/prometheus/prometheus.yml
compose_prom_config() {
  mkdir -p "$TMP/compose-prom"
  cp deploy/prometheus/rules.yml "$TMP/compose-prom/rules.yml"
  sed 's#/etc/prometheus/rules.yml#rules.yml#' deploy/compose/prometheus.yml >"$TMP/compose-prom/prometheus.yml"
  promtool check config "$TMP/compose-prom/prometheus.yml"
}
run_check "promtool check config (compose)" compose_prom_config

# --- Grafana dashboards ---------------------------------------------------------------------------
grafana_schema() {
  "$NPX_BIN/ts-json-schema-generator" \
    -p "$TOOLS/node_modules/@grafana/schema/dist/types/raw/dashboard/x/types.gen.d.ts" \
    -t Dashboard --no-type-check --additional-properties -o "$TMP/dashboard.schema.json"
  "$NPX_BIN/ajv" validate --spec=draft7 --strict=false --all-errors --errors=text \
    -s "$TMP/dashboard.schema.json" -d "dashboards/*.json"
  local n
  n="$(find dashboards -maxdepth 1 -name '*.json' | wc -l)"
  echo "$n dashboards valid against @grafana/schema Dashboard"
}
run_check "grafana schema (@grafana/schema)" grafana_schema
run_check "dashboards + PromQL + docs" "$PY" "$TOOLS/check_dashboards.py" \
  --rules deploy/prometheus/rules.yml --docs docs/operations.md dashboards/*.json

# --- Kubernetes ---------------------------------------------------------------------------------
run_check "kubectl kustomize base" \
  bash -c "'$KUBECTL_BIN' kustomize deploy/kubernetes/base >'$TMP/base.yaml' && grep -c '^kind:' '$TMP/base.yaml' | sed 's/$/ objects rendered/'"
run_check "kubectl kustomize overlays/sharded" \
  bash -c "'$KUBECTL_BIN' kustomize deploy/kubernetes/overlays/sharded >'$TMP/sharded.yaml' && grep -c '^kind:' '$TMP/sharded.yaml' | sed 's/$/ objects rendered/'"
run_check "kubectl kustomize overlays/example-secret" \
  bash -c "'$KUBECTL_BIN' kustomize deploy/kubernetes/overlays/example-secret >'$TMP/example-secret.yaml' && grep -c '^kind:' '$TMP/example-secret.yaml' | sed 's/$/ objects rendered/'"
# Current kustomize warns about deprecated fields on stderr; the base must use none. (The
# overlays still need bases/patchesStrategicMerge for the kustomize v2.0.3 of kubectl 1.20.)
kustomize_base_deprecations() {
  local err
  err="$("$KUBECTL_BIN" kustomize deploy/kubernetes/base 2>&1 >/dev/null)"
  if grep -i 'deprecated' <<<"$err"; then return 1; fi
  echo "no deprecation warnings from $KUBECTL_VERSION's kustomize"
}
run_check "kustomize base: no deprecated fields" kustomize_base_deprecations
run_check "k8s schema + policy (base)" \
  node "$TOOLS/validate-k8s.mjs" --expect=base --rules-out="$TMP/prometheusrule-base.yml" "$TMP/base.yaml"
run_check "k8s schema + policy (sharded)" \
  node "$TOOLS/validate-k8s.mjs" --expect=sharded --rules-out="$TMP/prometheusrule-sharded.yml" "$TMP/sharded.yaml"
run_check "k8s schema + policy (example-secret)" \
  node "$TOOLS/validate-k8s.mjs" --expect=example-secret "$TMP/example-secret.yaml"
run_check "PrometheusRule groups: promtool" \
  promtool check rules "$TMP/prometheusrule-base.yml" "$TMP/prometheusrule-sharded.yml"
run_check "gen_prometheusrule.py --check" "$PY" tools/mixin/gen_prometheusrule.py --check

# --- Helm chart ------------------------------------------------------------------------------------
# helm is built once from source (scripts/install_helm.sh, cached outside the repository; the
# first build takes minutes). HELM=/path/to/helm skips that.
CHART=deploy/helm/mist-pcap-exporter
HELM_BIN=""
install_helm() {
  if [[ -n "${HELM:-}" ]]; then HELM_BIN="$HELM"; else HELM_BIN="$(bash scripts/install_helm.sh)"; fi
  "$HELM_BIN" version --template 'helm {{.Version}} ({{.GoVersion}})'
  echo
  echo "$HELM_BIN"
}
# Runs in this shell (run_check only redirects), so HELM_BIN stays set for the checks below.
run_check "install helm (scripts/install_helm.sh)" install_helm

# The chart embeds the rules and dashboards rather than generating them (how rules.yml is made
# may change); the copies must stay byte for byte equal to the sources.
chart_files_in_sync() {
  local bad=0 f
  if ! cmp deploy/prometheus/rules.yml "$CHART/files/prometheus-rules.yaml"; then
    echo "$CHART/files/prometheus-rules.yaml differs from deploy/prometheus/rules.yml"
    bad=1
  fi
  if ! diff <(cd dashboards && ls -1 -- *.json) <(cd "$CHART/files/dashboards" && ls -1 -- *.json); then
    echo "$CHART/files/dashboards/ must hold exactly the files of dashboards/"
    bad=1
  fi
  for f in dashboards/*.json; do
    [[ -f "$CHART/files/dashboards/${f##*/}" ]] || continue
    cmp "$f" "$CHART/files/dashboards/${f##*/}" || bad=1
  done
  if ((bad)); then
    echo "fix: cp deploy/prometheus/rules.yml $CHART/files/prometheus-rules.yaml;" \
      "rm -f $CHART/files/dashboards/*.json; cp dashboards/*.json $CHART/files/dashboards/"
    return 1
  fi
  echo "files/prometheus-rules.yaml and $(find dashboards -maxdepth 1 -name '*.json' | wc -l) dashboards equal to their sources"
}
run_check "helm chart: embedded files in sync" chart_files_in_sync

chart_version() {
  local cmake app
  cmake="$(sed -n 's/^project(mist_pcap_exporter VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)"
  app="$("$PY" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["appVersion"])' "$CHART/Chart.yaml")"
  if [[ -z "$cmake" || "$app" != "$cmake" ]]; then
    echo "Chart.yaml appVersion '$app' != CMakeLists.txt project version '$cmake'"
    return 1
  fi
  echo "appVersion $app = CMakeLists.txt version"
}
run_check "helm chart: appVersion" chart_version

helm_lint() {
  local f
  "$HELM_BIN" lint --strict "$CHART"
  for f in "$CHART"/ci/*-values.yaml; do "$HELM_BIN" lint --strict "$CHART" -f "$f"; done
}
run_check "helm lint --strict" helm_lint

# helm_case NAME VALUES_FILE|- EXPECT VALIDATOR_ARGS...: renders the chart with the values file (-
# for the defaults) into $TMP/helm-NAME.yaml and validates every object with the exact
# expectations of validate-k8s.mjs --expect=helm|helm-sharded.
DASHBOARDS="$(find "$CHART/files/dashboards" -maxdepth 1 -name '*.json' | wc -l)"
# The default image tag is the appVersion, which chart_version ties to the CMake version.
IMAGE="mist-pcap-exporter:$(sed -n 's/^project(mist_pcap_exporter VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)"
helm_case() {
  local name="$1" values="$2" expect="$3"
  shift 3
  local vargs=()
  [[ "$values" != - ]] && vargs=(-f "$values")
  "$HELM_BIN" template mpe "$CHART" --namespace mist "${vargs[@]}" >"$TMP/helm-$name.yaml" || return 1
  node "$TOOLS/validate-k8s.mjs" --expect="$expect" --namespace=mist --image="$IMAGE" \
    --config-out="$TMP/helm-$name-config.yaml" "$@" "$TMP/helm-$name.yaml"
}
MONITORING=(--monitoring-labels=release=kube-prometheus-stack --rules-file="$CHART/files/prometheus-rules.yaml"
  --dashboards-dir="$CHART/files/dashboards" --dashboard-label=grafana_dashboard=1)
run_check "helm template: defaults" helm_case default - helm \
  --kinds=ServiceAccount=1,ConfigMap=1,Service=1,Deployment=1,PodDisruptionBudget=1,NetworkPolicy=1 \
  --secret=mpe-mist-pcap-exporter/token --archive=none
run_check "helm template: existing Secret" helm_case existing-secret "$CHART/ci/existing-secret-values.yaml" helm \
  --kinds=ServiceAccount=1,ConfigMap=$((1 + DASHBOARDS)),Service=1,Deployment=1,PodDisruptionBudget=1,NetworkPolicy=1,ServiceMonitor=1,PrometheusRule=1 \
  --secret=mist-api-token/api-token --archive=emptyDir --rules-out="$TMP/helm-prometheusrule.yml" "${MONITORING[@]}"
run_check "helm template: sharded (4)" helm_case sharded "$CHART/ci/sharded-values.yaml" helm-sharded \
  --kinds=ServiceAccount=1,ConfigMap=$((1 + DASHBOARDS)),Service=2,StatefulSet=1,PodDisruptionBudget=1,NetworkPolicy=1,ServiceMonitor=1,PrometheusRule=1 \
  --shards=4 --secret=mist-api-token/token --archive=pvc --rules-out="$TMP/helm-prometheusrule-sharded.yml" "${MONITORING[@]}"
run_check "helm template: trial token" helm_case token "$CHART/ci/token-values.yaml" helm \
  --kinds=ServiceAccount=1,ConfigMap=1,Service=1,Deployment=1,PodDisruptionBudget=1,NetworkPolicy=1,Secret=1,PersistentVolumeClaim=1 \
  --secret=mpe-mist-pcap-exporter/token --chart-secret --archive=pvc
run_check "helm PrometheusRule groups: promtool" \
  promtool check rules "$TMP/helm-prometheusrule.yml" "$TMP/helm-prometheusrule-sharded.yml"
# The chart must refuse contradictory values rather than render something surprising.
helm_refusals() {
  local out
  if out="$("$HELM_BIN" template mpe "$CHART" --set mist.token=x --set mist.existingSecret=y 2>&1)"; then
    echo "rendered with both mist.token and mist.existingSecret"; return 1
  fi
  grep -q 'not both' <<<"$out" || { echo "$out"; return 1; }
  if "$HELM_BIN" template mpe "$CHART" --set sharding.enabled=true --set sharding.count=0 >/dev/null 2>&1; then
    echo "rendered with sharding.count=0"; return 1
  fi
  if "$HELM_BIN" template mpe "$CHART" --set config.unknown_key=1 >/dev/null 2>&1; then
    echo "values.schema.json let an unknown config key through"; return 1
  fi
  echo "refuses token+existingSecret, sharding.count=0 and unknown config keys"
}
run_check "helm chart: refuses bad values" helm_refusals

# --- YAML, Dockerfile, compose --------------------------------------------------------------------
yamllint_deploy() { yamllint -s -f parsable -c .yamllint deploy/ && echo "yamllint: deploy/ clean"; }
run_check "yamllint deploy/" yamllint_deploy
run_check "dockerfilelint Dockerfile" "$NPX_BIN/dockerfilelint" Dockerfile
compose_check() {
  "$PY" - <<'EOF'
import os, sys, yaml
base = "deploy/compose"
doc = yaml.safe_load(open(os.path.join(base, "docker-compose.yml")))
problems = []
services = doc.get("services", {})
for s in ("sim", "exporter", "prometheus", "grafana"):
    if s not in services:
        problems.append(f"service {s} missing")
for name, svc in services.items():
    for v in svc.get("volumes", []):
        src = v.split(":")[0]
        if src.startswith(".") and not os.path.exists(os.path.normpath(os.path.join(base, src))):
            problems.append(f"{name}: volume source {src} does not exist")
    b = svc.get("build")
    if b and not os.path.exists(os.path.join(base, b["context"], b.get("dockerfile", "Dockerfile"))):
        problems.append(f"{name}: build context/Dockerfile missing")
if "--listen=0.0.0.0:18080" not in services.get("sim", {}).get("command", []):
    problems.append("sim must listen on 0.0.0.0:18080")
cfg = yaml.safe_load(open(os.path.join(base, "exporter.yaml")))
if cfg["mist"]["api_url"] != "http://sim:18080":
    problems.append("exporter.yaml must point at http://sim:18080")
prom = yaml.safe_load(open(os.path.join(base, "prometheus.yml")))
if not any(j["job_name"] == "mist-pcap-exporter" for j in prom["scrape_configs"]):
    problems.append("compose prometheus.yml needs job mist-pcap-exporter")
for p in problems:
    print(p)
if problems:
    sys.exit(1)
print(f"compose: {len(services)} services, mounts and build context present")
EOF
}
run_check "compose stack (structure)" compose_check

# Only once the binary has been built: every shared library it needs must come from a package
# the Dockerfile's runtime stage installs, one of their dependencies, or debian:bookworm-slim.
runtime_libs() {
  local bin=""
  for b in build/mist_pcap_exporter build-*/mist_pcap_exporter; do
    if [[ -x "$b" ]]; then bin="$b"; break; fi
  done
  if [[ -z "$bin" ]]; then echo "skipped: no built mist_pcap_exporter under build*/"; return 0; fi
  "$PY" - "$bin" <<'EOF'
import re, subprocess, sys
binary = sys.argv[1]
text = open("Dockerfile").read().replace("\\\n", " ")
runtime_stage = text.split("\nFROM ")[-1]
install = re.search(r"apt-get install ([^&]*)", runtime_stage).group(1).split()
runtime = [w for w in install if not w.startswith("-")]
dep_out = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                          "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"] + runtime,
                         capture_output=True, text=True).stdout
allowed = set(runtime) | {m.group(1) for m in re.finditer(r"^\s*(?:Pre)?Depends: <?([^>\s]+)>?$", dep_out, re.M)}
allowed |= {"libc6", "libstdc++6", "libgcc-s1", "libcrypt1", "zlib1g"}
libs = re.findall(r"=> (/\S+)", subprocess.run(["ldd", binary], capture_output=True, text=True).stdout)
pkgs, missing = set(), []
for lib in libs:
    real = subprocess.run(["readlink", "-f", lib], capture_output=True, text=True).stdout.strip()
    owner = subprocess.run(["dpkg", "-S", real], capture_output=True, text=True).stdout.split(":")[0]
    if not owner:
        owner = subprocess.run(["dpkg", "-S", lib], capture_output=True, text=True).stdout.split(":")[0]
    pkgs.add(owner or "?" + lib)
    if owner not in allowed:
        missing.append(f"{lib} ({owner or 'no package'})")
if missing:
    print("runtime stage lacks: " + ", ".join(missing))
    sys.exit(1)
print(f"{binary}: {len(libs)} shared libraries from {len(pkgs)} packages, all in the runtime stage")
EOF
}
run_check "Dockerfile runtime libraries" runtime_libs

# Only once the binary has been built: the configs shipped in deploy/ pass --check-config.
check_configs() {
  local bin=""
  for b in build/mist_pcap_exporter build-*/mist_pcap_exporter; do
    if [[ -x "$b" ]]; then bin="$b"; break; fi
  done
  if [[ -z "$bin" ]]; then echo "skipped: no built mist_pcap_exporter under build*/"; return 0; fi
  local f n=0
  for f in deploy/kubernetes/base/config.yaml deploy/compose/exporter.yaml; do
    MIST_API_TOKEN=check-config-placeholder "$bin" --config.file="$f" --check-config || return 1
  done
  # The chart's configs read the token from mist.token_file, a Secret mounted in the pod: point
  # that at a local file and leave MIST_API_TOKEN unset, so the file route itself is checked.
  printf 'check-config-placeholder\n' >"$TMP/token"
  for f in "$TMP"/helm-*-config.yaml; do
    [[ -f "$f" ]] || continue
    grep -q '^  token_file: /' "$f" || { echo "$f: no absolute mist.token_file"; return 1; }
    sed "s#^  token_file: .*#  token_file: $TMP/token#" "$f" >"$f.local"
    env -u MIST_API_TOKEN "$bin" --config.file="$f.local" --check-config || return 1
    n=$((n + 1))
  done
  if ((n != 4)); then echo "expected the 4 rendered Helm configs; got $n"; return 1; fi
  echo "$bin --check-config accepts deploy/kubernetes/base/config.yaml, deploy/compose/exporter.yaml and $n Helm configs"
}
run_check "exporter --check-config (deploy/)" check_configs

echo "check_deploy: $passed passed, $failed failed${failed_names:+ (${failed_names[*]})}"
[[ "$failed" -eq 0 ]]
