#!/usr/bin/env bash
# Scrape under load at 100k series (issue 4): "with 100k active series, one /metrics scrape
# < 150 ms, and scraping every second does not cut the ingest rate below 80% of the rate
# without scrapes".
#
#   BUILD_DIR=build bench/scrape_under_load.sh
#
# mist_cloud_sim (taskset -c SIM_CORE) streams SITES sites x APS APs (bands BANDS, capture
# TYPE) to the exporter (taskset -c EXPORTER_CORE) on one connection until at least
# TARGET_SERIES label sets are active (a histogram counts once; its _bucket/_sum/_count lines
# are in "samples"). Then:
#  (a) with the stream paused: SCRAPES single curl scrapes of /metrics, plain and gzip
#      (Prometheus asks for gzip): wall time median (min-max), body size, exporter CPU per
#      scrape;
#  (b) windows of exactly N messages (bench/simbench_lib.sh), alternating without scrapes and
#      with a curl scrape every second, RUNS each, at the paced RATE and at the simulator's
#      maximum (MAX_RATE): exporter CPU µs/msg, msgs/s, how busy the exporter's core was, and
#      the wall time of the scrapes taken under load. Unless the exporter's core is saturated,
#      msgs/s is set by the simulator; the exporter's capacity with one scrape a second is
#      therefore also derived from CPU: 1 - (CPU seconds per scrape under load) of one core.
# At the end every stream series on /metrics is compared with /sim/truth.
#
# Env: SITES (100), APS (15), BANDS (2.4,5,6), TYPE (radiotap,wired), TARGET_SERIES (100000),
# FILL (4000000 messages before the first check), RATE (50000), MAX_RATE (1000000),
# N (1000000), RUNS (3), MAX_RUNS (1), SCRAPES (10), WINDOWS (1; 0 skips (b): scrapes and
# memory only, as bench/run_harness.sh runs it), BUILD_DIR / EXPORTER_BIN / SIM_BIN,
# SIM_CORE (0), EXPORTER_CORE (1), OUT (temp dir). Prints markdown (also in
# $OUT/scrape_under_load.md); exits non-zero on errors, too few series, or totals != truth.
set -euo pipefail
source "$(dirname "$0")/simbench_lib.sh"

SITES="${SITES:-100}"
APS="${APS:-15}"
BANDS="${BANDS:-2.4,5,6}"
TYPE="${TYPE:-radiotap,wired}"
TARGET_SERIES="${TARGET_SERIES:-100000}"
FILL="${FILL:-4000000}"
RATE="${RATE:-50000}"
MAX_RATE="${MAX_RATE:-1000000}"
N="${N:-1000000}"
RUNS="${RUNS:-3}"
MAX_RUNS="${MAX_RUNS:-1}"
SCRAPES="${SCRAPES:-10}"
WINDOWS="${WINDOWS:-1}"
export MIST_API_TOKEN="bench-$RANDOM$RANDOM"
dir="$OUT/scrape"
load_start="$(load_note)"

start_sim "$dir" "$SITES" "$APS" "$BANDS" "$TYPE" "$RATE"
start_exporter "$dir" "$SITES"
wait_subscribed "$SITES"

# Fill: as fast as the simulator goes until TARGET_SERIES label sets exist.
log "filling with $FILL messages at up to $MAX_RATE msgs/s"
sim_post /sim/stream "{\"rate\":$MAX_RATE,\"limit\":$FILL}"
wait_truth "$FILL" $(( FILL / 1000 + 300 ))
pause_and_drain "$dir"
for extra in 1 2 3 4 5; do
  read -r _ _ samples label_sets bytes <<<"$($PY "$HELPER" metrics "$dir/drain.txt")"
  log "label sets: $label_sets, samples: $samples"
  (( label_sets >= TARGET_SERIES )) && break
  [[ $extra == 5 ]] && fail "only $label_sets label sets after filling (TARGET_SERIES $TARGET_SERIES)"
  stream_n 1000000 1300
  pause_and_drain "$dir"
done

# (a) Single scrapes, stream paused.
plain=(); gz=(); gz_bytes=0
c0="$(cpu_ticks "$EXP_PID")"
for _ in $(seq 1 "$SCRAPES"); do
  plain+=("$(scrape "$dir/one.txt")")
done
c1="$(cpu_ticks "$EXP_PID")"
for _ in $(seq 1 "$SCRAPES"); do
  ms=""
  read -r ms gz_bytes < <(curl -sf -H 'Accept-Encoding: gzip' -o "$dir/one.gz" \
    -w '%{time_total} %{size_download}\n' "$METRICS" | awk '{printf "%.1f %d\n", $1 * 1000, $2}') || true
  [[ -n "${ms:-}" ]] || fail "gzip scrape of $METRICS failed"
  gz+=("$ms")
done
c2="$(cpu_ticks "$EXP_PID")"
gzip -t "$dir/one.gz" || fail "the gzip scrape is not gzip"
read -r _ _ samples label_sets bytes <<<"$($PY "$HELPER" metrics "$dir/one.txt")"
plain_cpu_ms="$(echo "($c1 - $c0) * 1000 / $CLK_TCK / $SCRAPES" | bc -l)"
gz_cpu_ms="$(echo "($c2 - $c1) * 1000 / $CLK_TCK / $SCRAPES" | bc -l)"
log "scrape: plain $(printf '%s\n' "${plain[@]}" | median) ms, gzip $(printf '%s\n' "${gz[@]}" | median) ms"

# (b) Ingest windows, alternating without and with a scrape every second.
declare -A cpu rate busy cpus walls steals others
run_pair() {  # run_pair LABEL_RATE SIM_RATE RUNS
  sim_post /sim/stream "{\"rate\":$2}"
  for r in $(seq 1 "$3"); do
    for mode in none every1s; do
      local slog=""
      [[ $mode == every1s ]] && { slog="$dir/scrapes-$1-$r.log"; : >"$slog"; }
      measure_window "$dir" "$N" "$slog"
      read -r c m _ _ cs ws st ot <<<"$WIN_RESULT"
      log "$1 $mode run $r: $c us/msg, $m msgs/s, exporter busy $(echo "$cs / $ws * 100" | bc -l | cut -c1-4) %, core $EXPORTER_CORE: steal $st %, others $ot %"
      cpu[$1-$mode]+="$c "; rate[$1-$mode]+="$m "; cpus[$1-$mode]+="$cs "; walls[$1-$mode]+="$ws "
      steals[$1-$mode]+="$st "; others[$1-$mode]+="$ot "
      busy[$1-$mode]+="$(echo "$cs / $ws * 100" | bc -l) "
    done
  done
}
if [[ "$WINDOWS" != 0 ]]; then
  run_pair paced "$RATE" "$RUNS"
  run_pair max "$MAX_RATE" "$MAX_RUNS"
fi

# Final check against the truth.
scrape "$dir/final.txt" >/dev/null
rss="$(rss_kib "$EXP_PID")"; hwm="$(hwm_kib "$EXP_PID")"
curl -sf "$SIM_URL/sim/truth" >"$dir/truth.json" || fail "cannot read /sim/truth"
if cmp="$($PY "$HELPER" compare "$dir/final.txt" "$dir/truth.json" 2>"$dir/mismatches.txt")"; then
  ok="yes ($cmp)"
else
  ok="**NO** ($cmp, see $dir/mismatches.txt)"
fi
read -r _ _ samples_end label_sets_end _ <<<"$($PY "$HELPER" metrics "$dir/final.txt")"

med() { tr ' ' '\n' <<<"$1" | grep . | median; }
rng() { tr ' ' '\n' <<<"$1" | grep . | minmax; }
# CPU per scrape under load: each window with scrapes minus N x the cost per message of the
# window without scrapes just before it (pairs cancel slow drifts of the shared machine).
scrape_cpu() {  # scrape_cpu LABEL -> median ms over the pairs
  local base_list cs_list out=() i k
  read -r -a base_list <<<"${cpu[$1-none]}"
  read -r -a cs_list <<<"${cpus[$1-every1s]}"
  for i in "${!cs_list[@]}"; do
    k="$(grep -vc '^error' "$dir/scrapes-$1-$((i + 1)).log")"
    out+=("$(echo "(${cs_list[$i]} - $N * ${base_list[$i]} / 1000000) / $k * 1000" | bc -l)")
  done
  printf '%s\n' "${out[@]}" | median
}
all_scrapes() { cat "$dir"/scrapes-"$1"-*.log | grep -v '^error' | awk '{print $1}'; }
errors="$(cat "$dir"/scrapes-*.log 2>/dev/null | grep -c '^error' || true)"
# Machine-readable summary (bench/run_harness.sh reads it).
{
  echo "label_sets=$label_sets_end"
  echo "plain_ms=$(printf '%s\n' "${plain[@]}" | median)"
  echo "plain_range=$(printf '%s\n' "${plain[@]}" | minmax)"
  echo "gzip_ms=$(printf '%s\n' "${gz[@]}" | median)"
  echo "gzip_range=$(printf '%s\n' "${gz[@]}" | minmax)"
  echo "plain_mib=$(echo "$bytes / 1048576" | bc -l | cut -c1-5)"
  echo "gzip_mib=$(echo "$gz_bytes / 1048576" | bc -l | cut -c1-5)"
  echo "rss_kib=$rss"
  echo "hwm_kib=$hwm"
  echo "truth=$([[ "$ok" == yes* ]] && echo yes || echo no)"
  echo "exporter_cores=$EXPORTER_CORE"
} >"$OUT/scrape.env"

{
  echo "$SITES sites × $APS APs (bands $BANDS, capture $TYPE) on one stream connection; exporter"
  echo "on core $EXPORTER_CORE, sim and curl on core $SIM_CORE. Load at start: $load_start; at end: $(load_note)."
  echo
  echo "**(a) One scrape, stream paused** ($SCRAPES scrapes each, curl):"
  echo
  echo "| active label sets | samples | encoding | body | wall ms, median (min–max) | exporter CPU per scrape |"
  echo "|---|---|---|---|---|---|"
  printf '| %s | %s | plain | %.1f MiB | **%s** (%s) | %.0f ms |\n' "$label_sets" "$samples" \
    "$(echo "$bytes / 1048576" | bc -l)" "$(printf '%s\n' "${plain[@]}" | median)" \
    "$(printf '%s\n' "${plain[@]}" | minmax)" "$plain_cpu_ms"
  printf '| %s | %s | gzip | %.1f MiB | **%s** (%s) | %.0f ms |\n' "$label_sets" "$samples" \
    "$(echo "$gz_bytes / 1048576" | bc -l)" "$(printf '%s\n' "${gz[@]}" | median)" \
    "$(printf '%s\n' "${gz[@]}" | minmax)" "$gz_cpu_ms"
  if [[ "$WINDOWS" != 0 ]]; then
    echo
    echo "**(b) Ingest without and with a scrape every second** (windows of $N messages; plain scrapes):"
    echo
    echo "| sim rate | scrapes | runs | exporter CPU µs/msg, median (min–max) | msgs/s, median | exporter core busy | exporter core: steal / others %, max | scrape wall ms under load, median / max |"
    echo "|---|---|---|---|---|---|---|---|"
    for l in paced max; do
      r_label=$([[ $l == paced ]] && echo "$RATE (paced)" || echo "$MAX_RATE (as fast as the sim goes)")
      runs=$([[ $l == paced ]] && echo "$RUNS" || echo "$MAX_RUNS")
      for mode in none every1s; do
        sc="—"
        [[ $mode == every1s ]] && sc="$(all_scrapes "$l" | median) / $(all_scrapes "$l" | sort -g | tail -1)"
        printf '| %s | %s | %s | **%.2f** (%s) | %.0f | %.0f %% | %s / %s | %s |\n' "$r_label" \
          "$([[ $mode == none ]] && echo none || echo "1/s")" "$runs" "$(med "${cpu[$l-$mode]}")" \
          "$(rng "${cpu[$l-$mode]}")" "$(med "${rate[$l-$mode]}")" "$(med "${busy[$l-$mode]}")" \
          "$(tr ' ' '\n' <<<"${steals[$l-$mode]}" | grep . | sort -g | tail -1)" \
          "$(tr ' ' '\n' <<<"${others[$l-$mode]}" | grep . | sort -g | tail -1)" "$sc"
      done
    done
    echo
    for l in paced max; do
      q="$(scrape_cpu "$l")"
      direct="$(echo "$(med "${rate[$l-every1s]}") / $(med "${rate[$l-none]}") * 100" | bc -l)"
      printf -- '- %s: exporter CPU per scrape under load %.0f ms, so one scrape a second leaves **%.0f %%** of a saturated core to ingest; measured msgs/s with / without scrapes %.0f %%.\n' \
        "$l" "$q" "$(echo "100 - $q / 10" | bc -l)" "$direct"
    done
  fi
  echo "- failed scrapes: $errors; RSS at the end $(echo "$rss / 1024" | bc -l | cut -c1-5) MiB (peak $(echo "$hwm / 1024" | bc -l | cut -c1-5) MiB); label sets at the end $label_sets_end ($samples_end samples)."
  echo "- totals = /sim/truth: $ok"
} | tee "$OUT/scrape_under_load.md"
echo "logs, configs and scrapes: $OUT" >&2
[[ "$ok" == yes* ]] || fail "totals differ from the truth"
