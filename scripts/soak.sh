#!/usr/bin/env bash
# Soak test of the real binaries (not in CI): mist_cloud_sim streams at RATE msgs/s, the stream is
# dropped every 30 s (POST /sim/faults), the exporter's RSS and open fds are sampled every 10 s
# from /proc, and at the end every stream family on /metrics is compared with /sim/truth.
#   scripts/soak.sh [MINUTES=10] [RATE=20000]
# Env: BUILD_DIR (default build) or EXPORTER_BIN / SIM_BIN; SOAK_OUT (default: a temp dir).
# Prints a markdown result table (RSS and fds first/last/max, totals vs truth) and exits non-zero
# when RSS grows by more than 10 % after the first (warm-up) minute, when the open fds grow, when
# any stream total differs from /sim/truth, or when the drops did not happen.
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES="${1:-10}"
RATE="${2:-20000}"
BUILD_DIR="${BUILD_DIR:-build}"
EXPORTER="${EXPORTER_BIN:-$BUILD_DIR/mist_pcap_exporter}"
SIM="${SIM_BIN:-$BUILD_DIR/mist_cloud_sim}"
PY=/usr/bin/python3
OUT="${SOAK_OUT:-$(mktemp -d)}"
[[ "$MINUTES" =~ ^[1-9][0-9]*$ ]] || { echo "FAIL: MINUTES must be a positive integer" >&2; exit 2; }
for b in "$EXPORTER" "$SIM"; do
  [[ -x "$b" ]] || { echo "FAIL: $b not built (set BUILD_DIR or EXPORTER_BIN/SIM_BIN)" >&2; exit 2; }
done
EXPORTER_BIN="$EXPORTER"
SIM_BIN="$SIM"
# shellcheck source=lib/run.sh
source scripts/lib/run.sh
run_init soak "$OUT"

run_date="$(date -u '+%Y-%m-%d %H:%M UTC')"
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
export MIST_API_TOKEN="soak-$RANDOM$RANDOM"
run_start_sim --scenario=config/sim_scenario.yaml --rate="$RATE" --token="$MIST_API_TOKEN"

{
  cat <<CFG
mist:
  api_url: $SIM_URL
  token_env: MIST_API_TOKEN
CFG
  run_demo_sites
  cat <<CFG
poll:
  status_interval: 5s
  list_interval: 30s
  idle_interval: 5s
stream:
  reconnect_min: 100ms
  reconnect_max: 1s
web:
  listen_address: 127.0.0.1:0
CFG
} >"$OUT/cfg.yaml"
run_start_exporter "$OUT/cfg.yaml"
METRICS="$EXPORTER_URL/metrics"

metric_sum() {  # metric_sum NAME [LABEL-REGEX]
  curl -sf "$METRICS" | awk -v n="$1" -v r="${2:-}" \
    'index($0, n) == 1 && (substr($0, length(n) + 1, 1) == "{" || substr($0, length(n) + 1, 1) == " ") && $0 ~ r {s += $NF}
     END {printf "%d\n", s}'
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$EXPORTER_PID/status"; }
fds() { find "/proc/$EXPORTER_PID/fd" -mindepth 1 -maxdepth 1 | wc -l; }

sample() {  # appends one row to samples.csv
  local t=$(( $(date +%s) - start ))
  echo "$((t / 60)),$t,$(rss_kib),$(fds),$(metric_sum mist_pcap_stream_messages_total 'event="data"'),$(metric_sum mist_pcap_stream_reconnects_total)" \
    >>"$OUT/samples.csv"
}

echo "minute,seconds,rss_kib,open_fds,data_messages,reconnects" >"$OUT/samples.csv"
start=$(date +%s)
end=$((start + MINUTES * 60))
next_drop=$((start + 30))
next_sample=$start
drops=0
# One-second ticks against a fixed schedule: a drop at every multiple of 30 s, a sample at every
# multiple of 10 s (curl time does not make the schedule drift).
while :; do
  now=$(date +%s)
  [[ $now -ge $end ]] && break
  kill -0 "$EXPORTER_PID" 2>/dev/null || fail "exporter died (see $OUT/exporter.err)"
  kill -0 "$SIM_PID" 2>/dev/null || fail "simulator died (see $OUT/sim.err)"
  # Sample before a drop due in the same second, so the sample sees the connection.
  if [[ $now -ge $next_sample ]]; then
    sample
    next_sample=$((next_sample + 10))
  fi
  if [[ $now -ge $next_drop ]]; then
    # One drop (no close frame) after the next data message written on the connection; every
    # POST resets the sim's drop count, so each one allows exactly one more drop.
    curl -sf -X POST -d '{"drop_stream_after":1,"drop_stream_times":1}' "$SIM_URL/sim/faults" \
      >/dev/null || fail "cannot inject the drop"
    drops=$((drops + 1))
    next_drop=$((next_drop + 30))
  fi
  sleep 1
done

# Quiesce: at most one more data message, then wait until the exporter has read everything.
curl -sf -X POST -d '{}' "$SIM_URL/sim/faults" >/dev/null
curl -sf -X POST -d '{"limit":1}' "$SIM_URL/sim/stream" >/dev/null
settled() {
  local truth got
  truth="$(curl -sf "$SIM_URL/sim/truth" | $PY -c 'import json,sys; print(json.load(sys.stdin)["messages"]["data"])')"
  got="$(metric_sum mist_pcap_stream_messages_total 'event="data"')"
  [[ "$truth" == "$got" ]]
}
ok_settle=0
for _ in $(seq 1 60); do settled && { ok_settle=1; break; }; sleep 1; done
[[ $ok_settle == 1 ]] || echo "WARNING: exporter data total did not reach the truth within 60 s" >&2
sleep 2
curl -sf "$SIM_URL/sim/truth" >"$OUT/truth.json" || fail "cannot read /sim/truth"
curl -sf "$METRICS" >"$OUT/metrics.txt" || fail "cannot scrape $METRICS"
sample
warns="$(grep -c 'warning stream read failed' "$OUT/exporter.err" || true)"
other_warns="$(grep -E ' (warning|error|critical) ' "$OUT/exporter.err" | grep -vc 'stream read failed' || true)"

set +e
commit="$(grep -o 'build_info{revision="[^"]*"' "$OUT/metrics.txt" | cut -d'"' -f2 | head -1)"
SOAK_INFO="$run_date, exporter revision ${commit:-unknown}, load average $load_start at the start and $(cut -d' ' -f1-3 /proc/loadavg) at the end, $(nproc) cores"
export SOAK_INFO
$PY - "$OUT" "$MINUTES" "$RATE" "$drops" "$warns" "$other_warns" <<'PY'
import csv, json, os, re, sys
out, minutes, rate, drops = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
warns, other_warns = int(sys.argv[5]), int(sys.argv[6])
rows = list(csv.DictReader(open(f"{out}/samples.csv")))
for r in rows:
    for k in r:
        r[k] = int(r[k])

# Prometheus text -> {(name, frozenset(labels)): value}
samples = {}
line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
for line in open(f"{out}/metrics.txt"):
    if line.startswith("#") or not line.strip():
        continue
    m = line_re.match(line.strip())
    if not m:
        continue
    labels = frozenset(label_re.findall(m.group(3) or ""))
    samples[(m.group(1), labels)] = float(m.group(4))

truth = json.load(open(f"{out}/truth.json"))
compared, mismatches = 0, []
for name, entries in truth["families"].items():
    for e in entries:
        labels = dict(e["labels"])
        if "buckets" in e:
            checks = [(name + "_count", labels, e["count"]), (name + "_sum", labels, e["sum"])]
            for le, v in e["buckets"].items():
                checks.append((name + "_bucket", {**labels, "le": le}, v))
        else:
            v = e["value"] if "value" in e else e["value_cumulative"]
            checks = [(name, labels, v)]
        for n, l, want in checks:
            got = samples.get((n, frozenset(l.items())), 0.0)
            compared += 1
            if got != want and not (n.endswith("_sum") and abs(got - want) <= 1e-9 * max(1.0, abs(want))):
                mismatches.append(f"{n}{l}: exporter {got} truth {want}")

# The first minute is warm-up (buffers, interned labels, histogram series appear): the RSS check
# compares the peak after it with the first sample at or after 60 s.
after = [r for r in rows if r["seconds"] >= 60] or rows[-1:]
base = after[0]
rss_peak = max(r["rss_kib"] for r in after)
rss_growth = 100.0 * (rss_peak - base["rss_kib"]) / base["rss_kib"]
# A sample taken during a reconnect misses the stream socket: compare the maxima of 3 samples.
fd_start = max(r["open_fds"] for r in after[:3])
fd_end = max(r["open_fds"] for r in rows[-3:])
fd_growth = fd_end - fd_start
data = truth["messages"]["data"]
got_data = sum(v for (n, l), v in samples.items()
               if n == "mist_pcap_stream_messages_total" and ("event", "data") in l)
truth_drops = truth.get("drops")
reconnects = rows[-1]["reconnects"]
ok_rss, ok_fd = rss_growth <= 10.0, fd_growth <= 0
ok_data, ok_series = got_data == data, not mismatches
ok_drops = truth_drops == drops and drops >= max(1, int(minutes) * 2 - 1) and reconnects >= drops
mib = lambda k: f"{k / 1024:.1f}"
first, last = rows[0], rows[-1]

print(f"\n## Soak result ({minutes} min, {rate} msgs/s, a stream drop every 30 s)\n")
print(os.environ.get("SOAK_INFO", "") + "\n")
print("| check | value | limit | result |")
print("|---|---|---|---|")
print(f"| RSS MiB first / at 1 min / last / max | {mib(first['rss_kib'])} / {mib(base['rss_kib'])} / "
      f"{mib(last['rss_kib'])} / {mib(max(r['rss_kib'] for r in rows))} | peak after 1 min "
      f"≤ +10 % of the 1-min value (+{rss_growth:.1f} %) | {'ok' if ok_rss else 'FAIL'} |")
print(f"| open fds first / last / max (min) | {first['open_fds']} / {last['open_fds']} / "
      f"{max(r['open_fds'] for r in rows)} ({min(r['open_fds'] for r in rows)}) | max of 3 samples "
      f"at the end ≤ at 1 min ({fd_end} vs {fd_start}) | {'ok' if ok_fd else 'FAIL'} |")
print(f"| data messages exporter / truth | {int(got_data)} / {data} | equal | "
      f"{'ok' if ok_data else 'FAIL'} |")
print(f"| stream series compared with /sim/truth (counters, buckets, counts, sums) | {compared} "
      f"({len(mismatches)} differ) | 0 differ | {'ok' if ok_series else 'FAIL'} |")
print(f"| drops injected / truth drops / exporter reconnects | {drops} / {truth_drops} / "
      f"{reconnects} | injected = truth, reconnects ≥ drops | {'ok' if ok_drops else 'FAIL'} |")
print(f"| exporter warn lines 'stream read failed' / other warn+error lines | {warns} / "
      f"{other_warns} | — | info |")
print(f"| mean ingest rate | {got_data / max(1, last['seconds']):.0f} msgs/s | — | info |")
print("\n| minute | RSS MiB | open fds | data messages | reconnects |")
print("|---|---|---|---|---|")
seen = set()
for r in rows:
    if r["minute"] in seen and r is not rows[-1]:
        continue
    seen.add(r["minute"])
    print(f"| {r['seconds']/60:.1f} | {mib(r['rss_kib'])} | {r['open_fds']} | {r['data_messages']} | {r['reconnects']} |")
for m in mismatches[:20]:
    print("MISMATCH", m)
sys.exit(0 if ok_rss and ok_fd and ok_data and ok_series and ok_drops else 1)
PY
rc=$?
echo "samples and logs: $OUT"
exit $rc
