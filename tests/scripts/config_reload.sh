#!/usr/bin/env bash
# Config reload on the real binary: SIGHUP with a smaller site list drops that site's series;
# a broken file and a deleted file each keep the running config (the process stays up and
# keeps serving, mist_pcap_exporter_config_last_reload_successful goes to 0, one error line
# with file:line: key); a good file again brings it back to 1 and the site back.
# POST /-/reload answers 200, GET 405 (with --web.enable-lifecycle). The token never reaches the
# log.
source "$(dirname "$0")/lib.sh"
export MIST_API_TOKEN="reload-$RANDOM$RANDOM-secret"
start_sim --token="$MIST_API_TOKEN"
CFG="$WORK/cfg.yaml"
write_config "$CFG"
start_exporter "$CFG" --web.enable-lifecycle
HQ=978c48e6-6ef6-11e6-8bbf-02e208b2d34f
BRANCH=a1b2c3d4-0000-4000-8000-000000000002
WAREHOUSE=a1b2c3d4-0000-4000-8000-000000000003

# value SERIES: the sample value of one exact series line ("absent" when there is none).
value() {
  curl -sf "$EXPORTER_URL/metrics" |
    awk -v n="$1" '$1 == n {print $2; found = 1} END {if (!found) print "absent"}'
}
is() { [[ "$(value "$1")" == "$2" ]]; }
# The site ids with mist_pcap_up == 1, sorted, space separated.
sites_up() {
  curl -sf "$EXPORTER_URL/metrics" | awk '/^mist_pcap_up\{/ && $2 == 1' |
    grep -o 'site_id="[^"]*"' | cut -d'"' -f2 | sort | tr '\n' ' ' | sed 's/ $//'
}
sites_are() { [[ "$(sites_up)" == "$*" ]]; }
alive() {
  kill -0 "$EXPORTER_PID" 2>/dev/null || fail "exporter died: $(tail -5 "$WORK/exporter.err")"
}
OK=mist_pcap_exporter_config_last_reload_successful
SUCCESS='mist_pcap_exporter_config_reloads_total{result="success"}'
FAILURE='mist_pcap_exporter_config_reloads_total{result="failure"}'

wait_for sites_are "$HQ $BRANCH $WAREHOUSE"
is "$OK" 1 || fail "last_reload_successful is $(value "$OK") at start"
is "$FAILURE" 0 || fail "failures at start: $(value "$FAILURE")"

# 1. Warehouse leaves the file: gone after SIGHUP, without a restart.
sed -i '/Warehouse/d' "$CFG"
kill -HUP "$EXPORTER_PID"
wait_for is "$SUCCESS" 1
wait_for sites_are "$HQ $BRANCH"
is "$OK" 1 || fail "last_reload_successful $(value "$OK") after a good reload"
alive
grep -q "SIGHUP received, reloading $CFG" "$WORK/exporter.err" || fail "no SIGHUP log line"
grep -q "config reloaded from $CFG: applied sites" "$WORK/exporter.err" ||
  fail "no reload log line: $(tail -5 "$WORK/exporter.err")"
if curl -sf "$EXPORTER_URL/metrics" | grep -q "site_id=\"$WAREHOUSE\""; then
  fail "Warehouse series left after the reload"
fi

# 2. A broken file: 1 -> 0, the old sites keep being served.
sed -i 's/status_interval: 1s/status_interval: soon/' "$CFG"
kill -HUP "$EXPORTER_PID"
wait_for is "$FAILURE" 1
is "$OK" 0 || fail "last_reload_successful $(value "$OK") after a bad file"
alive
[[ "$(grep -c 'config reload failed' "$WORK/exporter.err")" -eq 1 ]] ||
  fail "expected one failure line"
line="$(grep 'config reload failed' "$WORK/exporter.err")"
expected="keeping the running config: $CFG:[0-9]+: poll.status_interval: invalid duration \"soon\""
grep -Eq "$expected" <<<"$line" || fail "failure line lacks file:line: key: $line"
curl -sf "$EXPORTER_URL/healthz" >/dev/null || fail "/healthz after a bad reload"
sites_are "$HQ $BRANCH" || fail "sites after a bad reload: $(sites_up)"

# 3. The file is deleted: still 0, still serving.
rm -f "$CFG"
kill -HUP "$EXPORTER_PID"
wait_for is "$FAILURE" 2
is "$OK" 0 || fail "last_reload_successful $(value "$OK") after the file was removed"
alive
grep -q "config reload failed, keeping the running config: $CFG: cannot read config file" \
  "$WORK/exporter.err" || fail "no failure line for the missing file"
sites_are "$HQ $BRANCH" || fail "sites after the file was removed: $(sites_up)"

# 4. A good file again: 0 -> 1 and Warehouse is back.
write_config "$CFG"
kill -HUP "$EXPORTER_PID"
wait_for is "$SUCCESS" 2
is "$OK" 1 || fail "last_reload_successful $(value "$OK") after the fix"
wait_for sites_are "$HQ $BRANCH $WAREHOUSE"
alive

# POST /-/reload reloads (200), GET does not (405).
code="$(curl -s -o "$WORK/reload.body" -w '%{http_code}' -X POST "$EXPORTER_URL/-/reload")"
[[ "$code" == 200 ]] || fail "POST /-/reload answered $code: $(cat "$WORK/reload.body")"
grep -q "config reloaded from $CFG" "$WORK/reload.body" ||
  fail "reload body: $(cat "$WORK/reload.body")"
wait_for is "$SUCCESS" 3
code="$(curl -s -o /dev/null -w '%{http_code}' "$EXPORTER_URL/-/reload")"
[[ "$code" == 405 ]] || fail "GET /-/reload answered $code"

if grep -qF "$MIST_API_TOKEN" "$WORK/exporter.err" "$WORK/exporter.out" "$WORK/reload.body"; then
  fail "the token reached the log"
fi
alive
echo "PASS: SIGHUP reloads (success 3, failure 2), metric 1 -> 0 -> 1, process up throughout"
