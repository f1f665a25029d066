#!/usr/bin/env bash
# Issue 18's must-show: every client-connectivity family on /metrics equals tshark 4.0's
# reading of the same pcap_raw bytes (the exporter's own archive of what it received, read by
# tests/connectivity/tshark_reference.py), and equals the simulator's truth, on >= 20,000
# simulator packets with cut packets (max_pkt_len 68/128/256/1500), joins, deauthentications,
# handshakes, DHCP, DNS and many clients. Top clients: with more clients than slots, every
# client above total/K is shown and every value is within the Space-Saving bound.
# Args: exporter, simulator, source dir.
source "$(dirname "$0")/lib.sh"
[[ -z "${KEEP_WORK:-}" ]] || RUN_KEEP_DIR=1
PY=/usr/bin/python3
MESSAGES="${MESSAGES:-24000}"
export MIST_API_TOKEN="connectivity-$RANDOM$RANDOM"  # the simulator takes it too
command -v tshark >/dev/null || fail "tshark is needed (scripts/install_deps.sh)"

# Four sites of one AP each: a pcap file of the archive is then one site and one AP, which is
# what the reference needs to give its series the exporter's labels.
cat >"$WORK/scenario.yaml" <<'YAML'
orgs:
  - {id: 9e1f3c2a-0000-4000-8000-000000000001, name: Org}
sites:
YAML
SITES=()
i=0
for len in 68 128 256 1500; do
  i=$((i + 1))
  id="c0ec0000-0000-4000-8000-00000000000$i"
  ap="5c5b350e0${i}01"
  SITES+=("$id:cut-$len:$ap")
  cat >>"$WORK/scenario.yaml" <<YAML
  - id: $id
    name: cut-$len
    org: 9e1f3c2a-0000-4000-8000-000000000001
    aps: [$ap]
    stream:
      wired_share: 0.3
      bands: ["2.4", "5", "6"]
      vlans: [0, 10]
      connectivity: true
      connectivity_share: 0.6
    capture: {type: "radiotap,wired", format: stream, duration: 3600, max_pkt_len: $len}
YAML
done

run_start_sim --scenario="$WORK/scenario.yaml" --seed=18
# Exactly MESSAGES data messages, then the captures are stopped (their pending handshakes end).
curl -fsS -X POST -d "{\"limit\": $MESSAGES, \"rate\": 3000}" "$SIM_URL/sim/stream" >/dev/null

cat >"$WORK/exporter.yaml" <<CFG
mist:
  api_url: $SIM_URL
  token_env: MIST_API_TOKEN
  max_requests_per_hour: 1000000
sites:
CFG
for s in "${SITES[@]}"; do
  IFS=: read -r id name _ <<<"$s"
  echo "  - {id: $id, name: $name}" >>"$WORK/exporter.yaml"
done
cat >>"$WORK/exporter.yaml" <<CFG
poll: {status_interval: 1s, list_interval: 2s, idle_interval: 1s}
metrics: {top_clients: 10, top_clients_window: 1h}
archive: {dir: $WORK/archive}
web: {listen_address: 127.0.0.1:0}
CFG
start_exporter "$WORK/exporter.yaml"

sum_of() {  # sum_of METRIC_REGEX: the sum of the matching samples on /metrics
  curl -fsS "$EXPORTER_URL/metrics" | awk -v re="$1" '$0 ~ re && $0 !~ /^#/ {s += $NF} END {printf "%d", s}'
}
for _ in $(seq 1 600); do
  [[ "$(sum_of '^mist_pcap_stream_messages_total\{.*event="data"')" -ge "$MESSAGES" ]] && break
  sleep 0.2
done
got="$(sum_of '^mist_pcap_stream_messages_total\{.*event="data"')"
[[ "$got" -eq "$MESSAGES" ]] || fail "the exporter counted $got data messages, the simulator sent $MESSAGES"
for s in "${SITES[@]}"; do
  IFS=: read -r id _ _ <<<"$s"
  curl -fsS -X DELETE -H "Authorization: Token $MIST_API_TOKEN" \
    "$SIM_URL/api/v1/sites/$id/pcaps/capture" >/dev/null
done
for _ in $(seq 1 300); do
  [[ "$(sum_of '^mist_pcap_stream_messages_total\{.*event="capture_end"')" -ge ${#SITES[@]} ]] && break
  sleep 0.1
done
[[ "$(sum_of '^mist_pcap_stream_messages_total\{.*event="capture_end"')" -ge ${#SITES[@]} ]] ||
  fail "the capture ends did not reach the exporter"
sleep 1  # the archive closes (fsync) its files on the capture end
curl -fsS "$EXPORTER_URL/metrics" >"$WORK/metrics.txt"
curl -fsS "$SIM_URL/sim/truth" >"$WORK/truth.json"

# 1. /metrics == tshark's reading of the archived bytes.
args=()
for s in "${SITES[@]}"; do
  IFS=: read -r id name ap <<<"$s"
  for f in "$WORK/archive/$id"/*.pcap; do
    [[ -f "$f" ]] || fail "no archive file for $name"
    args+=(--file "$f" --site-id "$id" --site "$name" --ap-mac "$ap")
  done
done
packets=0
for f in "$WORK"/archive/*/*.pcap; do
  packets=$((packets + $(tshark -r "$f" -T fields -e frame.number 2>/dev/null | wc -l)))
done
[[ "$packets" -eq "$MESSAGES" ]] || fail "the archive holds $packets packets, not $MESSAGES"
$PY "$SRC/tests/connectivity/tshark_reference.py" "${args[@]}" --out "$WORK/tshark.json" \
  --compare "$WORK/metrics.txt" --top-clients-mode bound --top-clients-k 10 ||
  fail "/metrics differs from tshark's reading of the same bytes (above)"

# 2. /metrics == the simulator's truth (computed without decode/ or metrics/).
$PY "$SRC/tests/connectivity/compare_truth.py" "$WORK/truth.json" "$WORK/metrics.txt" \
  --top-clients-k 10 || fail "/metrics differs from the simulator's truth (above)"

# 3. The run is worth something: every family has series, and the cut packets are there.
for fam in wireless_retries_total wireless_join_responses_total wireless_disconnects_total \
  eapol_messages_total eapol_handshakes_total eapol_handshake_duration_seconds_count \
  wired_dhcp_messages_total wired_dns_responses_total top_clients_bytes decode_truncated_total; do
  [[ "$(sum_of "^mist_pcap_${fam}\\{")" -gt 0 ]] || fail "mist_pcap_$fam is empty"
done
for r in complete incomplete; do
  [[ "$(sum_of "^mist_pcap_eapol_handshakes_total\\{.*result=\"$r\"")" -gt 0 ]] || fail "no $r handshake"
done
echo "PASS: $MESSAGES packets; every client-connectivity family equals tshark and the truth"
