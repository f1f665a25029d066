#!/usr/bin/env bash
# SIGTERM during full-rate ingest (mist_cloud_sim --rate=50000) with the archive on: the
# exporter exits 0 within 5 s, unsubscribes and closes the WebSocket with 1000 (the simulator's
# /sim/stats ws_close_codes), flushes its pcap files (tshark reads every one of them if
# installed) and the totals line up: last scrape <= packets archived <= messages the simulator
# delivered.
source "$(dirname "$0")/lib.sh"
export MIST_API_TOKEN="graceful-$RANDOM"
start_sim --token="$MIST_API_TOKEN" --rate=50000
write_config "$WORK/cfg.yaml" info "$WORK/archive"
start_exporter "$WORK/cfg.yaml"

scrape_data() {
  curl -sf "$EXPORTER_URL/metrics" |
    awk '/^mist_pcap_stream_messages_total\{.*event="data"/ {s += $NF} END {printf "%d\n", s}'
}
streaming() { [[ "$(scrape_data)" -gt 20000 ]]; }
wait_for streaming
sleep 1  # full rate for a moment longer
last_scrape="$(scrape_data)"

t0=$(date +%s%N)
kill -TERM "$EXPORTER_PID"
rc=0
# wait(1) would block forever on a hung process: poll with a 5 s deadline instead.
for _ in $(seq 1 100); do kill -0 "$EXPORTER_PID" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$EXPORTER_PID" 2>/dev/null; then
  kill -KILL "$EXPORTER_PID"
  fail "exporter still running 5 s after SIGTERM"
fi
wait "$EXPORTER_PID" || rc=$?
run_forget "$EXPORTER_PID"
elapsed_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[[ $rc -eq 0 ]] || fail "exit code $rc after SIGTERM"
[[ $elapsed_ms -le 5000 ]] || fail "shutdown took $elapsed_ms ms"

grep -q "signal 15 received, shutting down" "$WORK/exporter.err" || fail "no shutdown log line"
grep -q "stream closed url=" "$WORK/exporter.err" || fail "no clean stream close in the log"
if grep -q "no close reply within" "$WORK/exporter.err"; then fail "close handshake timed out"; fi

# The simulator saw a close frame with 1000 on the (only) stream connection.
curl -sf "$SIM_URL/sim/stats" >"$WORK/stats.json" || fail "sim stats"
/usr/bin/python3 - "$WORK/stats.json" <<'PY' || fail "close code 1000 not seen: $(cat "$WORK/stats.json")"
import json, sys
s = json.load(open(sys.argv[1]))
codes = s.get("ws_close_codes", {})
sys.exit(0 if codes.get("1000", 0) == s["ws_connections"] and len(codes) == 1 else 1)
PY

truth_data="$(curl -sf "$SIM_URL/sim/truth" | /usr/bin/python3 -c \
  'import json,sys; print(json.load(sys.stdin)["messages"]["data"])')"

archived=0
files=0
shopt -s nullglob
for f in "$WORK"/archive/*/*.pcap; do
  files=$((files + 1))
  if command -v tshark >/dev/null; then
    n="$(tshark -r "$f" -T fields -e frame.number 2>"$WORK/tshark.err" | wc -l)"
    # tshark warns when run as root; anything else on stderr means it could not read the file.
    if grep -v 'Running as user' "$WORK/tshark.err" | grep -q .; then
      fail "tshark cannot read $f: $(head -3 "$WORK/tshark.err")"
    fi
  else
    # Classic pcap: 24-byte header, then 16-byte record headers with caplen at offset 8.
    n="$(/usr/bin/python3 - "$f" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
i, n = 24, 0
while i + 16 <= len(d):
    i += 16 + struct.unpack_from("<I", d, i + 8)[0]
    n += 1
print(n if i == len(d) else -1)
PY
)"
    [[ "$n" -ge 0 ]] || fail "truncated pcap $f"
  fi
  archived=$((archived + n))
done
[[ $files -gt 0 ]] || fail "no archive files"
[[ $last_scrape -le $archived ]] || fail "archived $archived < counted before SIGTERM $last_scrape"
[[ $archived -le $truth_data ]] || fail "archived $archived > delivered $truth_data"
echo "PASS: exit 0 in ${elapsed_ms} ms, close 1000, $files pcap files with $archived packets" \
  "(counted before SIGTERM $last_scrape, delivered $truth_data)"
