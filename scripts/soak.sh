#!/usr/bin/env bash
# Soak test of the real binaries (not in CI): mist_cloud_sim streams at RATE msgs/s, the stream is
# dropped every 30 s (POST /sim/faults), the exporter's RSS and open fds are sampled every 10 s
# from /proc, and at the end every stream family on /metrics is compared with /sim/truth.
#   scripts/soak.sh [MINUTES=10] [RATE=20000]
# Env: BUILD_DIR (default build) or EXPORTER_BIN / SIM_BIN; SOAK_OUT (default: a temp dir).
# Prints a markdown result table. Fails when RSS grows by more than 10 % after the first minute,
# when the open fds grow, or when any total differs from the truth.
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES="${1:-10}"
RATE="${2:-20000}"
BUILD_DIR="${BUILD_DIR:-build}"
EXPORTER="${EXPORTER_BIN:-$BUILD_DIR/mist_pcap_exporter}"
SIM="${SIM_BIN:-$BUILD_DIR/mist_cloud_sim}"
PY=/usr/bin/python3
OUT="${SOAK_OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
wait_for() {
  for _ in $(seq 1 300); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  fail "timed out waiting for: $*"
}

export MIST_API_TOKEN="soak-$RANDOM$RANDOM"
"$SIM" --listen=127.0.0.1:0 --scenario=config/sim_scenario.yaml --rate="$RATE" \
  --token="$MIST_API_TOKEN" >"$OUT/sim.out" 2>"$OUT/sim.err" &
PIDS+=($!)
wait_for grep -q "listening on" "$OUT/sim.out"
SIM_URL="$(grep -o 'http://[0-9.:]*' "$OUT/sim.out" | head -1)"

cat >"$OUT/cfg.yaml" <<CFG
mist:
  api_url: $SIM_URL
  token_env: MIST_API_TOKEN
sites:
  - {id: 978c48e6-6ef6-11e6-8bbf-02e208b2d34f, name: HQ}
  - {id: a1b2c3d4-0000-4000-8000-000000000002, name: Branch-01}
  - {id: a1b2c3d4-0000-4000-8000-000000000003, name: Warehouse}
poll:
  status_interval: 5s
  list_interval: 30s
stream:
  reconnect_min: 100ms
  reconnect_max: 1s
web:
  listen_address: 127.0.0.1:0
CFG
"$EXPORTER" --config.file="$OUT/cfg.yaml" >"$OUT/exporter.out" 2>"$OUT/exporter.err" &
EXPORTER_PID=$!
PIDS+=($EXPORTER_PID)
wait_for grep -q "listening on" "$OUT/exporter.err"
PORT="$(grep -o '(port [0-9]*)' "$OUT/exporter.err" | head -1 | tr -dc 0-9)"
METRICS="http://127.0.0.1:$PORT/metrics"

metric_sum() {  # metric_sum NAME [LABEL-REGEX]
  curl -sf "$METRICS" | awk -v n="$1" -v r="${2:-}" \
    'index($0, n) == 1 && (substr($0, length(n) + 1, 1) == "{" || substr($0, length(n) + 1, 1) == " ") && $0 ~ r {s += $NF}
     END {printf "%d\n", s}'
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$EXPORTER_PID/status"; }
fds() { ls "/proc/$EXPORTER_PID/fd" | wc -l; }

echo "minute,seconds,rss_kib,open_fds,data_messages,reconnects" >"$OUT/samples.csv"
start=$(date +%s)
end=$((start + MINUTES * 60))
next_drop=$((start + 30))
drops=0
while :; do
  now=$(date +%s)
  [[ $now -ge $end ]] && break
  kill -0 "$EXPORTER_PID" 2>/dev/null || fail "exporter died (see $OUT/exporter.err)"
  if [[ $now -ge $next_drop ]]; then
    # One drop after the next data message written on the connection.
    curl -sf -X POST -d '{"drop_stream_after":1,"drop_stream_times":1}' "$SIM_URL/sim/faults" \
      >/dev/null || fail "cannot inject the drop"
    drops=$((drops + 1))
    next_drop=$((next_drop + 30))
  fi
  t=$((now - start))
  echo "$((t / 60)),$t,$(rss_kib),$(fds),$(metric_sum mist_pcap_stream_messages_total 'event="data"'),$(metric_sum mist_pcap_stream_reconnects_total)" \
    >>"$OUT/samples.csv"
  sleep 10
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
for _ in $(seq 1 60); do settled && break; sleep 1; done
sleep 2
curl -sf "$SIM_URL/sim/truth" >"$OUT/truth.json"
curl -sf "$METRICS" >"$OUT/metrics.txt"
t=$(( $(date +%s) - start ))
echo "$((t / 60)),$t,$(rss_kib),$(fds),$(metric_sum mist_pcap_stream_messages_total 'event="data"'),$(metric_sum mist_pcap_stream_reconnects_total)" \
  >>"$OUT/samples.csv"

set +e
$PY - "$OUT" "$MINUTES" "$RATE" "$drops" <<'PY'
import csv, json, re, sys
out, minutes, rate, drops = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
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
            checks = [(name + "_count", labels, e["count"])]
            for le, v in e["buckets"].items():
                checks.append((name + "_bucket", {**labels, "le": le}, v))
        else:
            v = e["value"] if "value" in e else e["value_cumulative"]
            checks = [(name, labels, v)]
        for n, l, want in checks:
            got = samples.get((n, frozenset(l.items())), 0.0)
            compared += 1
            if got != want:
                mismatches.append(f"{n}{l}: exporter {got} truth {want}")

after = [r for r in rows if r["seconds"] >= 60]
base = after[0] if after else rows[0]
rss_peak = max(r["rss_kib"] for r in after) if after else base["rss_kib"]
rss_growth = 100.0 * (rss_peak - base["rss_kib"]) / base["rss_kib"]
# A sample taken during a reconnect misses the stream socket: compare the maxima of 3 samples.
tail = rows[-3:]
fd_growth = max(r["open_fds"] for r in tail) - max(r["open_fds"] for r in after[:3] or rows[:3])
data = truth["messages"]["data"]
got_data = sum(v for (n, l), v in samples.items()
               if n == "mist_pcap_stream_messages_total" and ("event", "data") in l)
ok_rss, ok_fd, ok_tot = rss_growth <= 10.0, fd_growth <= 0, not mismatches and got_data == data

print(f"\n## Soak result ({minutes} min, {rate} msgs/s, a stream drop every 30 s)\n")
print("| check | value | limit | result |")
print("|---|---|---|---|")
print(f"| RSS at 1 min / peak after 1 min | {base['rss_kib']/1024:.1f} MiB / {rss_peak/1024:.1f} MiB "
      f"(+{rss_growth:.1f} %) | +10 % | {'ok' if ok_rss else 'FAIL'} |")
fd_start = max(r["open_fds"] for r in after[:3] or rows[:3])
print(f"| open fds, max of 3 samples at 1 min / at end | {fd_start} / {fd_start + fd_growth} "
      f"(growth {fd_growth}) | no growth | {'ok' if ok_fd else 'FAIL'} |")
print(f"| data messages exporter / truth | {int(got_data)} / {data} | equal | "
      f"{'ok' if got_data == data else 'FAIL'} |")
print(f"| series compared with /sim/truth | {compared} ({len(mismatches)} differ) | 0 differ | "
      f"{'ok' if not mismatches else 'FAIL'} |")
print(f"| drops injected / truth drops / exporter reconnects | {drops} / {truth.get('drops')} / "
      f"{rows[-1]['reconnects']} | — | info |")
print(f"| mean ingest rate | {got_data / max(1, rows[-1]['seconds']):.0f} msgs/s | — | info |")
print("\n| minute | RSS MiB | open fds | data messages | reconnects |")
print("|---|---|---|---|---|")
seen = set()
for r in rows:
    if r["minute"] in seen and r is not rows[-1]:
        continue
    seen.add(r["minute"])
    print(f"| {r['seconds']/60:.1f} | {r['rss_kib']/1024:.1f} | {r['open_fds']} | {r['data_messages']} | {r['reconnects']} |")
for m in mismatches[:20]:
    print("MISMATCH", m)
sys.exit(0 if ok_rss and ok_fd and ok_tot else 1)
PY
rc=$?
echo "samples and logs: $OUT"
exit $rc
