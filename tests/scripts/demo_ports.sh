#!/usr/bin/env bash
# scripts/demo.sh on ports other than its defaults: once SIM_PORT=28080 moved the simulator while
# the exporter still dialled 18080 (config/demo.yaml) and the demo showed nothing. Here both
# ports are free ones picked by the test: the simulator listens on SIM_PORT, the exporter serves
# on EXPORTER_PORT, its stream connects to SIM_PORT (the simulator has all 3 demo sites
# subscribed) and /metrics counts data messages; SIGTERM stops the demo and both processes.
source "$(dirname "$0")/lib.sh"
run_free_port P_SIM
run_free_port P_EXP
run_bg demo env SIM_PORT="$P_SIM" EXPORTER_PORT="$P_EXP" EXPORTER_BIN="$EXPORTER" SIM_BIN="$SIM" \
  MIST_API_TOKEN="demo-ports-$RANDOM" RATE=200 bash "$SRC/scripts/demo.sh"
DEMO_PID=$RUN_PID

data_messages() {
  curl -sf "http://127.0.0.1:$P_EXP/metrics" |
    awk '/^mist_pcap_stream_messages_total\{.*event="data"/ {s += $NF} END {printf "%d\n", s}'
}
counts_data() { (($(data_messages) > 0)); }
subscribed_sites() {
  curl -sf "http://127.0.0.1:$P_SIM/sim/stats" |
    /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["subscribed"]))'
}
all_subscribed() { [[ "$(subscribed_sites)" == 3 ]]; }
wait_for counts_data
wait_for all_subscribed
grep -q "stream connected url=ws://127.0.0.1:$P_SIM/" "$WORK/demo.err" ||
  fail "the exporter's stream did not connect to SIM_PORT $P_SIM: $(grep 'stream' "$WORK/demo.err" | tail -3)"
# The banner may come after the first data: wait for it rather than read it once.
prints_url() { grep -q "Exporter metrics: *http://127.0.0.1:$P_EXP/metrics" "$WORK/demo.out"; }
run_wait 30 "the demo prints the metrics URL of EXPORTER_PORT $P_EXP" prints_url
got="$(data_messages)"

gone() { ! kill -0 "$1" 2>/dev/null; }
closed() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
kill -TERM "$DEMO_PID"
run_forget "$DEMO_PID"
run_wait 15 "the demo exits on SIGTERM" gone "$DEMO_PID"
rc=0
wait "$DEMO_PID" || rc=$?
[[ $rc -eq 130 ]] || fail "the demo exited with $rc on SIGTERM, want 130"
closed "$P_SIM" || fail "the simulator still listens on $P_SIM after the demo stopped"
closed "$P_EXP" || fail "the exporter still listens on $P_EXP after the demo stopped"
echo "PASS: demo on SIM_PORT=$P_SIM EXPORTER_PORT=$P_EXP: $got data messages from the simulator, both stopped"
