#!/usr/bin/env bash
# The real binaries on loopback: /metrics passes `promtool check metrics`, carries the
# scenario's capture state, and a distinctive token appears in no log line (debug level), not
# on /, not on /metrics, not in --check-config output.
source "$(dirname "$0")/lib.sh"
command -v promtool >/dev/null || { echo "promtool missing (apt-get install prometheus)"; exit 1; }
TOKEN="tok-SECRET-$RANDOM-5f3c9a17d2"
export MIST_API_TOKEN="$TOKEN"
start_sim --token="$TOKEN" --rate=500
write_config "$WORK/cfg.yaml" debug
start_exporter "$WORK/cfg.yaml"

has_data() {
  curl -sf "$EXPORTER_URL/metrics" >"$WORK/metrics.txt" &&
    grep -q '^mist_pcap_capture_running{.*site="HQ".*} 1' "$WORK/metrics.txt" &&
    grep -q '^mist_pcap_packets_total{' "$WORK/metrics.txt"
}
wait_for has_data
promtool check metrics <"$WORK/metrics.txt" || fail "promtool check metrics"
grep -q '^mist_pcap_capture_aps{.*site="HQ".*state="failed".*} 1' "$WORK/metrics.txt" ||
  fail "HQ failed AP count"
grep -q '^mist_pcap_capture_ap_failed{.*ap_mac="5c5b350e0004".*} 1' "$WORK/metrics.txt" ||
  fail "HQ failed AP series"
curl -sf "$EXPORTER_URL/" >"$WORK/landing.html" || fail "landing page"
grep -q "HQ" "$WORK/landing.html" || fail "landing page lists sites"
curl -sf "$EXPORTER_URL/readyz" >/dev/null || fail "readyz"
"$EXPORTER" --config.file="$WORK/cfg.yaml" --check-config >"$WORK/check.txt" 2>&1 ||
  fail "check-config"
MIST_API_TOKEN="" "$EXPORTER" --config.file="$WORK/cfg.yaml" --check-config \
  >"$WORK/check-missing.txt" 2>&1 && fail "check-config without token must fail"
kill -TERM "$EXPORTER_PID"; wait "$EXPORTER_PID" || fail "exporter exit code on SIGTERM"
run_forget "$EXPORTER_PID"
for f in exporter.out exporter.err metrics.txt landing.html check.txt check-missing.txt; do
  if grep -q "$TOKEN" "$WORK/$f"; then fail "token found in $f"; fi
done
grep -q "debug" "$WORK/exporter.err" || fail "debug logging was not on"
echo "PASS: promtool clean, capture state exact, token in none of $(wc -l <"$WORK/exporter.err") log lines"
