#!/usr/bin/env bash
# Scaling in sites (issue 4): the exporter's CPU per stream message with 1, 10, 100 and 1,000
# sites on ONE stream connection, the same total message rate spread round-robin over all sites.
#
#   BUILD_DIR=build bench/site_scaling.sh
#
# For each S in SITES: mist_cloud_sim (taskset -c SIM_CORE) runs a scenario of S sites, each
# with APS APs and a streaming TYPE capture on BANDS; the sim's --rate is per connection and is
# shared by the running captures of the subscribed sites, so every S gets the same RATE in
# total. The exporter (taskset -c EXPORTER_CORE) lists the S sites with
# max_channels_per_connection >= S (one WebSocket; checked on /sim/stats). After a warm-up of
# max(WARMUP_MIN, WARMUP_PER_AP x APs) messages (the series of all sites exist), RUNS windows of
# exactly N messages each are measured: exporter CPU (utime+stime from /proc/<pid>/stat) per
# message, msgs/s, and the idle CPU between windows (see bench/simbench_lib.sh). At the end
# every stream series on /metrics is compared with /sim/truth.
#
# Env: SITES ("1 10 100 1000"), RATE (50000 msgs/s), N (500000), RUNS (3), APS (2 per site),
# APS_TOTAL (unset; set: APS = APS_TOTAL / S, so every S has about the same series and only the
# number of sites changes), BANDS (2.4,5), TYPE (radiotap,wired), WARMUP_PER_AP (1000),
# WARMUP_MIN (200000),
# BUILD_DIR / EXPORTER_BIN / SIM_BIN, SIM_CORE (0), EXPORTER_CORE (1), OUT (temp dir).
# Prints a markdown table (also written to $OUT/site_scaling.md); exits non-zero on any error
# or when a total differs from the truth.
set -euo pipefail
source "$(dirname "$0")/simbench_lib.sh"

SITES="${SITES:-1 10 100 1000}"
RATE="${RATE:-50000}"
N="${N:-500000}"
RUNS="${RUNS:-3}"
APS="${APS:-2}"
BANDS="${BANDS:-2.4,5}"
TYPE="${TYPE:-radiotap,wired}"
APS_TOTAL="${APS_TOTAL:-}"
WARMUP_PER_AP="${WARMUP_PER_AP:-1000}"
WARMUP_MIN="${WARMUP_MIN:-200000}"
export MIST_API_TOKEN="bench-$RANDOM$RANDOM"

load_start="$(load_note)"
rows=()
all_ok=1
for S in $SITES; do
  dir="$OUT/sites-$S"
  [[ -n "$APS_TOTAL" ]] && APS=$(( APS_TOTAL / S ))
  (( APS >= 1 )) || fail "APS_TOTAL $APS_TOTAL is less than $S sites"
  log "S=$S: starting sim and exporter ($OUT)"
  start_sim "$dir" "$S" "$APS" "$BANDS" "$TYPE" "$RATE"
  start_exporter "$dir" "$S"
  wait_subscribed "$S"
  conns="$(curl -sf "$SIM_URL/sim/stats" | $PY -c 'import json,sys; print(json.load(sys.stdin)["ws_connections"])')"
  [[ "$conns" == 1 ]] || fail "S=$S: $conns stream connections, expected one"

  warmup=$(( WARMUP_PER_AP * APS * S ))
  (( warmup < WARMUP_MIN )) && warmup=$WARMUP_MIN
  log "S=$S: warm-up of $warmup messages"
  sim_post /sim/stream "{\"limit\":$warmup}"
  wait_truth "$warmup" $(( warmup / 1000 + 120 ))
  pause_and_drain "$dir"
  $PY "$HELPER" metrics "$dir/drain.txt" >"$dir/series_before.txt"

  cpu=(); rate=(); idle=(); steal=(); others=()
  for r in $(seq 1 "$RUNS"); do
    measure_window "$dir" "$N"
    read -r c m i _ _ _ st ot <<<"$WIN_RESULT"
    log "S=$S run $r: $c us/msg, $m msgs/s, idle $i ms/s, core $EXPORTER_CORE: steal $st %, others $ot %"
    cpu+=("$c"); rate+=("$m"); idle+=("$i"); steal+=("$st"); others+=("$ot")
  done

  scrape_ms="$(scrape "$dir/final.txt")"
  read -r _ _ samples label_sets bytes <<<"$($PY "$HELPER" metrics "$dir/final.txt")"
  read -r _ _ _ label_sets_before _ <"$dir/series_before.txt"
  rss="$(rss_kib "$EXP_PID")"; hwm="$(hwm_kib "$EXP_PID")"
  curl -sf "$SIM_URL/sim/truth" >"$dir/truth.json" || fail "cannot read /sim/truth"
  if cmp="$($PY "$HELPER" compare "$dir/final.txt" "$dir/truth.json" 2>"$dir/mismatches.txt")"; then
    ok="yes ($cmp)"
  else
    ok="**NO** ($cmp, see $dir/mismatches.txt)"; all_ok=0
  fi
  log "S=$S: $ok"
  stop_pair

  cpu_med="$(printf '%s\n' "${cpu[@]}" | median)"
  cpu_rng="$(printf '%s\n' "${cpu[@]}" | minmax)"
  rate_med="$(printf '%s\n' "${rate[@]}" | median)"
  idle_med="$(printf '%s\n' "${idle[@]}" | median)"
  steal_max="$(printf '%s\n' "${steal[@]}" | sort -g | tail -1)"
  others_max="$(printf '%s\n' "${others[@]}" | sort -g | tail -1)"
  rows+=("$(printf '| %s | %s | %s (%s before the windows) | %s | **%.2f** (%s) | %.0f | %s | %s / %s | %.1f / %.1f | %.0f ms, %.1f MiB | %s |' \
    "$S" "$APS" "$label_sets" "$label_sets_before" "$samples" "$cpu_med" "$cpu_rng" "$rate_med" "$idle_med" "$steal_max" "$others_max" \
    "$(echo "$rss / 1024" | bc -l)" "$(echo "$hwm / 1024" | bc -l)" "$scrape_ms" \
    "$(echo "$bytes / 1048576" | bc -l)" "$ok")")
done

{
  echo "Sites on one stream connection; sim --rate $RATE msgs/s in total (round-robin over the"
  echo "sites' captures), ${APS_TOTAL:+$APS_TOTAL APs in total, }bands $BANDS, capture type $TYPE; $RUNS windows of"
  echo "$N messages per row after a warm-up. Exporter on core $EXPORTER_CORE, sim on core $SIM_CORE."
  echo "Load at start: $load_start; at end: $(load_note). \"steal / others\": the largest share"
  echo "of a window's wall time the hypervisor took from core $EXPORTER_CORE, and that other processes ran on it."
  echo
  echo "| sites | APs per site | label sets | samples | exporter CPU µs/msg, median (min–max) | msgs/s | idle CPU ms/s | exporter core: steal / others %, max | RSS / peak MiB | one scrape | totals = /sim/truth |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} | tee "$OUT/site_scaling.md"
echo "logs, configs and scrapes: $OUT" >&2
[[ $all_ok == 1 ]] || fail "totals differ from the truth"
