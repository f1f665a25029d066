#!/usr/bin/env bash
# Issue 15 on the real binary: POST /-/reload is served only with --web.enable-lifecycle
# (404 without it, while SIGHUP still reloads); --check-config checks --web.config.file (a bad
# one exits 1 with file:line: key); a token file readable by others and a cleartext API URL to
# a non-loopback host each log one warning at start.
source "$(dirname "$0")/lib.sh"
export MIST_API_TOKEN="web-$RANDOM$RANDOM-secret"
start_sim --token="$MIST_API_TOKEN"
CFG="$WORK/cfg.yaml"
write_config "$CFG"

# 1. No flag: /-/reload is not there, SIGHUP works.
start_exporter "$CFG"
code="$(curl -s -o /dev/null -w '%{http_code}' -X POST "$EXPORTER_URL/-/reload")"
[[ "$code" == 404 ]] || fail "POST /-/reload without --web.enable-lifecycle answered $code"
grep -q "config reloaded from" "$WORK/exporter.err" && fail "a POST reloaded without the flag"
kill -HUP "$EXPORTER_PID"
wait_for grep -q "config reloaded from $CFG" "$WORK/exporter.err"
run_stop "$EXPORTER_PID"

# 2. With the flag: 200.
start_exporter "$CFG" --web.enable-lifecycle
code="$(curl -s -o /dev/null -w '%{http_code}' -X POST "$EXPORTER_URL/-/reload")"
[[ "$code" == 200 ]] || fail "POST /-/reload with --web.enable-lifecycle answered $code"
run_stop "$EXPORTER_PID"

# 3. --check-config reads the web config too.
cat >"$WORK/web.yml" <<WEB
tls_server_config:
  cert_file: missing.crt
  key_file: missing.key
WEB
if "$EXPORTER" --config.file="$CFG" --web.config.file="$WORK/web.yml" --check-config \
    >"$WORK/check.out" 2>"$WORK/check.err"; then
  fail "--check-config accepted a web config whose certificate does not exist"
fi
grep -q "$WORK/web.yml:2: tls_server_config.cert_file: cannot read" "$WORK/check.err" ||
  fail "--check-config message: $(cat "$WORK/check.err")"
printf 'tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n' \
  >"$WORK/web2.yml"
if "$EXPORTER" --config.file="$CFG" --web.config.file="$WORK/web2.yml" --check-config \
    >/dev/null 2>"$WORK/check2.err"; then
  fail "--check-config accepted an unknown cipher suite"
fi
grep -q "web2.yml:4: tls_server_config.cipher_suites: unknown TLS 1.2 cipher suite" \
  "$WORK/check2.err" || fail "--check-config message: $(cat "$WORK/check2.err")"

# 4. One warning each: a token file others can read, a cleartext API URL to another host.
printf '%s\n' "$MIST_API_TOKEN" >"$WORK/token"
chmod 0644 "$WORK/token"
sed -e "s|token_env: MIST_API_TOKEN|token_file: $WORK/token|" \
  -e "s|api_url: .*|api_url: http://192.0.2.1:9|" "$CFG" >"$WORK/warn.yaml"
start_exporter "$WORK/warn.yaml"
[[ "$(grep -c "token file $WORK/token is readable by group or others" "$WORK/exporter.err")" -eq 1 ]] ||
  fail "expected one token file warning: $(grep -i warn "$WORK/exporter.err" | head -5)"
[[ "$(grep -c "mist.api_url http://192.0.2.1:9 is cleartext" "$WORK/exporter.err")" -eq 1 ]] ||
  fail "expected one cleartext warning: $(grep -i warn "$WORK/exporter.err" | head -5)"
grep -q "$MIST_API_TOKEN" "$WORK/exporter.err" && fail "the token reached the log"
echo "ok"
