# Start mist_cloud_sim, mist_pcap_exporter (and Prometheus), wait until they answer, stop them
# at exit: the one copy of that for scripts/ and tests/scripts/. Sourced, never run:
#
#   source "$ROOT/scripts/lib/run.sh"
#   run_init NAME [DIR]                 logs go to DIR (kept), else to a temp dir removed at exit
#                                       (KEEP_TMP=1 keeps it); sets RUN_DIR and the exit trap
#   run_start_sim [ARG...]              SIM_BIN ARG... (--listen=127.0.0.1:0 unless given);
#                                       sets SIM_PID, SIM_URL, SIM_PORT_ACTUAL
#   run_start_exporter CONFIG [FLAG...] EXPORTER_BIN --config.file=CONFIG FLAG...;
#                                       sets EXPORTER_PID, EXPORTER_URL, EXPORTER_PORT_ACTUAL
#   run_start_prometheus TARGET RULES   a real Prometheus scraping TARGET every 1 s; sets PROM_URL
#   run_wait SECONDS WHAT CMD...        polls CMD until it succeeds; fails on timeout or when a
#                                       started process died, with the tail of every log
#   run_wait_http SECONDS URL [CURL-ARG...]
#   run_until WHAT CMD...               run_wait until DEADLINE_SECONDS after run_init, then a
#                                       progress line
#   run_stop PID / run_forget PID       stop one started process / stop tracking it
#   run_e2e_args NAME EXPORTER_BIN SIM_BIN SRC_DIR   the checks of the Prometheus end-to-end
#                                       scripts (exit 77 to skip when a binary is missing)
#   run_start_exporter_and_prometheus CONFIG RULES   both, in that order, each waited for
#   run_wait_prometheus_data SITES      Prometheus scraped SITES sites with packets and rules
#   run_demo_sites                      the demo scenario's sites: block for an exporter config
#
# Process NAME writes $RUN_DIR/NAME.out and NAME.err (RUN_ECHO=1 copies both to the terminal);
# RUN_LOG_DIR puts the simulator's and the exporter's logs elsewhere, RUN_SIM_WRAP and
# RUN_EXPORTER_WRAP run them through a command such as "taskset -c 1".
# The exit trap stops every process started here, newest first (TERM, KILL after 5 s), and only
# those; when the script fails it prints the tail of their logs.
# shellcheck shell=bash
# shellcheck disable=SC2034  # SIM_PID, EXPORTER_URL and the others are set for the caller

RUN_PIDS=()
RUN_NAMES=()
RUN_PORTS=()
RUN_START=$SECONDS

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# run_step MSG: one progress line with the seconds since run_init.
run_step() { printf '%s: [%3ds] %s\n' "${RUN_NAME:-run}" "$((SECONDS - RUN_START))" "$*"; }

run_init() {
  RUN_NAME="$1"
  RUN_START=$SECONDS
  if [[ -n "${2:-}" ]]; then
    RUN_DIR="$2"
    RUN_KEEP_DIR=given
    mkdir -p "$RUN_DIR"
  else
    RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/$RUN_NAME.XXXXXX")"
    RUN_KEEP_DIR="${KEEP_TMP:-0}"
  fi
  trap run_cleanup EXIT
  trap 'exit 130' INT TERM
}

# run_check_port VARIABLE PORT: PORT is a number in 1..65535 and nothing listens on it yet.
run_check_port() {
  local var="$1" port="$2"
  if ! [[ "$port" =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
    fail "$var=$port is not a port number (1-65535)"
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    fail "$var=$port: something already listens on 127.0.0.1:$port; choose another, e.g. $var=$((port + 10000 > 65535 ? port - 10000 : port + 10000))"
  fi
  RUN_PORTS+=("$port")
}

# run_free_port VARIABLE: sets VARIABLE to a loopback port nothing listens on, none handed out
# before in this run.
run_free_port() {
  while :; do
    RUN_FREE_PORT="$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
    [[ " ${RUN_PORTS[*]} " == *" $RUN_FREE_PORT "* ]] || break
  done
  RUN_PORTS+=("$RUN_FREE_PORT")
  printf -v "$1" '%s' "$RUN_FREE_PORT"
}

# run_bg NAME CMD...: starts CMD in the background, output to $RUN_DIR/NAME.{out,err} (NAME
# with a slash: NAME.{out,err}); sets RUN_PID and RUN_LOG (the path without .out/.err).
run_bg() {
  RUN_LOG="$1"
  [[ "$RUN_LOG" == */* ]] || RUN_LOG="$RUN_DIR/$RUN_LOG"
  shift
  # Emptied here, before the background start: its own redirection truncates only once it runs,
  # and until then a wait on the log (e.g. "listening on") would read what an earlier process
  # of the same NAME wrote (seen: the port of the exporter stopped a moment before).
  : >"$RUN_LOG.out"
  : >"$RUN_LOG.err"
  if [[ "${RUN_ECHO:-0}" == 1 ]]; then
    "$@" > >(tee "$RUN_LOG.out") 2> >(tee "$RUN_LOG.err" >&2) &
  else
    "$@" >"$RUN_LOG.out" 2>"$RUN_LOG.err" &
  fi
  RUN_PID=$!
  RUN_PIDS+=("$RUN_PID")
  RUN_NAMES+=("$RUN_LOG")
}

# run_logs: the last 15 lines of the logs of every process started here.
run_logs() {
  local log f
  for log in "${RUN_NAMES[@]}"; do
    for f in "$log.out" "$log.err"; do
      [[ -s "$f" ]] || continue
      echo "---- last lines of $f ----"
      tail -n 15 "$f"
    done
  done
}

# run_wait SECONDS WHAT CMD...: polls CMD every 0.1 s until it succeeds.
run_wait() {
  local seconds="$1" what="$2" deadline i
  shift 2
  deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    for i in "${!RUN_PIDS[@]}"; do
      if ! kill -0 "${RUN_PIDS[$i]}" 2>/dev/null; then
        run_logs >&2
        RUN_LOGS_SHOWN=1
        fail "${RUN_NAMES[$i]##*/} (pid ${RUN_PIDS[$i]}) exited while waiting for: $what"
      fi
    done
    if ((SECONDS >= deadline)); then
      run_logs >&2
      RUN_LOGS_SHOWN=1
      fail "timed out after ${seconds}s waiting for: $what"
    fi
    sleep 0.1
  done
}

# run_until WHAT CMD...: run_wait with what is left of DEADLINE_SECONDS (counted from run_init),
# then a progress line saying WHAT.
run_until() {
  run_wait "$((${DEADLINE_SECONDS:-90} - (SECONDS - RUN_START)))" "$@"
  run_step "$1"
}

# run_wait_http SECONDS URL [CURL-ARG...]: waits until URL answers 2xx.
run_wait_http() {
  run_wait "$1" "$2 answers" curl -sf -o /dev/null "${@:3}" "$2"
}

# run_start_sim [ARG...]: mist_cloud_sim on the --listen address given (default 127.0.0.1:0),
# logs in ${RUN_LOG_DIR:-$RUN_DIR}/sim.{out,err}, run through RUN_SIM_WRAP (e.g. "taskset -c 0").
run_start_sim() {
  local args=("$@") wrap
  read -ra wrap <<<"${RUN_SIM_WRAP:-}"
  [[ " ${args[*]} " == *" --listen="* ]] || args=(--listen=127.0.0.1:0 "${args[@]}")
  [[ -x "${SIM_BIN:-}" ]] || fail "SIM_BIN=${SIM_BIN:-} is not an executable mist_cloud_sim"
  run_bg "${RUN_LOG_DIR:-$RUN_DIR}/sim" "${wrap[@]}" "$SIM_BIN" "${args[@]}"
  SIM_PID=$RUN_PID
  run_wait "${RUN_START_SECONDS:-30}" "the simulator listens" grep -q "listening on" "$RUN_LOG.out"
  SIM_URL="$(grep -o 'http[s]*://[0-9.:]*' "$RUN_LOG.out" | head -1)"
  SIM_PORT_ACTUAL="${SIM_URL##*:}"
}

# run_start_exporter CONFIG [FLAG...]: the exporter. When --web.listen-address or else the
# config's web.listen_address names a port other than 0, it is ready once /healthz answers there
# (at any log level); with port 0, once it logs the port it got (log level info or debug).
# Logs in ${RUN_LOG_DIR:-$RUN_DIR}/exporter.{out,err}, run through RUN_EXPORTER_WRAP.
run_start_exporter() {
  local flag port wrap
  read -ra wrap <<<"${RUN_EXPORTER_WRAP:-}"
  [[ -x "${EXPORTER_BIN:-}" ]] || fail "EXPORTER_BIN=${EXPORTER_BIN:-} is not an executable mist_pcap_exporter"
  port="$(sed -n 's/^  listen_address: *[^ #]*:\([0-9]*\).*/\1/p' "$1" | head -1)"
  for flag in "${@:2}"; do
    [[ "$flag" != --web.listen-address=* ]] || port="${flag##*:}"
  done
  run_bg "${RUN_LOG_DIR:-$RUN_DIR}/exporter" "${wrap[@]}" "$EXPORTER_BIN" --config.file="$1" "${@:2}"
  EXPORTER_PID=$RUN_PID
  if [[ -n "$port" && "$port" != 0 ]]; then
    EXPORTER_PORT_ACTUAL="$port"
    run_wait_http "${RUN_START_SECONDS:-30}" "http://127.0.0.1:$port/healthz"
  else
    run_wait "${RUN_START_SECONDS:-30}" "the exporter logs its port" \
      grep -q "listening on" "$RUN_LOG.err"
    EXPORTER_PORT_ACTUAL="$(grep -o '(port [0-9]*)' "$RUN_LOG.err" | head -1 | tr -dc 0-9)"
  fi
  EXPORTER_URL="http://127.0.0.1:$EXPORTER_PORT_ACTUAL"
}

# run_demo_sites: the sites: block of an exporter config for the simulator's demo scenario
# (config/sim_scenario.yaml).
run_demo_sites() {
  cat <<'YAML'
sites:
  - {id: 978c48e6-6ef6-11e6-8bbf-02e208b2d34f, name: HQ}
  - {id: a1b2c3d4-0000-4000-8000-000000000002, name: Branch-01}
  - {id: a1b2c3d4-0000-4000-8000-000000000003, name: Warehouse}
YAML
}

# run_prefer_fixed_schedule CONFIG: adds poll.schedule: fixed (every site polled every
# status_interval, also those without a capture) when the exporter accepts the key; exporters
# older than poll.schedule reject it and poll that way anyway.
run_prefer_fixed_schedule() {
  sed '/^  list_interval: /a\  schedule: fixed' "$1" >"$1.fixed"
  if MIST_API_TOKEN="${MIST_API_TOKEN:-demo-token}" "$EXPORTER_BIN" --config.file="$1.fixed" \
    --check-config >/dev/null 2>&1; then
    mv "$1.fixed" "$1"
  else
    rm -f "$1.fixed"
  fi
}

# run_start_prometheus TARGET RULES: a real Prometheus (PROMETHEUS, default prometheus) with 1 s
# scrape and rule evaluation of RULES, scraping TARGET (host:port) as job mist-pcap-exporter.
run_start_prometheus() {
  local prom_port
  run_free_port prom_port
  cp "$2" "$RUN_DIR/rules.yml"
  cat >"$RUN_DIR/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - rules.yml
scrape_configs:
  - job_name: mist-pcap-exporter
    static_configs:
      - targets: ["$1"]
EOF
  promtool check config "$RUN_DIR/prometheus.yml" >/dev/null
  run_bg prometheus "${PROMETHEUS:-prometheus}" --config.file="$RUN_DIR/prometheus.yml" \
    --storage.tsdb.path="$RUN_DIR/prom-data" --web.listen-address="127.0.0.1:$prom_port"
  PROM_PID=$RUN_PID
  PROM_URL="http://127.0.0.1:$prom_port"
}

# run_wait_prometheus_data SITES: run_until Prometheus is ready, has scraped the exporter, sees
# SITES sites polled and packets flowing, and has evaluated the recording rules.
run_wait_prometheus_data() {
  run_until "prometheus ready" curl -sf "$PROM_URL/-/ready"
  run_until "exporter scraped (up == 1)" run_prom_true 'up{job="mist-pcap-exporter"} == 1'
  run_until "all $1 sites polled (mist_pcap_up)" run_prom_true "count(mist_pcap_up) >= $1"
  run_until "packets flowing (rate > 0)" run_prom_true 'sum(rate(mist_pcap_packets_total[1m])) > 0'
  run_until "recording rules evaluated" run_prom_true 'mist_pcap:packets:rate5m'
}

# run_e2e_args NAME EXPORTER_BIN SIM_BIN SRC_DIR: for the scripts called as
# "NAME EXPORTER_BIN SIM_BIN SRC_DIR" that need Prometheus: sets EXPORTER_BIN, SIM_BIN and
# SRC_DIR (absolute); exits 2 on a wrong call or a missing prometheus or curl, 77 (skip) when a
# binary is not built.
run_e2e_args() {
  local name="$1" b
  shift
  if [[ $# -ne 3 ]]; then
    echo "usage: $name EXPORTER_BIN SIM_BIN SRC_DIR" >&2
    exit 2
  fi
  EXPORTER_BIN="$1"
  SIM_BIN="$2"
  SRC_DIR="$(cd "$3" && pwd)"
  for b in "$EXPORTER_BIN" "$SIM_BIN"; do
    if [[ ! -x "$b" ]]; then
      echo "$name: SKIP, binary not found or not executable: $b"
      exit 77
    fi
  done
  command -v "${PROMETHEUS:-prometheus}" >/dev/null ||
    { echo "$name: prometheus not found (apt-get install prometheus)" >&2; exit 2; }
  command -v curl >/dev/null || { echo "$name: curl not found" >&2; exit 2; }
}

# run_start_exporter_and_prometheus CONFIG RULES: the exporter on CONFIG (poll.schedule: fixed
# when it takes it), once it serves /metrics a Prometheus scraping it with RULES.
run_start_exporter_and_prometheus() {
  run_prefer_fixed_schedule "$1"
  run_start_exporter "$1"
  run_step "started exporter (pid $EXPORTER_PID) on $EXPORTER_URL"
  run_until "exporter serves /metrics" curl -sf "$EXPORTER_URL/metrics"
  run_start_prometheus "127.0.0.1:$EXPORTER_PORT_ACTUAL" "$2"
  run_step "started prometheus (pid $PROM_PID) on $PROM_URL"
}

# run_prom_true EXPR: the instant query returns at least one series.
run_prom_true() {
  curl -sf "$PROM_URL/api/v1/query" --data-urlencode "query=$1" |
    /usr/bin/python3 -c 'import json, sys; sys.exit(0 if json.load(sys.stdin)["data"]["result"] else 1)'
}

run_forget() {
  local i
  for i in "${!RUN_PIDS[@]}"; do
    if [[ "${RUN_PIDS[$i]}" == "$1" ]]; then
      unset 'RUN_PIDS[i]' 'RUN_NAMES[i]'
    fi
  done
  RUN_PIDS=("${RUN_PIDS[@]}")
  RUN_NAMES=("${RUN_NAMES[@]}")
}

# run_stop PID...: TERM, KILL after 5 s, reaped; the processes are no longer tracked.
run_stop() {
  local pid
  # CONT after TERM: a stopped (SIGSTOP) process handles the TERM only once it runs again.
  for pid in "$@"; do kill "$pid" 2>/dev/null && kill -CONT "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    run_forget "$pid"
  done
}

run_cleanup() {
  local rc=$? i pids=()
  trap - EXIT
  for ((i = ${#RUN_PIDS[@]} - 1; i >= 0; i--)); do pids+=("${RUN_PIDS[$i]}"); done
  # Logs on a failure, not on success or Ctrl-C (130).
  ((rc == 0 || rc == 130)) || [[ "${RUN_LOGS_SHOWN:-0}" == 1 ]] || run_logs >&2
  ((${#pids[@]} == 0)) || run_stop "${pids[@]}"
  case "${RUN_KEEP_DIR:-0}" in
    given) ;;
    1) echo "$RUN_NAME: kept $RUN_DIR" >&2 ;;
    *) rm -rf "${RUN_DIR:?}" ;;
  esac
  exit "$rc"
}
