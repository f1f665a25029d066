# shellcheck shell=bash
# shellcheck disable=SC2034  # SIM_URL, METRICS, WIN_RESULT and the others are set for the caller
# Shared shell functions of the end-to-end benches against mist_cloud_sim
# (bench/site_scaling.sh, bench/scrape_under_load.sh, bench/api_economy.sh). Source it; the
# processes are started, waited for and stopped at exit by scripts/lib/run.sh.
#
# Env: BUILD_DIR (default build) or EXPORTER_BIN / SIM_BIN; SIM_CORE (0) and EXPORTER_CORE (1)
# for taskset; OUT (default: a new temp dir) keeps configs, logs and scrapes.
#
# Measuring: the simulator's stream limit (POST /sim/stream {"limit":N}) makes it deliver
# exactly N data messages at its paced rate. Between two limits the stream is idle, so the
# exporter's CPU time (utime+stime of /proc/<pid>/stat) read before a window and after the N
# messages were ingested covers exactly those N messages (plus the idle cost of the window's
# wall time, measured separately), and no /metrics scrape falls inside a window.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-build}"
EXPORTER="${EXPORTER_BIN:-$ROOT/$BUILD_DIR/mist_pcap_exporter}"
SIM="${SIM_BIN:-$ROOT/$BUILD_DIR/mist_cloud_sim}"
SIM_CORE="${SIM_CORE:-0}"
EXPORTER_CORE="${EXPORTER_CORE:-1}"
PY=/usr/bin/python3
HELPER="$ROOT/bench/simbench.py"
OUT="${OUT:-$(mktemp -d)}"
CLK_TCK="$(getconf CLK_TCK)"
EXPORTER_BIN="$EXPORTER"
SIM_BIN="$SIM"
# shellcheck source=../scripts/lib/run.sh
source "$ROOT/scripts/lib/run.sh"
run_init bench "$OUT"

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

for b in "$EXPORTER" "$SIM"; do
  [[ -x "$b" ]] || fail "$b is not built (set BUILD_DIR, or EXPORTER_BIN and SIM_BIN)"
done
command -v taskset >/dev/null || fail "taskset (util-linux) is needed"

wait_for() {  # wait_for SECONDS CMD...: polls CMD every 0.1 s
  run_wait "$1" "${*:2}" "${@:2}"
}

# start_sim DIR SITES APS_PER_SITE BANDS TYPE RATE: sets SIM_PID, SIM_URL.
start_sim() {
  local dir="$1"
  mkdir -p "$dir"
  $PY "$HELPER" scenario "$2" "$3" "$4" "$5" >"$dir/scenario.yaml"
  RUN_LOG_DIR="$dir" RUN_SIM_WRAP="taskset -c $SIM_CORE" \
    run_start_sim --scenario="$dir/scenario.yaml" --rate="$6" --token="$MIST_API_TOKEN"
}

# start_exporter DIR SITES: sets EXP_PID, METRICS (the /metrics URL).
start_exporter() {
  local dir="$1"
  $PY "$HELPER" config "$2" "$SIM_URL" >"$dir/exporter.yaml"
  RUN_LOG_DIR="$dir" RUN_EXPORTER_WRAP="taskset -c $EXPORTER_CORE" \
    run_start_exporter "$dir/exporter.yaml"
  EXP_PID=$EXPORTER_PID
  METRICS="$EXPORTER_URL/metrics"
}

stop_pair() {
  run_stop "$EXP_PID" "$SIM_PID"
}

alive() {
  kill -0 "$EXP_PID" 2>/dev/null || fail "exporter died (see $OUT)"
  kill -0 "$SIM_PID" 2>/dev/null || fail "simulator died (see $OUT)"
}

# CPU ticks (utime + stime, all threads) of a process; fields counted after the ") ".
cpu_ticks() { awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
now_s() { date +%s.%N; }
# Ticks the hypervisor took from a core (the steal column of /proc/stat): a noisy neighbour on
# the host shows here, and it inflates the CPU time the process is charged with.
steal_ticks() { awk -v c="cpu$1" '$1 == c {print $9}' /proc/stat; }
# Busy ticks of a core (user, nice, system, irq, softirq): minus the exporter's own ticks, what
# other processes (other engineers' builds and benchmarks) ran on the exporter's core.
busy_ticks() { awk -v c="cpu$1" '$1 == c {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }

sim_post() {  # sim_post PATH JSON
  curl -sf -X POST -d "$2" "$SIM_URL$1" >/dev/null || fail "POST $1 $2 failed"
}
truth_data() {  # data messages the sim has delivered (cheap summary form of /sim/truth)
  local body
  body="$(curl -sf "$SIM_URL/sim/truth?families=0")" || fail "GET /sim/truth?families=0 failed"
  sed -n 's/^{"messages":{"data":\([0-9]*\),.*/\1/p' <<<"$body" | grep . || fail "unexpected truth: $body"
}
subscribed_sites() {
  curl -sf "$SIM_URL/sim/stats" | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["subscribed"]))'
}
wait_subscribed() {  # wait_subscribed SITES
  for _ in $(seq 1 600); do
    [[ "$(subscribed_sites)" == "$1" ]] && return 0
    sleep 0.1
  done
  fail "the exporter did not subscribe all $1 sites within 60 s"
}

# scrape FILE: writes /metrics to FILE, prints the wall time in ms.
scrape() {
  curl -sf -o "$1" -w '%{time_total}\n' "$METRICS" | awk '{printf "%.1f\n", $1 * 1000}' \
    || fail "scrape of $METRICS failed"
}
# exporter_data FILE: data messages in a scrape file.
exporter_data() {
  { grep '^mist_pcap_stream_messages_total{' "$1" || true; } \
    | awk '/event="data"/ {s += $NF} END {printf "%d\n", s}'
}

# wait_truth TARGET TIMEOUT_S: waits until the sim has delivered TARGET data messages.
wait_truth() {
  local target="$1" deadline
  deadline=$(( $(date +%s) + $2 ))
  while :; do
    local got
    got="$(truth_data)"
    [[ "$got" -ge "$target" ]] && return 0
    [[ $(date +%s) -lt $deadline ]] || fail "sim delivered $got of $target data messages in $2 s"
    alive
    sleep 0.1
  done
}

# pause_and_drain DIR: stops generation and waits until the exporter counted everything the
# sim delivered. Sets BASE_DATA (the common total).
pause_and_drain() {
  sim_post /sim/stream '{"limit":1}'
  local t e
  for _ in $(seq 1 120); do
    sleep 0.5
    t="$(truth_data)"
    scrape "$1/drain.txt" >/dev/null
    e="$(exporter_data "$1/drain.txt")"
    if [[ "$t" == "$e" ]]; then
      sleep 0.5
      [[ "$(truth_data)" == "$t" ]] && { BASE_DATA="$t"; return 0; }
    fi
  done
  fail "exporter ($e) did not catch up with the truth ($t) within 60 s"
}

# stream_n N TIMEOUT_S: lets the sim deliver exactly N more data messages and waits for them
# (the stream must be paused and drained, BASE_DATA set). Sets WIN_WALL (s, from the limit
# to the last delivered message) and BASE_DATA += N.
stream_n() {
  local n="$1" t0
  t0="$(now_s)"
  sim_post /sim/stream "{\"limit\":$n}"
  wait_truth $(( BASE_DATA + n )) "$2"
  WIN_WALL="$(echo "$(now_s) - $t0" | bc -l)"
  BASE_DATA=$(( BASE_DATA + n ))
}

# scraper_start LOG: scrapes /metrics once a second (fixed schedule, curl pinned to SIM_CORE so
# the client's own CPU stays off the exporter's core) and appends "wall_ms bytes" per scrape to
# LOG until scraper_stop, which waits for a scrape in flight to finish.
scraper_start() {
  local log_file="$1"
  rm -f "$OUT/scraper.stop"
  (
    t0="$(date +%s.%N)"; k=0
    while [[ ! -e "$OUT/scraper.stop" ]]; do
      taskset -c "$SIM_CORE" curl -sf -o /dev/null -w '%{time_total} %{size_download}\n' "$METRICS" \
        | awk '{printf "%.1f %d\n", $1 * 1000, $2}' >>"$log_file" || echo "error 0" >>"$log_file"
      k=$((k + 1))
      wait_s="$(echo "$t0 + $k - $(date +%s.%N)" | bc -l)"
      [[ "$wait_s" == -* ]] || sleep "$wait_s"
    done
  ) &
  SCRAPER_PID=$!
}
scraper_stop() {
  touch "$OUT/scraper.stop"
  wait "$SCRAPER_PID" || true
}

# measure_window DIR N [SCRAPE_LOG]: one measured window of N messages (with SCRAPE_LOG: and a
# scrape every second during it). Sets WIN_RESULT to
# "cpu_us_per_msg msgs_per_s idle_ms_per_s n cpu_s wall_s steal_pct others_pct" (shares of the
# window's wall time the hypervisor took from the exporter's core, and other processes ran on
# it) after checking that the exporter counted exactly N. (Not for $(...): it updates BASE_DATA.)
measure_window() {
  local dir="$1" n="$2" scrape_log="${3:-}" c0 c1 i0 i1 d0 d1 it0 it1 s0 s1 st0 st1 b0 b1
  scrape "$dir/w0.txt" >/dev/null
  d0="$(exporter_data "$dir/w0.txt")"
  [[ "$d0" == "$BASE_DATA" ]] || fail "window start: exporter $d0, truth $BASE_DATA"
  # Idle cost of the exporter with these sites and series (timers, staleness sweeps), 2 s.
  i0="$(cpu_ticks "$EXP_PID")"; it0="$(now_s)"
  sleep 2
  i1="$(cpu_ticks "$EXP_PID")"; it1="$(now_s)"
  c0="$(cpu_ticks "$EXP_PID")"; s0="$(steal_ticks "$EXPORTER_CORE")"; st0="$(now_s)"
  b0="$(busy_ticks "$EXPORTER_CORE")"
  [[ -n "$scrape_log" ]] && scraper_start "$scrape_log"
  stream_n "$n" $(( n / 1000 + 120 ))
  [[ -n "$scrape_log" ]] && scraper_stop
  sleep 1  # the last messages may still be in the exporter's socket buffer
  c1="$(cpu_ticks "$EXP_PID")"; s1="$(steal_ticks "$EXPORTER_CORE")"; st1="$(now_s)"
  b1="$(busy_ticks "$EXPORTER_CORE")"
  scrape "$dir/w1.txt" >/dev/null
  d1="$(exporter_data "$dir/w1.txt")"
  [[ $(( d1 - d0 )) == "$n" ]] || fail "window: exporter counted $(( d1 - d0 )) of $n messages"
  WIN_RESULT="$(echo "$c0 $c1 $i0 $i1 $it0 $it1 $n $WIN_WALL $CLK_TCK $s0 $s1 $st0 $st1 $b0 $b1" | awk '{
    cpu_us = ($2 - $1) * 1e6 / $9
    idle_ms_s = ($4 - $3) * 1e3 / $9 / ($6 - $5)
    steal_pct = ($11 - $10) * 100 / $9 / ($13 - $12)
    others = (($15 - $14) - ($2 - $1)) * 100 / $9 / ($13 - $12)
    printf "%.3f %.0f %.1f %d %.2f %.3f %.1f %.1f\n", cpu_us / $7, $7 / $8, idle_ms_s, $7, cpu_us / 1e6, $8,
      steal_pct, others < 0 ? 0 : others }')"
}

# median of the numbers on stdin
median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
minmax() { sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {print lo "–" hi}'; }

load_note() {
  echo "load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
}
