#!/usr/bin/env bash
# `captures download` end to end on loopback, judged by tshark (a reader we did not write):
# the exporter archives a streamed radiotap capture from the real simulator; the CLI stops the
# capture and downloads the file behind its pcap_url, which the simulator serves from another
# origin (the token must not go there); tshark reads both files and every packet matches, in
# order (length, captured length, 802.11 addresses and the bytes themselves).
source "$(dirname "$0")/lib.sh"
command -v tshark >/dev/null || fail "tshark missing (apt-get install tshark)"
start_sim --rate=200
PORT="${SIM_URL##*:}"
# pcap_url on another origin than the API: localhost vs 127.0.0.1.
curl -fsS -X POST -d "{\"origin\": \"http://localhost:$PORT\"}" "$SIM_URL/sim/downloads" >/dev/null ||
  fail "sim download origin"
export MIST_API_TOKEN=demo-token
write_config "$WORK/cfg.yaml" info "$WORK/archive"
start_exporter "$WORK/cfg.yaml"
WAREHOUSE=a1b2c3d4-0000-4000-8000-000000000003
subscribed() {
  curl -fsS "$EXPORTER_URL/metrics" | grep -q "^mist_pcap_stream_subscribed{.*site_id=\"$WAREHOUSE\".*} 1"
}
wait_for subscribed
cli() { "$EXPORTER" --config.file="$WORK/cfg.yaml" captures "$@"; }
cli start --site Warehouse --type radiotap --duration 600 >"$WORK/start.txt" || fail "captures start"
ID="$(sed -n 's/^started capture \([^ ]*\) .*/\1/p' "$WORK/start.txt")"
[[ -n "$ID" ]] || fail "no capture id in: $(cat "$WORK/start.txt")"
archived() {
  local f
  f="$(find "$WORK/archive/$WAREHOUSE" -name "$ID-*.pcap" 2>/dev/null | head -1)"
  [[ -n "$f" ]] && (($(tshark -r "$f" 2>/dev/null | wc -l) >= 100))
}
wait_for archived
cli stop --site Warehouse >/dev/null || fail "captures stop"
sleep 1  # the capture's last packets and its end message reach the exporter
curl -fsS "$SIM_URL/sim/stats" >"$WORK/stats-before.json"
cli download --site Warehouse --id "$ID" --file "$WORK/download.pcap" >"$WORK/download.txt" ||
  fail "captures download: $(cat "$WORK/download.txt")"
curl -fsS "$SIM_URL/sim/stats" >"$WORK/stats-after.json"
ARCHIVE="$(ls "$WORK/archive/$WAREHOUSE/$ID"-*.pcap)"
[[ "$(echo "$ARCHIVE" | wc -l)" == 1 ]] || fail "expected one archive file: $ARCHIVE"

fields=(-T fields -e frame.len -e frame.cap_len -e wlan.fc.type_subtype -e wlan.ta -e wlan.ra
  -e wlan.bssid -e radiotap.dbm_antsignal)
tshark -r "$ARCHIVE" "${fields[@]}" >"$WORK/archive.tsv" || fail "tshark on the archive"
tshark -r "$WORK/download.pcap" "${fields[@]}" >"$WORK/download.tsv" || fail "tshark on the download"
tshark -r "$ARCHIVE" -x >"$WORK/archive.hex"
tshark -r "$WORK/download.pcap" -x >"$WORK/download.hex"
N="$(wc -l <"$WORK/download.tsv")"
((N >= 100)) || fail "only $N packets downloaded"
diff -q "$WORK/archive.tsv" "$WORK/download.tsv" >/dev/null ||
  fail "packets differ: $(diff "$WORK/archive.tsv" "$WORK/download.tsv" | head -5)"
diff -q "$WORK/archive.hex" "$WORK/download.hex" >/dev/null || fail "packet bytes differ"
grep -q "^wrote $WORK/download.pcap: $N packets" "$WORK/download.txt" ||
  fail "CLI packet count: $(cat "$WORK/download.txt") (tshark: $N)"
# The download went to the other origin without the token.
auth() { /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("downloads",{}).get("with_authorization", -1))' "$1"; }
[[ "$(auth "$WORK/stats-after.json")" == "$(auth "$WORK/stats-before.json")" ]] ||
  fail "the Mist token was sent to the download origin"
echo "PASS: $N packets, archive and download equal packet for packet (tshark), no token sent to the file's origin"
