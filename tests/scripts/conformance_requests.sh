#!/usr/bin/env bash
# Every start and annotate body our CLI and managed captures send, for every capture type and
# every flag each type takes, validates against Mist's OpenAPI description in
# third_party/mist-api/ (capture_site and, strictly, the type's own schema). The bodies are read
# back from the real simulator's request log, as sent over the wire. A missing description
# fails; it is never skipped.
source "$(dirname "$0")/lib.sh"
SPEC_DIR="$SRC/third_party/mist-api"
[[ -f "$SPEC_DIR/mist-pcaps.openapi.json" ]] ||
  fail "Mist's OpenAPI description is missing: $SPEC_DIR/mist-pcaps.openapi.json"
/usr/bin/python3 -c 'import jsonschema' || fail "python3-jsonschema is not installed"

start_sim
write_config "$WORK/cli.yaml"
export MIST_API_TOKEN=demo-token
SITE=Warehouse  # idle in the demo scenario
cli() { "$EXPORTER" --config.file="$WORK/cli.yaml" captures "$@"; }

AP=5c5b350e0301
CLIENT=a4:b1:c2:d3:e4:f5
WLAN=fac8e973-feb9-421a-b381-aabbc4b61f5a
COMMON=(--duration 600 --num-packets 1000 --max-pkt-len 128)
# Every type with no optional field, then with every field its schema has.
CASES=(
  "--type client --client-mac $CLIENT"
  "--type client --client-mac $CLIENT --ap-mac $AP --ssid Corp --includes-mcast ${COMMON[*]}"
  "--type new_assoc"
  "--type new_assoc --ap-mac $AP --client-mac $CLIENT --ssid Corp --includes-mcast=false ${COMMON[*]}"
  "--type radiotap"
  "--type radiotap --ap-mac $AP --client-mac $CLIENT --ssid Corp --wlan-id $WLAN --band 2.4 --tcpdump-expression type\\ mgt --format pcap ${COMMON[*]}"
  "--type radiotap,wired"
  "--type radiotap,wired --ap-mac $AP --client-mac $CLIENT --ssid Corp --wlan-id $WLAN --band 24,5,6 --tcpdump-expression port\\ 53 --radiotap-tcpdump-expression type\\ mgt --wired-tcpdump-expression udp --wireless-tcpdump-expression type\\ data ${COMMON[*]}"
  "--type wired"
  "--type wired --ap-mac $AP --tcpdump-expression udp\\ port\\ 67 --format stream ${COMMON[*]}"
  "--type wireless"
  "--type wireless --ap-mac $AP --ssid Corp --wlan-id $WLAN --band 6 ${COMMON[*]}"
  "--type scan"
  "--type scan --ap-mac $AP --client-mac $CLIENT --band 5 --channel 36 --bandwidth 80 --width 80 --tcpdump-expression tcp ${COMMON[*]}"
)
n=0
for c in "${CASES[@]}"; do
  eval "args=($c)"
  out="$(cli start --site "$SITE" "${args[@]}" 2>&1)" || fail "captures start ${args[*]}: $out"
  cli stop --site "$SITE" >/dev/null 2>&1 || fail "captures stop after ${args[*]}"
  n=$((n + 1))
done
id="$(cli list --site "$SITE" --duration 1d -o json | /usr/bin/python3 -c \
  'import json,sys; print(json.load(sys.stdin)["captures"][0]["id"])')"
cli annotate --site "$SITE" --id "$id" --notes "conformance run" >/dev/null ||
  fail "captures annotate"

# A managed capture: the exporter starts it at the idle site with the body it builds itself.
write_config "$WORK/managed.yaml"
cat >>"$WORK/managed.yaml" <<CFG
captures:
  - {site: $SITE, type: wireless, band: "5", duration: 600}
CFG
before="$(curl -fsS "$SIM_URL/sim/requests" | /usr/bin/python3 -c \
  'import json,sys; print(sum(r["method"]=="POST" for r in json.load(sys.stdin)["requests"]))')"
start_exporter "$WORK/managed.yaml"
wait_for sh -c "curl -fsS '$SIM_URL/sim/requests' | /usr/bin/python3 -c \
  'import json,sys; sys.exit(sum(r[\"method\"]==\"POST\" for r in json.load(sys.stdin)[\"requests\"]) <= $before)'"

/usr/bin/python3 "$SRC/tests/conformance/request_bodies_test.py" "$SIM_URL" \
  --spec-dir "$SPEC_DIR" --expect-starts $((n + 1)) \
  --expect-types "client;new_assoc;radiotap;radiotap,wired;wired;wireless;scan"
