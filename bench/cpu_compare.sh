#!/usr/bin/env bash
# CPU per message of two exporter binaries on the shared ingest harness (bench/harness/), in
# the same run: RUNS interleaved rounds of A then B, each pinned to CORE, N messages from the
# harness's blaster. Prints each run and the medians (CPU µs per message = the exporter's
# utime+stime over N; msgs/s). For "before and after" figures: build the old commit into a
# second build dir and pass both binaries.
#   bench/cpu_compare.sh OLD_BINARY NEW_BINARY      # env: N (1000000), RUNS (5), CORE (1)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
A="${1:?usage: cpu_compare.sh BINARY_A BINARY_B}"
B="${2:?usage: cpu_compare.sh BINARY_A BINARY_B}"
N="${N:-1000000}"
RUNS="${RUNS:-5}"
CORE="${CORE:-1}"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
for i in $(seq 1 "$RUNS"); do
  for side in A B; do
    bin="$A"
    [[ "$side" == B ]] && bin="$B"
    /usr/bin/python3 "$ROOT/bench/harness/run_bench.py" --name "$side" -n "$N" \
      --json-out "$OUT/$side-$i.json" --config-template "$ROOT/bench/bench-config.yaml" \
      --cmd "taskset -c $CORE env MIST_API_TOKEN=bench $bin --config.file={config} --web.listen-address=127.0.0.1:{metrics_port}" |
      tail -1
  done
done
/usr/bin/python3 - "$OUT" "$N" <<'PY'
import glob, json, statistics, sys
out, n = sys.argv[1], int(sys.argv[2])
for side in ("A", "B"):
    runs = [json.load(open(f)) for f in sorted(glob.glob(f"{out}/{side}-*.json"))]
    cpu = [r["cpu_s"] * 1e6 / n for r in runs if r.get("correct")]
    rate = [r["msgs_per_s"] for r in runs if r.get("correct")]
    print(f"{side}: {len(cpu)}/{len(runs)} correct runs; CPU µs/msg median {statistics.median(cpu):.3f} "
          f"(runs {', '.join('%.3f' % c for c in cpu)}); msgs/s median {statistics.median(rate):,.0f}")
PY
